"""StringLookup and IntegerLookup equal to Keras's: the vocabulary adapt learns or a given one, the indices
(mask, OOV, several OOV indices by floormod for integers), the inverse lookup, and one-hot, multi-hot, count
and TF-IDF outputs."""

from __future__ import annotations

import numpy as np
import pytest

import minidl

WORDS = np.array([["a", "b", "c"], ["b", "c", "c"], ["d", "", "a"], ["c", "e", "b"], ["b", "b", "f"]])
WORD_QUERIES = np.array([["a", "z", "c"], ["", "b", "b"], ["q", "q", "e"]])
NUMBERS = np.array([[3, 7, 7], [12, 3, 5], [0, 7, 9], [5, 5, 3], [7, 1, 3]])
NUMBER_QUERIES = np.array([[7, 42, 3], [0, 5, 5], [-3, 11, 9]])

STRING_CASES = [
    {},
    {"mask_token": ""},
    {"max_tokens": 4},
    {"mask_token": "", "num_oov_indices": 0, "max_tokens": 9},
    {"output_mode": "one_hot"},
    {"output_mode": "multi_hot", "mask_token": ""},
    {"output_mode": "count"},
    {"output_mode": "count", "max_tokens": 5, "pad_to_max_tokens": True},
    {"output_mode": "tf_idf"},
]
INTEGER_CASES = [
    {},
    {"mask_token": 0},
    {"num_oov_indices": 3},
    {"max_tokens": 5, "num_oov_indices": 2},
    {"output_mode": "one_hot", "mask_token": 0},
    {"output_mode": "multi_hot"},
    {"output_mode": "count", "num_oov_indices": 2},
    {"output_mode": "tf_idf", "mask_token": 0},
]


def as_strings(array) -> np.ndarray:
    return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else str(v), otypes=[object])(np.asarray(array))


def compare(ours, theirs, data, queries):
    ours.adapt(data)
    theirs.adapt(data)
    assert [str(v) for v in ours.get_vocabulary()] == [
        v.decode() if isinstance(v, bytes) else str(v) for v in theirs.get_vocabulary()
    ]
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    if ours.num_oov_indices == 0:
        queries = queries[np.isin(queries, data).all(axis=1)]
    for x in (queries, queries[:, 0], queries[:, :1]):
        expected, got = np.asarray(theirs(x)), ours(x)
        assert got.shape == expected.shape and got.dtype == expected.dtype, (x.shape, got.dtype, expected.dtype)
        if ours.output_mode == "tf_idf":  # float32 logs and a float32 mean: a few units in the last place
            np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(np.float32).eps)
        else:
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("options", STRING_CASES, ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()))
def test_string_lookup_equals_keras(options):
    keras = pytest.importorskip("keras")
    compare(minidl.layers.StringLookup(**options), keras.layers.StringLookup(**options), WORDS, WORD_QUERIES)


@pytest.mark.parametrize("options", INTEGER_CASES, ids=lambda o: ",".join(f"{k}={v!r}" for k, v in o.items()))
def test_integer_lookup_equals_keras(options):
    keras = pytest.importorskip("keras")
    compare(minidl.layers.IntegerLookup(**options), keras.layers.IntegerLookup(**options), NUMBERS, NUMBER_QUERIES)


@pytest.mark.parametrize("kind", ["StringLookup", "IntegerLookup"])
def test_given_vocabularies_and_the_inverse_lookup_equal_keras(kind):
    keras = pytest.importorskip("keras")
    strings = kind == "StringLookup"
    vocabulary = ["c", "a", "e"] if strings else [7, 3, 12]
    special = (["", "[UNK]"] if strings else [0, -1]) + vocabulary
    options = {"mask_token": "" if strings else 0}
    for given in (vocabulary, special):  # with the special tokens at the start, or without
        ours = getattr(minidl.layers, kind)(vocabulary=given, **options)
        theirs = getattr(keras.layers, kind)(vocabulary=given, **options)
        queries = WORD_QUERIES if strings else NUMBER_QUERIES
        np.testing.assert_array_equal(ours(queries), np.asarray(theirs(queries)))
        indices = np.array([[0, 1, 2], [3, 4, 9]])
        inverse_ours = getattr(minidl.layers, kind)(vocabulary=given, invert=True, **options)
        inverse_theirs = getattr(keras.layers, kind)(vocabulary=given, invert=True, **options)
        got, expected = inverse_ours(indices), np.asarray(inverse_theirs(indices))
        if strings:
            got, expected = as_strings(got), as_strings(expected)
        np.testing.assert_array_equal(got, expected)


def test_clear_errors():
    with pytest.raises(ValueError, match=r"all inputs should be in vocabulary, found OOV values \['z'\]"):
        minidl.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["a", "z"]))
    with pytest.raises(ValueError, match=r"several OOV indices hash strings with TensorFlow's FarmHash"):
        minidl.layers.StringLookup(num_oov_indices=2)
    with pytest.raises(ValueError, match=r"`output_mode` must be `'int'` when `invert` is true"):
        minidl.layers.IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match=r"repeated term: \[3\]"):
        minidl.layers.IntegerLookup(vocabulary=[3, 5, 3])
    with pytest.raises(ValueError, match=r"after setting a static vocabulary"):
        minidl.layers.StringLookup(vocabulary=["a"]).adapt(WORDS)
    with pytest.raises(ValueError, match=r"run the layer on the data before the model"):
        minidl.layers.StringLookup(vocabulary=["a"])(minidl.Input((2,), dtype="int64"))  # minidl's Inputs: numbers
    config = minidl.layers.StringLookup(max_tokens=5, vocabulary=["a", "b"]).get_config()
    assert config["vocabulary"] == ["a", "b"] and config["vocabulary_size"] == 3
    assert minidl.layers.StringLookup.from_config(config).get_vocabulary() == ["[UNK]", "a", "b"]


def sentences(rows: np.ndarray) -> np.ndarray:
    return np.array([" ".join(row) for row in rows])


@pytest.mark.parametrize(
    "make, data, queries",
    [
        (lambda: minidl.layers.IntegerLookup(mask_token=0), NUMBERS, NUMBER_QUERIES),
        (lambda: minidl.layers.StringLookup(output_mode="tf_idf"), WORDS, WORD_QUERIES),
        (
            lambda: minidl.layers.TextVectorization(output_mode="tf_idf", ngrams=2),
            sentences(WORDS),
            sentences(WORD_QUERIES),
        ),
        (
            lambda: minidl.layers.TextVectorization(max_tokens=6, output_sequence_length=4),
            sentences(WORDS),
            sentences(WORD_QUERIES),
        ),
    ],
)
def test_an_adapted_vocabulary_goes_into_the_config_and_back(make, data, queries):
    layer = make()
    layer.adapt(data)
    again = type(layer).from_config(layer.get_config())
    assert again.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(again(queries), layer(queries))


def saved_with_an_adapted_lookup(api, path):
    """A model of `api` (minidl or Keras) that starts with an adapted IntegerLookup, saved at `path`."""
    lookup = api.layers.IntegerLookup()
    lookup.adapt(NUMBERS)
    model = api.Sequential([api.Input((3,), dtype="int64"), lookup, api.layers.Embedding(10, 2)])
    model.save(path)
    return model


def test_a_model_with_an_adapted_lookup_saves_and_loads_in_both_frameworks(tmp_path):
    keras = pytest.importorskip("keras")
    model = saved_with_an_adapted_lookup(minidl, tmp_path / "adapted.keras")
    expected = model.predict(NUMBER_QUERIES, verbose=0)
    np.testing.assert_array_equal(
        minidl.models.load_model(tmp_path / "adapted.keras").predict(NUMBER_QUERIES, verbose=0), expected
    )
    in_keras = keras.models.load_model(tmp_path / "adapted.keras")  # minidl writes the vocabulary in the config
    np.testing.assert_array_equal(in_keras.predict(NUMBER_QUERIES, verbose=0), expected)  # a lookup, a row: exact


def test_a_keras_file_with_asset_files_is_refused(tmp_path):
    keras = pytest.importorskip("keras")
    saved_with_an_adapted_lookup(keras, tmp_path / "adapted.keras")  # Keras writes it to an asset file
    with pytest.raises(ValueError, match=r"keeps state in asset files .*which minidl does not read"):
        minidl.models.load_model(tmp_path / "adapted.keras")


def test_integer_lookup_in_a_functional_model_equals_keras():
    keras = pytest.importorskip("keras")
    outputs = {}
    for name, api in (("minidl", minidl), ("keras", keras)):
        inputs = api.Input((3,), dtype="int64")
        encoded = api.layers.IntegerLookup(vocabulary=[3, 5, 7, 12], output_mode="count")(inputs)
        model = api.Model(inputs, api.layers.Dense(2)(encoded))
        model.layers[-1].set_weights([np.arange(10, dtype=np.float32).reshape(5, 2) / 10, np.zeros(2, np.float32)])
        outputs[name] = model.predict(NUMBER_QUERIES, verbose=0)
    np.testing.assert_allclose(outputs["minidl"], outputs["keras"], rtol=1e-6)
