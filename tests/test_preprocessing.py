"""Normalization: adapt learns Keras's statistics, the output and its gradient equal Keras's, inverted too,
and the layer travels in Keras's files and configs."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minidl
from minidl.testing import check_layer_gradients

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")
DATA = np.random.default_rng(0).normal(3.0, 2.0, (200, 5)).astype(np.float32) * np.arange(1, 6, dtype=np.float32)


def test_gradients(float64):
    for invert in (False, True):
        layer = minidl.layers.Normalization(invert=invert)
        layer.adapt(DATA.astype(np.float64))
        assert check_layer_gradients(layer, np.random.default_rng(1).standard_normal((4, 5))) < 1e-6


@needs_keras
@pytest.mark.parametrize("options", [{}, {"invert": True}, {"axis": None, "mean": 2.0, "variance": 4.0}])
def test_adapt_and_outputs_equal_keras(options):
    ours, theirs = minidl.layers.Normalization(**options), keras.layers.Normalization(**options)
    if "mean" not in options:
        ours.adapt(DATA)
        theirs.adapt(DATA)
        for mine, their in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(mine, their, rtol=1e-5)
    else:
        ours.build_for((None, 5))
    x = DATA[:7]
    np.testing.assert_allclose(ours(x), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)


@needs_keras
def test_an_adapted_model_in_keras_files_both_ways(tmp_path):
    def build(api, normalizer):
        model = api.Sequential([api.Input((5,)), normalizer, api.layers.Dense(1)])
        model.compile("adam", "mse")
        return model

    normalizer = minidl.layers.Normalization()
    normalizer.adapt(DATA)
    ours = build(minidl, normalizer)
    ours.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(ours.predict(DATA, verbose=0), theirs.predict(DATA, verbose=0), rtol=1e-5, atol=1e-5)
    theirs.save(tmp_path / "k.keras")
    again = minidl.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(again.predict(DATA, verbose=0), theirs.predict(DATA, verbose=0), rtol=1e-5, atol=1e-5)
