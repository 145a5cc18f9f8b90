"""Losses: values equal to Keras's (with sample weights), gradients equal to TensorFlow's and to central
differences in float64, the fused logits gradients, and plain-function losses."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from minidl import losses
from minidl.testing import check_loss_gradients

TOL = 1e-6
N, K = 6, 4


def rng(seed):
    return np.random.default_rng(seed)


def probabilities(n=N, k=K, seed=0):
    p = rng(seed).uniform(0.05, 0.95, (n, k))
    return p / p.sum(axis=1, keepdims=True)


def one_hot(n=N, k=K, seed=1):
    return np.eye(k)[rng(seed).integers(0, k, n)]


REGRESSION = (rng(9).standard_normal((N, 3)), rng(10).standard_normal((N, 3)))
# name: (make(api), y_true, y_pred)
CASES = {
    "categorical": (lambda api: api.losses.CategoricalCrossentropy(), one_hot(), probabilities()),
    "categorical unnormalised": (
        lambda api: api.losses.CategoricalCrossentropy(),
        one_hot(),
        rng(2).uniform(0.05, 0.9, (N, K)),
    ),
    "categorical smoothing": (
        lambda api: api.losses.CategoricalCrossentropy(label_smoothing=0.2),
        one_hot(),
        probabilities(),
    ),
    "categorical logits": (
        lambda api: api.losses.CategoricalCrossentropy(from_logits=True),
        one_hot(),
        rng(3).standard_normal((N, K)) * 2,
    ),
    "sparse": (lambda api: api.losses.SparseCategoricalCrossentropy(), rng(4).integers(0, K, N), probabilities()),
    "sparse logits": (
        lambda api: api.losses.SparseCategoricalCrossentropy(from_logits=True),
        rng(4).integers(0, K, N),
        rng(5).standard_normal((N, K)),
    ),
    "binary": (
        lambda api: api.losses.BinaryCrossentropy(),
        rng(6).integers(0, 2, (N, 3)).astype(float),
        rng(7).uniform(0.05, 0.95, (N, 3)),
    ),
    "binary smoothing": (
        lambda api: api.losses.BinaryCrossentropy(label_smoothing=0.1),
        rng(6).integers(0, 2, (N, 1)).astype(float),
        rng(7).uniform(0.05, 0.95, (N, 1)),
    ),
    "binary logits": (
        lambda api: api.losses.BinaryCrossentropy(from_logits=True),
        rng(6).integers(0, 2, (N, 3)).astype(float),
        rng(8).standard_normal((N, 3)) * 3,
    ),
    "mse": (lambda api: api.losses.MeanSquaredError(), rng(9).standard_normal((N, 3)), rng(10).standard_normal((N, 3))),
    "mae": (
        lambda api: api.losses.MeanAbsoluteError(),
        rng(9).standard_normal((N, 3)),
        rng(10).standard_normal((N, 3)),
    ),
    "huber": (lambda api: api.losses.Huber(delta=0.7), rng(9).standard_normal((N, 3)), rng(10).standard_normal((N, 3))),
    "log_cosh": (lambda api: api.losses.LogCosh(), rng(9).standard_normal((N, 3)), rng(10).standard_normal((N, 3))),
    "kl_divergence": (lambda api: api.losses.KLDivergence(), probabilities(seed=11), probabilities(seed=12)),
    "hinge": (
        lambda api: api.losses.Hinge(),
        rng(13).integers(0, 2, (N, 3)).astype(float),
        rng(14).standard_normal((N, 3)),
    ),
    "squared_hinge": (
        lambda api: api.losses.SquaredHinge(),
        rng(13).choice([-1.0, 1.0], (N, 3)),
        rng(14).standard_normal((N, 3)),
    ),
    "categorical_hinge": (lambda api: api.losses.CategoricalHinge(), one_hot(), rng(15).standard_normal((N, K))),
    "mape": (
        lambda api: api.losses.MeanAbsolutePercentageError(),
        np.concatenate([rng(9).standard_normal((N, 2)), np.zeros((N, 1))], axis=1),  # a zero target: eps
        rng(10).standard_normal((N, 3)),
    ),
    "msle": (
        lambda api: api.losses.MeanSquaredLogarithmicError(),
        rng(16).uniform(0, 3, (N, 3)),
        np.concatenate([rng(17).uniform(0.1, 3, (N, 2)), -rng(18).uniform(0.1, 1, (N, 1))], axis=1),  # clipped
    ),
    "poisson": (
        lambda api: api.losses.Poisson(),
        rng(19).poisson(2.0, (N, 3)).astype(float),
        rng(21).uniform(0.5, 4, (N, 3)),
    ),
    "cosine_similarity": (
        lambda api: api.losses.CosineSimilarity(),
        rng(22).standard_normal((N, 4)),
        rng(23).standard_normal((N, 4)),
    ),
}
WEIGHTS = rng(20).uniform(0.2, 2.0, N)


@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_central_differences(case):
    make, y_true, y_pred = CASES[case]
    import minidl

    loss = make(minidl)
    assert check_loss_gradients(loss, y_true, y_pred) < TOL
    assert check_loss_gradients(loss, y_true, y_pred, WEIGHTS) < TOL


@pytest.mark.parametrize(
    "name, alias",
    [
        ("mse", losses.MeanSquaredError),
        ("mae", losses.MeanAbsoluteError),
        ("kld", losses.KLDivergence),
        ("huber", losses.Huber),
        ("binary_crossentropy", losses.BinaryCrossentropy),
        ("CategoricalCrossentropy", losses.CategoricalCrossentropy),
        ("mape", losses.MeanAbsolutePercentageError),
        ("msle", losses.MeanSquaredLogarithmicError),
        ("poisson", losses.Poisson),
        ("cosine_similarity", losses.CosineSimilarity),
    ],
)
def test_names_and_aliases(name, alias):
    assert isinstance(losses.get(name), alias)
    assert isinstance(losses.get(losses.mean_squared_error), losses.MeanSquaredError)


def test_a_plain_function_loss_trains_on_its_numerical_gradient():
    """A per-sample NumPy function as a loss: its gradient by central differences (one warning) is within
    1e-6 of the analytic gradient of the same loss (MSE)."""

    def my_mse(y_true, y_pred):
        return np.mean((y_pred - y_true) ** 2, axis=-1)

    loss = losses.get(my_mse)
    assert isinstance(loss, losses.FunctionLoss) and loss.name == "my_mse"
    y_true, y_pred = rng(30).standard_normal((N, 3)), rng(31).standard_normal((N, 3))
    exact = losses.MeanSquaredError()
    assert loss.forward(y_true, y_pred) == pytest.approx(exact.forward(y_true, y_pred), rel=1e-12)
    with pytest.warns(UserWarning, match="central differences"):
        numeric = loss.backward()
    np.testing.assert_allclose(numeric, exact.backward(), rtol=1e-6, atol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once only
        loss.backward()


def test_a_plain_function_returning_the_wrong_shape_is_refused():
    loss = losses.get(lambda y_true, y_pred: np.sum(y_pred))
    with pytest.raises(ValueError, match=r"returned values of shape \(\) .* one loss per sample, shape \(6,\)"):
        loss.forward(np.zeros((N, 3)), np.ones((N, 3)))


# ------------------------------------------------------------------------------------------ against Keras
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_equal_keras(case, weighted, keras_float64):
    import minidl

    make, y_true, y_pred = CASES[case]
    weights = WEIGHTS if weighted else None
    ours = make(minidl)
    value = ours.forward(y_true, y_pred, weights)
    grad = ours.backward()
    prediction = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        theirs = make(keras)(
            tf.constant(y_true), prediction, sample_weight=None if weights is None else tf.constant(weights)
        )
    # Keras's log_cosh subtracts log(2) rounded to float32 (ops.log(2.0) is a float32 tensor): 1.5e-9 off
    assert value == pytest.approx(float(theirs), rel=1e-12, abs=2e-9 if case == "log_cosh" else 0)
    np.testing.assert_allclose(grad, tape.gradient(theirs, prediction).numpy(), rtol=1e-10, atol=1e-14)
