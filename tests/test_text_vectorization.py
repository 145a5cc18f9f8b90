"""TextVectorization equal to Keras's: the same vocabulary from adapt, the same indices, multi-hot and count
vectors and TF-IDF weights, for each standardisation, split and n-gram setting."""

from __future__ import annotations

import numpy as np
import pytest

import minidl

TEXTS = np.array(
    [
        "The cat sat on the mat.",
        "The dog ate my HOMEWORK!  Twice...",
        "cat, dog; cat? dog-cat",
        "Ünïcode déjà vu\u00a0here",  # non-ASCII letters stay as they are; a no-break space splits nothing
        "",
        "a b c d e f g h i j k l m",
    ]
)
QUERIES = np.array(["the cat and the dog", "zebra crossing", "", "b a b a", "DÉJÀ vu"])

CASES = [
    {},
    {"max_tokens": 8, "output_sequence_length": 5},
    {"output_sequence_length": 12, "ngrams": 2},
    {"standardize": None, "split": "character", "output_sequence_length": 10},
    {"standardize": "lower"},
    {"standardize": "strip_punctuation", "ngrams": (1, 3)},
    {"split": None},
    {"output_mode": "multi_hot"},
    {"output_mode": "count", "ngrams": 2},
    {"output_mode": "count", "max_tokens": 6, "pad_to_max_tokens": True},
    {"output_mode": "tf_idf"},
    {"output_mode": "tf_idf", "max_tokens": 40, "pad_to_max_tokens": True, "ngrams": 2},
]


@pytest.mark.parametrize("options", CASES, ids=lambda options: ",".join(f"{k}={v}" for k, v in options.items()))
def test_adapted_vocabulary_and_outputs_equal_keras(options):
    keras = pytest.importorskip("keras")
    ours, theirs = minidl.layers.TextVectorization(**options), keras.layers.TextVectorization(**options)
    ours.adapt(TEXTS)
    theirs.adapt(TEXTS)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert ours.vocabulary_size() == theirs.vocabulary_size()
    expected = np.asarray(theirs(QUERIES))
    got = ours(QUERIES)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    if options.get("output_mode") == "tf_idf":  # float32 logs and a float32 mean: a few units in the last place
        np.testing.assert_allclose(got, expected, rtol=4 * np.finfo(np.float32).eps)
    else:
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("output_mode", ["int", "multi_hot", "tf_idf"])
def test_a_given_vocabulary_equals_keras(output_mode):
    keras = pytest.importorskip("keras")
    vocabulary = ["cat", "dog", "the", "sat"]
    idf = [0.5, 1.5, 0.25, 2.0] if output_mode == "tf_idf" else None
    ours = minidl.layers.TextVectorization(output_mode=output_mode, vocabulary=vocabulary, idf_weights=idf)
    theirs = keras.layers.TextVectorization(output_mode=output_mode, vocabulary=vocabulary, idf_weights=idf)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    assert ours.get_vocabulary(include_special_tokens=False) == vocabulary
    np.testing.assert_allclose(ours(QUERIES), np.asarray(theirs(QUERIES)), rtol=1e-7)


def test_vectorized_text_trains_a_model():
    vectorize = minidl.layers.TextVectorization(max_tokens=20, output_sequence_length=6)
    vectorize.adapt(TEXTS)
    x = vectorize(TEXTS[TEXTS != ""])  # (an empty text would leave nothing for the average to average)
    model = minidl.Sequential(
        [
            minidl.Input((6,), dtype="int64"),
            minidl.layers.Embedding(20, 4, mask_zero=True),
            minidl.layers.GlobalAveragePooling1D(),
            minidl.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(x, np.arange(len(x)) % 2, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    with pytest.raises(ValueError, match=r"minidl's models take numbers: run the layer on the data before the model"):
        vectorize(minidl.Input((1,), dtype="int64"))


def test_clear_errors():
    with pytest.raises(ValueError, match=r"output_mode must be one of"):
        minidl.layers.TextVectorization(output_mode="one_hot")
    with pytest.raises(ValueError, match=r"`output_sequence_length` must not be set"):
        minidl.layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match=r"repeated term: \['a'\]"):
        minidl.layers.TextVectorization(vocabulary=["a", "b", "a"])
    with pytest.raises(ValueError, match=r"after setting a static vocabulary"):
        minidl.layers.TextVectorization(vocabulary=["a"]).adapt(TEXTS)
    with pytest.raises(RuntimeError, match=r"you must set the layer's vocabulary before calling it"):
        minidl.layers.TextVectorization(output_mode="multi_hot")(QUERIES)
    with pytest.raises(ValueError, match=r"one string per sample, shape \(N,\) or \(N, 1\), got shape \(2, 2\)"):
        minidl.layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"], ["c", "d"]]))
    config = minidl.layers.TextVectorization(max_tokens=5, vocabulary=["a", "b"]).get_config()
    assert config["vocabulary"] == ["a", "b"] and config["vocabulary_size"] == 4
    again = minidl.layers.TextVectorization.from_config(config)
    assert again.get_vocabulary() == ["", "[UNK]", "a", "b"]
