"""Keras's model API in minidl: get_layer, pop, trainable, the weight lists, Keras-style user layers
(add_weight, call), fit's validation_split / sample_weight / class_weight / validation_freq, equal to Keras."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import minidl
from minidl import layers
from minidl.testing import check_layer_gradients


def mlp(api, units=(6, 3), activation="softmax", name=None):
    return api.Sequential(
        [
            api.Input((4,)),
            api.layers.Dense(units[0], activation="relu", name="hidden"),
            api.layers.Dense(units[1], activation=activation, name="out"),
        ],
        name=name,
    )


def test_get_layer_and_pop():
    model = mlp(minidl)
    assert model.get_layer("out") is model.layers[1] and model.get_layer(index=0).name == "hidden"
    with pytest.raises(ValueError, match=r"No such layer: nope. Existing layers are: \['hidden', 'out'\]"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="Provide only a layer name or a layer index"):
        model.get_layer("out", 1)
    removed = model.pop()
    assert removed.name == "out" and model.output_shape == (None, 6)
    model.pop()
    with pytest.raises(TypeError, match="There are no layers in the model"):
        model.pop()


def test_model_trainable_false_freezes_every_layer():
    minidl.set_seed(0)
    model = mlp(minidl)
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    model.compile("sgd", "categorical_crossentropy")
    before = model.get_weights()
    x, y = np.random.default_rng(0).normal(size=(8, 4)), np.eye(3)[np.arange(8) % 3]
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.layers[1].trainable = True  # only the head trains now
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(before[0], model.get_weights()[0])
    assert not np.array_equal(before[2], model.get_weights()[2])
    assert len(model.trainable_weights) == 2 and len(model.weights) == 4


class Scale(layers.Layer):
    """A Keras-style user layer: add_weight with Keras's arguments, call instead of forward."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, inputs, training=None):
        self.inputs = inputs
        return inputs * self.w

    def backward(self, grad_output):
        self.grads["w"] = (grad_output * self.inputs).sum(axis=0)
        return grad_output * self.params["w"]


class NoBackward(layers.Layer):
    def call(self, inputs, training=None):
        return inputs * 2


def test_keras_style_layers_train_and_are_checked():
    assert check_layer_gradients(Scale(), np.random.default_rng(1).normal(size=(5, 3))) < 1e-6
    layer = layers.Layer()
    weight = layer.add_weight(shape=(2, 3))  # Keras's defaults: glorot_uniform, trainable, a name of its own
    assert weight.shape == (2, 3) and layer.trainable_weights[0] is weight and np.abs(weight).max() > 0
    model = minidl.Sequential([layers.Input((3,)), NoBackward(name="doubler"), layers.Dense(2)])
    with pytest.raises(TypeError, match=r"layer 'doubler' \(NoBackward\) has no backward: .*def backward"):
        model.compile("sgd", "mse")


# ------------------------------------------------------------------------------------------ against Keras
keras = pytest.importorskip("keras") if __import__("importlib").util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")


def pair(activation="softmax", units=(6, 3), loss="categorical_crossentropy", metrics=("accuracy",)):
    theirs = mlp(keras, units, activation)
    ours = mlp(minidl, units, activation)
    ours.set_weights(theirs.get_weights())
    assert ours.compute_dtype == "float64" and all(w.dtype == np.float64 for w in theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.1), loss, metrics=list(metrics))
    ours.compile(minidl.optimizers.SGD(0.1), loss, metrics=list(metrics))
    return ours, theirs


def data(n=40, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float64")
    return x, np.eye(classes)[rng.integers(0, classes, n)]


def assert_histories_equal(ours, theirs, rtol=1e-10):
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=rtol, atol=1e-12, err_msg=key)


@needs_keras
@pytest.mark.parametrize(
    "options",
    [
        dict(validation_split=0.25),
        dict(sample_weight=np.linspace(0.2, 2.0, 40)),
        dict(class_weight={0: 0.5, 1: 2.0, 2: 1.0}),
        dict(validation_split=0.2, validation_freq=2),
        dict(validation_split=0.2, validation_batch_size=3),
    ],
    ids=["validation_split", "sample_weight", "class_weight", "validation_freq", "validation_batch_size"],
)
def test_fit_options_give_keras_history(options, keras_float64):
    minidl.set_floatx("float64")
    ours, theirs = pair()
    x, y = data()
    kwargs = dict(epochs=4, batch_size=8, shuffle=False, verbose=0, **options)
    assert_histories_equal(ours.fit(x, y, **kwargs).history, theirs.fit(x, y, **kwargs).history)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@needs_keras
def test_binary_model_with_sigmoid_gives_keras_history(keras_float64):
    minidl.set_floatx("float64")
    ours, theirs = pair(activation="sigmoid", units=(6, 1), loss="binary_crossentropy", metrics=("accuracy", "AUC"))
    x, _ = data()
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float64")
    kwargs = dict(epochs=3, batch_size=10, shuffle=False, verbose=0, validation_data=(x[:10], y[:10]))
    assert_histories_equal(ours.fit(x, y, **kwargs).history, theirs.fit(x, y, **kwargs).history, rtol=1e-9)


@needs_keras
def test_evaluate_test_on_batch_and_predict_on_batch_equal_keras(keras_float64):
    minidl.set_floatx("float64")
    ours, theirs = pair(metrics=("accuracy", "mse"))
    x, y = data()
    weights = np.linspace(0.5, 1.5, 40)
    np.testing.assert_allclose(
        ours.evaluate(x, y, sample_weight=weights, verbose=0),
        theirs.evaluate(x, y, sample_weight=weights, verbose=0),
        rtol=1e-10,
    )
    np.testing.assert_allclose(ours.test_on_batch(x, y), theirs.test_on_batch(x, y), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x), rtol=1e-10)


def test_summary_layout_follows_keras_arguments():
    model = minidl.Sequential([minidl.Input((4,)), layers.Dense(8), layers.BatchNormalization(), layers.Dense(3)])
    for line_length, positions in ((60, None), (90, [0.5, 0.75, 1.0]), (70, [30, 50, 70])):
        printed = []
        model.summary(line_length=line_length, positions=positions, print_fn=printed.append)
        table = [line for line in printed[0].splitlines() if line[:1] in "┏┃┡│├└"]
        assert {len(line) for line in table} == {line_length}
    assert "│ (BatchNormalization)" in printed[0]  # a long name wraps onto the next line, as Keras


def test_a_keras_layer_minidl_lacks_is_a_clear_error():
    with pytest.raises(AttributeError, match=r"minidl.layers has no 'Conv3D'; the layers minidl has: .*LSTM"):
        minidl.layers.Conv3D(4, 3)


def test_keras_other_names_for_layers_and_the_base_classes():
    aliases = {"MaxPool2D": "MaxPooling2D", "AvgPool1D": "AveragePooling1D", "Convolution2D": "Conv2D"}
    aliases |= {"GlobalAvgPool2D": "GlobalAveragePooling2D", "SeparableConvolution2D": "SeparableConv2D"}
    for alias, name in aliases.items():
        assert getattr(minidl.layers, alias) is getattr(minidl.layers, name)
    assert minidl.layers.MaxPool2D(2).get_config()["name"].startswith("max_pooling2d")  # as Keras names it
    for name in ("Layer", "Loss", "Metric", "Optimizer", "Initializer", "Regularizer", "KerasTensor"):
        assert isinstance(getattr(minidl, name), type)


@pytest.mark.parametrize(
    "arguments",
    [{}, {"maxlen": 4}, {"maxlen": 2, "padding": "post", "truncating": "post"}, {"maxlen": 3, "value": -1}],
)
def test_pad_sequences_as_keras(arguments):
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow")
    keras = pytest.importorskip("keras")
    sequences = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10]]
    ours, theirs = minidl.utils.pad_sequences(sequences, **arguments), keras.utils.pad_sequences(sequences, **arguments)
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == theirs.dtype


@needs_keras
@pytest.mark.parametrize("order", [1, 2])
def test_normalize_as_keras(order):
    x = np.random.default_rng(0).standard_normal((4, 3))
    x[1] = 0  # a zero row stays zero
    expected = keras.utils.normalize(x, order=order)
    np.testing.assert_allclose(minidl.utils.normalize(x, order=order), expected, rtol=1e-12)
    columns = minidl.utils.normalize(x, axis=0)  # Keras's own fails here on arrays (its norm keeps the wrong axis)
    np.testing.assert_allclose(np.linalg.norm(columns, axis=0), 1.0, rtol=1e-12)
