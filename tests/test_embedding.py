"""Embedding: the table's gradient (repeated tokens add up) against central differences in float64, the
forward pass and the gradient equal to TensorFlow's, and clear errors for bad indices (mask_zero: see
test_masking)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from helpers import assert_steps_equal_keras

import minidl
from minidl.testing import numeric_gradient, relative_error

TOKENS = np.array([[1, 4, 4, 0, 9], [4, 2, 2, 2, 7], [9, 9, 1, 3, 3]])  # repeats within and across rows


def test_table_gradient_against_central_differences(float64):
    layer = minidl.layers.Embedding(10, 3)
    layer.build_for((None, 5))
    layer.params["embeddings"] = np.random.default_rng(0).standard_normal((10, 3))
    projection = np.random.default_rng(1).standard_normal((3, 5, 3))

    def loss():
        return float(np.sum(layer.forward(TOKENS, training=True) * projection))

    loss()
    assert layer.backward(projection.copy()) is not None  # zeros: indices get no gradient
    analytic = layer.grads["embeddings"].copy()
    assert relative_error(analytic, numeric_gradient(loss, layer.params["embeddings"])) < 1e-6
    assert not analytic[[5, 6, 8]].any()  # tokens that do not occur get no gradient
    np.testing.assert_allclose(analytic[4], projection[0, 1] + projection[0, 2] + projection[1, 0])


def test_bad_indices_name_the_layer():
    layer = minidl.layers.Embedding(10, 3, name="words")
    with pytest.raises(ValueError, match=r"Embedding 'words': index 10 is out of range 0\.\.9"):
        layer(np.array([[1, 10]]))


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs TensorFlow")
def test_forward_and_gradient_equal_tensorflow():
    import keras
    import tensorflow as tf

    ours, theirs = minidl.layers.Embedding(10, 3), keras.layers.Embedding(10, 3)
    theirs.build((None, 5))
    ours.build_for((None, 5))
    ours.set_weights(theirs.get_weights())
    upstream = np.random.default_rng(2).standard_normal((3, 5, 3)).astype(np.float32)
    with tf.GradientTape() as tape:
        y = theirs(TOKENS)
        loss = tf.reduce_sum(y * upstream)
    expected = tf.convert_to_tensor(tape.gradient(loss, theirs.trainable_variables)[0])
    np.testing.assert_array_equal(ours.forward(TOKENS, training=True), y.numpy())
    ours.backward(upstream)
    np.testing.assert_allclose(ours.grads["embeddings"], expected.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="needs TensorFlow")
def test_a_token_model_trains_like_keras_with_sgd():
    """With SGD, three steps of an Embedding -> GlobalAveragePooling1D -> Dense model equal Keras's. (Adam
    differs on the table: TensorFlow updates its moments row by row for each occurrence of a repeated
    token, minidl from the summed gradient of the row.)"""
    import keras

    def build(api):
        return api.Sequential(
            [
                api.Input((12,), dtype="int32"),
                api.layers.Embedding(50, 8),
                api.layers.GlobalAveragePooling1D(),
                api.layers.Dense(3, activation="softmax"),
            ]
        )

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 50, (32, 12)), rng.integers(0, 3, 32)
    theirs, ours = build(keras), build(minidl)
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.5, momentum=0.9), "sparse_categorical_crossentropy")
    ours.compile(minidl.optimizers.SGD(0.5, momentum=0.9), "sparse_categorical_crossentropy")
    assert_steps_equal_keras(ours, theirs, x, y, loss_rel=1e-5, rtol=1e-5, atol=1e-6)
    assert ours.predict(x, verbose=0).dtype == np.float32
