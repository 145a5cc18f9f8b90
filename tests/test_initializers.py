"""Initializers: Keras's names, and the distributions Keras's formulas give (the draws differ: each
framework has its own random generator)."""

import numpy as np
import pytest

from minidl import initializers

SHAPE = (300, 200)  # fan_in 300, fan_out 200


@pytest.mark.parametrize(
    "name, std",
    [
        ("glorot_uniform", np.sqrt(2 / 500)),
        ("glorot_normal", np.sqrt(2 / 500)),
        ("he_normal", np.sqrt(2 / 300)),
        ("he_uniform", np.sqrt(2 / 300)),
        ("lecun_normal", np.sqrt(1 / 300)),
        ("lecun_uniform", np.sqrt(1 / 300)),
        ("random_normal", 0.05),
        ("truncated_normal", 0.05 * 0.8796),
        ("random_uniform", 0.1 / np.sqrt(12)),
    ],
)
def test_distributions_have_keras_spread(name, std):
    values = initializers.get(name)(SHAPE, "float64")
    assert values.shape == SHAPE and abs(values.mean()) < 0.05 * std * 10
    assert values.std() == pytest.approx(std, rel=0.03)


def test_uniform_limits_and_constants():
    assert np.abs(initializers.get("he_uniform")(SHAPE, "float64")).max() <= np.sqrt(6 / 300)
    np.testing.assert_array_equal(initializers.Constant(0.3)((2, 2), "float64"), 0.3)
    for name, value in (("zeros", 0.0), ("zero", 0.0), ("ones", 1.0), ("one", 1.0)):
        np.testing.assert_array_equal(initializers.get(name)((3,), "float64"), value)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal(shape):
    values = initializers.Orthogonal(gain=2.0, seed=1)(shape, "float64")
    flat = values.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(len(gram)), atol=1e-12)
