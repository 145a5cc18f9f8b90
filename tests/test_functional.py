"""The functional API: Model(inputs, outputs) over a graph of layers. Float64 gradient checks of whole
graphs (a residual block, a layer shared by two branches, every merge layer), equality with Keras given the
same weights (predictions and training steps), and clear errors for graphs that cannot be."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import layers
from minidl.testing import numeric_gradient, relative_error

TOL = 1e-6


def residual(api, dtype=None):
    """Conv -> [Conv -> BatchNorm] + skip -> ReLU -> pool -> Dense: the residual CNN's block."""
    inputs = api.Input((8, 8, 3), dtype=dtype)
    x = api.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inputs)
    y = api.layers.Conv2D(4, 3, padding="same", use_bias=False, name="c2")(x)  # no bias before BatchNorm
    y = api.layers.BatchNormalization(name="bn")(y)
    x = api.layers.Activation("relu", name="act")(api.layers.Add(name="add")([x, y]))
    x = api.layers.GlobalAveragePooling2D(name="gap")(x)
    return api.Model(inputs, api.layers.Dense(3, activation="softmax", name="out")(x))


def shared(api, dtype=None):
    """One Dense used twice, on two branches: its gradient sums both uses."""
    inputs = api.Input((5,), dtype=dtype)
    dense = api.layers.Dense(5, activation="tanh", name="shared")
    a = dense(inputs)
    b = dense(api.layers.Dense(5, name="pre")(inputs))
    merged = api.layers.Concatenate(name="cat")([a, api.layers.Multiply(name="mul")([a, b])])
    return api.Model(inputs, api.layers.Dense(2, name="out")(merged))


def merges(api, dtype=None):
    inputs = api.Input((4,), dtype=dtype)
    a = api.layers.Dense(4, name="a")(inputs)
    b = api.layers.Dense(4, name="b")(inputs)
    c = api.layers.Dense(4, name="c")(inputs)
    parts = [
        api.layers.Subtract(name="sub")([a, b]),
        api.layers.Average(name="avg")([a, b, c]),
        api.layers.Maximum(name="max")([a, b, c]),
        api.layers.Minimum(name="min")([a, c]),
    ]
    return api.Model(inputs, api.layers.Concatenate(name="cat")(parts))


def dots(api, dtype=None):
    """Dot on vectors, on matrices with a pair of axes (X (2, 3) by Y (3, 2)), and normalized (cosine)."""
    inputs = api.Input((6,), dtype=dtype)
    a = api.layers.Dense(6, name="a")(inputs)
    b = api.layers.Dense(6, name="b")(inputs)
    matrix_a = api.layers.Reshape((2, 3), name="ra")(a)
    matrix_b = api.layers.Reshape((3, 2), name="rb")(b)
    products = api.layers.Flatten(name="flat")(api.layers.Dot(axes=(2, 1), name="matmul")([matrix_a, matrix_b]))
    transposed = api.layers.Flatten(name="flat_t")(api.layers.Dot(axes=1, name="dot_t")([matrix_a, matrix_a]))
    parts = [
        api.layers.Dot(axes=1, name="dot")([a, b]),
        api.layers.Dot(axes=-1, normalize=True, name="cosine")([a, b]),
        products,
        transposed,
    ]
    return api.Model(inputs, api.layers.Concatenate(name="cat")(parts))


GRAPHS = {
    "residual": (residual, (6, 8, 8, 3)),
    "shared": (shared, (7, 5)),
    "merges": (merges, (7, 4)),
    "dots": (dots, (7, 6)),
}


def randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights(
            [
                rng.uniform(0.5, 1.5, w.shape) if "variance" in n else rng.normal(0, 0.5, w.shape)
                for n, w in zip(layer.weight_names, layer.get_weights())
            ]
        )


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_whole_graph_gradients(graph, float64):
    make, shape = GRAPHS[graph]
    model = make(minidl)
    randomise(model)
    x = np.random.default_rng(1).standard_normal(shape)
    projection = np.random.default_rng(2).standard_normal(model.forward(x, training=True).shape)

    def loss():
        state = [w.copy() for layer in model.layers for w in layer.state.values()]
        value = float(np.sum(model.forward(x, training=True) * projection))
        for array, saved in zip((w for layer in model.layers for w in layer.state.values()), state):
            array[...] = saved  # BatchNormalization's statistics stay put between probes
        return value

    loss()
    model.backward(projection.copy())
    analytic = {(layer.name, n): g.copy() for layer in model.layers for n, g in layer.grads.items()}
    assert analytic, "no gradients"
    for layer in model.layers:
        for name, param in layer.params.items():
            error = relative_error(analytic[(layer.name, name)], numeric_gradient(loss, param))
            assert error < TOL, (layer.name, name, error)


def test_graph_trains_and_predicts():
    minidl.set_seed(0)
    model = residual(minidl)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).standard_normal((16, 8, 8, 3)).astype(np.float32)
    y = np.arange(16) % 3
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_split=0.25)
    assert len(history.history["val_accuracy"]) == 3 and model.predict(x, verbose=0).shape == (16, 3)
    assert [layer.name for layer in model.layers] == ["c1", "c2", "bn", "add", "act", "gap", "out"]
    assert model.layers[-1].activation.fused_with_loss  # softmax + cross-entropy fused in a graph too


def test_errors_name_the_layer_and_shapes():
    inputs = minidl.Input((4,))
    with pytest.raises(TypeError, match=r"Layer 'dense_x' was called on a str"):
        layers.Dense(3, name="dense_x")("not a tensor")
    with pytest.raises(
        ValueError,
        match=r"Layer 'add_x': Inputs have incompatible shapes. Received shapes "
        r"\(None, 3\) and \(None, 4\)",
    ):
        layers.Add(name="add_x")([layers.Dense(3)(inputs), inputs])
    with pytest.raises(
        ValueError,
        match=r"Layer 'dot_x': incompatible input shapes for axes=1: axis values 3 \(at axis 1\) != 4 "
        r"\(at axis 1\). Full input shapes: \(None, 3\) and \(None, 4\)",
    ):
        layers.Dot(axes=1, name="dot_x")([layers.Dense(3)(inputs), inputs])
    other = minidl.Input((4,))
    with pytest.raises(ValueError, match="the output does not depend on the input"):
        minidl.Model(inputs, layers.Dense(2)(other))
    with pytest.raises(ValueError, match="inputs must be Input tensors"):
        hidden = layers.Dense(4)(inputs)
        minidl.Model(hidden, layers.Dense(2)(hidden))
    reused = layers.Dense(2, name="dense_y")
    reused(inputs)
    with pytest.raises(
        ValueError,
        match=r"Input 0 of layer 'dense_y' is incompatible with the layer: expected "
        r"shape \(None, 4\), found \(None, 5\)",
    ):
        reused(minidl.Input((5,)))


# ------------------------------------------------------------------------------------------ against Keras
keras = pytest.importorskip("keras") if __import__("importlib").util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")


def same_weights(ours, theirs):
    for layer in ours.layers:
        layer.set_weights(theirs.get_layer(layer.name).get_weights())


@needs_keras
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_predictions_equal_keras(graph):
    make, shape = GRAPHS[graph]
    theirs, ours = make(keras), make(minidl)
    same_weights(ours, theirs)
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_training_steps_equal_keras(optimizer, float64, keras_float64):
    theirs, ours = residual(keras, "float64"), residual(minidl, "float64")
    same_weights(ours, theirs)
    theirs.compile(getattr(keras.optimizers, optimizer)(0.01), "sparse_categorical_crossentropy")
    ours.compile(getattr(minidl.optimizers, optimizer)(0.01), "sparse_categorical_crossentropy")
    x = np.random.default_rng(4).standard_normal((6, 8, 8, 3))
    y = np.arange(6) % 3
    for _ in range(3):
        assert ours.train_on_batch(x, y) == pytest.approx(float(theirs.train_on_batch(x, y)), rel=1e-9)
    for layer in ours.layers:
        for a, b in zip(layer.get_weights(), theirs.get_layer(layer.name).get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=layer.name)


def two_inputs(api, dtype=None):
    image = api.Input((6, 6, 2), name="image", dtype=dtype)
    extra = api.Input((3,), name="extra", dtype=dtype)
    x = api.layers.Flatten(name="flat")(api.layers.Conv2D(3, 3, activation="relu", name="conv")(image))
    x = api.layers.Concatenate(name="cat")([x, api.layers.Dense(4, activation="tanh", name="side")(extra)])
    return api.Model([image, extra], api.layers.Dense(2, activation="softmax", name="out")(x))


def two_input_data(n=8, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 6, 6, 2)).astype(np.float32), rng.standard_normal((n, 3)).astype(np.float32)]


def test_two_inputs_by_list_or_name_and_clear_errors():
    minidl.set_seed(0)
    model = two_inputs(minidl)
    x = two_input_data()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, np.arange(8) % 2, batch_size=4, epochs=2, verbose=0)
    by_list = model.predict(x, verbose=0)
    np.testing.assert_array_equal(by_list, model.predict({"image": x[0], "extra": x[1]}, verbose=0))
    with pytest.raises(
        ValueError,
        match=r"the keys of x \['extra', 'picture'\] do not match the model's input "
        r"names \['image', 'extra'\]",
    ):
        model.predict({"picture": x[0], "extra": x[1]})
    with pytest.raises(ValueError, match=r"has 2 inputs \['image', 'extra'\]: pass a list of 2 arrays"):
        model.predict(x[0])
    with pytest.raises(ValueError, match=r"the inputs have different numbers of samples"):
        model.predict([x[0], x[1][:5]])


@needs_keras
def test_two_inputs_equal_keras():
    theirs, ours = two_inputs(keras), two_inputs(minidl)
    same_weights(ours, theirs)
    x = two_input_data()
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
