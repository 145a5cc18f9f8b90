"""Optimisers step for step equal to Keras's in float64 (every optimiser, its options, gradient clipping,
weight decay, schedules), and learning-rate schedules equal to Keras's at every step."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import optimizers
from minidl.optimizers import schedules

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

SHAPES = [(5, 4), (4,), (3, 3, 2)]
STEPS = 4

CASES = {
    "SGD": dict(learning_rate=0.1),
    "SGD momentum": dict(learning_rate=0.1, momentum=0.9),
    "SGD nesterov": dict(learning_rate=0.1, momentum=0.9, nesterov=True),
    "RMSprop": dict(learning_rate=0.01),
    "RMSprop momentum centered": dict(learning_rate=0.01, momentum=0.5, centered=True, rho=0.8),
    "Adagrad": dict(learning_rate=0.05),
    "Adadelta": dict(learning_rate=1.0, rho=0.9),
    "Adam": dict(learning_rate=0.01),
    "Adam amsgrad": dict(learning_rate=0.01, amsgrad=True),
    "AdamW": dict(learning_rate=0.01, weight_decay=0.1),
    "Adamax": dict(learning_rate=0.01),
    "Nadam": dict(learning_rate=0.01),
    "SGD clipnorm": dict(learning_rate=0.1, momentum=0.9, clipnorm=0.5),
    "Adam clipvalue": dict(learning_rate=0.01, clipvalue=0.3),
    "RMSprop global_clipnorm": dict(learning_rate=0.01, global_clipnorm=0.7),
    "SGD weight_decay": dict(learning_rate=0.1, weight_decay=0.05),
    "Adam schedule": dict(
        learning_rate=("ExponentialDecay", dict(initial_learning_rate=0.01, decay_steps=2, decay_rate=0.5))
    ),
}


def build(api, name: str, kwargs: dict):
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("learning_rate"), tuple):
        schedule, arguments = kwargs["learning_rate"]
        kwargs["learning_rate"] = getattr(api.optimizers.schedules, schedule)(**arguments)
    return getattr(api.optimizers, name.split()[0])(**kwargs)


@pytest.mark.parametrize("case", list(CASES))
def test_steps_equal_keras_in_float64(case, keras_float64):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal(shape) for shape in SHAPES]
    grads = [[rng.standard_normal(shape) * (i + 1) for shape in SHAPES] for i in range(STEPS)]
    ours = build(minidl, case, CASES[case])
    theirs = build(keras, case, CASES[case])
    params = [w.copy() for w in start]
    variables = [tf.Variable(w) for w in start]
    # Keras evaluates a schedule in float32 even for float64 weights: its rates are 3e-8 off ours there
    rtol = 1e-7 if "schedule" in case else 1e-12
    for step_grads in grads:
        ours.apply_gradients([(f"{i}/w", p, g.copy()) for i, (p, g) in enumerate(zip(params, step_grads))])
        theirs.apply_gradients([(tf.constant(g), v) for g, v in zip(step_grads, variables)])
        for p, v in zip(params, variables):
            np.testing.assert_allclose(p, v.numpy(), rtol=rtol, atol=1e-14)
    assert ours.iterations == int(theirs.iterations.numpy()) == STEPS
    assert not np.allclose(params[0], start[0])  # it moved


@pytest.mark.parametrize(
    "name, arguments",
    [
        ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7)),
        ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.7, staircase=True)),
        ("PiecewiseConstantDecay", dict(boundaries=[3, 7], values=[0.1, 0.05, 0.01])),
        ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5)),
        ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
        ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=8, end_learning_rate=0.01, power=2.0)),
        ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=4, end_learning_rate=0.01, cycle=True)),
        ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=10, alpha=0.1)),
        ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=10, warmup_target=0.1, warmup_steps=4)),
        ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3)),
        ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=1.0, m_mul=0.5, alpha=0.1)),
    ],
)
def test_schedules_equal_keras_at_every_step(name, arguments):
    ours, theirs = getattr(schedules, name)(**arguments), getattr(keras.optimizers.schedules, name)(**arguments)
    for step in range(25):
        # Keras evaluates schedules in float32 (its Python floats become float32 tensors): equal to that rounding
        # (and cos near -1 loses relative precision there): within 2e-7 of the rate's scale
        scale = max(arguments.get("initial_learning_rate", 0), arguments.get("warmup_target") or 0, 0.1)
        assert ours(step) == pytest.approx(float(theirs(step)), rel=3e-7, abs=2e-7 * scale), step


def test_learning_rate_is_readable_and_writable():
    optimizer = optimizers.Adam(0.01)
    assert optimizer.learning_rate == 0.01
    optimizer.learning_rate = 0.005
    assert optimizer.learning_rate == 0.005
    optimizer.learning_rate = schedules.ExponentialDecay(0.1, 1, 0.5)
    optimizer.iterations = 2
    assert optimizer.learning_rate == pytest.approx(0.025)
    optimizer.learning_rate = lambda: 0.3
    assert optimizer.learning_rate == 0.3


def test_a_learning_rate_made_nan_is_caught_before_any_weight_changes():
    optimizer = optimizers.SGD(0.1)
    optimizer.learning_rate = lambda: float("nan")
    param = np.ones(3)
    with pytest.raises(ValueError, match=r"SGD: the learning rate of step 0 is nan"):
        optimizer.apply_gradients([("w", param, np.ones(3))])
    np.testing.assert_array_equal(param, 1)


def test_names_and_clip_arguments():
    for name in ("sgd", "RMSprop", "adagrad", "Adadelta", "ADAM", "adamw", "adamax", "nadam"):
        assert optimizers.get(name).__class__.__name__.lower() == name.lower()
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and `global_clipnorm`"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match=r"RMSprop: rho must be a number in \[0, 1\)"):
        optimizers.RMSprop(rho=1.5)
