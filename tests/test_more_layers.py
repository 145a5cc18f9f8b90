"""The layers beyond the seed's: float64 gradient checks, and forward and backward equal to Keras's
(TensorFlow's gradient) given the same weights and upstream gradient."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl.testing import check_layer_gradients

TOL = 1e-6
IMAGES = (3, 6, 7, 4)

CASES = {  # id: (make(api), input shape)
    "Reshape": (lambda api: api.layers.Reshape((7, -1)), IMAGES),
    "Rescaling": (lambda api: api.layers.Rescaling(1 / 255, offset=-0.5), IMAGES),
    "Permute": (lambda api: api.layers.Permute((3, 1, 2)), IMAGES),
    "ZeroPadding2D": (lambda api: api.layers.ZeroPadding2D(((1, 2), (0, 3))), IMAGES),
    "Cropping2D": (lambda api: api.layers.Cropping2D(((1, 2), (2, 1))), IMAGES),
    "UpSampling2D": (lambda api: api.layers.UpSampling2D((2, 3)), IMAGES),
    "GlobalAveragePooling2D": (lambda api: api.layers.GlobalAveragePooling2D(), IMAGES),
    "GlobalAveragePooling2D keepdims": (lambda api: api.layers.GlobalAveragePooling2D(keepdims=True), IMAGES),
    "GlobalMaxPooling2D": (lambda api: api.layers.GlobalMaxPooling2D(), IMAGES),
    "GlobalAveragePooling1D": (lambda api: api.layers.GlobalAveragePooling1D(), (3, 9, 4)),
    "GlobalMaxPooling1D": (lambda api: api.layers.GlobalMaxPooling1D(), (3, 9, 4)),
    "AveragePooling2D": (lambda api: api.layers.AveragePooling2D(2), IMAGES),
    "AveragePooling2D tiling the image": (lambda api: api.layers.AveragePooling2D((2, 4)), (3, 6, 8, 4)),
    "AveragePooling2D same overlapping": (
        lambda api: api.layers.AveragePooling2D(3, strides=2, padding="same"),
        IMAGES,
    ),
    "LayerNormalization": (lambda api: api.layers.LayerNormalization(), (5, 6)),
    "Conv2D dilated": (lambda api: api.layers.Conv2D(3, 2, dilation_rate=2, activation="relu"), IMAGES),
    "Conv2D dilated same": (lambda api: api.layers.Conv2D(3, 3, padding="same", dilation_rate=(2, 1)), IMAGES),
    "Conv2D dilated many channels": (lambda api: api.layers.Conv2D(2, 2, dilation_rate=2), (2, 6, 7, 9)),
    # few filters over many channels: multiplied first, then shifted (Conv2D.multiplies_first)
    "Conv2D few filters same dilated": (
        lambda api: api.layers.Conv2D(2, 3, padding="same", dilation_rate=(2, 1), activation="relu"),
        (3, 6, 7, 16),
    ),
    "Conv2D one filter valid": (lambda api: api.layers.Conv2D(1, (3, 2)), (3, 6, 7, 12)),
    "Conv1D few filters same": (lambda api: api.layers.Conv1D(2, 5, padding="same"), (3, 9, 16)),
    "Conv2D 1x1 many channels": (lambda api: api.layers.Conv2D(3, 1), (3, 6, 7, 70)),
    "Conv1D": (lambda api: api.layers.Conv1D(5, 3, activation="tanh"), (3, 9, 4)),
    "Conv1D same strided": (lambda api: api.layers.Conv1D(2, 4, strides=2, padding="same"), (3, 9, 4)),
    "Conv1D dilated": (lambda api: api.layers.Conv1D(2, 3, dilation_rate=2), (3, 9, 4)),
    "ZeroPadding1D": (lambda api: api.layers.ZeroPadding1D((2, 1)), (3, 9, 4)),
    "Cropping1D": (lambda api: api.layers.Cropping1D((1, 3)), (3, 9, 4)),
    "UpSampling1D": (lambda api: api.layers.UpSampling1D(3), (3, 9, 4)),
    "RepeatVector": (lambda api: api.layers.RepeatVector(4), (3, 5)),
    "UnitNormalization": (lambda api: api.layers.UnitNormalization(), (4, 6)),
    "UnitNormalization images": (lambda api: api.layers.UnitNormalization(axis=[1, 3]), IMAGES),
    "Identity": (lambda api: api.layers.Identity(), IMAGES),
    "TimeDistributed Dense": (
        lambda api: api.layers.TimeDistributed(api.layers.Dense(3, activation="tanh")),
        (2, 5, 4),
    ),
    "TimeDistributed Conv2D": (
        lambda api: api.layers.TimeDistributed(api.layers.Conv2D(2, 3, padding="same")),
        (2, 3, 6, 5, 2),
    ),
    "MaxPooling1D": (lambda api: api.layers.MaxPooling1D(2), (3, 9, 4)),
    "MaxPooling1D same": (lambda api: api.layers.MaxPooling1D(3, strides=2, padding="same"), (3, 9, 4)),
    "AveragePooling1D": (lambda api: api.layers.AveragePooling1D(3, strides=2, padding="same"), (3, 9, 4)),
    "LayerNormalization images": (lambda api: api.layers.LayerNormalization(axis=[1, 2, 3]), IMAGES),
    "LayerNormalization inner axis": (lambda api: api.layers.LayerNormalization(axis=1), IMAGES),
    "LayerNormalization no scale": (lambda api: api.layers.LayerNormalization(scale=False), (5, 6)),
    "GroupNormalization": (lambda api: api.layers.GroupNormalization(groups=2), IMAGES),
    "GroupNormalization per channel": (lambda api: api.layers.GroupNormalization(groups=-1, epsilon=1e-5), (4, 9, 6)),
    "GroupNormalization inner axis": (lambda api: api.layers.GroupNormalization(groups=3, axis=1), IMAGES),
    "GroupNormalization one group no center": (
        lambda api: api.layers.GroupNormalization(groups=1, center=False),
        (5, 6),
    ),
    "Conv2DTranspose same strided": (lambda api: api.layers.Conv2DTranspose(4, 3, strides=2, padding="same"), IMAGES),
    "Conv2DTranspose valid": (lambda api: api.layers.Conv2DTranspose(3, (3, 2), strides=(2, 3)), IMAGES),
    "Conv2DTranspose stride over kernel": (lambda api: api.layers.Conv2DTranspose(2, 2, strides=3), IMAGES),
    "Conv2DTranspose many filters": (lambda api: api.layers.Conv2DTranspose(33, 3, padding="same"), IMAGES),
    "Conv2DTranspose output_padding same": (
        lambda api: api.layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1, activation="relu"),
        IMAGES,
    ),
    "Conv2DTranspose output_padding valid": (
        lambda api: api.layers.Conv2DTranspose(2, 3, strides=(2, 3), output_padding=(1, 2)),
        IMAGES,
    ),
    "DepthwiseConv2D": (lambda api: api.layers.DepthwiseConv2D(3), IMAGES),
    "DepthwiseConv2D multiplier same strided": (
        lambda api: api.layers.DepthwiseConv2D(
            (3, 2), strides=2, padding="same", depth_multiplier=2, activation="relu"
        ),
        IMAGES,
    ),
    "DepthwiseConv2D dilated": (lambda api: api.layers.DepthwiseConv2D(3, dilation_rate=2, padding="same"), IMAGES),
    "SeparableConv2D": (lambda api: api.layers.SeparableConv2D(5, 3), IMAGES),
    "SeparableConv2D multiplier same strided": (
        lambda api: api.layers.SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=3, activation="tanh"),
        IMAGES,
    ),
    "SeparableConv2D dilated no bias": (
        lambda api: api.layers.SeparableConv2D(2, 2, dilation_rate=(1, 2), use_bias=False),
        IMAGES,
    ),
}
# TensorFlow's CPU kernels have no dilated transposed convolution: gradient checks only
GRADIENTS_ONLY = {
    "Conv2DTranspose dilated": (
        lambda api: api.layers.Conv2DTranspose(2, 3, dilation_rate=2, activation="relu"),
        IMAGES,
    ),
    "Conv2DTranspose dilated same many filters": (
        lambda api: api.layers.Conv2DTranspose(40, 3, dilation_rate=(2, 1), padding="same"),
        IMAGES,
    ),
}


def inputs(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def randomised(layer, shape, seed=1):
    """The layer built, its weights (if any) random, so gamma and beta are not ones and zeros."""
    layer.build_for((None, *shape[1:]))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("case", [*CASES, *GRADIENTS_ONLY])
def test_gradients(case, float64):
    make, shape = {**CASES, **GRADIENTS_ONLY}[case]
    # (the projection's seed differs from the input's: UnitNormalization's gradient along x itself is zero)
    assert check_layer_gradients(randomised(make(minidl), shape), inputs(shape), seed=7) < TOL


@pytest.mark.parametrize(
    "layer",
    [
        minidl.layers.GaussianNoise(0.3, seed=1),
        minidl.layers.SpatialDropout2D(0.4, seed=2),
        minidl.layers.GaussianDropout(0.3, seed=3),
        minidl.layers.SpatialDropout1D(0.4, seed=4),
    ],
    ids=["GaussianNoise", "SpatialDropout2D", "GaussianDropout", "SpatialDropout1D"],
)
def test_noise_layers(layer, float64):
    x = inputs((3, 9, 4) if isinstance(layer, minidl.layers.SpatialDropout1D) else IMAGES)
    assert check_layer_gradients(layer, x) < TOL
    np.testing.assert_array_equal(layer.forward(x, training=False), x)  # inference: the identity
    y = layer.forward(x, training=True)
    if isinstance(layer, minidl.layers.SpatialDropout2D):  # whole feature maps (channels of a sequence) dropped
        kept = (y != 0).reshape(3, -1, 4).any(axis=1)
        np.testing.assert_array_equal((y != 0), np.broadcast_to(kept.reshape(3, *[1] * (x.ndim - 2), 4), y.shape))
    elif isinstance(layer, minidl.layers.GaussianDropout):  # y = x e, e ~ Normal(1, 0.3 / 0.7)
        assert 0.55 < np.std(y / x) < 0.75 and 0.9 < np.mean(y / x) < 1.1
    else:
        assert 0.2 < np.std(y - x) < 0.4


tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_backward_equal_keras(case, float64, keras_float64):
    make, shape = CASES[case]
    x = inputs(shape, seed=3)
    ours = randomised(make(minidl), shape)
    theirs = make(keras)
    theirs.build((None, *shape[1:]))
    theirs.set_weights(ours.get_weights())
    upstream = np.random.default_rng(4).standard_normal(ours.compute_output_shape((len(x), *shape[1:])))
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ky = theirs(tx, training=True)
        projected = tf.reduce_sum(ky * upstream)
    kdx = tape.gradient(projected, [tx, *theirs.trainable_weights])
    my = ours.forward(x, training=True)
    ours.need_input_grad = True
    mdx = ours.backward(upstream)
    rtol = 1e-7 if case == "Rescaling" else 1e-10  # Keras casts scale (1/255) to float32 first, even in float64
    np.testing.assert_allclose(my, np.asarray(ky), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(mdx, np.asarray(kdx[0]), rtol=rtol, atol=1e-12)
    for name, grad in zip(ours.weight_names, kdx[1:]):
        np.testing.assert_allclose(ours.grads[name], np.asarray(grad), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("layer, shape", [("GlobalMaxPooling2D", (6, 7, 5, 4)), ("GlobalMaxPooling1D", (6, 35, 4))])
def test_global_max_pooling_ties_share_the_gradient_as_tensorflow(layer, shape):
    """Float32 ReLU outputs of small integers (ties in every channel, whole channels of zeros; 35 positions,
    odd, so the halving's middle position is compared twice): the output and the shared gradient
    (hit / count) dL/dy equal TensorFlow's reduce_max gradient to the last bit."""
    rng = np.random.default_rng(5)
    x = np.maximum(rng.integers(-3, 3, shape), 0).astype(np.float32)
    x[0] = 0  # every channel of one sample tied at 0
    ours, theirs = getattr(minidl.layers, layer)(), getattr(keras.layers, layer)()
    upstream = rng.standard_normal((shape[0], shape[-1])).astype(np.float32)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ky = theirs(tx)
    kdx = tape.gradient(ky, tx, output_gradients=tf.constant(upstream))
    np.testing.assert_array_equal(ours.forward(x, training=True), np.asarray(ky))
    np.testing.assert_array_equal(ours.backward(upstream), np.asarray(kdx))
