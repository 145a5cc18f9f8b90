"""Global pooling: one value per channel from all positions (channels-last)."""

from __future__ import annotations

import numpy as np

from ..masking import sequence_mask
from ..parallel import blockwise
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
    """y[n, c] = mean over t of x[n, t, c].   Backward: dL/dy[n, c] / T at every t.

    With a mask m (N, T) (minidl.masking), the mean of the unmasked steps, as Keras (NaN for a sample
    without any):
        y[n, c] = sum_t m[n, t] x[n, t, c] / sum_t m[n, t]      dL/dx[n, t, c] = m[n, t] dL/dy[n, c] / sum_t m[n, t]
    """

    rank = 1
    supports_masking = True  # takes the mask; its output has none

    def compute_mask(self, inputs, mask=None):
        return None

    def forward(self, x, training=False, mask=None):
        self.mask = None if mask is None else sequence_mask(x, mask, f"GlobalAveragePooling1D '{self.name}'")
        if self.mask is None:
            return super().forward(x, training)
        self.input_shape_seen = x.shape
        kept = self.mask[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(kept, x, 0).sum(axis=1) / kept.sum(axis=1).astype(x.dtype)
        return y[:, None] if self.keepdims else y

    def backward(self, grad_output):
        if self.mask is None:
            return super().backward(grad_output)
        grad = grad_output.reshape(len(grad_output), 1, -1)
        kept = self.mask[..., None].astype(grad.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            return kept * (grad / kept.sum(axis=1, keepdims=True))


def max_over_positions(x: np.ndarray, out: np.ndarray) -> None:
    """out (n, C) <- the maximum of x (n, P, C) over its P positions, by halving: the maximum of the first
    and the last ceil(P / 2) positions (the middle one in both when P is odd), until one is left. log2 P
    whole-array steps over runs of about P C / 2 contiguous values; NumPy's own reduction over the middle
    axis goes C values at a time, several times slower."""
    while x.shape[1] > 1:
        half = (x.shape[1] + 1) // 2
        x = np.maximum(x[:, :half], x[:, -half:])
    np.copyto(out, x[:, 0])


class GlobalMaxPooling2D(GlobalPooling):
    """y[n, c] = max over (i, j) of x[n, i, j, c].
    Backward: dL/dy[n, c] to the position of the maximum, shared equally between tied maxima (as
    TensorFlow's gradient of reduce_max):
        dL/dx[n, i, j, c] = (hit[n, i, j, c] / count[n, c]) dL/dy[n, c],   hit = (x == y), count = sum of hit."""

    def forward(self, x, training=False):
        self.input = x
        positions = x.reshape(len(x), -1, x.shape[-1])  # (N, P, C)
        self.output = np.empty((len(x), x.shape[-1]), dtype=x.dtype)
        blockwise(max_over_positions, positions, self.output, block=None)
        return self._expanded(self.output) if self.keepdims else self.output

    def backward(self, grad_output):
        n, c = len(self.input), self.input.shape[-1]
        positions = self.input.reshape(n, -1, c)
        dx = np.empty(positions.shape, dtype=grad_output.dtype)
        ones = np.ones((1, positions.shape[1]), dtype=dx.dtype)

        def share(positions, y, g, dx):  # on a block of samples
            np.equal(positions, y[:, None], out=dx)  # hit: 1 where x is its channel's maximum, else 0
            count = np.matmul(ones, dx)  # (n, 1, C): exact, small integers
            with np.errstate(divide="ignore", invalid="ignore"):  # a channel of NaNs: no hit, NaN as in TF
                dx *= (1 / count) * g[:, None]  # TensorFlow's rounding: (hit / count) dL/dy

        blockwise(share, positions, self.output, np.ascontiguousarray(grad_output).reshape(n, c), dx, block=None)
        return dx.reshape(self.input.shape)


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    rank = 1
