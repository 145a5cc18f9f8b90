"""Global pooling: one value per channel from all positions (channels-last)."""

from __future__ import annotations

import numpy as np

from ..shapes import format_shape
from .base import Layer


class GlobalPooling(Layer):
    """Shared by the global poolings over the positions of (N, ..., C) inputs: `rank` = 1 (N, T, C) or
    2 (N, H, W, C); keepdims keeps the pooled axes as size 1, as Keras."""

    rank = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} '{self.name}': only data_format='channels_last' is supported")
        self.data_format, self.keepdims = "channels_last", keepdims
        self.axes = tuple(range(1, self.rank + 1))

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"ndim={self.rank + 2}, found ndim={len(input_shape)}. Full shape received: "
                f"{format_shape(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0], *(1,) * self.rank, input_shape[-1])
        return (input_shape[0], input_shape[-1])

    def _expanded(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output.reshape(len(grad_output), *(1,) * self.rank, grad_output.shape[-1])


class GlobalAveragePooling2D(GlobalPooling):
    """y[n, c] = mean over (i, j) of x[n, i, j, c].   Backward: dL/dx[n, i, j, c] = dL/dy[n, c] / (H W)."""

    def forward(self, x, training=False):
        self.input_shape_seen = x.shape
        positions = x.reshape(len(x), -1, x.shape[-1])  # (N, P, C): a (1, P) row of 1/P times each sample (BLAS)
        mean = np.matmul(np.full((1, positions.shape[1]), 1.0 / positions.shape[1], dtype=x.dtype), positions)
        return mean.reshape(self.compute_output_shape(x.shape))

    def backward(self, grad_output):
        count = np.prod([self.input_shape_seen[a] for a in self.axes])
        grad = self._expanded(grad_output) / grad_output.dtype.type(count)
        return np.broadcast_to(grad, self.input_shape_seen).copy()


class GlobalAveragePooling1D(GlobalAveragePooling2D):
    """y[n, c] = mean over t of x[n, t, c].   Backward: dL/dy[n, c] / T at every t."""

    rank = 1


class GlobalMaxPooling2D(GlobalPooling):
    """y[n, c] = max over (i, j) of x[n, i, j, c].
    Backward: dL/dy[n, c] to the position of the maximum, shared equally between tied maxima (as
    TensorFlow's gradient of reduce_max)."""

    def forward(self, x, training=False):
        self.input = x
        self.output = x.max(axis=self.axes, keepdims=True)
        return self.output if self.keepdims else self.output.reshape(len(x), x.shape[-1])

    def backward(self, grad_output):
        hit = self.input == self.output
        return hit * (self._expanded(grad_output) / hit.sum(axis=self.axes, keepdims=True)).astype(grad_output.dtype)


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    rank = 1
