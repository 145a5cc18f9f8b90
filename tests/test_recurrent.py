"""The recurrent layers (LSTM, GRU, SimpleRNN): backpropagation through time against central differences in
float64, the outputs and three training steps equal to Keras's given the same weights, going backwards
included, and their configs both ways."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from helpers import assert_steps_equal_keras

import minidl
from minidl.testing import check_layer_gradients

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")

# name: (the layer in either framework, its weights' names)
LAYERS = {
    "lstm": (lambda api, **kw: api.layers.LSTM(4, **kw), {"kernel", "recurrent_kernel", "bias"}),
    "gru": (lambda api, **kw: api.layers.GRU(4, **kw), {"kernel", "recurrent_kernel", "bias"}),
    "gru_reset_before": (
        lambda api, **kw: api.layers.GRU(4, reset_after=False, **kw),
        {"kernel", "recurrent_kernel", "bias"},
    ),
    "gru_no_bias": (lambda api, **kw: api.layers.GRU(4, use_bias=False, **kw), {"kernel", "recurrent_kernel"}),
    "simple_rnn": (lambda api, **kw: api.layers.SimpleRNN(4, **kw), {"kernel", "recurrent_kernel", "bias"}),
    "simple_rnn_sigmoid": (
        lambda api, **kw: api.layers.SimpleRNN(4, activation="sigmoid", **kw),
        {"kernel", "recurrent_kernel", "bias"},
    ),
}
SHAPES = {"batch": (3, 6, 5), "one_sample": (1, 4, 5), "one_step": (2, 1, 5)}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", LAYERS)
def test_gradients_through_time(kind, return_sequences, shape, float64):
    make, weights = LAYERS[kind]
    options = {"bias_initializer": "random_normal"} if "bias" in weights else {}
    layer = make(minidl, return_sequences=return_sequences, go_backwards=shape[0] == 3, **options)
    error = check_layer_gradients(layer, np.random.default_rng(0).standard_normal(shape), return_details=True)
    assert set(error) == {"input", *weights} and max(error.values()) < 1e-6, error


def test_going_backwards_is_the_reversed_sequence(float64):
    """go_backwards runs the steps from the last to the first and returns them in that order (Keras)."""
    x = np.random.default_rng(2).standard_normal((2, 5, 3))
    forwards = minidl.layers.GRU(4, return_sequences=True)
    backwards = minidl.layers.GRU(4, return_sequences=True, go_backwards=True)
    forwards(x)
    backwards(x)
    backwards.set_weights(forwards.get_weights())
    np.testing.assert_array_equal(backwards(x), forwards(x[:, ::-1]))


def sequence_model(api, kind, return_sequences, dtype=None, go_backwards=False):
    make, _ = LAYERS[kind]
    rnn = make(api, return_sequences=return_sequences, go_backwards=go_backwards, name="rnn")
    layers = [api.Input((7, 3), dtype=dtype), rnn]
    if return_sequences:
        layers.append(api.layers.GlobalAveragePooling1D())
    return api.Sequential([*layers, api.layers.Dense(2, activation="softmax", name="out")])


@needs_keras
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", LAYERS)
def test_outputs_and_training_equal_keras(kind, return_sequences, float64, keras_float64):
    backwards = return_sequences and kind.startswith("gru")
    theirs, ours = (
        sequence_model(keras, kind, return_sequences, "float64", backwards),
        sequence_model(minidl, kind, return_sequences, "float64", backwards),
    )
    assert_same_as_keras(ours, theirs, np.random.default_rng(1).standard_normal((8, 7, 3)))


def assert_same_as_keras(ours, theirs, x) -> None:
    """float64 models, ours given Keras's weights: the same predictions, and three Adam steps on two
    classes give the same losses and weights."""
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    y = np.arange(len(x)) % 2
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10, atol=1e-12)
    theirs.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    ours.compile(minidl.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    assert_steps_equal_keras(ours, theirs, x, y, loss_rel=1e-8, rtol=1e-7, atol=1e-9)


@needs_keras
@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_initial_weights_and_config_as_keras(kind):
    ours, theirs = sequence_model(minidl, kind, False), sequence_model(keras, kind, False)
    layer_class = type(ours.get_layer("rnn"))
    for mine, keras_weight in zip(ours.get_layer("rnn").get_weights(), theirs.get_layer("rnn").get_weights()):
        assert mine.shape == keras_weight.shape
    rebuilt = layer_class.from_config(theirs.get_layer("rnn").get_config())
    assert rebuilt.units == 4 and not rebuilt.return_sequences
    getattr(keras.layers, layer_class.__name__).from_config(ours.get_layer("rnn").get_config())
    with pytest.raises(
        ValueError, match="dropout and recurrent_dropout are not supported by minidl yet, got dropout=0.2"
    ):
        layer_class.from_config(getattr(keras.layers, layer_class.__name__)(3, dropout=0.2).get_config())


def test_lstm_forget_bias_starts_at_one():
    _, _, bias = sequence_model(minidl, "lstm", False).get_layer("rnn").get_weights()
    np.testing.assert_array_equal(bias, np.repeat([0.0, 1.0, 0.0, 0.0], 4))  # unit_forget_bias


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: minidl.layers.GRU(4, activation="relu"), "GRU 'gru.*Keras's default activations"),
        (lambda: minidl.layers.SimpleRNN(4, activation="softmax"), "SimpleRNN 'simple_rnn.*element-wise"),
        (lambda: minidl.layers.SimpleRNN(0), "SimpleRNN 'simple_rnn.*units must be a positive integer"),
    ],
)
def test_unsupported_arguments_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_simple_rnn_takes_an_activation_function():
    layer = minidl.layers.SimpleRNN(3, activation=minidl.activations.relu)
    assert layer.get_config()["activation"] == "relu"
    assert layer(np.ones((2, 4, 3))).min() >= 0


MERGE_MODES = ["concat", "sum", "ave", "mul"]


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_bidirectional_gradients(merge_mode, return_sequences, float64):
    inner = minidl.layers.GRU(3, return_sequences=return_sequences, bias_initializer="random_normal")
    layer = minidl.layers.Bidirectional(inner, merge_mode=merge_mode)
    error = check_layer_gradients(layer, np.random.default_rng(0).standard_normal((3, 5, 4)), return_details=True)
    names = {f"{d}_{w}" for d in ("forward", "backward") for w in ("kernel", "recurrent_kernel", "bias")}
    assert set(error) == {"input", *names} and max(error.values()) < 1e-6, error


def bidirectional_model(api, merge_mode, dtype=None):
    return api.Sequential(
        [
            api.Input((6, 3), dtype=dtype),
            api.layers.Bidirectional(api.layers.LSTM(4, return_sequences=True), merge_mode=merge_mode),
            api.layers.Bidirectional(api.layers.SimpleRNN(3), merge_mode=merge_mode),
            api.layers.Dense(2, activation="softmax"),
        ]
    )


@needs_keras
@pytest.mark.parametrize("merge_mode", MERGE_MODES)
def test_bidirectional_equals_keras(merge_mode, float64, keras_float64):
    theirs, ours = bidirectional_model(keras, merge_mode, "float64"), bidirectional_model(minidl, merge_mode, "float64")
    assert_same_as_keras(ours, theirs, np.random.default_rng(3).standard_normal((8, 6, 3)))


@needs_keras
def test_bidirectional_config_both_ways():
    theirs = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True), merge_mode="sum", name="bi")
    ours = minidl.layers.Bidirectional.from_config(theirs.get_config())
    assert (ours.name, ours.merge_mode) == ("bi", "sum")
    assert ours.forward_layer.name == theirs.forward_layer.name and ours.forward_layer.name.startswith("forward_gru")
    assert ours.backward_layer.name == theirs.backward_layer.name
    assert ours.backward_layer.go_backwards and ours.return_sequences
    again = keras.layers.Bidirectional.from_config(ours.get_config())
    assert again.backward_layer.go_backwards and again.merge_mode == "sum"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: minidl.layers.Bidirectional(minidl.layers.LSTM(2), merge_mode=None), "merge_mode must be one of"),
        (lambda: minidl.layers.Bidirectional(minidl.layers.Dense(2)), "layer must be one of minidl's recurrent"),
        (
            lambda: minidl.layers.Bidirectional(
                minidl.layers.LSTM(2), backward_layer=minidl.layers.LSTM(2, go_backwards=False)
            ),
            "must differ in go_backwards",
        ),
    ],
)
def test_bidirectional_arguments_are_checked(make, message):
    with pytest.raises(ValueError, match=message):
        make()
