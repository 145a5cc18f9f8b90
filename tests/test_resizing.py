"""Resizing and CenterCrop: forward and backward equal to Keras's (TensorFlow's image.resize and its gradient)
to float32 rounding, and float64 gradient checks."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minidl
from minidl.testing import check_layer_gradients

CASES = {
    "Resizing down": lambda api: api.layers.Resizing(5, 7),
    "Resizing up": lambda api: api.layers.Resizing(17, 30),
    "Resizing nearest up": lambda api: api.layers.Resizing(6, 20, interpolation="nearest"),
    "Resizing nearest down": lambda api: api.layers.Resizing(12, 5, interpolation="nearest"),
    "Resizing square crop": lambda api: api.layers.Resizing(8, 8, crop_to_aspect_ratio=True),
    "Resizing wide crop": lambda api: api.layers.Resizing(4, 10, crop_to_aspect_ratio=True),
    "CenterCrop": lambda api: api.layers.CenterCrop(5, 6),
    "CenterCrop the whole image": lambda api: api.layers.CenterCrop(9, 13),
    "CenterCrop larger: cropped and resized": lambda api: api.layers.CenterCrop(12, 6),
}
SHAPE = (3, 9, 13, 2)


@pytest.mark.parametrize("case", list(CASES))
def test_gradients(case):
    assert check_layer_gradients(CASES[case](minidl), np.random.default_rng(0).random(SHAPE)) < 1e-6


keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None


@pytest.mark.skipif(keras is None, reason="needs TensorFlow")
@pytest.mark.parametrize("case", list(CASES))
def test_forward_and_backward_equal_keras(case):
    """float32: each output a combination of at most four inputs in [0, 1] with weights summing to 1, each
    gradient a sum of at most (input size / output size + 2)^2 weighted upstream values in [0, 1]: a few
    units of 2^-24 times those sizes."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    x = rng.random(SHAPE, dtype=np.float32)
    ours, theirs = CASES[case](minidl), CASES[case](keras)
    y = ours(x)
    upstream = rng.random(y.shape, dtype=np.float32)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ky = theirs(tx)
    kdx = tape.gradient(ky, tx, output_gradients=tf.constant(upstream))
    np.testing.assert_allclose(y, np.asarray(ky), rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.backward(upstream), np.asarray(kdx), rtol=0, atol=4e-6)
