"""clone_model: Keras's, the same architecture with layers made anew (fresh weights), shared layers kept
shared, clone_function and call_function applied, nested models cloned whole or layer by layer."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import layers


def shared_encoder_model():
    """Two inputs through one shared Dense, a nested Sequential, an LSTM given initial_state, two outputs."""
    a, b = minidl.Input((4,), name="a"), minidl.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    nested = minidl.Sequential([minidl.Input((3,)), layers.Dense(3, activation="relu")], name="nested")
    merged = layers.Add()([nested(shared(a)), shared(b)])
    sequence = layers.RepeatVector(2)(merged)
    states = layers.LSTM(3, return_state=True, name="encoder")(sequence)
    decoded = layers.LSTM(3, name="decoder")(sequence, initial_state=states[1:])
    outputs = {"score": layers.Dense(1, name="score")(decoded), "kind": layers.Dense(2, name="kind")(merged)}
    return minidl.Model([a, b], outputs, name="two_heads")


def test_a_clone_has_the_architecture_and_fresh_weights():
    minidl.set_seed(0)
    model = shared_encoder_model()
    clone = minidl.models.clone_model(model)
    assert clone is not model and clone.name == model.name
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]  # shared: once
    assert not all(np.array_equal(a, b) for a, b in zip(clone.get_weights(), model.get_weights()))
    assert clone.optimizer is None  # not compiled, as Keras
    clone.set_weights(model.get_weights())
    x = [np.random.default_rng(1).standard_normal((5, 4)).astype("float32") for _ in range(2)]
    for key, value in model.predict(x, verbose=0).items():
        np.testing.assert_array_equal(clone.predict(x, verbose=0)[key], value)


def test_a_sequential_clone_and_the_functions():
    model = minidl.Sequential([minidl.Input((6,)), layers.Dense(4), layers.Dropout(0.5), layers.Dense(2)], name="s")

    def no_dropout(layer):
        if isinstance(layer, layers.Dropout):
            return layers.Identity(name=layer.name)
        return type(layer).from_config(layer.get_config())

    clone = minidl.models.clone_model(model, clone_function=no_dropout)
    assert [type(layer).__name__ for layer in clone.layers] == ["Dense", "Identity", "Dense"]
    assert clone.input_shape == (None, 6) and clone.name == "s"

    calls = []

    def record(layer, *args, **kwargs):
        calls.append(layer.name)
        return layer(*args, **kwargs)

    functional = shared_encoder_model()
    minidl.models.clone_model(functional, call_function=record)
    assert calls.count("shared") == 2 and "decoder" in calls
    clone = minidl.models.clone_model(functional, recursive=True, clone_function=lambda layer: layer)
    nested = clone.get_layer("nested")
    assert nested is not functional.get_layer("nested")  # cloned layer by layer...
    assert nested.layers[0] is functional.get_layer("nested").layers[0]  # ...with the function's layers


def test_clone_model_names_what_it_cannot_take():
    with pytest.raises(ValueError, match="unexpected arguments"):
        minidl.models.clone_model(minidl.Sequential([layers.Dense(1)]), bad=1)
    with pytest.raises(ValueError, match="has 2 inputs, got 1"):
        minidl.models.clone_model(shared_encoder_model(), input_tensors=minidl.Input((4,)))
