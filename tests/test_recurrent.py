"""LSTM: backpropagation through time against central differences in float64, the outputs and three
training steps equal to Keras's given the same weights, and its config both ways."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from helpers import assert_steps_equal_keras

import minidl
from minidl.testing import check_layer_gradients

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")


@pytest.mark.parametrize("shape", [(3, 6, 5), (1, 4, 5), (2, 1, 5)], ids=["batch", "one_sample", "one_step"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_gradients_through_time(return_sequences, shape, float64):
    layer = minidl.layers.LSTM(4, return_sequences=return_sequences, bias_initializer="random_normal")
    error = check_layer_gradients(layer, np.random.default_rng(0).standard_normal(shape), return_details=True)
    assert set(error) == {"input", "kernel", "recurrent_kernel", "bias"} and max(error.values()) < 1e-6, error


def sequence_model(api, return_sequences, dtype=None):
    layers = [api.Input((7, 3), dtype=dtype), api.layers.LSTM(6, return_sequences=return_sequences, name="lstm")]
    if return_sequences:
        layers.append(api.layers.GlobalAveragePooling1D())
    return api.Sequential([*layers, api.layers.Dense(2, activation="softmax", name="out")])


@needs_keras
@pytest.mark.parametrize("return_sequences", [False, True])
def test_outputs_and_training_equal_keras(return_sequences, float64, keras_float64):
    theirs, ours = (
        sequence_model(keras, return_sequences, "float64"),
        sequence_model(minidl, return_sequences, "float64"),
    )
    ours.set_weights(theirs.get_weights())
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((8, 7, 3)), rng.integers(0, 2, 8)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10, atol=1e-12)
    theirs.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    ours.compile(minidl.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    assert_steps_equal_keras(ours, theirs, x, y, loss_rel=1e-8, rtol=1e-7, atol=1e-9)


@needs_keras
def test_initial_weights_and_config_as_keras():
    ours, theirs = sequence_model(minidl, False), sequence_model(keras, False)
    _, _, bias = ours.get_layer("lstm").get_weights()
    np.testing.assert_array_equal(bias, np.repeat([0.0, 1.0, 0.0, 0.0], 6))  # unit_forget_bias
    rebuilt = minidl.layers.LSTM.from_config(theirs.get_layer("lstm").get_config())
    assert rebuilt.units == 6 and not rebuilt.return_sequences
    keras.layers.LSTM.from_config(ours.get_layer("lstm").get_config())
    with pytest.raises(ValueError, match="minidl does not support the argument dropout=0.2"):
        minidl.layers.LSTM.from_config(keras.layers.LSTM(3, dropout=0.2).get_config())
