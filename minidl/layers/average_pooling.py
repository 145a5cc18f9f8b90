"""AveragePooling2D: the mean of each (ph, pw) window, channels-last, Keras's (TensorFlow's) semantics."""

from __future__ import annotations

import numpy as np

from .blocks import block_repeat, block_sums
from .conv import check_rank4, conv_output_length, same_padding, window_slices
from .pooling import OnTimeAxis, Pooling2D


class AveragePooling2D(Pooling2D):
    """y[n, i, j, c] = (1 / count) sum_{a < ph, b < pw} xp[n, i sh + a, j sw + b, c].

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C), Ho as for MaxPooling2D; strides default to pool_size.
    "same" pads with zeros as TensorFlow and, as it, divides by the number of real (unpadded) cells.
    Backward: every cell of a window receives dL/dy / count of that window, overlaps adding up:
        dL/dxp[n, i sh + a, j sw + b, c] += dL/dy[n, i, j, c] / count[i, j]; dL/dx = dL/dxp cropped.
    """

    def build(self, input_shape):
        check_rank4(self, input_shape)

    def _windows(self, h: int, w: int):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho, wo = conv_output_length(h, ph, sh, self.padding), conv_output_length(w, pw, sw, self.padding)
        pads = ((0, 0), (0, 0))
        if self.padding == "same":
            pads = (same_padding(h, ph, sh), same_padding(w, pw, sw))
        offsets = [window_slices(a, b, (ho, wo), self.strides) for a in range(ph) for b in range(pw)]
        # cells of each window that are real, not padding: the divisor, as TensorFlow's avg_pool
        real = np.pad(np.ones((1, h, w, 1)), ((0, 0), *pads, (0, 0)))
        count = sum(real[index] for index in offsets)
        return offsets, pads, count

    def _tiles(self, h: int, w: int) -> bool:
        """The windows tile the image exactly: no overlap, no padding, nothing cropped (the usual 2x2)."""
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        return (ph, pw) == (sh, sw) and h % ph == 0 and w % pw == 0 and (self.padding == "valid" or ph == pw == 1)

    def forward(self, x, training=False):
        self.tiled = self._tiles(x.shape[1], x.shape[2])
        if self.tiled:  # block sums in whole-row steps on every core
            ph, pw = self.pool_size
            out = block_sums(x, ph, pw)
            out *= x.dtype.type(1.0 / (ph * pw))
            return out
        self.offsets, self.pads, count = self._windows(x.shape[1], x.shape[2])
        xp = np.pad(x, ((0, 0), *self.pads, (0, 0))) if self.padding == "same" else x
        self.padded_shape = xp.shape
        total = xp[self.offsets[0]] + xp[self.offsets[1]] if len(self.offsets) > 1 else xp[self.offsets[0]].copy()
        for index in self.offsets[2:]:
            total += xp[index]
        # one count everywhere ("valid", or "same" that pads nothing): a scalar; else one per window
        uniform = count.min() == count.max()
        self.inverse_count = x.dtype.type(1.0 / count.flat[0]) if uniform else (1.0 / count).astype(x.dtype)
        total *= self.inverse_count
        return total

    def backward(self, grad_output):
        if self.tiled:
            ph, pw = self.pool_size
            return block_repeat(grad_output * grad_output.dtype.type(1.0 / (ph * pw)), ph, pw)
        share = grad_output * self.inverse_count
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        dxp = np.zeros(self.padded_shape, dtype=grad_output.dtype)
        if sh >= ph and sw >= pw:  # each input in at most one window: write, don't accumulate
            for index in self.offsets:
                dxp[index] = share
        else:
            for index in self.offsets:
                dxp[index] += share
        (top, bottom), (left, right) = self.pads
        return dxp[:, top : dxp.shape[1] - bottom, left : dxp.shape[2] - right, :]


class AveragePooling1D(OnTimeAxis, AveragePooling2D):
    """Keras's AveragePooling1D: x (N, T, C) -> y (N, To, C), the means over windows of `pool_size` steps."""
