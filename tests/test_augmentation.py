"""The random image layers: Keras's affine sampling to float32 rounding, Keras's transforms for the same
draws, the same draws from the same seed, the identity in inference, and float64 gradient checks of the
training map (each layer's draws held fixed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minidl
from minidl.backend import make_rng
from minidl.layers.image_transform import affine_transform
from minidl.testing import check_layer_gradients

IMAGES = (4, 9, 11, 3)

LAYERS = {
    "RandomFlip": lambda api: api.layers.RandomFlip(seed=1),
    "RandomFlip horizontal": lambda api: api.layers.RandomFlip("horizontal", seed=2),
    "RandomFlip vertical": lambda api: api.layers.RandomFlip("vertical", seed=3),
    "RandomRotation": lambda api: api.layers.RandomRotation(0.2, seed=1),
    "RandomRotation nearest constant": lambda api: api.layers.RandomRotation(
        (-0.1, 0.3), fill_mode="constant", interpolation="nearest", fill_value=0.5, seed=1
    ),
    "RandomZoom": lambda api: api.layers.RandomZoom(0.3, seed=1),
    "RandomZoom both axes wrap": lambda api: api.layers.RandomZoom((-0.3, 0.1), (0.2, 0.4), fill_mode="wrap", seed=1),
    "RandomTranslation": lambda api: api.layers.RandomTranslation(0.2, 0.3, seed=1),
    "RandomTranslation nearest": lambda api: api.layers.RandomTranslation(
        (-0.1, 0.2), 0.1, fill_mode="nearest", seed=1
    ),
    "RandomContrast": lambda api: api.layers.RandomContrast(0.5, value_range=(-10, 10), seed=1),
    "RandomContrast clipped": lambda api: api.layers.RandomContrast((0.2, 0.6), value_range=(0, 1), seed=1),
    "RandomBrightness": lambda api: api.layers.RandomBrightness(0.3, value_range=(0, 1), seed=1),
}


def images(seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random(IMAGES).astype(dtype)


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradients(name, float64):
    assert check_layer_gradients(LAYERS[name](minidl), images(dtype=np.float64)) < 1e-6


@pytest.mark.parametrize("name", list(LAYERS))
def test_inference_is_the_identity_and_a_seed_repeats_training(name):
    x = images()
    layer = LAYERS[name](minidl)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    trained = layer(x, training=True)
    assert trained.shape == x.shape and trained.dtype == x.dtype and not np.array_equal(trained, x)
    np.testing.assert_array_equal(LAYERS[name](minidl)(x, training=True), trained)  # the same seed, the same draws


def test_a_flip_of_both_axes_turns_the_chosen_images_half_round():
    x = images()
    layer = minidl.layers.RandomFlip(seed=4)
    y = layer(x, training=True)
    chosen = make_rng(4).uniform(size=len(x)) <= 0.5
    assert 0 < chosen.sum() < len(x)
    np.testing.assert_array_equal(y[chosen], x[chosen][:, ::-1, ::-1])
    np.testing.assert_array_equal(y[~chosen], x[~chosen])


def test_rotation_draws_its_angles_within_the_factor():
    """The layer's output is the affine sampling of its transforms, angles drawn uniformly from factor x 360
    degrees with its seed's generator."""
    x = images()
    layer = minidl.layers.RandomRotation((-0.05, 0.1), seed=7)
    angles = make_rng(7).uniform(-18.0, 36.0, size=len(x))
    expected = affine_transform(x, minidl.layers.RandomRotation.rotations(angles, 9, 11), fill_mode="reflect")
    np.testing.assert_array_equal(layer(x, training=True), expected)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="RandomRotation 'r': factor must be a number or a pair"):
        minidl.layers.RandomRotation(1.5, name="r")
    with pytest.raises(ValueError, match="fill_mode must be one of"):
        minidl.layers.RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="mode must be one of"):
        minidl.layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="expected ndim=4"):
        minidl.layers.RandomFlip()(np.zeros((2, 5)))


keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")


@needs_keras
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "constant", "nearest"])
def test_affine_transform_equals_keras(fill_mode, interpolation):
    """Rotations, scalings and shifts that reach outside the image: Keras's TensorFlow kernel to float32
    rounding (an output is a convex combination of four values in [0, 1], each weight and product rounded:
    a few units of 2^-24)."""
    rng = np.random.default_rng(0)
    x = images()
    angle = rng.uniform(-1, 1, len(x))
    cos, sin = np.cos(angle), np.sin(angle)
    zeros = np.zeros(len(x))
    shift_x, shift_y = rng.uniform(-6, 6, len(x)), rng.uniform(-6, 6, len(x))
    transforms = np.stack([1.3 * cos, -sin, shift_x, sin, 0.8 * cos, shift_y, zeros, zeros], axis=1).astype(np.float32)
    ours = affine_transform(x, transforms, interpolation, fill_mode, 0.5)
    theirs = np.asarray(keras.ops.image.affine_transform(x, transforms, interpolation, fill_mode, 0.5))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)


@needs_keras
def test_transforms_equal_keras_for_the_same_draws():
    tf = pytest.importorskip("tensorflow")
    n, rng = 5, np.random.default_rng(1)
    degrees = rng.uniform(-40, 40, n).astype(np.float32)
    zeros, ones = tf.zeros(n), tf.ones(n)
    rotation = keras.layers.RandomRotation(0.1)._compute_affine_matrix(
        center_x=0.5,
        center_y=0.5,
        angle=tf.constant(degrees),
        translate_x=zeros,
        translate_y=zeros,
        scale=ones,
        shear_x=zeros,
        shear_y=zeros,
        height=9,
        width=11,
    )
    np.testing.assert_allclose(minidl.layers.RandomRotation.rotations(degrees, 9, 11), rotation, atol=2e-6)
    zooms = rng.uniform(0.7, 1.3, (n, 2)).astype(np.float32)
    zoom = keras.layers.RandomZoom(0.2)._get_zoom_matrix(tf.constant(zooms), 9, 11)
    np.testing.assert_allclose(minidl.layers.RandomZoom.zooms(zooms[:, 0], zooms[:, 1], 9, 11), zoom, atol=2e-6)
    shifts = rng.uniform(-3, 3, (n, 2)).astype(np.float32)
    shift = keras.layers.RandomTranslation(0.2, 0.2)._get_translation_matrix(tf.constant(shifts))
    np.testing.assert_allclose(minidl.layers.RandomTranslation.shifts(shifts[:, 0], shifts[:, 1]), shift, atol=0)


@needs_keras
@pytest.mark.parametrize("name", list(LAYERS))
def test_keras_layers_pass_images_unchanged_in_inference_as_minidl(name):
    x = images()
    np.testing.assert_array_equal(np.asarray(LAYERS[name](keras)(x, training=False)), LAYERS[name](minidl)(x))
