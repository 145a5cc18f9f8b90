"""The CNN layers (Conv2D, MaxPooling2D, Flatten, BatchNormalization, Dropout): float64 gradient checks
of every input and parameter gradient, plus shapes, validation errors, dtypes and the exact semantics
(padding, tie routing, moving statistics, dropout scaling) that the gradient checker cannot see."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import layers, regularizers
from minidl.layers import conv
from minidl.layers.base import Layer
from minidl.testing import check_layer_gradients

TOL = 1e-6


@pytest.fixture(autouse=True)
def seeded():
    """Initializers and unseeded Dropout draw from minidl's global generator: fix it per test."""
    minidl.set_seed(1234)


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_gradients_ok(layer, x, tol=TOL, **kwargs):
    """Every gradient (input and each parameter) within tol; returns the error dict."""
    errors = check_layer_gradients(layer, x, return_details=True, **kwargs)
    assert set(errors) == {"input", *layer.params}, errors  # nothing left unchecked
    assert max(errors.values()) < tol, errors
    return errors


def distinct_values(shape, seed=0):
    """Inputs without ties, spaced 0.1 apart (>> the checker's eps): max pooling is smooth there."""
    values = rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 10.0
    return values - values.mean()


class Chain(Layer):
    """Layers run one after another, as ONE layer for the gradient checker: its params are the inner
    layers' own arrays ("0/kernel", "1/gamma", ...), so every inner gradient and the chained input
    gradient are checked (e.g. BatchNormalization's input gradient seen through a Conv2D)."""

    def __init__(self, *inner: Layer):
        super().__init__()
        self.inner = list(inner)
        for i, layer in enumerate(self.inner):
            setattr(self, f"layer{i}", layer)  # attributes: the checker finds (and freezes) Dropout rngs

    def build(self, input_shape):
        shape = input_shape
        for i, layer in enumerate(self.inner):
            layer.dtype = self.dtype
            shape = layer.build_for(shape)
            self.params.update({f"{i}/{n}": p for n, p in layer.params.items()})
            self.state.update({f"{i}/{n}": s for n, s in layer.state.items()})
            self.regularizers.update({f"{i}/{n}": r for n, r in layer.regularizers.items()})

    def compute_output_shape(self, input_shape):
        for layer in self.inner:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def forward(self, x, training=False):
        for layer in self.inner:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_output):
        for layer in reversed(self.inner):
            grad_output = layer.backward(grad_output)
        self.grads = {f"{i}/{n}": g for i, layer in enumerate(self.inner) for n, g in layer.grads.items()}
        return grad_output


# ------------------------------------------------------------------------------------------- Conv2D


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2, (2, 1)])
@pytest.mark.parametrize("kernel_size", [3, (2, 3)])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv2d_gradients(padding, strides, kernel_size, activation):
    layer = layers.Conv2D(
        3, kernel_size, strides=strides, padding=padding, activation=activation, bias_initializer="random_normal"
    )
    errors = assert_gradients_ok(layer, rng(1).standard_normal((2, 5, 6, 2)))
    assert set(errors) == {"input", "kernel", "bias"}


def test_conv2d_gradients_no_bias_1x1_kernel():
    assert_gradients_ok(layers.Conv2D(4, 1, use_bias=False), rng(2).standard_normal((3, 4, 4, 2)))


def test_conv2d_gradients_many_channels():  # the sliding-window im2col path (C >= 8)
    assert_gradients_ok(
        layers.Conv2D(3, 3, strides=2, padding="same", bias_initializer="random_normal"),
        rng(5).standard_normal((2, 5, 6, 9)),
    )


@pytest.mark.parametrize("kernel_size, dilation_rate", [(3, 1), ((2, 3), 1), (4, 1), (3, (2, 1))])
def test_conv2d_gradients_input_by_full_correlation(kernel_size, dilation_rate):
    """Stride 1, "same", C >= FULL_CORRELATION_CHANNELS: dL/dx as one correlation of the padded dL/dz with
    the flipped kernel (correlate_input_gradient), with "same"'s asymmetric padding and a dilated kernel."""
    channels = conv.FULL_CORRELATION_CHANNELS
    layer = layers.Conv2D(3, kernel_size, padding="same", dilation_rate=dilation_rate, bias_initializer="random_normal")
    assert layer.correlates_input_gradient(channels)
    errors = assert_gradients_ok(layer, rng(6).standard_normal((2, 6, 5, channels)))
    assert set(errors) == {"input", "kernel", "bias"}


def test_conv2d_gradients_kernel_covers_input():
    # valid, kernel = the whole image: a Dense layer in disguise (1x1 output)
    assert_gradients_ok(layers.Conv2D(2, (3, 4), padding="valid"), rng(3).standard_normal((2, 3, 4, 2)))


@pytest.mark.parametrize("channels", [3, 9])  # both im2col paths: per-offset copies (C < 8), sliding windows
def test_conv2d_matches_naive_loops(channels):
    """The im2col result against the definition, with TF's asymmetric "same" padding (stride 2)."""
    x = rng(4).standard_normal((2, 6, 7, channels))
    for padding, strides in [("valid", 1), ("valid", 2), ("same", 1), ("same", 2), ("same", 3)]:
        layer = layers.Conv2D(
            4, (3, 2), strides=strides, padding=padding, bias_initializer="random_normal", dtype="float64"
        )
        y = layer(x)
        k, b = layer.params["kernel"], layer.params["bias"]
        kh, kw = 3, 2
        if padding == "same":
            ho, wo = -(-6 // strides), -(-7 // strides)
            ph = max((ho - 1) * strides + kh - 6, 0)
            pw = max((wo - 1) * strides + kw - 7, 0)
            xp = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
        else:
            xp, ho, wo = x, (6 - kh) // strides + 1, (7 - kw) // strides + 1
        expected = np.empty((2, ho, wo, 4))
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, i * strides : i * strides + kh, j * strides : j * strides + kw, :]
                expected[:, i, j, :] = np.einsum("nabc,abcf->nf", patch, k) + b
        assert y.shape == expected.shape and layer.output_shape == (None, ho, wo, 4)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_conv2d_float32_end_to_end_and_first_layer_skips_input_grad():
    layer = layers.Conv2D(5, 3, padding="same", activation="relu")
    x = rng(5).standard_normal((2, 8, 8, 3)).astype(np.float32)
    y = layer(x, training=True)
    assert y.dtype == np.float32 and layer.input.dtype == np.float32
    assert layer.params["kernel"].shape == (3, 3, 3, 5) and layer.params["bias"].shape == (5,)
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert all(g.dtype == np.float32 for g in layer.grads.values())
    layer.need_input_grad = False
    layer(x, training=True)
    assert layer.backward(np.ones_like(y)) is None
    assert layer.output_activation is layer.activation


def test_conv2d_input_shape_kwarg_and_summary_shapes():
    model = minidl.Sequential(
        [
            layers.Conv2D(4, 3, strides=2, padding="same", input_shape=(7, 9, 2)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
        ]
    )
    assert [layer.output_shape for layer in model.layers] == [(None, 4, 5, 4), (None, 2, 2, 4), (None, 16)]
    assert model.layers[0].count_params() == 3 * 3 * 2 * 4 + 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(filters=0, kernel_size=3), "filters"),
        (dict(filters=2.5, kernel_size=3), "filters"),
        (dict(filters=2, kernel_size=0), "kernel_size"),
        (dict(filters=2, kernel_size=(3, 3, 3)), "kernel_size"),
        (dict(filters=2, kernel_size=3, strides=0), "strides"),
        (dict(filters=2, kernel_size=3, padding="full"), "padding"),
    ],
)
def test_conv2d_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Conv2D(**kwargs, name="bad_conv")


def test_conv2d_rejects_non_image_input_naming_the_layer():
    with pytest.raises(ValueError, match=r"conv_in_a_mlp.*ndim=4"):
        minidl.Sequential([layers.Input((10,)), layers.Conv2D(2, 3, name="conv_in_a_mlp")])
    layer = layers.Conv2D(2, 3, name="conv_checked")
    layer(np.zeros((1, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="conv_checked"):
        layer(np.zeros((1, 5, 5, 2), np.float32))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.Conv2D(2, 5, name="too_big").build_for((None, 3, 3, 1))


def test_conv2d_l2_penalty_gradient():
    layer = layers.Conv2D(3, 3, padding="same", kernel_regularizer=regularizers.L2(0.1))
    errors = assert_gradients_ok(layer, rng(6).standard_normal((2, 4, 5, 2)))
    assert set(errors) == {"input", "kernel", "bias"}
    assert layer.regularization_loss() == pytest.approx(0.1 * np.sum(layer.params["kernel"] ** 2))


def test_dense_l2_penalty_gradient():
    layer = layers.Dense(4, activation="relu", kernel_regularizer=regularizers.L2(0.1))
    assert_gradients_ok(layer, rng(7).standard_normal((3, 5)))


# --------------------------------------------------------------------------------------- MaxPooling2D


@pytest.mark.parametrize(
    "pool_size, strides, padding",
    [
        (2, None, "valid"),
        (2, None, "same"),
        ((2, 3), None, "valid"),
        (3, 2, "valid"),
        (3, 2, "same"),
        (2, 1, "valid"),
        (3, 1, "same"),
    ],
)
def test_maxpool_gradients(pool_size, strides, padding):
    layer = layers.MaxPooling2D(pool_size, strides, padding)
    assert_gradients_ok(layer, distinct_values((2, 7, 6, 3)))


def test_maxpool_output_shapes_crop_like_keras():
    shapes = {
        (2, None, "valid"): (3, 2),
        (2, None, "same"): (4, 3),
        (3, 2, "valid"): (3, 2),
        (3, 2, "same"): (4, 3),
        ((3, 1), 1, "valid"): (5, 5),
    }
    for (pool, strides, padding), (ho, wo) in shapes.items():
        y = layers.MaxPooling2D(pool, strides, padding)(np.zeros((1, 7, 5, 2), np.float32))
        assert y.shape == (1, ho, wo, 2), (pool, strides, padding)


def test_maxpool_values_and_ties_route_to_first_max():
    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 0, 1, 0] = x[0, 1, 0, 0] = 1.0  # a tie in window (0, 0); windows of zeros elsewhere
    x[0, 3, 3, 0] = 5.0
    layer = layers.MaxPooling2D(2)
    y = layer(x, training=True)
    np.testing.assert_array_equal(y[0, :, :, 0], [[1, 0], [0, 5]])
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    # overlapping windows: gradients add up on a shared maximum
    layer = layers.MaxPooling2D(3, strides=1)
    y = layer(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert dx.sum() == y.size
    np.testing.assert_array_equal(dx[0, :, :, 0], [[0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]])


def windows_backward(x: np.ndarray, g: np.ndarray, pool: int, stride: int) -> np.ndarray:
    """MaxPooling2D's input gradient ("valid") the slow way, as TensorFlow's kernel: the windows in row-major
    order (i, then j), each adding its gradient, in float32, to its first maximum in row-major order."""
    dx = np.zeros_like(x)
    for i in range(g.shape[1]):
        for j in range(g.shape[2]):
            window = x[:, i * stride : i * stride + pool, j * stride : j * stride + pool]  # (N, p, p, C)
            first = window.reshape(len(x), pool * pool, -1).argmax(axis=1)  # argmax: the first maximum
            a, b = np.divmod(first, pool)
            n, c = np.indices(first.shape)
            dx[n, i * stride + a, j * stride + b, c] += g[:, i, j]
    return dx


@pytest.mark.parametrize("pool, stride", [(2, 2), (3, 2), (3, 3), (3, 1), (4, 2)])
def test_maxpool_gradient_is_the_windows_in_order_exactly(pool, stride):
    """Ties and overlapping windows: the gradient is the windows' shares added up in row-major window order
    (TensorFlow's order), to the last bit where that is one step, the windows' cells compared at once (3 x 3
    stride 1 takes two steps, a column's sums first: equal to rounding)."""
    x = np.maximum(np.random.default_rng(3).integers(-2, 3, (2, 11, 9, 3)), 0).astype(np.float32)
    layer = layers.MaxPooling2D(pool, stride)
    y = layer(x, training=True)
    g = np.random.default_rng(4).standard_normal(y.shape).astype(np.float32)
    dx, expected = layer.backward(g), windows_backward(x, g, pool, stride)
    if len(layer._stages(*y.shape[1:3])) == 1:
        np.testing.assert_array_equal(dx, expected)
    else:
        np.testing.assert_allclose(dx, expected, rtol=4 * np.finfo(np.float32).eps, atol=1e-6)


def test_maxpool_with_more_than_256_cells_per_window():
    """A window's place is kept as uint8 only while it has at most 256 cells (MaxPooling1D(300) has 300)."""
    x = np.random.default_rng(5).standard_normal((2, 600, 3)).astype(np.float32)
    layer = layers.MaxPooling1D(300)
    y = layer(x, training=True)
    np.testing.assert_array_equal(y, x.reshape(2, 2, 300, 3).max(axis=2))
    dx = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(dx, (x == np.repeat(y, 300, axis=1)).astype(np.float32))


def test_maxpool_validates():
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(0)
    with pytest.raises(ValueError, match="padding"):
        layers.MaxPooling2D(2, padding="causal")
    with pytest.raises(ValueError, match=r"pool_in_a_mlp.*ndim=4"):
        minidl.Sequential([layers.Input((10,)), layers.MaxPooling2D(name="pool_in_a_mlp")])


# -------------------------------------------------------------------------------------------- Flatten


def test_flatten_gradient_and_order():
    assert_gradients_ok(layers.Flatten(), rng(8).standard_normal((2, 3, 4, 5)))
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    layer = layers.Flatten()
    y = layer(x)
    np.testing.assert_array_equal(y, x.reshape(2, 60))  # row-major: (i W + j) C + c
    assert layer.compute_output_shape((None, 3, 4, 5)) == (None, 60)
    assert layer.backward(y).shape == x.shape and layer.backward(y).dtype == np.float32
    assert layers.Flatten()(np.zeros(3, np.float32)).shape == (3, 1)


# --------------------------------------------------------------------------------- BatchNormalization


def random_bn(**kwargs):
    return layers.BatchNormalization(gamma_initializer="random_normal", beta_initializer="random_normal", **kwargs)


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 3, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(shape, training):
    layer = layers.BatchNormalization(
        gamma_initializer=minidl.initializers.RandomNormal(1.0, 0.5),
        beta_initializer="random_normal",
        moving_mean_initializer="random_normal",
    )
    errors = assert_gradients_ok(layer, rng(9).standard_normal(shape) * 2 + 1, training=training)
    assert set(errors) == {"input", "gamma", "beta"}


@pytest.mark.parametrize("kwargs", [dict(center=False), dict(scale=False), dict(axis=1)])
def test_batchnorm_gradients_options(kwargs):
    assert_gradients_ok(random_bn(**kwargs), rng(10).standard_normal((3, 4, 3, 2)))


def test_batchnorm_input_gradient_behind_other_layers():
    """BN's input gradient, chained: Conv2D(relu) -> BN, Dense (no bias) -> BN -> ReLU (all gradients checked).
    (A bias directly before BN has dL/dbias = 0 exactly, since BN subtracts the per-channel mean: its
    "relative error" would compare rounding noise. Hence a ReLU in between, or no bias.)"""
    errors = assert_gradients_ok(
        Chain(layers.Conv2D(3, 3, padding="same", activation="relu", bias_initializer="random_normal"), random_bn()),
        rng(11).standard_normal((2, 4, 5, 2)),
    )
    assert set(errors) == {"input", "0/kernel", "0/bias", "1/gamma", "1/beta"}
    assert_gradients_ok(
        Chain(layers.Dense(4, use_bias=False), random_bn(), layers.ReLU()), rng(12).standard_normal((5, 3))
    )


def test_batchnorm_training_statistics_and_moving_update():
    x = (rng(13).standard_normal((8, 3, 3, 4)) * 3 + 2).astype(np.float32)
    layer = layers.BatchNormalization(momentum=0.9)
    y = layer(x, training=True)
    assert y.dtype == np.float32 and layer.state["moving_mean"].dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 1, 2)), x.var(axis=(0, 1, 2)) / (x.var(axis=(0, 1, 2)) + 1e-3), rtol=1e-5)
    np.testing.assert_allclose(layer.state["moving_mean"], 0.1 * x.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(layer.state["moving_variance"], 0.9 + 0.1 * x.var(axis=(0, 1, 2)), rtol=1e-5)
    assert layer.weight_names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert list(layer.params) == ["gamma", "beta"] and list(layer.state) == ["moving_mean", "moving_variance"]
    before = layer.get_weights()
    y_inf = layer(x, training=False)  # inference: moving statistics, nothing updated
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    expected = (x - layer.state["moving_mean"]) / np.sqrt(layer.state["moving_variance"] + 1e-3)
    np.testing.assert_allclose(y_inf, expected, rtol=1e-5, atol=1e-6)


def test_batchnorm_frozen_layer_runs_in_inference_mode():
    layer = layers.BatchNormalization(trainable=False)
    x = rng(14).standard_normal((4, 3)).astype(np.float32) + 5
    np.testing.assert_allclose(layer(x, training=True), x / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.state["moving_mean"], 0)


def test_batchnorm_validates():
    with pytest.raises(ValueError, match="momentum"):
        layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match="bn_axis"):
        layers.BatchNormalization(axis=3, name="bn_axis").build_for((None, 4))


# -------------------------------------------------------------------------------------------- Dropout


def test_dropout_gradient_with_frozen_mask():
    layer = layers.Dropout(0.4, seed=3)
    assert_gradients_ok(layer, rng(15).standard_normal((4, 3, 3, 5)))
    assert_gradients_ok(layers.Dropout(0.5, noise_shape=(None, 1, 1, 5), seed=4), rng(16).standard_normal((4, 3, 3, 5)))
    # inside a chain, behind a Dense: the checker finds the inner rng too
    assert_gradients_ok(
        Chain(layers.Dense(6, activation="relu"), layers.Dropout(0.3, seed=5), layers.Dense(2)),
        rng(17).standard_normal((5, 4)),
    )


def test_dropout_training_scaling_and_inference_identity():
    x = np.ones((200, 500), np.float32)
    layer = layers.Dropout(0.3, seed=0)
    assert layer(x, training=False) is x or np.array_equal(layer(x, training=False), x)
    y = layer(x, training=True)
    assert y.dtype == np.float32
    kept = y[y != 0]
    assert abs(1 - kept.size / y.size - 0.3) < 0.01
    np.testing.assert_array_equal(kept, np.float32(1 / 0.7))
    g = layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(g, y)  # same mask
    y2 = layer(x, training=True)
    assert not np.array_equal(y, y2)  # a new mask each step
    y_channels = layers.Dropout(0.5, noise_shape=(None, 1), seed=1)(x, training=True)
    assert all(len(np.unique(row)) == 1 for row in y_channels)  # whole rows kept or dropped
    np.testing.assert_array_equal(layers.Dropout(0.0)(x, training=True), x)


def test_dropout_seed_reproducible_and_set_seed():
    x = np.ones((10, 10), np.float32)
    a = layers.Dropout(0.5, seed=42)(x, training=True)
    b = layers.Dropout(0.5, seed=42)(x, training=True)
    np.testing.assert_array_equal(a, b)
    minidl.set_seed(7)
    c = layers.Dropout(0.5)(x, training=True)
    minidl.set_seed(7)
    d = layers.Dropout(0.5)(x, training=True)
    np.testing.assert_array_equal(c, d)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "half"])
def test_dropout_validates_rate(rate):
    with pytest.raises(ValueError, match="my_dropout.*rate"):
        layers.Dropout(rate, name="my_dropout")


# --------------------------------------------------------------------------- the seed CNN, in small


def test_small_seed_cnn_chain_gradients():
    """Conv(relu) -> BN -> MaxPool -> Flatten -> Dense(relu) -> Dropout -> Dense, with L2 on the kernels:
    every parameter gradient of the whole stack at once."""
    chain = Chain(
        layers.Conv2D(
            3,
            3,
            padding="same",
            activation="relu",
            bias_initializer="random_normal",
            kernel_regularizer=regularizers.L2(0.01),
        ),
        random_bn(),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(5, activation="relu", kernel_regularizer=regularizers.L2(0.01), bias_initializer="random_normal"),
        layers.Dropout(0.3, seed=0),
        layers.Dense(3),
    )
    assert_gradients_ok(chain, rng(18).standard_normal((3, 6, 6, 1)))


def test_seed_cnn_model_summary_shapes():
    model = minidl.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer="glorot_normal"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(784, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert [layer.output_shape for layer in model.layers] == [
        (None, 28, 28, 32),
        (None, 28, 28, 32),
        (None, 14, 14, 32),
        (None, 6272),
        (None, 784),
        (None, 784),
        (None, 10),
    ]
    assert model.count_params() == 320 + 128 + 6272 * 784 + 784 + 7850
    assert model.layers[0].need_input_grad is False and model.layers[1].need_input_grad is True
