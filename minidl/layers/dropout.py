"""Dropout: zero a random fraction `rate` of the inputs while training (inverted dropout, as Keras)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..arguments import check_fraction
from ..backend import make_rng
from .base import Layer


def dropout_mask(rng: np.random.Generator, shape: tuple, rate: float, dtype) -> np.ndarray:
    """An inverted-dropout mask: each entry 0 with probability `rate`, else 1 / (1 - rate)."""
    # float32 uniforms for a float32 model: no full-size float64 temporary
    uniform_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    keep = rng.random(shape, dtype=uniform_dtype) >= rate
    return keep * np.asarray(1.0 / (1.0 - rate), dtype=dtype)


class Dropout(Layer):
    """Training:  y = x * mask,  mask = keep / (1 - rate),  keep ~ Bernoulli(1 - rate) (1 = kept);
    inference (or rate 0): y = x. The 1/(1 - rate) scaling keeps E[y] = x, so inference needs no change.

    Shapes: x (N, ...) -> y, same shape; the mask has `noise_shape` (None entries = x's size), broadcast
    against x: noise_shape=(N, 1, 1, C) drops whole channels of an image.
    Backward: dL/dx = dL/dy * mask (the same mask as the forward pass; dL/dy in inference).  No parameters.

    `rate` is the fraction DROPPED (Keras's convention). The mask is drawn from `self.rng`, a numpy
    Generator (`seed` fixes it; None draws from the global one, which `minidl.set_seed` fixes).
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if noise_shape is not None:
            noise_shape = tuple(noise_shape)
            if any(
                d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1)
                for d in noise_shape
            ):
                raise ValueError(
                    f"Dropout '{self.name}': noise_shape must hold positive integers or None, got {noise_shape!r}"
                )
        self.rate = check_fraction(f"{type(self).__name__} '{self.name}'", "rate (the fraction dropped)", rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.rng = make_rng(seed)
        self.mask: np.ndarray | None = None

    def _mask_shape(self, shape: tuple) -> tuple:
        if self.noise_shape is None:
            return shape
        if len(self.noise_shape) != len(shape):
            raise ValueError(
                f"Dropout '{self.name}': noise_shape {self.noise_shape} must have one entry "
                f"per input axis, input shape {shape}"
            )
        return tuple(s if d is None else d for d, s in zip(self.noise_shape, shape))

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        self.mask = dropout_mask(self.rng, self._mask_shape(x.shape), self.rate, x.dtype)
        return x * self.mask

    def backward(self, grad_output):
        return grad_output if self.mask is None else grad_output * self.mask
