"""Masking: marks the time steps whose features all equal mask_value as padding, Keras's Masking."""

from __future__ import annotations

import numpy as np

from .base import Layer


class Masking(Layer):
    """Starts a mask (minidl.masking): step t of sample n holds data where any of its features differs from
    mask_value, m[n, t] = any_f(x[n, t, f] != mask_value), and the masked steps' features become 0:

        y[n, t] = m[n, t] x[n, t]         dL/dx[n, t] = m[n, t] dL/dy[n, t]        x, y (N, T, ...); m (N, T)

    Layers after it that take masks skip those steps (an LSTM carries its state over them).
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    @property
    def makes_masks(self) -> bool:
        return True

    def compute_mask(self, inputs, mask=None):
        return self.steps_with_data(inputs)

    def steps_with_data(self, x) -> np.ndarray:
        """m (N, T): any feature of the step differs from mask_value."""
        return np.any(np.not_equal(x, self.mask_value), axis=-1)

    def forward(self, x, training=False):
        self.kept = self.steps_with_data(x)[..., None]
        return np.where(self.kept, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad_output):
        return np.where(self.kept, grad_output, 0).astype(grad_output.dtype, copy=False)
