"""Float64 gradient checks: every layer's backward, the losses' gradients (unfused and fused with the
softmax), a whole model's train_on_batch, and the checker itself (it must fail on a wrong layer)."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import layers, losses, regularizers
from minidl.testing import check_layer_gradients, numeric_gradient, relative_error

TOL = 1e-6


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_gradients_ok(layer, x, tol=TOL):
    """Every gradient (input and each parameter) within tol; returns the error dict."""
    errors = check_layer_gradients(layer, x, return_details=True)
    assert set(errors) == {"input", *layer.params}, errors  # nothing left unchecked
    assert max(errors.values()) < tol, errors
    return errors


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ------------------------------------------------------------------------------------------- layers


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(activation="relu"),
        dict(activation="softmax"),
        dict(use_bias=False),
        dict(use_bias=False, activation="relu"),
    ],
    ids=["linear", "relu", "softmax", "no_bias", "no_bias_relu"],
)
def test_dense(kwargs):
    layer = layers.Dense(7, **kwargs)
    x = rng(1).standard_normal((5, 4))
    errors = assert_gradients_ok(layer, x)
    assert ("bias" in errors) == kwargs.get("use_bias", True)
    assert layer.params["kernel"].dtype == np.float64


def test_dense_single_sample():
    """A batch of one (its kernel gradient an outer product, computed apart): gradient-checked, and in
    float32 each entry the one rounded product x_i g_j."""
    assert_gradients_ok(layers.Dense(7, activation="relu"), rng(7).standard_normal((1, 4)) + 0.1)
    layer = layers.Dense(6)
    x = rng(8).standard_normal((1, 5)).astype(np.float32)
    layer(x)
    g = rng(9).standard_normal((1, 6)).astype(np.float32)
    layer.backward(g)
    np.testing.assert_array_equal(layer.grads["kernel"], (x.T.astype(np.float64) * g).astype(np.float32))


@pytest.mark.parametrize("activation", [None, "relu", "softmax"])
def test_dense_3d_input(activation):
    layer = layers.Dense(6, activation=activation)
    x = rng(2).standard_normal((3, 4, 5))  # (N, T, in)
    assert layer(x).shape == (3, 4, 6)
    assert_gradients_ok(layer, x)


def test_dense_gradient_values_by_formula():
    """Beyond agreement with numerics: the documented formulas, with g = dL/dz."""
    layer = layers.Dense(3)
    x = rng(3).standard_normal((4, 5))
    layer(x)
    g = rng(4).standard_normal((4, 3)).astype(np.float32)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.grads["kernel"], x.astype(np.float32).T @ g, rtol=1e-5)
    np.testing.assert_allclose(layer.grads["bias"], g.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(dx, g @ layer.params["kernel"].T, rtol=1e-5)


def test_relu():
    x = rng(5).standard_normal((6, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep central differences away from the kink
    assert_gradients_ok(layers.ReLU(), x)


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5)])
def test_softmax(shape):
    x = rng(6).standard_normal(shape) * 3
    assert_gradients_ok(layers.Softmax(), x)


def test_softmax_large_logits_stable():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1001.0]])
    p = layers.Softmax()(x)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, softmax(x))
    assert_gradients_ok(layers.Softmax(), x)


@pytest.mark.parametrize(
    "regularizer, formula",
    [
        (regularizers.L2(0.1), lambda w: 0.2 * w),
        (regularizers.L1(0.1), lambda w: 0.1 * np.sign(w)),
    ],
    ids=["L2", "L1"],
)
def test_dense_kernel_regularizer(regularizer, formula):
    layer = layers.Dense(4, kernel_regularizer=regularizer)
    x = rng(7).standard_normal((5, 3))
    assert_gradients_ok(layer, x)  # the checker's loss includes the penalty, its gradient the penalty's

    # The penalty gradient is really there (and is Keras's: 2 * l2 * w, no 1/2 and no 1/N).
    layer(x)
    g = rng(8).standard_normal((5, 4))
    layer.backward(g)
    plain = layer.grads["kernel"].copy()
    layer.add_regularization_gradients()
    # (plain + penalty) - plain rounds to an ulp of the larger term: plain's size sets the absolute bound
    rounding = 4 * np.finfo(np.float64).eps * np.abs(plain).max()
    np.testing.assert_allclose(
        layer.grads["kernel"] - plain, formula(layer.params["kernel"]), rtol=1e-12, atol=rounding
    )
    w = layer.params["kernel"]
    expected_penalty = 0.1 * np.sum(w**2) if isinstance(regularizer, regularizers.L2) else 0.1 * np.abs(w).sum()
    assert layer.regularization_loss() == pytest.approx(expected_penalty, rel=1e-12)


def test_checker_converts_a_built_float32_layer():
    layer = layers.Dense(3, activation="relu")
    layer(np.ones((2, 4), np.float32))
    assert layer.params["kernel"].dtype == np.float32
    assert_gradients_ok(layer, rng(9).standard_normal((3, 4)))
    assert layer.params["kernel"].dtype == np.float64


# ------------------------------------------------------------------------ the checker can fail


class DoubledInputGradient(layers.Dense):
    def backward(self, grad_output):
        return 2 * super().backward(grad_output)


class DroppedBiasGradient(layers.Dense):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.grads["bias"] = np.zeros_like(self.grads["bias"])
        return grad_input


class KernelGradientWithoutInput(layers.Dense):
    """dL/dkernel computed from a wrong x (a sign flip): same shape, wrong values."""

    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.grads["kernel"] = -self.grads["kernel"]
        return grad_input


class DiagonalSoftmax(layers.Softmax):
    """The classic mistake: only the Jacobian's diagonal, dL/dx = g * p * (1 - p)."""

    def backward(self, grad_output):
        return grad_output * self.output * (1 - self.output)


class ForgetsReluMask(layers.ReLU):
    def backward(self, grad_output):
        return grad_output


@pytest.mark.parametrize(
    "layer_cls, kwargs, culprit",
    [
        (DoubledInputGradient, dict(units=4), "input"),
        (DroppedBiasGradient, dict(units=4), "bias"),
        (KernelGradientWithoutInput, dict(units=4), "kernel"),
        (DiagonalSoftmax, dict(), "input"),
        (ForgetsReluMask, dict(), "input"),
    ],
)
def test_checker_fails_on_wrong_layer(layer_cls, kwargs, culprit):
    """A test that the test can fail: a deliberately wrong backward gives a large error, on the
    gradient that is wrong (and only there)."""
    layer = layer_cls(**kwargs)
    x = rng(10).standard_normal((5, 6))
    errors = check_layer_gradients(layer, x, return_details=True)
    assert errors[culprit] > 0.1, errors
    assert check_layer_gradients(layer_cls(**kwargs), x) > 0.1
    for name, error in errors.items():
        if name != culprit:
            assert error < TOL, (name, errors)


def test_relative_error():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(2 * a, a) == pytest.approx(0.5)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, -a) == pytest.approx(2.0)


# -------------------------------------------------------------------------------------------- losses


def probabilities(n, k, seed):
    """Probability rows away from the clip range."""
    p = rng(seed).uniform(0.05, 0.95, (n, k))
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("soft_labels", [False, True])
def test_categorical_crossentropy_backward_unfused(soft_labels):
    n, k = 4, 5
    p = probabilities(n, k, 11)
    y = rng(12).dirichlet(np.ones(k), n) if soft_labels else np.eye(k)[[0, 3, 1, 4]]
    loss = losses.CategoricalCrossentropy()
    expected = -np.mean(np.sum(y * np.log(p), axis=1))
    assert loss.forward(y, p) == pytest.approx(expected, rel=1e-12)
    analytic = loss.backward()
    q = p.copy()
    numeric = numeric_gradient(lambda: losses.CategoricalCrossentropy().forward(y, q), q)
    assert analytic.shape == p.shape
    assert relative_error(analytic, numeric) < TOL
    # Keras rescales p to sum to 1 first, so the loss is flat along p itself: dL/dp = (sum y - y / p) / N
    np.testing.assert_allclose(analytic, (y.sum(axis=1, keepdims=True) - y / p) / n, rtol=1e-12)


def test_categorical_crossentropy_rescales_rows_as_keras():
    """Keras divides p by its row sums before the clip and the log: p and 3 p give the same loss."""
    y, p = np.eye(3)[[0, 2]], np.array([[0.2, 0.3, 0.1], [0.05, 0.05, 0.4]])
    loss = losses.CategoricalCrossentropy()
    expected = -np.mean(np.log([0.2 / 0.6, 0.4 / 0.5]))
    assert loss.forward(y, p) == pytest.approx(expected, rel=1e-12)
    assert loss.forward(y, 3 * p) == pytest.approx(expected, rel=1e-12)
    q = p.copy()
    numeric = numeric_gradient(lambda: losses.CategoricalCrossentropy().forward(y, q), q)
    loss.forward(y, p)
    assert relative_error(loss.backward(), numeric) < TOL


def test_sparse_categorical_crossentropy_backward_unfused():
    n, k = 5, 4
    p = probabilities(n, k, 13)
    y = np.array([0, 3, 1, 1, 2])
    loss = losses.SparseCategoricalCrossentropy()
    assert loss.forward(y, p) == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-12)
    analytic = loss.backward()
    q = p.copy()
    numeric = numeric_gradient(lambda: losses.SparseCategoricalCrossentropy().forward(y, q), q)
    assert relative_error(analytic, numeric) < TOL
    # The same numbers as the categorical loss on one-hot targets.
    onehot = losses.CategoricalCrossentropy()
    assert onehot.forward(np.eye(k)[y], p) == pytest.approx(loss.forward(y, p), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), onehot.backward(), rtol=1e-12)


def test_losses_are_zero_gradient_where_clipped():
    """Keras clips p to [1e-7, 1 - 1e-7]: where p is clipped, the loss is flat in p."""
    p = np.array([[1e-12, 1.0 - 1e-12], [0.5, 0.5]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    loss = losses.CategoricalCrossentropy()
    assert loss.forward(y, p) == pytest.approx((-np.log(1e-7) - np.log(0.5)) / 2)
    g = loss.backward()
    assert g[0, 0] == 0 and g[1, 1] == pytest.approx((1 - 1 / 0.5) / 2)  # (sum y - y / p) / N


CASES = {
    "categorical": (losses.CategoricalCrossentropy, lambda k, n: np.eye(k)[rng(14).integers(0, k, n)]),
    "categorical_soft": (losses.CategoricalCrossentropy, lambda k, n: rng(15).dirichlet(np.ones(k), n)),
    "sparse": (losses.SparseCategoricalCrossentropy, lambda k, n: rng(16).integers(0, k, n)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fused_softmax_crossentropy(case):
    """logits_gradient() is d loss(softmax(z)) / dz, numerically, and it equals
    Softmax.backward(backward()): the fused and unfused paths agree."""
    loss_cls, make_labels = CASES[case]
    n, k = 6, 5
    z = rng(17).standard_normal((n, k)) * 2
    y = make_labels(k, n)

    loss = loss_cls()
    assert loss.fuses_with == "softmax"
    sm = layers.Softmax(dtype="float64")
    p = sm(z)
    loss.forward(y, p)
    g_fused = loss.logits_gradient()

    zz = z.copy()
    numeric = numeric_gradient(lambda: loss_cls().forward(y, softmax(zz)), zz)
    assert relative_error(g_fused, numeric) < TOL

    g_unfused = sm.backward(loss.backward())  # full Jacobian-vector product
    np.testing.assert_allclose(g_fused, g_unfused, rtol=1e-9, atol=1e-15)

    sm.fused_with_loss = True  # as the training loop sets it: the softmax then passes dL/dz through
    assert sm.backward(g_fused) is g_fused


def test_a_loss_shared_by_two_models_follows_each_model(float64):
    """One loss object compiled into a model that ends in Softmax and then into one that does not: the
    second trains on the plain gradient dL/dp = -y / (N p), not the softmax shortcut (p - y) / N (the
    fusion is decided by the model each time it links to the loss, not stored on the loss)."""
    loss = losses.CategoricalCrossentropy()
    x, y = rng(30).standard_normal((6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]]
    with_softmax = minidl.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    with_softmax.compile(minidl.optimizers.SGD(0.1), loss)
    with_softmax.train_on_batch(x, y)
    assert with_softmax.layers[-1].activation.fused_with_loss

    lr = 0.1
    probabilities = minidl.Sequential([layers.Input((4,)), layers.Dense(3, activation="relu")])
    kernel, bias = rng(31).normal(0, 0.02, (4, 3)), np.array([0.2, 0.3, 0.4])  # outputs inside (0, 1)
    probabilities.set_weights([kernel, bias])
    probabilities.compile(minidl.optimizers.SGD(lr), loss)

    def model_loss():
        return losses.CategoricalCrossentropy().forward(y, np.maximum(x @ kernel + bias, 0))

    expected = [w - lr * numeric_gradient(model_loss, w) for w in (kernel, bias)]  # perturbs w in place
    probabilities.train_on_batch(x, y)
    for weight, want in zip(probabilities.get_weights(), expected):
        np.testing.assert_allclose(weight, want, rtol=1e-7, atol=1e-10)
    with_softmax.train_on_batch(x, y)  # and the first model, linked again, still takes the shortcut
    assert with_softmax.layers[-1].activation.fused_with_loss


def build_model(kernel_regularizer=None):
    model = minidl.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(8, activation="relu", kernel_regularizer=kernel_regularizer),
            layers.Dense(5, activation="relu"),
            layers.Dense(4, activation="softmax"),
        ]
    )
    return model


@pytest.mark.parametrize("loss_name", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
@pytest.mark.parametrize("regularized", [False, True])
def test_model_fused_gradients_equal_unfused_chain(float64, loss_name, regularized):
    """Sequential.train_on_batch (which fuses the final softmax with the loss) computes the same
    gradients as chaining the unfused backward passes by hand, and both match numerics."""
    minidl.set_seed(3)
    model = build_model(regularizers.L2(0.05) if regularized else None)
    lr = 0.1
    model.compile(minidl.optimizers.SGD(lr), loss_name)
    x = rng(18).standard_normal((10, 6))
    labels = rng(19).integers(0, 4, 10)
    y = labels if loss_name.startswith("sparse") else np.eye(4)[labels]
    assert model.layers[0].params["kernel"].dtype == np.float64

    # Manual, unfused: forward, loss gradient w.r.t. probabilities, softmax Jacobian, then each layer.
    loss = losses.get(loss_name)
    out = x
    for layer in model.layers:
        out = layer.forward(out, training=True)
    manual_loss = loss.forward(y, out) + sum(layer.regularization_loss() for layer in model.layers)
    grad = loss.backward()
    model.layers[-1].activation.fused_with_loss = False
    for layer in reversed(model.layers):
        grad = layer.backward(grad)
    for layer in model.layers:
        layer.add_regularization_gradients()
    manual = [{k: g.copy() for k, g in layer.grads.items()} for layer in model.layers]

    # Numerical gradient of the whole model's loss (with penalty) w.r.t. every parameter.
    def model_loss():
        h = x
        for layer in model.layers:
            h = layer.forward(h, training=True)
        return losses.get(loss_name).forward(y, h) + sum(layer.regularization_loss() for layer in model.layers)

    for layer, grads in zip(model.layers, manual):
        for name, param in layer.params.items():
            assert relative_error(grads[name], numeric_gradient(model_loss, param)) < TOL, (layer.name, name)

    before = model.get_weights()
    logs = model.train_on_batch(x, y, return_dict=True)
    assert model.layers[-1].activation.fused_with_loss  # the fused path was taken
    assert logs["loss"] == pytest.approx(manual_loss, rel=1e-12)
    for layer, grads in zip(model.layers, manual):
        assert set(layer.grads) == set(grads)
        for name in grads:
            np.testing.assert_allclose(
                layer.grads[name], grads[name], rtol=1e-9, atol=1e-14, err_msg=f"{layer.name}/{name}"
            )
    # and the step applied exactly those gradients: w <- w - lr * grad
    expected = [
        w - lr * g for w, g in zip(before, [g[n] for layer, g in zip(model.layers, manual) for n in layer.weight_names])
    ]
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
