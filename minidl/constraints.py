"""Weight constraints (Keras's `kernel_constraint`, `bias_constraint`, ...): after every optimiser step, a
constrained weight is replaced by its projection, w <- constraint(w), as Keras's optimizer does after
applying the gradients. The norms are taken along `axis` (the input axis of a Dense kernel, axis 0; for a
Conv2D kernel (kh, kw, C, F), axis=[0, 1, 2] makes each filter's norm), with Keras's epsilon 1e-7.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .registry import Registry
from .serializable import ConfiguredByArguments

EPSILON = 1e-7  # keras.backend.epsilon()


def _axes(axis: int | Sequence[int], owner: str) -> int | tuple[int, ...]:
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and all(isinstance(a, (int, np.integer)) for a in axis):
        return tuple(int(a) for a in axis)
    raise ValueError(f"{owner}: axis must be an integer or a list of integers, got {axis!r}")


def _norms(w: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """sqrt(sum(w^2)) along `axis`, kept for broadcasting."""
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint(ConfiguredByArguments):
    """A projection of a weight: `constraint(w)` returns the projected array (w itself is not changed)."""

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w


def _number(value, owner: str, name: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= minimum:
        raise ValueError(f"{owner}: {name} must be a number >= {minimum}, got {value!r}")
    return float(value)


class MaxNorm(Constraint):
    """w * min(|w|, max_value) / (epsilon + |w|), |w| the norm along `axis`: rescales the weight vectors
    whose norm exceeds max_value to that norm (the others are left, up to the epsilon)."""

    def __init__(self, max_value: float = 2, axis: int | Sequence[int] = 0):
        self.max_value = _number(max_value, "MaxNorm", "max_value")
        self.axis = _axes(axis, "MaxNorm")

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (w.dtype.type(EPSILON) + norms))


class NonNeg(Constraint):
    """max(w, 0): the weights kept non-negative."""

    def __call__(self, w):
        return np.maximum(w, 0)


class UnitNorm(Constraint):
    """w / (epsilon + |w|), |w| the norm along `axis`: unit-norm weight vectors."""

    def __init__(self, axis: int | Sequence[int] = 0):
        self.axis = _axes(axis, "UnitNorm")

    def __call__(self, w):
        return w / (w.dtype.type(EPSILON) + _norms(w, self.axis))


class MinMaxNorm(Constraint):
    """w * desired / (epsilon + |w|), desired = rate clip(|w|, min_value, max_value) + (1 - rate) |w|:
    norms moved into [min_value, max_value] (all the way for rate = 1, a fraction `rate` of it otherwise)."""

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: int | Sequence[int] = 0
    ):
        self.min_value = _number(min_value, "MinMaxNorm", "min_value")
        self.max_value = _number(max_value, "MinMaxNorm", "max_value", self.min_value)
        self.rate = _number(rate, "MinMaxNorm", "rate")
        self.axis = _axes(axis, "MinMaxNorm")

    def __call__(self, w):
        norms = _norms(w, self.axis)
        rate, rest = w.dtype.type(self.rate), w.dtype.type(1 - self.rate)  # as Keras: Python floats, then cast
        desired = rate * np.clip(norms, self.min_value, self.max_value) + rest * norms
        return w * (desired / (w.dtype.type(EPSILON) + norms))


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm  # Keras's other spellings

CONSTRAINTS: Registry[Constraint] = Registry("constraint", Constraint)
for _constraint in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm):
    CONSTRAINTS.register(_constraint)


def get(identifier: str | Constraint | dict | None) -> Constraint | None:
    """A constraint from its name ("max_norm", "MaxNorm"), its Keras config, or itself; None for None."""
    return None if identifier is None else CONSTRAINTS.get(identifier)
