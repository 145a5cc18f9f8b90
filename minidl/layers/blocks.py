"""Images cut into (ph, pw) blocks: the sum of each block, and each value repeated over a block. What
AveragePooling2D (non-overlapping windows) and UpSampling2D compute, forward and backward, in whole-row
steps split between the cores (ph + pw - 2 adds or one broadcast copy, no loop over pixels). And the sums
over every pixel of each channel (a bias's gradient)."""

from __future__ import annotations

import numpy as np

from ..parallel import blockwise


def block_sums(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """out[n, i, j, c] = sum_{a < ph, b < pw} x[n, i ph + a, j pw + b, c]   (H, W multiples of ph, pw)."""
    n, h, w, c = x.shape
    out = np.empty((n, h // ph, w // pw, c), dtype=x.dtype)

    def kernel(x_block: np.ndarray, out_block: np.ndarray) -> None:
        rows = x_block.reshape(len(x_block), h // ph, ph, w * c)  # the ph rows of a block: whole rows at once
        down = rows[:, :, 0] + rows[:, :, 1] if ph > 1 else rows[:, :, 0]  # (one row: x itself, only read)
        for a in range(2, ph):
            down += rows[:, :, a]
        columns = down.reshape(len(x_block), h // ph, w // pw, pw, c)  # then its pw columns
        if pw > 1:
            np.add(columns[:, :, :, 0], columns[:, :, :, 1], out=out_block)
        else:
            np.copyto(out_block, columns[:, :, :, 0])
        for b in range(2, pw):
            out_block += columns[:, :, :, b]

    blockwise(kernel, np.ascontiguousarray(x), out, block=None)
    return out


def block_repeat(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """out[n, i ph + a, j pw + b, c] = x[n, i, j, c] for every a < ph, b < pw: one broadcast copy."""
    n, h, w, c = x.shape
    out = np.empty((n, h, ph, w, pw, c), dtype=x.dtype)

    def kernel(out_block: np.ndarray, x_block: np.ndarray) -> None:
        out_block[...] = x_block[:, :, None, :, None, :]

    blockwise(kernel, out, np.ascontiguousarray(x), block=None)
    return out.reshape(n, h * ph, w * pw, c)


def channel_sums(a: np.ndarray) -> np.ndarray:
    """sum over every axis but the last of a channels-last a (N, ..., C), in float64: a (1, L) ones row times
    each sample (BLAS, blocked sums), then the samples' partial sums in float64 (faster and more accurate
    than NumPy's reduction, which adds a float32 row at a time; see BatchNormalization._channel_sum)."""
    per_sample = a.reshape(len(a), -1, a.shape[-1])
    return np.matmul(np.ones((1, per_sample.shape[1]), dtype=a.dtype), per_sample).sum(axis=(0, 1), dtype=np.float64)
