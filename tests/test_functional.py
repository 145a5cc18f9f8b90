"""The functional API: Model(inputs, outputs) over a graph of layers. Float64 gradient checks of whole
graphs (a residual block, a layer shared by two branches, every merge layer), equality with Keras given the
same weights (predictions and training steps), and clear errors for graphs that cannot be."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import assert_steps_equal_keras

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


def assert_parameter_gradients(model, x) -> None:
    """Float64: backward's gradient of sum(output * R) (a fixed random R per output) against central
    differences, for every parameter of every layer (BatchNormalization's statistics put back between
    probes, so that each forward pass sees the same state)."""
    state = [w for layer in model.leaf_layers for w in layer.state.values()]
    saved = [w.copy() for w in state]

    def outputs():
        values = model.forward(x, training=True)
        for array, before in zip(state, saved):
            array[...] = before
        return values if isinstance(values, list) else [values]

    rng = np.random.default_rng(2)
    projections = [rng.standard_normal(value.shape) for value in outputs()]

    def loss():
        return float(sum(np.sum(value * r) for value, r in zip(outputs(), projections)))

    loss()
    if hasattr(model, "_first_to_train"):
        model._first_to_train()  # a Sequential marks which layers pass their input gradient back
    model.backward([r.copy() for r in projections] if len(projections) > 1 else projections[0].copy())
    analytic = {(id(layer), name): g.copy() for layer in model.leaf_layers for name, g in layer.grads.items()}
    assert analytic, "no gradients"
    for layer in model.leaf_layers:
        for name, param in layer.params.items():
            error = relative_error(analytic[(id(layer), name)], numeric_gradient(loss, param))
            assert error < TOL, (layer.name, name, error)


@pytest.mark.parametrize("graph", list(GRAPHS))
def test_whole_graph_gradients(graph, float64):
    make, shape = GRAPHS[graph]
    model = make(minidl)
    randomise(model)
    assert_parameter_gradients(model, np.random.default_rng(1).standard_normal(shape))


def test_graph_trains_and_predicts():
    minidl.set_seed(0)
    model = residual(minidl)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).standard_normal((16, 8, 8, 3)).astype(np.float32)
    y = np.arange(16) % 3
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, validation_split=0.25)
    assert len(history.history["val_accuracy"]) == 3 and model.predict(x, verbose=0).shape == (16, 3)
    assert [layer.name for layer in model.layers][1:] == ["c1", "c2", "bn", "add", "act", "gap", "out"]
    assert isinstance(model.layers[0], layers.InputLayer)
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
        if layer.weights:
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
    for layer in (layer for layer in ours.layers if layer.weights):
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
    with pytest.raises(ValueError, match=r"has 2 inputs \['image', 'extra'\]: pass x as a list of 2 arrays"):
        model.predict(x[0])
    with pytest.raises(ValueError, match=r"the inputs have different numbers of samples"):
        model.predict([x[0], x[1][:5]])


@needs_keras
def test_two_inputs_equal_keras():
    theirs, ours = two_inputs(keras), two_inputs(minidl)
    same_weights(ours, theirs)
    x = two_input_data()
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ nested models
def nested(api, dtype=None, base_training=None):
    """A Sequential base and a functional block used as layers of a graph (transfer learning's shape)."""
    base = api.Sequential(
        [
            api.Input((6, 6, 2), dtype=dtype),
            api.layers.Conv2D(3, 3, activation="relu", name="base_conv"),
            api.layers.BatchNormalization(name="base_bn"),
            api.layers.GlobalAveragePooling2D(name="base_gap"),
        ],
        name="base",
    )
    block_input = api.Input((3,), dtype=dtype)
    block_hidden = api.layers.Dense(4, activation="tanh", name="block_dense")(block_input)
    block = api.Model(block_input, api.layers.Concatenate(name="block_cat")([block_hidden, block_input]), name="block")
    inputs = api.Input((6, 6, 2), dtype=dtype)
    features = base(inputs, training=base_training)
    return api.Model(inputs, api.layers.Dense(2, activation="softmax", name="head")(block(features)))


def test_nested_models_gradients(float64):
    model = nested(minidl)
    assert [layer.name for layer in model.layers][1:] == ["base", "block", "head"]
    leaves = [layer.name for layer in model.leaf_layers if not isinstance(layer, layers.InputLayer)]
    assert leaves == ["base_conv", "base_bn", "base_gap", "block_dense", "block_cat", "head"]
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) + (1.5 if w.ndim == 1 else 0) for w in model.get_weights()])
    assert_parameter_gradients(model, np.random.default_rng(1).standard_normal((5, 6, 6, 2)))


def siamese(api, dtype=None):
    """One embedding model (a Sequential holding a functional block) called on two inputs: its weights get
    the sum of both calls' gradients, as a shared layer's do."""
    block_input = api.Input((4,), dtype=dtype)
    block = api.Model(
        block_input, api.layers.Dense(4, activation="tanh", name="block_dense")(block_input), name="block"
    )
    embed = api.Sequential(
        [api.Input((5,), dtype=dtype), api.layers.Dense(4, activation="relu", name="embed_dense"), block], name="embed"
    )
    left, right = api.Input((5,), name="left", dtype=dtype), api.Input((5,), name="right", dtype=dtype)
    distance = api.layers.Subtract(name="diff")([embed(left), embed(right)])
    product = api.layers.Multiply(name="square")([distance, distance])
    return api.Model([left, right], api.layers.Dense(1, activation="sigmoid", name="same")(product))


def test_a_model_called_twice_gradients(float64):
    model = siamese(minidl)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    assert_parameter_gradients(model, minidl.data.Arrays([rng.standard_normal((6, 5)), rng.standard_normal((6, 5))]))


@needs_keras
def test_a_model_called_twice_trains_like_keras(float64, keras_float64):
    theirs, ours = siamese(keras, "float64"), siamese(minidl, "float64")
    rng = np.random.default_rng(1)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    x = [rng.standard_normal((8, 5)), rng.standard_normal((8, 5))]
    y = (np.arange(8) % 2).astype(np.float64)
    theirs.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    ours.compile(minidl.optimizers.Adam(0.01), "binary_crossentropy")
    assert_steps_equal_keras(ours, theirs, x, y)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10)


def test_every_model_is_a_model():
    inputs = minidl.Input((3,))
    graph = minidl.Model(inputs, layers.Dense(2)(inputs))
    assert type(graph) is minidl.models.Functional and isinstance(graph, minidl.Model)
    assert isinstance(minidl.Sequential(), minidl.Model) and minidl.models.Model is minidl.Model
    with pytest.raises(TypeError, match=r"Model\(inputs, outputs\): give the Input tensor"):
        minidl.Model()


def in_a_sequential(api, dtype=None):
    """Transfer learning's other shape: Sequential([base, head layers]), the base a Sequential, then a
    functional block, as layers of a Sequential."""
    base = api.Sequential(
        [
            api.Input((6, 6, 2), dtype=dtype),
            api.layers.Conv2D(3, 3, activation="relu", name="base_conv"),
            api.layers.BatchNormalization(name="base_bn"),
        ],
        name="base",
    )
    block_input = api.Input((4, 4, 3), dtype=dtype)
    block_output = api.layers.Add(name="block_add")(
        [block_input, api.layers.Conv2D(3, 1, name="block_conv")(block_input)]
    )
    block = api.Model(block_input, block_output, name="block")
    return api.Sequential(
        [
            base,
            block,
            api.layers.GlobalAveragePooling2D(name="gap"),
            api.layers.Dense(2, activation="softmax", name="head"),
        ]
    )


def test_models_in_a_sequential_gradients(float64):
    model = in_a_sequential(minidl)
    assert [layer.name for layer in model.layers] == ["base", "block", "gap", "head"]
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) + (1.5 if w.ndim == 1 else 0) for w in model.get_weights()])
    assert_parameter_gradients(model, np.random.default_rng(1).standard_normal((5, 6, 6, 2)))


@needs_keras
@pytest.mark.parametrize("frozen", [False, True])
def test_models_in_a_sequential_train_like_keras(frozen, float64, keras_float64):
    theirs, ours = in_a_sequential(keras, "float64"), in_a_sequential(minidl, "float64")
    rng = np.random.default_rng(3)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) + (1.5 if w.ndim == 1 else 0) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(4).standard_normal((8, 6, 6, 2))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10)
    for model in (theirs, ours):
        model.get_layer("base").trainable = not frozen
        model.compile((keras if model is theirs else minidl).optimizers.Adam(0.01), "categorical_crossentropy")
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    y = np.eye(2)[np.arange(8) % 2]
    assert_steps_equal_keras(ours, theirs, x, y)


@needs_keras
def test_nested_models_equal_keras_and_a_frozen_base_stays_in_inference_mode(float64, keras_float64):
    theirs, ours = nested(keras, "float64", base_training=False), nested(minidl, "float64", base_training=False)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    assert [layer.name for layer in ours.layers][1:] == [layer.name for layer in theirs.layers][1:]
    rng = np.random.default_rng(0)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) + (1.5 if w.ndim == 1 else 0) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())  # one flat list, in the same order
    x = np.random.default_rng(3).standard_normal((8, 6, 6, 2))
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10)
    # Keras 3: the model's own training=True overrides base(inputs, training=False) (batch statistics)
    training_pass = ours(x, training=True)
    np.testing.assert_allclose(training_pass, theirs(x, training=True), rtol=1e-10)
    assert not np.allclose(training_pass, ours.predict(x, verbose=0), rtol=1e-3)
    for model in (theirs, ours):
        model.get_layer("base").trainable = False
        model.compile(keras.optimizers.Adam(0.01) if model is theirs else minidl.optimizers.Adam(0.01), "mse")
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 4  # block_dense and head
    y = np.random.default_rng(4).uniform(size=(8, 2))
    base_before = [w.copy() for w in ours.get_layer("base").get_weights()]
    assert_steps_equal_keras(ours, theirs, x, y)
    for a, b in zip(ours.get_layer("base").get_weights(), base_before):  # moving statistics included
        np.testing.assert_array_equal(a, b)


@needs_keras
def test_a_nested_base_fine_tunes_like_keras(float64, keras_float64):
    """Training mode reaches into the nested model (BatchNormalization's batch statistics) and its input
    gradient flows back to the layers before it."""

    def graph(api):
        inputs = api.Input((6, 6, 2), dtype="float64")
        x = api.layers.Conv2D(2, 1, name="stem")(inputs)
        return nested_head(api, x, inputs)

    def nested_head(api, x, inputs):
        inner = nested(api, "float64")
        return api.Model(inputs, inner(x))

    theirs, ours = graph(keras), graph(minidl)
    rng = np.random.default_rng(5)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) + (1.5 if w.ndim == 1 else 0) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.05), "categorical_crossentropy")
    ours.compile(minidl.optimizers.SGD(0.05), "categorical_crossentropy")
    x = np.random.default_rng(6).standard_normal((8, 6, 6, 2))
    y = np.eye(2)[np.arange(8) % 2]
    assert_steps_equal_keras(ours, theirs, x, y)


@pytest.mark.parametrize("api_name", ["minidl", "keras"])
def test_a_call_given_training_holds_when_the_model_is_called_without(api_name):
    """Monte-Carlo dropout: Dropout(...)(x, training=True) drops in model(x); predict sets inference mode."""
    api = minidl if api_name == "minidl" else keras
    if api is None:
        pytest.skip("needs TensorFlow")
    inputs = api.Input((50,))
    model = api.Model(inputs, api.layers.Dropout(0.5, seed=1)(inputs, training=True))
    x = np.ones((4, 50), np.float32)
    dropped = np.asarray(model(x))
    assert 0 < np.count_nonzero(dropped == 0) < dropped.size
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(np.asarray(model(x, training=False)), x)


def test_nested_models_save_and_load_weights(tmp_path):
    minidl.set_seed(0)
    model = nested(minidl)
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(7).standard_normal((8, 6, 6, 2)).astype(np.float32)
    model.fit(x, np.arange(8) % 2, epochs=2, batch_size=4, verbose=0)
    model.save_weights(tmp_path / "nested.weights.npz")
    copy = nested(minidl)
    copy.load_weights(tmp_path / "nested.weights.npz")
    np.testing.assert_array_equal(copy.predict(x, verbose=0), model.predict(x, verbose=0))


def summary_cells(model) -> list[list[str]]:
    printed: list[str] = []
    model.summary(line_length=160, print_fn=lambda text, *args, **kwargs: printed.append(text))
    rows = [line for line in "\n".join(printed).splitlines() if line.startswith(("│", "┃"))]
    return [[cell.strip() for cell in re.split("[│┃]", row)[1:-1]] for row in rows]


@needs_keras
@pytest.mark.parametrize("graph", [*GRAPHS, "two_inputs", "nested", "two_outputs", "sequential", "siamese"])
def test_layers_weights_and_summary_in_keras_order(graph, monkeypatch):
    """model.layers in Keras's order (by depth), hence get_weights' order: set_weights(keras.get_weights())
    gives Keras's predictions; summary's rows and its "Connected to" column as Keras's."""
    monkeypatch.setenv("COLUMNS", "200")  # rich, which prints Keras's summary, cuts lines at the terminal width
    builders = {
        "two_inputs": two_inputs,
        "nested": nested,
        "two_outputs": two_in_two_out,
        "sequential": in_a_sequential,
        "siamese": siamese,
    }
    make = builders.get(graph) or GRAPHS[graph][0]
    theirs, ours = make(keras), make(minidl)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    names = {a.name: b.name for a, b in zip(theirs.layers, ours.layers) if type(a).__name__ == "InputLayer"}
    theirs_cells = [[re.sub(r"\w+", lambda m: names.get(m[0], m[0]), c) for c in row] for row in summary_cells(theirs)]
    assert summary_cells(ours) == theirs_cells
    rng = np.random.default_rng(8)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) + (1.5 if w.ndim == 1 else 0) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    several = graph in ("two_inputs", "two_outputs", "siamese")
    x = two_input_data() if graph != "siamese" else [rng.standard_normal((5, 5)), rng.standard_normal((5, 5))]
    x = x if several else rng.standard_normal((5, *theirs.input_shape[1:]))
    x = [a.astype(np.float32) for a in x] if several else x.astype(np.float32)
    predicted, expected = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    for a, b in zip(*((p if isinstance(p, list) else [p]) for p in (predicted, expected))):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------ several outputs
def two_in_two_out(api, dtype=None, as_dict=False):
    """Two inputs, two outputs: an auxiliary sigmoid output that also feeds the main softmax output (its
    gradient sums its own loss's and the main branch's, so its sigmoid must not fuse with its loss)."""
    image = api.Input((6, 6, 2), name="image", dtype=dtype)
    extra = api.Input((3,), name="extra", dtype=dtype)
    x = api.layers.Flatten(name="flat")(api.layers.Conv2D(3, 3, activation="relu", name="conv")(image))
    x = api.layers.Concatenate(name="cat")([x, api.layers.Dense(4, activation="tanh", name="side")(extra)])
    aux = api.layers.Dense(2, activation="sigmoid", name="aux")(x)
    main = api.layers.Dense(3, activation="softmax", name="main")(api.layers.Concatenate(name="cat2")([x, aux]))
    return api.Model([image, extra], {"main": main, "aux": aux} if as_dict else [main, aux])


def two_out_targets(n=8, seed=9):
    rng = np.random.default_rng(seed)
    return [np.eye(3)[rng.integers(0, 3, n)], rng.integers(0, 2, (n, 2)).astype(np.float64)]


def test_two_outputs_gradients(float64):
    model = two_in_two_out(minidl)
    randomise(model)
    x = minidl.data.Arrays([a.astype(np.float64) for a in two_input_data(5)])
    assert_parameter_gradients(model, x)
    outputs = model.forward(x, training=True)
    model.backward([np.ones_like(outputs[0]), np.ones_like(outputs[1])])
    both = model.get_layer("aux").grads["kernel"].copy()
    model.backward([np.ones_like(outputs[0]), None])  # an output without a loss sends no gradient
    assert not np.allclose(model.get_layer("aux").grads["kernel"], both)


def test_two_outputs_compile_errors_name_the_outputs():
    model = two_in_two_out(minidl)
    with pytest.raises(ValueError, match=r"the loss dict has no entry for the output\(s\) \['aux'\]"):
        model.compile("sgd", loss={"main": "categorical_crossentropy"})
    with pytest.raises(ValueError, match=r"the loss dict names unknown outputs \['zzz'\]"):
        model.compile("sgd", loss={"main": "categorical_crossentropy", "aux": "mse", "zzz": "mse"})
    with pytest.raises(ValueError, match=r"loss must give one entry per output \(a list of 2, or a dict by name\)"):
        model.compile("sgd", loss=["categorical_crossentropy"])
    with pytest.raises(ValueError, match=r"give metrics as a list of 2 entries or a dict by output name"):
        model.compile("sgd", loss="mse", metrics="accuracy")
    with pytest.raises(ValueError, match=r"every output's loss is None"):
        model.compile("sgd", loss=[None, None])
    assert model.optimizer is None  # nothing compiled
    model.compile("sgd", loss=["categorical_crossentropy", "binary_crossentropy"])
    x, y = two_input_data(), two_out_targets()
    with pytest.raises(ValueError, match=r"the keys of y \['aux', 'other'\] do not match the model's output names"):
        model.fit(x, {"other": y[0], "aux": y[1]}, verbose=0)
    with pytest.raises(ValueError, match=r"has 2 outputs \['main', 'aux'\]: pass y as a list of 2 arrays"):
        model.fit(x, y[0], verbose=0)
    with pytest.raises(ValueError, match=r"fit \(y\['main'\]\)"):
        model.fit(x, [y[0][:, :2], y[1]], verbose=0)
    with pytest.raises(ValueError, match=r"class_weight` is only supported for Models with a single output"):
        model.fit(x, y, class_weight={0: 1.0, 1: 2.0}, verbose=0)


def test_an_output_without_a_loss_is_predicted_not_trained():
    minidl.set_seed(0)
    model = two_in_two_out(minidl)
    model.compile("adam", loss=["categorical_crossentropy", None], metrics=[None, ["mae"]])
    history = model.fit(two_input_data(), two_out_targets(), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "aux_mae"}  # one loss: no per-output loss keys, as Keras
    main, aux = model.predict(two_input_data(), verbose=0)
    assert main.shape == (8, 3) and aux.shape == (8, 2)


@needs_keras
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_two_outputs_train_like_keras(optimizer, float64, keras_float64):
    """Per-output losses, loss_weights, metrics per output and sample weights: the same logs, History keys
    and weights as Keras after three steps and a fit with validation, given the same weights."""
    theirs, ours = two_in_two_out(keras, "float64"), two_in_two_out(minidl, "float64")
    rng = np.random.default_rng(10)
    theirs.set_weights([rng.normal(0, 0.5, w.shape) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    settings = dict(
        loss={"main": "categorical_crossentropy", "aux": "binary_crossentropy"},
        loss_weights=[1.0, 0.3],
        metrics={"main": ["accuracy"], "aux": ["mae", "binary_accuracy"]},
    )
    theirs.compile(getattr(keras.optimizers, optimizer)(0.05), **settings)
    ours.compile(getattr(minidl.optimizers, optimizer)(0.05), **settings)
    x, y = [a.astype(np.float64) for a in two_input_data()], two_out_targets()
    for _ in range(3):
        np.testing.assert_allclose(ours.train_on_batch(x, y), theirs.train_on_batch(x, y), rtol=1e-9)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    weights = np.linspace(0.5, 2.0, 8)
    kwargs = dict(batch_size=4, epochs=2, verbose=0, shuffle=False, sample_weight=weights, validation_data=(x, y))
    ours_history, theirs_history = ours.fit(x, y, **kwargs).history, theirs.fit(x, y, **kwargs).history
    assert set(ours_history) == set(theirs_history)
    for key, values in theirs_history.items():
        np.testing.assert_allclose(ours_history[key], values, rtol=1e-7, err_msg=key)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-8)


@needs_keras
def test_two_outputs_predict_like_keras_as_a_list_or_a_dict():
    for as_dict in (False, True):
        theirs, ours = two_in_two_out(keras, as_dict=as_dict), two_in_two_out(minidl, as_dict=as_dict)
        same_weights(ours, theirs)
        x = two_input_data()
        predicted, expected = ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
        assert type(predicted) is type(expected)
        for key in ["main", "aux"] if as_dict else [0, 1]:
            np.testing.assert_allclose(predicted[key], expected[key], rtol=1e-5, atol=1e-6)
        assert ours.output_shape == theirs.output_shape


@pytest.mark.parametrize(
    "function, layer, arguments",
    [
        ("add", "Add", {}),
        ("subtract", "Subtract", {}),
        ("multiply", "Multiply", {}),
        ("average", "Average", {}),
        ("maximum", "Maximum", {}),
        ("minimum", "Minimum", {}),
        ("concatenate", "Concatenate", {"axis": 1}),
        ("dot", "Dot", {"axes": 1, "normalize": True}),
    ],
)
def test_merge_functions_are_their_layers(function, layer, arguments):
    """Keras's functional forms, layers.add([x, y], name=...) and the like: the layer of that class called
    on the tensors, its arguments and name passed on."""
    inputs = minidl.Input((4,))
    a, b = minidl.layers.Dense(4)(inputs), minidl.layers.Dense(4)(inputs)
    model = minidl.Model(inputs, getattr(minidl.layers, function)([a, b], name="merged", **arguments))
    merged = model.get_layer("merged")
    assert type(merged) is getattr(minidl.layers, layer)
    assert all(merged.get_config()[key] == value for key, value in arguments.items())
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    by_class = minidl.Model(inputs, getattr(minidl.layers, layer)(**arguments)([a, b]))
    np.testing.assert_array_equal(model.predict(x, verbose=0), by_class.predict(x, verbose=0))
