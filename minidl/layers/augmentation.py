"""Image augmentation: Keras's random image layers, each image of a batch transformed at random in training
and passed through unchanged in inference. What they share, and RandomFlip."""

from __future__ import annotations

import numpy as np

from ..backend import make_rng
from .base import Layer
from .conv import check_rank4
from .image_transform import one_of

HORIZONTAL, VERTICAL, BOTH = "horizontal", "vertical", "horizontal_and_vertical"


def factor_range(factor, owner: str, name: str, bounds: tuple[float, float] = (-1.0, 1.0)) -> tuple[float, float]:
    """Keras's (lower, upper) of a factor: a number f gives (max(-|f|, bounds[0]), |f|), a pair is sorted;
    both within `bounds`, else a clear error."""
    message = f"{owner}: {name} must be a number or a pair of numbers in [{bounds[0]}, {bounds[1]}], got {factor!r}"
    if isinstance(factor, (list, tuple)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(float(f) for f in factor)
        return lower, upper
    number = not isinstance(factor, bool) and isinstance(factor, (int, float, np.number))
    if not number or not bounds[0] <= factor <= bounds[1]:
        raise ValueError(message)
    return max(-abs(float(factor)), bounds[0]), abs(float(factor))


class RandomImageLayer(Layer):
    """Base of the random image layers: inputs (N, H, W, C), channels-last; in training each image gets its
    own random transform (drawn from the layer's generator, `seed`), kept for the backward; in inference
    the input passes unchanged (dL/dx = dL/dy). A subclass draws and applies the transforms (`transform`)
    and gives the transpose of what it applied (`transpose`)."""

    def __init__(self, seed=None, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.owner = f"{type(self).__name__} '{self.name}'"
        one_of(data_format, (None, "channels_last"), self.owner, "data_format (minidl's images are channels-last)")
        self.seed, self.data_format = seed, "channels_last"
        self.rng = make_rng(seed)
        self.transformed = False

    def build(self, input_shape):
        check_rank4(self, input_shape)

    def forward(self, x, training=False):
        self.transformed = bool(training)
        return self.transform(x) if training else x

    def backward(self, grad_output):
        return self.transpose(grad_output) if self.transformed else grad_output

    def transform(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def transpose(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class RandomFlip(RandomImageLayer):
    """Keras's RandomFlip: each image flipped with probability 1/2, left-right ("horizontal"), upside down
    ("vertical"), or both at once ("horizontal_and_vertical": one draw per image, as Keras 3 draws it).
    y[n] = flip(x[n]) or x[n];  dL/dx[n] = flip(dL/dy[n]) or dL/dy[n] (a flip is its own transpose)."""

    def __init__(self, mode: str = BOTH, seed=None, data_format: str | None = None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = one_of(mode, (HORIZONTAL, VERTICAL, BOTH), self.owner, "mode")

    def _flip(self, images: np.ndarray) -> np.ndarray:
        out = images.copy()
        chosen = out[self.flips]
        if self.mode in (HORIZONTAL, BOTH):
            chosen = chosen[:, :, ::-1]
        if self.mode in (VERTICAL, BOTH):
            chosen = chosen[:, ::-1]
        out[self.flips] = chosen
        return out

    def transform(self, x):
        self.flips = self.rng.uniform(size=len(x)) <= 0.5
        return self._flip(x)

    def transpose(self, grad):
        return self._flip(grad)
