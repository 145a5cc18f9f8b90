"""Weight constraints (kernel_constraint, ...), the bias, recurrent and normalisation weights' regularizers,
and ActivityRegularization: each constraint equal to Keras's, and training with all of them equal to
Keras's step by step (the constraints applied once, after the optimiser's update), in fit, evaluate and
`.keras` files both ways."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minidl
from minidl import constraints, layers
from minidl.testing import check_layer_gradients

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")

FLOAT32_UNIT_ROUNDOFF = 2.0**-24

CONSTRAINTS = {
    "MaxNorm": lambda api: api.constraints.MaxNorm(0.8, axis=0),
    "MaxNorm filters": lambda api: api.constraints.MaxNorm(0.5, axis=[0, 1, 2]),
    "NonNeg": lambda api: api.constraints.NonNeg(),
    "UnitNorm": lambda api: api.constraints.UnitNorm(axis=1),
    "MinMaxNorm": lambda api: api.constraints.MinMaxNorm(0.9, 1.2, rate=0.7, axis=0),
}


@needs_keras
@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_each_constraint_is_kerass(name):
    """The same projection as Keras's: each value within the roundings of its norm's sum of n squares
    (n of them, ~n/2 roundings at worst, a few more for the sqrt, the division and the product)."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 3, 4, 6) if "filters" in name else (12, 5), dtype=np.float32)
    ours, theirs = CONSTRAINTS[name](minidl)(w), np.asarray(CONSTRAINTS[name](keras)(w))
    n = 36 if "filters" in name else 12
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=(n + 8) * FLOAT32_UNIT_ROUNDOFF, atol=1e-30)


def test_constraints_do_what_they_say():
    w = np.random.default_rng(4).standard_normal((20, 6)) * 3
    norms = np.linalg.norm(constraints.MaxNorm(2.0)(w), axis=0)
    assert norms.max() <= 2.0 + 1e-9 and np.isclose(norms, np.minimum(np.linalg.norm(w, axis=0), 2.0)).all()
    np.testing.assert_allclose(np.linalg.norm(constraints.UnitNorm(axis=0)(w), axis=0), 1.0, rtol=1e-6)
    assert (constraints.NonNeg()(w) >= 0).all() and (constraints.NonNeg()(w)[w > 0] == w[w > 0]).all()
    half_way = np.linalg.norm(constraints.MinMaxNorm(1.0, 2.0, rate=0.5)(w), axis=0)
    before = np.linalg.norm(w, axis=0)
    np.testing.assert_allclose(half_way, 0.5 * np.clip(before, 1.0, 2.0) + 0.5 * before, rtol=1e-6)
    assert isinstance(constraints.get("max_norm"), constraints.MaxNorm)
    with pytest.raises(ValueError, match="Unknown constraint 'nope'"):
        constraints.get("nope")
    with pytest.raises(ValueError, match="MaxNorm: axis must be"):
        constraints.MaxNorm(2.0, axis="rows")


def test_activity_regularization_gradient(float64):
    layer = layers.ActivityRegularization(l1=0.3, l2=0.2)
    x = np.random.default_rng(5).standard_normal((4, 3, 5))
    errors = check_layer_gradients(layer, x, return_details=True)
    assert errors["input"] < 1e-6
    assert layer.activity_loss() == pytest.approx((0.3 * np.abs(x).sum() + 0.2 * (x**2).sum()) / 4)


def test_activity_regularizer_argument_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Layer 'd': activity_regularizer is not supported.*ActivityRegularization"):
        layers.Dense(3, name="d", activity_regularizer="l2")
    layers.Dense(3, activity_regularizer=None)  # Keras's default is taken


def model(api, x_shape):
    """Every kind of weight option in one small net: a constrained, bias-regularized Dense, a penalty on
    its activity, a normalisation with constrained gamma, a TimeDistributed Dense whose constraint moves
    norms only part of the way (applied twice it would differ), and a unit-norm output layer."""
    return api.Sequential(
        [
            api.Input(x_shape),
            api.layers.Dense(
                12,
                activation="relu",
                kernel_constraint=api.constraints.MaxNorm(0.6),
                bias_regularizer=api.regularizers.L2(0.5),
                bias_constraint=api.constraints.NonNeg(),
                bias_initializer="random_normal",
            ),
            api.layers.ActivityRegularization(l1=0.01, l2=0.02),
            api.layers.LayerNormalization(gamma_constraint=api.constraints.MaxNorm(1.5), beta_regularizer="l2"),
            api.layers.TimeDistributed(
                api.layers.Dense(6, activation="tanh", kernel_constraint=api.constraints.MinMaxNorm(0.8, 0.9, 0.5))
            ),
            api.layers.Flatten(),
            api.layers.Dense(3, activation="softmax", kernel_constraint=api.constraints.UnitNorm()),
        ]
    )


@needs_keras
def test_training_with_constraints_and_penalties_is_kerass(tmp_path):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((32, 4, 10)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
    keras.utils.set_random_seed(7)
    theirs = model(keras, (4, 10))
    ours = model(minidl, (4, 10))
    ours.set_weights(theirs.get_weights())
    for m, api in ((theirs, keras), (ours, minidl)):
        m.compile(optimizer=api.optimizers.SGD(0.5, momentum=0.9), loss="categorical_crossentropy")
    for step in range(4):
        loss_theirs = float(theirs.train_on_batch(x, y))
        loss_ours = ours.train_on_batch(x, y)
        assert loss_ours == pytest.approx(loss_theirs, rel=1e-5), step
        for i, (a, b) in enumerate(zip(ours.get_weights(), theirs.get_weights())):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"step {step}, weight {i}")
    norms = np.linalg.norm(ours.layers[0].get_weights()[0], axis=0)
    assert norms.max() <= 0.6 * (1 + 1e-6) and (ours.layers[0].get_weights()[1] >= 0).all()
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(theirs.evaluate(x, y, verbose=0), rel=1e-5)

    # .keras files both ways keep the constraints and penalties (and Keras trains on the same from ours)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    loaded_theirs = keras.saving.load_model(tmp_path / "ours.keras")
    loaded_ours = minidl.saving.load_model(tmp_path / "theirs.keras")
    assert isinstance(loaded_theirs.layers[0].kernel_constraint, keras.constraints.MaxNorm)
    assert loaded_theirs.layers[0].kernel_constraint.max_value == 0.6
    first = loaded_ours.layers[0]
    assert isinstance(first.constraints["kernel"], constraints.MaxNorm) and first.constraints["kernel"].max_value == 0.6
    assert set(first.constraints) == {"kernel", "bias"} and set(first.regularizers) == {"bias"}
    assert loaded_ours.layers[1].get_config()["l2"] == pytest.approx(0.02)
    assert loaded_ours.evaluate(x, y, verbose=0) == pytest.approx(theirs.evaluate(x, y, verbose=0), rel=1e-5)
