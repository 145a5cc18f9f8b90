"""Checks of constructor arguments shared by layers and optimizers: each names its owner and the argument."""

from __future__ import annotations

import numpy as np


def is_number(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
    )


def check_positive(owner: str, name: str, value) -> float:
    if not (is_number(value) and value > 0):
        raise ValueError(f"{owner}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_fraction(owner: str, name: str, value) -> float:
    if not (is_number(value) and 0 <= value < 1):
        raise ValueError(f"{owner}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


def check_optional_positive(owner: str, name: str, value) -> float | None:
    return None if value is None else check_positive(owner, name, value)
