"""The recurrent layers (LSTM, GRU, SimpleRNN): backpropagation through time against central differences in
float64, the outputs and three training steps equal to Keras's given the same weights, going backwards
included, and their configs both ways."""

from __future__ import annotations

import copy
import importlib.util
import json

import numpy as np
import pytest
from helpers import assert_steps_equal_keras

import minidl
from minidl.testing import check_layer_gradients, numeric_gradient, relative_error

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
    "lstm_elu_hard_sigmoid": (
        lambda api, **kw: api.layers.LSTM(4, activation="elu", recurrent_activation="hard_sigmoid", **kw),
        {"kernel", "recurrent_kernel", "bias"},
    ),
    "gru_relu_before": (
        lambda api, **kw: api.layers.GRU(
            4, activation="relu", recurrent_activation="softsign", reset_after=False, **kw
        ),
        {"kernel", "recurrent_kernel", "bias"},
    ),
    "gru_linear": (
        lambda api, **kw: api.layers.GRU(4, activation=None, **kw),
        {"kernel", "recurrent_kernel", "bias"},
    ),
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
    keras_config = getattr(keras.layers, layer_class.__name__)(
        3, dropout=0.2, recurrent_dropout=0.1, seed=7
    ).get_config()
    rebuilt = layer_class.from_config(keras_config)
    seed = keras_config.get("seed")  # Keras's SimpleRNN leaves its seed out of its config
    assert (rebuilt.dropout, rebuilt.recurrent_dropout, rebuilt.seed) == (0.2, 0.1, seed)
    again = getattr(keras.layers, layer_class.__name__).from_config(rebuilt.get_config())
    assert (again.dropout, again.recurrent_dropout, again.cell.seed) == (0.2, 0.1, seed)


# Dropout inside the recurrent layers: (the layer's options, the masks drawn: input masks, recurrent masks,
# each the number of masks (one shared by the gates, or one per gate) or None)
DROPOUTS = {
    "input": ({"dropout": 0.3}, 1, None),
    "recurrent": ({"recurrent_dropout": 0.4}, None, "gates"),
    "both": ({"dropout": 0.3, "recurrent_dropout": 0.4}, "gates", "gates"),
}


@pytest.mark.parametrize("dropout", DROPOUTS)
@pytest.mark.parametrize("kind", LAYERS)
def test_gradients_through_time_with_dropout(kind, dropout, float64):
    make, weights = LAYERS[kind]
    options = {"bias_initializer": "random_normal"} if "bias" in weights else {}
    layer = make(minidl, return_sequences=True, seed=1, **DROPOUTS[dropout][0], **options)
    error = check_layer_gradients(layer, np.random.default_rng(0).standard_normal((3, 6, 5)), return_details=True)
    assert set(error) == {"input", *weights} and max(error.values()) < 1e-6, error
    for masks, expected in zip((layer.input_masks, layer.recurrent_masks), DROPOUTS[dropout][1:]):
        assert (masks is None) == (expected is None)
        if masks is not None:
            assert len(masks) == (layer.gates if expected == "gates" else 1)
            assert 0 < np.count_nonzero(masks) < masks.size  # some dropped, some kept: the check covers both


@pytest.mark.parametrize("kind", ["lstm", "gru", "simple_rnn"])
def test_dropout_masks_are_keras(kind):
    """Drawn once per batch and used at every step, 0 or 1 / (1 - rate), about `rate` of them zero; none
    in inference, where the layer is the same as without dropout; the same seed draws the same masks."""
    make, _ = LAYERS[kind]
    x = np.random.default_rng(0).standard_normal((400, 5, 8)).astype(np.float32)
    layer, plain = make(minidl, dropout=0.25, recurrent_dropout=0.5, seed=3), make(minidl)
    layer(x[:1])
    plain(x[:1])
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(x), plain(x))
    assert layer.input_masks is None and layer.recurrent_masks is None
    layer.forward(x, training=True)
    for masks, rate in ((layer.input_masks, 0.25), (layer.recurrent_masks, 0.5)):
        assert masks.dtype == np.float32 and set(np.unique(masks)) == {0.0, np.float32(1 / (1 - rate))}
        assert abs(np.mean(masks == 0) - rate) < 0.03  # 400 samples x 8 or 4 units x gates: sd below 0.01
    first = layer.input_masks
    layer.forward(x, training=True)
    assert not np.array_equal(layer.input_masks, first)  # a new batch, new masks
    twin = make(minidl, dropout=0.25, recurrent_dropout=0.5, seed=3)
    twin(x[:1])
    twin.forward(x, training=True)
    np.testing.assert_array_equal(twin.input_masks, first)


@needs_keras
@pytest.mark.parametrize("dropout", DROPOUTS)
@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_equals_keras_given_the_same_masks(kind, dropout, float64, keras_float64):
    """Keras's cell takes minidl's masks (its cached masks for the batch): the same outputs and the same
    gradients of the inputs and of every weight, through Keras's implementation 1 and 2 alike."""
    import tensorflow as tf

    make, weights = LAYERS[kind]
    options = {"bias_initializer": "random_normal"} if "bias" in weights else {}
    theirs = make(keras, return_sequences=True, **DROPOUTS[dropout][0], **options)
    ours = make(minidl, return_sequences=True, seed=0, **DROPOUTS[dropout][0])
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 5))
    theirs.build(x.shape)
    ours(x)
    ours.set_weights(theirs.get_weights())
    without_dropout = ours(x)
    y = ours.forward(x, training=True)
    assert np.abs(y - without_dropout).max() > 1e-3  # the masks change the output

    def as_keras(masks):  # Keras keeps (N, features) masks: a list of one per gate, or one tensor
        if masks is None:
            return None
        per_gate = [tf.constant(mask.reshape(len(x), -1)) for mask in masks]
        return per_gate if getattr(theirs.cell, "dropout_mask_count", None) else per_gate[0]

    theirs.cell._dropout_mask = as_keras(ours.input_masks)
    theirs.cell._recurrent_dropout_mask = as_keras(ours.recurrent_masks)
    projection, inputs = rng.standard_normal(y.shape), tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        their_y = theirs(inputs, training=True)
        loss = tf.reduce_sum(their_y * projection)
    their_grads = tape.gradient(loss, [inputs, *theirs.trainable_variables])
    ours.need_input_grad = True
    our_grads = [ours.backward(projection), *(ours.grads[name] for name in ours.params)]
    np.testing.assert_allclose(y, their_y.numpy(), rtol=1e-12, atol=1e-13)
    for mine, keras_grad in zip(our_grads, their_grads):
        np.testing.assert_allclose(mine, keras_grad.numpy(), rtol=1e-11, atol=1e-12)


def test_lstm_forget_bias_starts_at_one():
    _, _, bias = sequence_model(minidl, "lstm", False).get_layer("rnn").get_weights()
    np.testing.assert_array_equal(bias, np.repeat([0.0, 1.0, 0.0, 0.0], 4))  # unit_forget_bias


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: minidl.layers.GRU(4, activation="softmax"), "GRU 'gru.*activation must be .* element-wise"),
        (lambda: minidl.layers.LSTM(4, recurrent_activation="x"), "LSTM 'lstm.*recurrent_activation must be"),
        (lambda: minidl.layers.SimpleRNN(4, activation="softmax"), "SimpleRNN 'simple_rnn.*element-wise"),
        (lambda: minidl.layers.SimpleRNN(0), "SimpleRNN 'simple_rnn.*units must be a positive integer"),
        (lambda: minidl.layers.LSTM(4, dropout=1.0), r"LSTM 'lstm.*dropout must be a number in \[0, 1\), got 1.0"),
        (lambda: minidl.layers.GRU(4, recurrent_dropout=-0.1), r"GRU 'gru.*recurrent_dropout must be .* got -0.1"),
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


# ------------------------------------------------------------------ initial_state and return_state
STATEFUL = ["lstm", "gru", "gru_reset_before", "simple_rnn_sigmoid"]


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("dropout", [None, "both"])
@pytest.mark.parametrize("kind", STATEFUL)
def test_gradients_through_initial_and_final_states(kind, dropout, go_backwards, float64):
    """From given initial states, with return_state: every output's gradient (the sequence and the final
    states) reaches x, the weights and the initial states, against central differences."""
    make, _ = LAYERS[kind]
    options = DROPOUTS[dropout][0] if dropout else {}
    layer = make(minidl, return_sequences=True, return_state=True, go_backwards=go_backwards, seed=2, **options)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4))
    states = [rng.standard_normal((3, 4)) for _ in layer.state_names]
    layer([x, *states][0], initial_state=states)  # built, in float64
    stream = copy.deepcopy(layer.rng)
    outputs = layer.forward([x, *states], training=True)
    assert len(outputs) == 1 + len(layer.state_names)
    projections = [rng.standard_normal(o.shape) for o in outputs]

    def loss() -> float:
        layer.rng = copy.deepcopy(stream)  # the same dropout masks on every pass
        return sum(float(np.sum(o * p)) for o, p in zip(layer.forward([x, *states], training=True), projections))

    loss()
    layer.need_input_grad = True
    dx, *state_grads = layer.backward([p.copy() for p in projections])
    errors = {"x": relative_error(dx, numeric_gradient(loss, x))}
    errors.update(
        {f"state{i}": relative_error(g, numeric_gradient(loss, s)) for i, (g, s) in enumerate(zip(state_grads, states))}
    )
    analytic = {name: layer.grads[name].copy() for name in layer.params}
    errors.update({name: relative_error(analytic[name], numeric_gradient(loss, p)) for name, p in layer.params.items()})
    assert max(errors.values()) < 1e-6, errors


def encoder_decoder(api, kind, dtype=None):
    """keras.io's sequence-to-sequence shape: the encoder's final states start the decoder."""
    make, _ = LAYERS[kind]
    encoder_in, decoder_in = api.Input((5, 3), dtype=dtype), api.Input((4, 2), dtype=dtype)
    _, *states = make(api, return_state=True, bias_initializer="random_normal", name="encoder")(encoder_in)
    sequence, *_ = make(api, return_sequences=True, return_state=True, name="decoder")(decoder_in, initial_state=states)
    return api.Model([encoder_in, decoder_in], api.layers.Dense(3, activation="softmax", name="out")(sequence))


def assert_encoder_decoder_as_keras(ours, theirs, rng) -> None:
    """float64 encoder-decoders (inputs (5, 3) and (4, 2), 3 classes per step), ours given Keras's weights:
    the same predictions, three Adam steps alike, and each framework's config rebuilt in the other
    predicting the same."""
    x, y = [rng.standard_normal((8, 5, 3)), rng.standard_normal((8, 4, 2))], rng.integers(0, 3, (8, 4))
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10, atol=1e-12)
    theirs.compile(keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    ours.compile(minidl.optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    assert_steps_equal_keras(ours, theirs, x, y, loss_rel=1e-8, rtol=1e-7, atol=1e-9)
    from_keras = minidl.models.model_from_json(theirs.to_json())
    from_keras.set_weights(theirs.get_weights())
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10, atol=1e-12)
    to_keras = keras.models.model_from_json(ours.to_json())
    to_keras.set_weights(ours.get_weights())
    np.testing.assert_allclose(to_keras.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-10, atol=1e-12)


@needs_keras
@pytest.mark.parametrize("kind", STATEFUL)
def test_encoder_decoder_equals_keras(kind, float64, keras_float64):
    theirs, ours = encoder_decoder(keras, kind, "float64"), encoder_decoder(minidl, kind, "float64")
    assert_encoder_decoder_as_keras(ours, theirs, np.random.default_rng(4))
    # the configs: Keras's initial_state keyword and its outputs' indices ("encoder", 0, 1)
    decoder_call = [e for e in json.loads(ours.to_json())["config"]["layers"] if e["name"] == "decoder"][0]
    states = decoder_call["inbound_nodes"][0]["kwargs"]["initial_state"]
    assert [s["config"]["keras_history"] for s in states] == [["encoder", 0, i + 1] for i in range(len(states))]


def bidirectional_encoder_decoder(api, kind, dtype=None):
    """Bidirectional with return_state: an LSTM encoder's two directions' states joined to start an LSTM
    decoder; a GRU encoder's states start a Bidirectional GRU decoder direction by direction."""
    encoder_in, decoder_in = api.Input((5, 3), dtype=dtype), api.Input((4, 2), dtype=dtype)
    if kind == "lstm":
        encoder = api.layers.Bidirectional(api.layers.LSTM(3, return_state=True), name="encoder")
        _, h_f, c_f, h_b, c_b = encoder(encoder_in)
        states = [api.layers.Concatenate()([h_f, h_b]), api.layers.Concatenate()([c_f, c_b])]
        sequence = api.layers.LSTM(6, return_sequences=True, name="decoder")(decoder_in, initial_state=states)
    else:
        encoder = api.layers.Bidirectional(api.layers.GRU(3, return_state=True), merge_mode="sum", name="encoder")
        _, h_f, h_b = encoder(encoder_in)
        decoder = api.layers.Bidirectional(api.layers.GRU(3, return_sequences=True), name="decoder")
        sequence = decoder(decoder_in, initial_state=[h_f, h_b])
    return api.Model([encoder_in, decoder_in], api.layers.Dense(3, activation="softmax", name="out")(sequence))


@needs_keras
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_bidirectional_states_equal_keras(kind, float64, keras_float64):
    theirs, ours = (
        bidirectional_encoder_decoder(keras, kind, "float64"),
        bidirectional_encoder_decoder(minidl, kind, "float64"),
    )
    assert_encoder_decoder_as_keras(ours, theirs, np.random.default_rng(7))


@needs_keras
def test_eager_call_with_states_equals_keras(float64, keras_float64):
    rng = np.random.default_rng(6)
    x, h, c = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    theirs = keras.layers.LSTM(5, return_state=True, go_backwards=True)
    their_outputs = theirs(x, initial_state=[h, c])
    ours = minidl.layers.LSTM(5, return_state=True, go_backwards=True)
    ours(x, initial_state=[h, c])
    ours.set_weights(theirs.get_weights())
    for mine, keras_output in zip(ours(x, initial_state=[h, c]), their_outputs):
        np.testing.assert_allclose(mine, np.asarray(keras_output), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: minidl.layers.LSTM(3)(np.ones((2, 4, 1)), initial_state=[np.ones((2, 3))]), ValueError, "2 state"),
        (lambda: minidl.layers.GRU(3)(np.ones((2, 4, 1)), initial_state=np.ones((2, 4))), ValueError, r"\(2, 3\)"),
        (lambda: minidl.layers.GRU(3)(minidl.Input((4, 1)), initial_state=np.ones((2, 3))), TypeError, "both"),
        (
            lambda: minidl.Sequential([minidl.Input((4, 1)), minidl.layers.GRU(3, return_state=True)]),
            ValueError,
            "layer 'gru.*' has 2 .*functional API",
        ),
        (
            lambda: minidl.layers.Bidirectional(minidl.layers.LSTM(2))(minidl.Input((3, 1)), initial_state=[]),
            ValueError,
            r"4 state\(s\) \(forward_h, forward_c, backward_h, backward_c\)",
        ),
    ],
)
def test_states_are_checked(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_sequences_of_any_length_through_an_input_of_length_none():
    """Input((None, features)): one model trains on sequences of 5 steps and predicts on 7 (a batch's own
    length), as keras.io's seq2seq decoders do."""
    inputs = minidl.Input((None, 3))
    sequence = minidl.layers.GRU(4, return_sequences=True)(inputs)
    model = minidl.Model(inputs, minidl.layers.Dense(2, activation="softmax")(sequence))
    assert model.output_shape == (None, None, 2)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    model.fit(rng.standard_normal((8, 5, 3)), rng.integers(0, 2, (8, 5)), epochs=1, verbose=0)
    assert model.predict(rng.standard_normal((3, 7, 3)), verbose=0).shape == (3, 7, 2)
