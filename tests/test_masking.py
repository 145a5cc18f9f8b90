"""Keras's masks (minidl.masking): Embedding(mask_zero=True) and Masking start them, the recurrent layers and
GlobalAveragePooling1D take them, the loss and metrics count unmasked entries only. Gradients against
central differences in float64; predictions, evaluate and three training steps equal to Keras's given the
same weights (SGD: Keras's Adam updates an embedding table row by row, see test_embedding)."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
from helpers import assert_steps_equal_keras

import minidl
from minidl.testing import check_layer_gradients

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")

RECURRENT = ["LSTM", "GRU", "SimpleRNN"]


def step_mask(rng: np.random.Generator, n: int, steps: int) -> np.ndarray:
    """A mask with padded ends, padded starts, a hole in the middle and a sample without padding."""
    mask = rng.random((n, steps)) > 0.3
    mask[0], mask[1, -2:], mask[2, :2] = True, False, False
    return mask


def tokens(rng: np.random.Generator, n: int = 8, steps: int = 7, vocabulary: int = 6) -> np.ndarray:
    """Token rows with 0 (padding) at the ends, at the starts and inside; every row keeps some tokens."""
    x = rng.integers(1, vocabulary, (n, steps))
    x[~step_mask(rng, n, steps)] = 0
    x[:, 0] = np.where((x == 0).all(axis=1), 1, x[:, 0])
    return x


# ----------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", RECURRENT)
def test_masked_steps_backpropagate(kind, return_sequences, go_backwards, float64):
    rng = np.random.default_rng(0)
    layer = getattr(minidl.layers, kind)(
        4, return_sequences=return_sequences, go_backwards=go_backwards, bias_initializer="random_normal"
    )
    x = rng.standard_normal((4, 6, 3))
    error = check_layer_gradients(layer, x, mask=step_mask(rng, 4, 6), return_details=True)
    assert max(error.values()) < 1e-6, error


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_masked_states_and_initial_states_backpropagate(zero_output_for_mask, float64):
    """return_state with initial states: the carried states' gradients reach h_0 and c_0 across masked steps."""
    rng = np.random.default_rng(1)
    layer = minidl.layers.LSTM(3, return_sequences=True, return_state=True, zero_output_for_mask=zero_output_for_mask)
    layer.build_for((None, 5, 2))
    x, h0, c0 = rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    mask = step_mask(rng, 3, 5)
    output, h, c = layer.forward([x, h0, c0], training=True, mask=mask)
    np.testing.assert_array_equal(output[1, -1], 0 if zero_output_for_mask else h[1])  # its last steps are masked
    projections = [rng.standard_normal(a.shape) for a in (output, h, c)]

    def loss() -> float:
        return float(sum(np.sum(a * p) for a, p in zip(layer.forward([x, h0, c0], True, mask), projections)))

    loss()
    dx, dh0, dc0 = layer.backward([p.copy() for p in projections])
    for analytic, value in ((dx, x), (dh0, h0), (dc0, c0)):
        numeric = minidl.testing.numeric_gradient(loss, value)
        assert minidl.testing.relative_error(analytic, numeric) < 1e-6


def test_bidirectional_and_pooling_backpropagate_masks(float64):
    rng = np.random.default_rng(2)
    x, mask = rng.standard_normal((4, 6, 3)), step_mask(rng, 4, 6)
    bidirectional = minidl.layers.Bidirectional(minidl.layers.GRU(3, return_sequences=True), merge_mode="sum")
    assert check_layer_gradients(bidirectional, x, mask=mask) < 1e-6
    assert check_layer_gradients(minidl.layers.GlobalAveragePooling1D(), x, mask=mask) < 1e-6
    masking = minidl.layers.Masking()  # a step at mask_value is a jump: its gradient is 0, as Keras's where()
    masking.forward(np.where(mask[..., None], x, 0.0), training=True)
    np.testing.assert_array_equal(masking.backward(x), np.where(mask[..., None], x, 0.0))


def test_masked_steps_keep_the_state():
    """A masked step changes nothing: the same states as the sequence without it, and the output there
    repeats the last unmasked step's (0 before the first one)."""
    rng = np.random.default_rng(3)
    layer = minidl.layers.LSTM(3, return_sequences=True, return_state=True)
    x = rng.standard_normal((1, 5, 2)).astype("float32")
    mask = np.array([[False, True, False, True, True]])
    output, h, c = layer(x)  # builds it
    output, h, c = layer.forward(x, mask=mask)
    _, h_kept, c_kept = layer.forward(x[:, mask[0]])
    np.testing.assert_array_equal(h, h_kept)
    np.testing.assert_array_equal(c, c_kept)
    np.testing.assert_array_equal(output[0, 0], 0)
    np.testing.assert_array_equal(output[0, 2], output[0, 1])


# ----------------------------------------------------------------------------- the masks themselves
def test_where_masks_start_go_and_end():
    x = np.array([[3, 1, 0, 0], [0, 2, 0, 4]])
    embedding = minidl.layers.Embedding(5, 2, mask_zero=True)
    np.testing.assert_array_equal(embedding.compute_mask(x), x != 0)
    assert minidl.layers.Embedding(5, 2).compute_mask(x) is None
    features = np.array([[[0.0, 1.0], [0.0, 0.0], [2.0, 0.0]]])
    np.testing.assert_array_equal(minidl.layers.Masking().compute_mask(features), [[True, False, True]])
    np.testing.assert_array_equal(minidl.layers.Masking()(features), features)
    twos = np.array([[[2.0, 2.0], [2.0, 0.0]]])
    np.testing.assert_array_equal(minidl.layers.Masking(mask_value=2.0)(twos), [[[0.0, 0.0], [2.0, 0.0]]])

    inputs = minidl.Input((4,), dtype="int32")
    embedded = minidl.layers.Embedding(5, 2, mask_zero=True)(inputs)
    sequences = minidl.layers.LSTM(3, return_sequences=True)(embedded)
    last = minidl.layers.LSTM(3)(embedded)
    model = minidl.Model(inputs, [minidl.layers.Dense(2)(sequences), minidl.layers.Dense(2)(last)])
    model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.output_mask[0], x != 0)  # Dense passes it on
    assert model.output_mask[1] is None  # an LSTM without return_sequences ends it

    plain = minidl.Sequential([minidl.Input((4,), dtype="int32"), minidl.layers.Embedding(5, 2)])
    plain.predict(x, verbose=0)
    assert plain.output_mask is None


def test_a_layer_without_masking_ends_the_mask_with_keras_warning():
    model = minidl.Sequential(
        [
            minidl.Input((4,), dtype="int32"),
            minidl.layers.Embedding(5, 2, mask_zero=True),
            minidl.layers.Flatten(),
            minidl.layers.Dense(1),
        ]
    )
    with pytest.warns(UserWarning, match="'flatten.*' .* does not support masking"):
        model.predict(np.array([[1, 2, 0, 0]]), verbose=0)
    assert model.output_mask is None


def test_merges_join_masks_as_keras():
    a, b = np.array([[True, False, False]]), np.array([[False, False, True]])
    x = np.zeros((1, 3, 2))
    np.testing.assert_array_equal(minidl.layers.Add().compute_mask([x, x], [a, b]), a | b)
    assert minidl.layers.Add().compute_mask([x, x], [a, None]) is None
    joined = minidl.layers.Concatenate(axis=1).compute_mask([x, x], [a, None])
    np.testing.assert_array_equal(joined, [[True, False, False, True, True, True]])


def test_batch_normalization_refuses_a_mask_in_training():
    layer = minidl.layers.BatchNormalization(name="bn")
    x = np.ones((2, 3, 4), "float32")
    layer(x)
    with pytest.raises(NotImplementedError, match="BatchNormalization 'bn'.*unmasked"):
        layer.forward(x, training=True, mask=np.ones((2, 3), bool))
    np.testing.assert_array_equal(layer.forward(x, mask=np.ones((2, 3), bool)), layer.forward(x))


def test_masked_loss_and_metrics_count_unmasked_entries_only():
    """Keras's apply_mask: the masked mean of the per-step losses (with sample weights too)."""
    rng = np.random.default_rng(4)
    x = tokens(rng, 6, 5)
    model = minidl.Sequential(
        [
            minidl.Input((5,), dtype="int32"),
            minidl.layers.Embedding(6, 4, mask_zero=True),
            minidl.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    y, weights = rng.integers(0, 3, (6, 5)), rng.random(6)
    p = model.predict(x, verbose=0)
    losses = -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0])
    correct = p.argmax(-1) == y
    kept = x != 0
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(losses[kept].mean(), rel=1e-6)
    assert logs["accuracy"] == pytest.approx(correct[kept].mean(), rel=1e-6)
    model.compile("sgd", "sparse_categorical_crossentropy", weighted_metrics=["accuracy"])
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    w = weights[:, None] * kept
    assert logs["loss"] == pytest.approx((losses * w).sum() / kept.sum(), rel=1e-6)
    assert logs["accuracy"] == pytest.approx((correct * w).sum() / w.sum(), rel=1e-6)


# ----------------------------------------------------------------------------- equal to Keras
def token_model(api, kind: str, return_sequences: bool, bidirectional: bool, per_step: bool):
    layers = [api.Input((7,), dtype="int32"), api.layers.Embedding(6, 3, mask_zero=True)]
    rnn = getattr(api.layers, kind)(4, return_sequences=return_sequences)
    layers.append(api.layers.Bidirectional(rnn) if bidirectional else rnn)
    if return_sequences and not per_step:
        layers.append(api.layers.GlobalAveragePooling1D())
    return api.Sequential([*layers, api.layers.Dense(3, activation="softmax")])


def assert_masked_model_as_keras(ours, theirs, x, y) -> None:
    """float64 models with the same weights: predictions, three SGD steps, then evaluate (loss and
    accuracy) equal."""
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-10, atol=1e-12)
    theirs.compile(keras.optimizers.SGD(0.5, momentum=0.9), "sparse_categorical_crossentropy")
    ours.compile(minidl.optimizers.SGD(0.5, momentum=0.9), "sparse_categorical_crossentropy")
    assert_steps_equal_keras(ours, theirs, x, y, loss_rel=1e-8, rtol=1e-7, atol=1e-9)
    theirs.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ours.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-10)


CASES = {  # kind, return_sequences, bidirectional, a loss per step
    "lstm_last": ("LSTM", False, False, False),
    "gru_pooled": ("GRU", True, False, False),
    "simple_rnn_per_step": ("SimpleRNN", True, False, True),
    "bidirectional_lstm_per_step": ("LSTM", True, True, True),
    "bidirectional_gru_last": ("GRU", False, True, False),
}


@needs_keras
@pytest.mark.parametrize("case", CASES)
def test_token_models_equal_keras(case, float64, keras_float64):
    per_step = CASES[case][3]
    rng = np.random.default_rng(5)
    x = tokens(rng)
    y = rng.integers(0, 3, x.shape if per_step else len(x))
    assert_masked_model_as_keras(token_model(minidl, *CASES[case]), token_model(keras, *CASES[case]), x, y)


def masking_model(api):
    """Float features padded with -1, stacked LSTMs, a Dense per step."""
    return api.Sequential(
        [
            api.Input((6, 2)),
            api.layers.Masking(mask_value=-1.0),
            api.layers.LSTM(4, return_sequences=True),
            api.layers.GRU(3, return_sequences=True, go_backwards=True),
            api.layers.Dropout(0.0),
            api.layers.LayerNormalization(),
            api.layers.Dense(2, activation="softmax"),
        ]
    )


@needs_keras
def test_masking_layer_and_stacked_layers_equal_keras(float64, keras_float64):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 6, 2))
    x[~step_mask(rng, 8, 6)] = -1.0
    assert_masked_model_as_keras(masking_model(minidl), masking_model(keras), x, rng.integers(0, 2, (8, 6)))


def two_branch_model(api):
    """Two token inputs, each masked, their LSTM sequences concatenated along time and pooled."""
    words, tags = api.Input((5,), dtype="int32"), api.Input((4,), dtype="int32")
    a = api.layers.LSTM(3, return_sequences=True)(api.layers.Embedding(6, 2, mask_zero=True)(words))
    b = api.layers.Embedding(4, 3)(tags)  # no mask: all its steps count
    joined = api.layers.Concatenate(axis=1)([a, b])
    pooled = api.layers.GlobalAveragePooling1D()(joined)
    return api.Model([words, tags], api.layers.Dense(3, activation="softmax")(pooled))


@needs_keras
def test_functional_masks_through_a_concatenation_equal_keras(float64, keras_float64):
    rng = np.random.default_rng(7)
    x = [tokens(rng, 8, 5), rng.integers(0, 4, (8, 4))]
    ours, theirs = two_branch_model(minidl), two_branch_model(keras)
    assert_masked_model_as_keras(ours, theirs, x, rng.integers(0, 3, 8))


@needs_keras
def test_initial_state_calls_get_no_mask_as_keras(float64, keras_float64):
    """Keras passes no mask to a recurrent layer called with initial_state (its output keeps the mask)."""

    def build(api):
        inputs, state = api.Input((5,), dtype="int32"), api.Input((3,))
        embedded = api.layers.Embedding(6, 2, mask_zero=True)(inputs)
        output = api.layers.GRU(3, return_sequences=True)(embedded, initial_state=[state])
        return api.Model([inputs, state], api.layers.Dense(2, activation="softmax")(output))

    rng = np.random.default_rng(8)
    x = [tokens(rng, 8, 5), rng.standard_normal((8, 3))]
    ours, theirs = build(minidl), build(keras)
    assert_masked_model_as_keras(ours, theirs, x, rng.integers(0, 2, (8, 5)))


@needs_keras
def test_configs_and_files_keep_the_masks(tmp_path):
    theirs = masking_model(keras)
    theirs.layers[1].zero_output_for_mask = False
    path = tmp_path / "masked.keras"
    theirs.save(path)
    ours = minidl.saving.load_model(path)
    assert isinstance(ours.layers[0], minidl.layers.Masking) and ours.layers[0].mask_value == -1.0
    x = np.random.default_rng(9).standard_normal((3, 6, 2)).astype("float32")
    x[0, 3:] = -1.0
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)

    embedding = keras.layers.Embedding(6, 3, mask_zero=True).get_config()
    assert minidl.layers.Embedding.from_config(embedding).get_config()["mask_zero"] is True
    bidirectional = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True)).get_config()
    ours = minidl.layers.Bidirectional.from_config(bidirectional).get_config()
    for key in ("layer", "backward_layer"):  # Keras's: a Bidirectional's layers give masked steps 0
        assert ours[key]["config"]["zero_output_for_mask"] is True
        assert bidirectional[key]["config"]["zero_output_for_mask"] is True


def test_unmasked_models_run_as_before():
    """A model without a mask-starting layer keeps its fused passes and leaves output_mask None."""
    model = minidl.Sequential([minidl.Input((4, 3)), minidl.layers.LSTM(2), minidl.layers.Dense(1)])
    model.compile("sgd", "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(np.ones((4, 4, 3)), np.ones((4, 1)), verbose=0)
    assert model.output_mask is None


def nested_model(api):
    """A Sequential that starts the mask inside a functional model; a second Sequential (Dense layers)
    gets the outer mask and passes it on to a per-step loss."""
    encoder = api.Sequential(
        [
            api.Input((6,), dtype="int32"),
            api.layers.Embedding(6, 3, mask_zero=True),
            api.layers.LSTM(4, return_sequences=True),
        ],
        name="encoder",
    )
    head = api.Sequential([api.Input((6, 4)), api.layers.Dense(3, activation="tanh")], name="head")
    inputs = api.Input((6,), dtype="int32")
    states = api.layers.GRU(4, return_sequences=True)(encoder(inputs))
    return api.Model(inputs, api.layers.Dense(2, activation="softmax")(head(states)))


@needs_keras
def test_masks_go_through_nested_models_as_keras(float64, keras_float64):
    rng = np.random.default_rng(10)
    x = tokens(rng, 8, 6)
    assert_masked_model_as_keras(nested_model(minidl), nested_model(keras), x, rng.integers(0, 2, (8, 6)))
