"""Global numeric settings: the default float type and seeding.

Every layer, loss and optimiser asks `floatx()` for its dtype when it is built, so one call to
`set_floatx("float64")` switches a whole program to double precision (as `keras.config.set_floatx`).
"""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np

_FLOATX = "float32"
_GLOBAL_RNG = np.random.default_rng()


def floatx() -> str:
    """The default float dtype name, "float32" unless changed with `set_floatx`."""
    return _FLOATX


def set_floatx(dtype: str) -> None:
    """Set the default float dtype: "float32" (fast, the default) or "float64" (exact checks)."""
    global _FLOATX
    name = np.dtype(dtype).name
    if name not in ("float32", "float64"):
        raise ValueError(f"set_floatx: expected 'float32' or 'float64', got {dtype!r}")
    _FLOATX = name


def set_seed(seed: int) -> None:
    """Seed everything random in minidl (and Python's and NumPy's global generators), as
    `keras.utils.set_random_seed`: initializers, dropout masks and shuffling without an explicit
    seed draw from one generator made here."""
    global _GLOBAL_RNG
    random.seed(seed)
    np.random.seed(seed)
    _GLOBAL_RNG = np.random.default_rng(seed)


def make_rng(seed: int | np.random.Generator | None = None) -> np.random.Generator:
    """A Generator from a seed, a Generator (returned as is), or None (a child of the global one,
    so `set_seed` makes unseeded code deterministic too)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(_GLOBAL_RNG.integers(2**63))
    return np.random.default_rng(seed)


_name_counts: dict[str, int] = defaultdict(int)


def unique_name(base: str) -> str:
    """Keras-style names: dense, dense_1, dense_2, ... (counted per program until clear_session)."""
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def clear_session() -> None:
    """As keras.backend.clear_session: the layer and model names start again from dense, sequential, ..."""
    _name_counts.clear()


def epsilon() -> float:
    """Keras's fuzz factor (1e-7), used where probabilities are clipped."""
    return 1e-7
