"""Activations: every function equal to Keras's, every layer's backward checked in float64 against
central differences and against TensorFlow's gradient, and the names Dense and Conv2D accept."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minidl
from minidl import activations, layers
from minidl.testing import check_layer_gradients

TOL = 1e-6
ELEMENTWISE = sorted(activations.ELEMENTWISE)


def inputs(shape=(5, 7), seed=0, scale=2.0):
    """Values away from the kinks (0, +-3, 6) by more than a finite-difference step."""
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax"])
def test_activation_layer_gradients(name):
    assert check_layer_gradients(layers.Activation(name), inputs()) < TOL


@pytest.mark.parametrize(
    "layer",
    [
        layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2),
        layers.ReLU(max_value=6.0),
        layers.LeakyReLU(),
        layers.LeakyReLU(0.05),
        layers.ELU(0.7),
        layers.Softmax(axis=1),
        layers.PReLU(alpha_initializer="ones"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_parametrised_activation_layer_gradients(layer):
    if isinstance(layer, layers.PReLU):
        layer.build_for((None, 4, 5, 3))
        layer.set_weights([np.random.default_rng(1).uniform(0.1, 0.9, (4, 5, 3))])
        x = inputs((6, 4, 5, 3))
    else:
        x = inputs((6, 4, 5))
    assert check_layer_gradients(layer, x) < TOL


def test_prelu_shared_axes_gradients():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build_for((None, 4, 5, 3))
    assert layer.get_weights()[0].shape == (1, 1, 3)
    layer.set_weights([np.array([[[0.2, 0.5, 0.9]]])])
    assert check_layer_gradients(layer, inputs((6, 4, 5, 3))) < TOL


def test_erf_matches_math_erf():
    import math

    x = np.linspace(-7, 7, 2001)
    np.testing.assert_allclose(activations.erf(x), [math.erf(v) for v in x], rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "selu", "softplus"])
def test_dense_accepts_every_activation_name(name, float64):
    dense = layers.Dense(4, activation=name)
    assert check_layer_gradients(dense, inputs((3, 6))) < TOL


def test_an_activation_function_is_accepted_as_activation():
    dense = layers.Dense(3, activation=activations.sigmoid)
    assert isinstance(dense.activation, layers.Layer)
    y = dense(np.ones((2, 4), dtype=np.float32))
    assert ((y > 0) & (y < 1)).all()


def test_unknown_activation_says_what_is_known():
    with pytest.raises(ValueError, match=r"Unknown activation 'sigmoidd'; known: \[.*'sigmoid'.*'tanh'"):
        layers.Dense(3, activation="sigmoidd")


def test_sigmoid_and_softplus_do_not_overflow():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        s, p = activations.sigmoid(x), activations.softplus(x)
    np.testing.assert_allclose(s, [0, 1.9287e-22, 0.5, 1, 1], rtol=1e-4)
    np.testing.assert_allclose(p, [0, 1.9287e-22, np.log(2), 50, 1000], rtol=1e-4)


# ------------------------------------------------------------------------------------------ against Keras
keras = pytest.importorskip("keras") if __import__("importlib").util.find_spec("tensorflow") else None


# TensorFlow's float64 leaky_relu rounds its slope to float32 (1.5 * 0.2 gives -0.30000000447), and its
# float64 gelu is up to ~5e-9 (absolute) from the exact 0.5 x (1 + erf(x / sqrt 2)), which minidl's erf
# gives to 1e-14 (test_erf_matches_math_erf).
FLOAT32_CONSTANTS_IN_TF = ("leaky_relu", "gelu")


def keras_function(name):
    return {"silu": keras.activations.silu, "swish": keras.activations.silu}.get(name) or getattr(
        keras.activations, name
    )


@pytest.mark.skipif(keras is None, reason="needs TensorFlow")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax"])
def test_functions_equal_keras(name, dtype):
    x = inputs((8, 9), seed=3, scale=3.0).astype(dtype)
    ours = getattr(activations, name)(x)
    theirs = np.asarray(keras_function(name)(x))
    assert ours.dtype == x.dtype
    rtol = 1e-6 if dtype == "float32" else 1e-13  # a few roundings of the function in its dtype
    if dtype == "float64" and name in FLOAT32_CONSTANTS_IN_TF:
        rtol = 1e-7
    if name == "tanh_shrink":  # x - tanh(x) cancels: the two tanh's last-bit differences stay, |x| 2^-23 at most
        np.testing.assert_array_less(np.abs(ours - theirs), 2 * np.finfo(dtype).eps * np.abs(x) + 1e-300)
        return
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * 1e-2)


def keras_gradient(layer, x):
    import tensorflow as tf

    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = layer(tx)
        projected = tf.reduce_sum(y * tf.constant(np.random.default_rng(9).standard_normal(y.shape)))
    return np.asarray(y), np.asarray(tape.gradient(projected, tx))


def minidl_gradient(layer, x):
    y = layer.forward(x, training=True)
    layer.need_input_grad = True
    return y, layer.backward(np.random.default_rng(9).standard_normal(y.shape))


LAYERS = {  # id: (how to make it in either framework, relative tolerance of the float64 comparison)
    "ReLU(args)": (
        lambda api: api.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2, dtype="float64"),
        1e-12,
    ),
    "LeakyReLU": (lambda api: api.layers.LeakyReLU(dtype="float64"), 1e-7),  # FLOAT32_CONSTANTS_IN_TF
    "ELU": (lambda api: api.layers.ELU(alpha=0.7, dtype="float64"), 1e-12),
    "Softmax(axis=1)": (lambda api: api.layers.Softmax(axis=1, dtype="float64"), 1e-12),
    **{
        f"Activation({name})": (
            lambda api, name=name: api.layers.Activation(name, dtype="float64"),
            1e-7 if name in FLOAT32_CONSTANTS_IN_TF else 1e-12,
        )
        for name in ("sigmoid", "tanh", "gelu", "selu", "hard_sigmoid", "silu", "softplus", "softsign", "elu")
    },
}


@pytest.mark.skipif(keras is None, reason="needs TensorFlow")
@pytest.mark.parametrize("layer_id", list(LAYERS))
def test_layers_forward_and_backward_equal_keras(layer_id, float64):
    make, rtol = LAYERS[layer_id]
    x = inputs((6, 4, 5), seed=5, scale=3.0)
    ky, kdx = keras_gradient(make(keras), x)
    my, mdx = minidl_gradient(make(minidl), x)
    atol = 1e-8 if layer_id == "Activation(gelu)" else 1e-14
    np.testing.assert_allclose(my, ky, rtol=rtol, atol=atol)
    np.testing.assert_allclose(mdx, kdx, rtol=rtol, atol=atol)


@pytest.mark.skipif(keras is None, reason="needs TensorFlow")
@pytest.mark.parametrize("shared_axes", [None, [1, 2]])
def test_prelu_equals_keras(shared_axes, float64):
    import tensorflow as tf

    x = inputs((6, 4, 5, 3), seed=6)
    theirs = keras.layers.PReLU(
        alpha_initializer=keras.initializers.RandomUniform(0.1, 0.9, seed=2), shared_axes=shared_axes, dtype="float64"
    )
    theirs.build((None, 4, 5, 3))
    ours = layers.PReLU(shared_axes=shared_axes)
    ours.build_for((None, 4, 5, 3))
    ours.set_weights(theirs.get_weights())
    upstream = np.random.default_rng(9).standard_normal(x.shape)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        projected = tf.reduce_sum(theirs(tx) * upstream)
    kdx, kalpha = (np.asarray(g) for g in tape.gradient(projected, [tx, theirs.alpha]))
    ours.forward(x, training=True)
    mdx = ours.backward(upstream)
    np.testing.assert_allclose(mdx, kdx, rtol=1e-12)
    np.testing.assert_allclose(ours.grads["alpha"], kalpha, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_in_blocks_equals_maximum_with_zero(dtype):
    """The blockwise ReLU (blocks against a block of zeros, on every core) gives np.maximum(x, 0) exactly:
    on arrays of several blocks and a ragged last one, in place, on views that are not contiguous, with
    NaN, -inf and -0."""
    from minidl.layers.activations import relu
    from minidl.parallel import BLOCK

    x = np.random.default_rng(0).standard_normal(3 * BLOCK + 17).astype(dtype)
    x[:4] = [np.nan, -np.inf, -0.0, np.inf]
    expected = np.maximum(x, 0)
    np.testing.assert_array_equal(relu(x, np.empty_like(x)), expected)
    assert not np.signbit(relu(x, np.empty_like(x))[2])
    in_place = x.copy()
    assert relu(in_place, in_place) is in_place
    np.testing.assert_array_equal(in_place, expected)
    strided = x[::3]
    np.testing.assert_array_equal(relu(strided, np.empty_like(strided)), np.maximum(strided, 0))


def test_get_serialize_and_the_other_functions_as_keras():
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow")
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(0).standard_normal((3, 4))
    for name in sorted(minidl.activations.KERAS_FUNCTIONS - {"threshold"}):
        ours = minidl.activations.get(name)
        assert minidl.activations.deserialize(minidl.activations.serialize(ours)) is ours
        np.testing.assert_allclose(ours(x), keras.activations.get(name)(x), rtol=1e-6, atol=1e-8, err_msg=name)
    np.testing.assert_array_equal(minidl.activations.threshold(x, 0.2, -1.0), keras.activations.threshold(x, 0.2, -1.0))
    assert minidl.activations.get(None) is minidl.activations.linear
    with pytest.raises(ValueError, match="Could not interpret activation function identifier: 'nope'"):
        minidl.activations.get("nope")
