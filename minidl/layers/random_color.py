"""RandomContrast and RandomBrightness: a random change of each image's values (Keras's), clipped to the
value range."""

from __future__ import annotations

import numpy as np

from .augmentation import RandomImageLayer, factor_range


def value_range_pair(value_range, owner: str) -> tuple[float, float]:
    if not isinstance(value_range, (list, tuple)) or len(value_range) != 2:
        raise ValueError(f"{owner}: value_range must be a pair of numbers, got {value_range!r}")
    low, high = sorted(float(v) for v in value_range)
    return low, high


class ClippedImageLayer(RandomImageLayer):
    """An element-wise random map of each image, then its values clipped to value_range:
    y = clip(u, low, high), dL/du = dL/dy where low < u < high (0 where clipped), as clip's gradient."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = factor_range(factor, self.owner, "factor", self.factor_bounds)
        self.value_range = value_range_pair(value_range, self.owner)

    factor_bounds = (-1.0, 1.0)

    def clipped(self, u: np.ndarray) -> np.ndarray:
        low, high = (u.dtype.type(v) for v in self.value_range)
        self.inside = (u >= low) & (u <= high)
        return np.clip(u, low, high, out=u)


class RandomContrast(ClippedImageLayer):
    """Keras's RandomContrast: y = clip((x - m) s + m), m each image's mean per channel over its pixels, s
    uniform in [1 - lower, 1 + upper] per image, (lower, upper) the factor's range within [0, 1] (a number f:
    [1, 1 + f], as Keras 3 reads it). Backward: dL/dx = s (g - mean over the pixels of g) + mean(g), g = dL/du."""

    factor_bounds = (0.0, 1.0)

    def transform(self, x):
        dtype = x.dtype
        self.scale = self.rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], size=(len(x), 1, 1, 1)).astype(dtype)
        mean = x.mean(axis=(1, 2), keepdims=True, dtype=dtype)
        return self.clipped((x - mean) * self.scale + mean)

    def transpose(self, grad):
        g = np.where(self.inside, grad, 0).astype(grad.dtype)
        mean = g.mean(axis=(1, 2), keepdims=True)
        return (g - mean) * self.scale + mean


class RandomBrightness(ClippedImageLayer):
    """Keras's RandomBrightness: y = clip(x + d), d = u (high - low) per image, u uniform in the factor's range
    within [-1, 1]. Backward: dL/dx = dL/dy where the value was not clipped."""

    def transform(self, x):
        low, high = self.value_range
        delta = self.rng.uniform(*self.factor, size=(len(x), 1, 1, 1)) * (high - low)
        return self.clipped(x + delta.astype(x.dtype))

    def transpose(self, grad):
        return np.where(self.inside, grad, 0).astype(grad.dtype)
