"""Weight initializers, with Keras's names and formulas.

Each is a callable `init(shape, dtype) -> ndarray`. Fans follow Keras: a Dense kernel (in, out) has
fan_in = in, fan_out = out; a Conv2D kernel (kh, kw, in, out) has fan_in = kh*kw*in, fan_out = kh*kw*out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .backend import floatx, make_rng
from .registry import Registry
from .serializable import ConfiguredByArguments


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of this shape, as Keras computes them."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer(ConfiguredByArguments):
    """Base class. Subclasses implement `sample(shape, rng)` returning float64 values."""

    def __init__(self, seed: int | np.random.Generator | None = None):
        self.seed = seed
        self.rng = make_rng(seed)

    def __call__(self, shape: tuple[int, ...], dtype: str | None = None) -> np.ndarray:
        return self.sample(tuple(shape), self.rng).astype(dtype or floatx(), copy=False)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class Zeros(Initializer):
    not_in_config = ("seed",)  # Keras's Zeros and Ones take no seed

    def sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    not_in_config = ("seed",)

    def sample(self, shape, rng):
        return np.ones(shape)


class RandomNormal(Initializer):
    """Normal(mean, stddev), untruncated (Keras's `random_normal`, stddev 0.05 by default)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    """Uniform(minval, maxval) (Keras's `random_uniform`, -0.05..0.05 by default)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class TruncatedNormal(Initializer):
    """Normal(mean, stddev) with values beyond 2 stddev from the mean redrawn (Keras's `truncated_normal`)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def sample(self, shape, rng):
        return self.mean + truncated_normal(rng, shape, self.stddev)


class Constant(Initializer):
    """Every value `value`."""

    def __init__(self, value: float = 0.0):
        super().__init__(None)
        self.value = value

    def sample(self, shape, rng):
        return np.full(shape, self.value, dtype=np.float64)


class Orthogonal(Initializer):
    """gain times an orthogonal matrix (rows or columns orthonormal) of shape (prod(shape[:-1]), shape[-1]),
    from the QR decomposition of a normal matrix with the signs of R's diagonal, as Keras."""

    def __init__(self, gain: float = 1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def sample(self, shape, rng):
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        flat = rng.normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        q = q.T if rows < cols else q
        return self.gain * q.reshape(shape)


def truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], stddev: float) -> np.ndarray:
    """Normal(0, stddev) with values beyond 2 stddev redrawn (as tf.random.truncated_normal)."""
    values = rng.normal(0.0, stddev, shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():  # redraws only the few rejected values; ~5% on the first pass
        values[outside] = rng.normal(0.0, stddev, int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: variance = scale / fan, fan from `mode` ("fan_in", "fan_out", "fan_avg").

    truncated_normal: stddev = sqrt(variance) / 0.87962566 (the std of a unit normal truncated at +-2),
    so that the truncated samples have exactly the intended variance;
    untruncated_normal: stddev = sqrt(variance);  uniform: U(-sqrt(3 variance), +sqrt(3 variance)).
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed=None):
        super().__init__(seed)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg, got {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: unknown distribution {distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def sample(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            return truncated_normal(rng, shape, np.sqrt(variance) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, np.sqrt(variance), shape)
        limit = np.sqrt(3.0 * variance)
        return rng.uniform(-limit, limit, shape)


class GlorotNormal(VarianceScaling):
    """Keras's glorot_normal: truncated normal, stddev sqrt(2 / (fan_in + fan_out)) after truncation."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


class GlorotUniform(VarianceScaling):
    """Keras's default: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out))."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)


class HeNormal(VarianceScaling):
    """Truncated normal with stddev sqrt(2 / fan_in) (for ReLU layers)."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)


class XavierNormal(VarianceScaling):
    """Glorot and Bengio's "Xavier" init as often taught: Normal(0, sqrt(2 / (fan_in + fan_out))),
    untruncated (Keras's glorot_normal truncates at 2 standard deviations)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "untruncated_normal", seed)


INITIALIZERS: Registry[Initializer] = Registry("initializer", Initializer)


class HeUniform(VarianceScaling):
    """U(-limit, limit), limit = sqrt(6 / fan_in)."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)


class LecunNormal(VarianceScaling):
    """Truncated normal with stddev sqrt(1 / fan_in) (for SELU networks)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)


class LecunUniform(VarianceScaling):
    """U(-limit, limit), limit = sqrt(3 / fan_in)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)


for _initializer in (
    Zeros,
    Ones,
    Constant,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    Orthogonal,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
    XavierNormal,
):
    INITIALIZERS.register(_initializer)
INITIALIZERS.register(Zeros, names=("zero",))  # Keras's aliases
INITIALIZERS.register(Ones, names=("one",))
INITIALIZERS.register(RandomNormal, names=("normal",))
INITIALIZERS.register(RandomUniform, names=("uniform",))


# Keras's lower-case aliases, so `initializers.glorot_normal(seed=14)` reads as in Keras
zeros, ones, constant, random_normal, random_uniform = Zeros, Ones, Constant, RandomNormal, RandomUniform
orthogonal = Orthogonal
he_uniform, lecun_normal, lecun_uniform = HeUniform, LecunNormal, LecunUniform
glorot_normal, glorot_uniform, he_normal, xavier_normal = GlorotNormal, GlorotUniform, HeNormal, XavierNormal


def get(identifier: str | Initializer | Callable | dict | None) -> Callable:
    """An initializer from a name ("glorot_normal", "GlorotNormal", ...), an instance, or any
    callable(shape, dtype), or a Keras config of one ({"class_name": "GlorotUniform", "config": {...}})."""
    if isinstance(identifier, (str, Initializer, dict)):
        return INITIALIZERS.get(identifier)
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise TypeError(f"Could not interpret initializer {identifier!r}")
