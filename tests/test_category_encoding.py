"""CategoryEncoding equal to Keras's: one-hot, multi-hot and count vectors of integer indices, Keras's shapes
(a 1-D input is one sample for multi_hot and count), its rules for indices outside 0 ... num_tokens - 1."""

from __future__ import annotations

import numpy as np
import pytest

import minidl

INPUTS = {
    "1-D": np.array([3, 2, 0, 1, 3]),
    "(N, 1)": np.array([[3], [0], [5], [1]]),
    "(N, k)": np.array([[0, 1, 1], [3, 3, 3], [2, 0, 4], [1, 5, 2]]),  # 4 and 5 are beyond num_tokens = 4
}


@pytest.mark.parametrize("output_mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("name", list(INPUTS))
def test_outputs_equal_keras(output_mode, name):
    keras = pytest.importorskip("keras")
    x = INPUTS[name]
    if output_mode == "one_hot" and x.ndim == 2 and x.shape[1] > 1:
        x = np.minimum(x, 3)  # TensorFlow's one_hot of a (N, k) input: stray indices are its kernel's choice
    expected = np.asarray(keras.layers.CategoryEncoding(num_tokens=4, output_mode=output_mode)(x))
    got = minidl.layers.CategoryEncoding(num_tokens=4, output_mode=output_mode)(x)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_count_weights_equal_keras():
    keras = pytest.importorskip("keras")
    x, weights = INPUTS["(N, k)"], np.linspace(0.5, 3.0, 12).reshape(4, 3)
    expected = np.asarray(keras.layers.CategoryEncoding(4, output_mode="count")(x, count_weights=weights))
    got = minidl.layers.CategoryEncoding(4, output_mode="count")(x, count_weights=weights)
    np.testing.assert_allclose(got, expected, rtol=2 * np.finfo(np.float32).eps)  # sums of up to 3 floats, any order


def test_in_a_model_after_an_integer_input():
    inputs = minidl.Input((3,), dtype="int64")
    outputs = minidl.layers.Dense(1, activation="sigmoid")(minidl.layers.CategoryEncoding(6, "count")(inputs))
    model = minidl.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    x = np.random.default_rng(0).integers(0, 6, (32, 3))
    history = model.fit(x, (x[:, 0] > 2).astype(np.float32), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_clear_errors():
    with pytest.raises(ValueError, match=r"num_tokens must be an integer >= 1, got None"):
        minidl.layers.CategoryEncoding()
    with pytest.raises(ValueError, match=r"Unknown arg for output_mode: 'tf_idf'"):
        minidl.layers.CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match=r"the indices must be >= 0, got -1"):
        minidl.layers.CategoryEncoding(3)(np.array([[0, -1]]))
    with pytest.raises(ValueError, match=r"`count_weights` is not used when `output_mode` is not 'count'"):
        minidl.layers.CategoryEncoding(3)(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
