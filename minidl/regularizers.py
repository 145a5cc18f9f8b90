"""Weight penalties added to the training loss (Keras's `kernel_regularizer`)."""

from __future__ import annotations

import numpy as np

from .parallel import BLOCK
from .registry import Registry
from .serializable import ConfiguredByArguments


def sum_of_squares(w: np.ndarray) -> float:
    """sum(w**2) to within ~30 roundings of w's dtype on every CPU, without a full-size temporary: the
    squares of each block of BLOCK values summed by NumPy's pairwise summation (at most 16 + 3 +
    log2(BLOCK / 128) roundings deep, in an order fixed by NumPy, not by the CPU), the blocks' sums added
    in float64. (A BLAS dot product accumulates each SIMD lane sequentially: ~1e-5 off for the millions of
    weights of a large Dense kernel in float32, and differently on each BLAS kernel.)"""
    flat = w.reshape(-1)
    squares = np.empty(min(flat.size, BLOCK), dtype=w.dtype)
    total = 0.0
    for start in range(0, flat.size, BLOCK):
        block = flat[start : start + BLOCK]
        total += float(np.square(block, out=squares[: len(block)]).sum())
    return total


class Regularizer(ConfiguredByArguments):
    """`penalty(w)` is added to the loss; `gradient(w)` = d penalty / d w is added to the weight's gradient."""

    def penalty(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def gradient(self, w: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class L2(Regularizer):
    """penalty = l2 * sum(w**2);  gradient = 2 * l2 * w  (Keras's formula: no 1/2, no 1/N)."""

    def __init__(self, l2: float = 0.01):
        if not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"L2: l2 must be a finite number >= 0, got {l2!r}")
        self.l2 = float(l2)

    def penalty(self, w):
        return self.l2 * sum_of_squares(w)

    def gradient(self, w):
        return (2 * self.l2) * w

    def __repr__(self):
        return f"L2(l2={self.l2})"


class L1(Regularizer):
    """penalty = l1 * sum(|w|);  gradient = l1 * sign(w)."""

    def __init__(self, l1: float = 0.01):
        if not np.isfinite(l1) or l1 < 0:
            raise ValueError(f"L1: l1 must be a finite number >= 0, got {l1!r}")
        self.l1 = float(l1)

    def penalty(self, w):
        return self.l1 * float(np.abs(w).sum())

    def gradient(self, w):
        return self.l1 * np.sign(w)


l2 = L2  # Keras spells both `regularizers.l2(0.01)` and `regularizers.L2(0.01)`
l1 = L1


class L1L2(Regularizer):
    """penalty = l1 * sum(|w|) + l2 * sum(w**2);  gradient = l1 * sign(w) + 2 * l2 * w (Keras's defaults 0, 0)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1_part, self.l2_part = L1(l1), L2(l2)
        self.l1, self.l2 = self.l1_part.l1, self.l2_part.l2

    def penalty(self, w):
        return self.l1_part.penalty(w) + self.l2_part.penalty(w)

    def gradient(self, w):
        return self.l1_part.gradient(w) + self.l2_part.gradient(w)


l1_l2 = L1L2
REGULARIZERS: Registry[Regularizer] = Registry("regularizer", Regularizer)
REGULARIZERS.register(L2)
REGULARIZERS.register(L1)
REGULARIZERS.register(L1L2, names=("L1L2", "l1_l2", "l1l2"))


def get(identifier: str | Regularizer | dict | None) -> Regularizer | None:
    return None if identifier is None else REGULARIZERS.get(identifier)
