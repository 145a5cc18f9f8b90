"""Weight penalties: values and gradients by Keras's formulas, and sums accurate on every CPU."""

import numpy as np
import pytest

from minidl import regularizers
from minidl.regularizers import sum_of_squares

FLOAT32_UNIT_ROUNDOFF = 2.0**-24


def test_l2_penalty_of_a_large_float32_kernel_is_accurate():
    """The seed CNN's 6272 x 784 Dense kernel in float32: the penalty is within 30 float32 roundings of the
    exact sum (NumPy's pairwise summation per block: at most 16 + 3 + log2(2^17 / 128) = 29 roundings
    deep, one more for the square), whatever the CPU or BLAS kernel. A BLAS dot product missed it by
    9e-6 (SkylakeX kernel) and 2.9e-5 (Haswell kernel)."""
    w = (np.random.default_rng(0).standard_normal(6272 * 784) * 0.03).astype(np.float32).reshape(6272, 784)
    exact = float(np.sum(w.astype(np.float64) ** 2))
    assert abs(sum_of_squares(w) - exact) <= 30 * FLOAT32_UNIT_ROUNDOFF * exact
    assert regularizers.L2(0.01).penalty(w) == pytest.approx(0.01 * exact, rel=30 * FLOAT32_UNIT_ROUNDOFF)


@pytest.mark.parametrize("size", [0, 1, 7, 2**17, 2**17 + 1, 3 * 2**17 + 5])
def test_sum_of_squares_covers_every_block(size):
    w = np.arange(size, dtype=np.float64) % 7 - 3
    assert sum_of_squares(w) == float(np.sum(w**2))


def test_l1_and_l2_follow_keras():
    w = np.array([[1.5, -2.0], [0.0, 0.5]])
    assert regularizers.L2(0.1).penalty(w) == pytest.approx(0.1 * 6.5)
    np.testing.assert_allclose(regularizers.L2(0.1).gradient(w), 0.2 * w)
    assert regularizers.L1(0.1).penalty(w) == pytest.approx(0.1 * 4.0)
    np.testing.assert_allclose(regularizers.L1(0.1).gradient(w), 0.1 * np.sign(w))


def test_l1_l2():
    w = np.array([[1.5, -2.0], [0.0, 0.5]])
    reg = regularizers.L1L2(l1=0.1, l2=0.2)
    assert reg.penalty(w) == pytest.approx(0.1 * 4.0 + 0.2 * 6.5)
    np.testing.assert_allclose(reg.gradient(w), 0.1 * np.sign(w) + 0.4 * w)
    assert isinstance(regularizers.get("L1L2"), regularizers.L1L2)
