"""Conv2D: the 2-D convolution (Keras's cross-correlation), channels-last, via im2col + one matmul."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..parallel import in_chunks
from ..shapes import format_shape
from .activated import ActivatedLayer
from .base import Layer

PER_SAMPLE_BELOW = 64  # windows of fewer values (kh kw C) take dL/dkernel per sample, see linear_backward
CHUNK_COLS_BYTES = 2 * 2**20  # training's im2col goes in chunks of samples of about this size (cache), see linear


def normalize_tuple(value, owner: str, name: str, n: int = 2) -> tuple[int, ...]:
    """An int or a length-n sequence of positive ints -> a tuple of n ints (Keras accepts both)."""
    values = (
        (value,) * n
        if isinstance(value, (int, np.integer))
        else tuple(value)
        if isinstance(value, (tuple, list))
        else None
    )
    if (
        values is None
        or len(values) != n
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in values)
    ):
        raise ValueError(
            f"{owner}: {name} must be a positive integer or a tuple of {n} positive integers, got {value!r}"
        )
    return tuple(int(v) for v in values)


def normalize_padding(padding, owner: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"{owner}: padding must be 'valid' or 'same', got {padding!r}")
    return padding.lower()


def conv_output_length(size: int, kernel: int, stride: int, padding: str) -> int:
    """Keras/TF: "valid" -> floor((size - kernel) / stride) + 1;  "same" -> ceil(size / stride)."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's "same" padding (before, after): pad_total = max((ceil(size/s) - 1) s + k - size, 0),
    with the odd extra row/column AFTER (bottom/right), as TF does."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def window_slices(a: int, b: int, out_hw: tuple[int, int], strides: tuple[int, ...]) -> tuple:
    """Index of the input at offset (a, b) of every window: xp[idx] has shape (N, Ho, Wo, C) (for a dilated
    kernel, a and b are the offsets times the dilation)."""
    (ho, wo), (sh, sw) = out_hw, strides
    return np.s_[:, a : a + sh * (ho - 1) + 1 : sh, b : b + sw * (wo - 1) + 1 : sw, :]


def check_rank4(layer: Layer, input_shape: Sequence) -> None:
    """The channels-last image layers need (N, H, W, C) inputs: fail at build time, naming the layer."""
    if len(input_shape) != 4:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected ndim=4 "
            f"(batch, height, width, channels), found ndim={len(input_shape)}. Full shape received: "
            f"{format_shape(input_shape)}"
        )


class Conv2D(ActivatedLayer):
    """y = activation(conv(x, kernel) + bias), channels-last, Keras's Conv2D.

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, F); kernel (kh, kw, C, F); bias (F,).
        "valid": Ho = floor((H - kh) / sh) + 1;   "same": Ho = ceil(H / sh), x zero-padded by
        pad_total = max((Ho - 1) sh + kh - H, 0): pad_total // 2 rows on top, the rest below (TF).
        (Same for W with kw, sw.)

    Forward (cross-correlation, as every DL framework):
        z[n, i, j, f] = bias[f] + sum_{a, b, c} xp[n, i sh + a, j sw + b, c] kernel[a, b, c, f]
    computed as im2col: cols (N Ho Wo, kh kw C), one row per output pixel, then z = cols @ K,
    with K = kernel reshaped to (kh kw C, F).

    Backward, with g = dL/dz (N, Ho, Wo, F) (dL/dy passed back through the activation), G = g as (N Ho Wo, F):
        dL/dkernel = cols^T G                     (kh kw C, F) -> (kh, kw, C, F)  (per chunk of samples, summed)
        dL/dbias   = sum_{n, i, j} g[n, i, j]     (F,)
        dL/dxp     = col2im(G K^T): each row of G K^T (kh, kw, C) is added back onto the input
                     window it came from; dL/dx = dL/dxp with the padding cropped.   (N, H, W, C)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            **kwargs,
        )
        owner = f"Conv2D '{self.name}'"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
            raise ValueError(f"{owner}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = normalize_tuple(kernel_size, owner, "kernel_size")
        self.strides = normalize_tuple(strides, owner, "strides")
        self.padding = normalize_padding(padding, owner)
        self.dilation_rate = normalize_tuple(dilation_rate, owner, "dilation_rate")
        if max(self.dilation_rate) > 1 and max(self.strides) > 1:
            raise ValueError(
                f"{owner}: strides > 1 not supported in conjunction with dilation_rate > 1. Received: "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )

    @property
    def span(self) -> tuple[int, int]:
        """The input rows and columns one window covers: (k - 1) dilation + 1."""
        return tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))  # type: ignore[return-value]

    def _offsets(self) -> list[tuple[int, int, int, int]]:
        """(a, b, a dilated, b dilated) for every kernel offset."""
        (kh, kw), (dh, dw) = self.kernel_size, self.dilation_rate
        return [(a, b, a * dh, b * dw) for a in range(kh) for b in range(kw)]

    def _output_hw(self, h: int, w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw) = self.span, self.strides
        return (conv_output_length(h, kh, sh, self.padding), conv_output_length(w, kw, sw, self.padding))

    def build(self, input_shape):
        check_rank4(self, input_shape)
        _, h, w, channels = input_shape
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}': the channel axis of the input must be known, "
                f"got shape {format_shape(input_shape)}"
            )
        if h is not None and w is not None and min(self._output_hw(h, w)) < 1:
            raise ValueError(
                f"Layer '{self.name}': kernel {self.kernel_size} is larger than the input {h}x{w} with padding 'valid'"
            )
        self.build_kernel((*self.kernel_size, channels, self.filters), self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.span, self.strides
        ho = None if h is None else conv_output_length(h, kh, sh, self.padding)
        wo = None if w is None else conv_output_length(w, kw, sw, self.padding)
        return (n, ho, wo, self.filters)

    def _pad(self, x: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """x padded for "same" (a zero border; no copy for "valid") and the (top, bottom, left, right) pads."""
        if self.padding == "valid":
            return x, (0, 0, 0, 0)
        top, bottom = same_padding(x.shape[1], self.span[0], self.strides[0])
        left, right = same_padding(x.shape[2], self.span[1], self.strides[1])
        if top == bottom == left == right == 0:
            return x, (0, 0, 0, 0)
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))), (top, bottom, left, right)

    def _im2col(self, xp: np.ndarray, cols: np.ndarray) -> None:
        """cols (n, Ho, Wo, kh, kw, C) <- every output pixel's input window, in the kernel's (kh, kw, C)
        order. Few channels: one strided copy per kernel offset (much faster for C = 1,
        benchmarks/README.md); otherwise one copy of a sliding_window_view (n, Ho, Wo, C, kh, kw), faster
        when each window row holds many channels."""
        (sh, sw), (dh, dw) = self.strides, self.dilation_rate
        _, ho, wo, _, _, c = cols.shape
        if c < 8:
            for a, b, da, db in self._offsets():
                cols[:, :, :, a, b, :] = xp[window_slices(da, db, (ho, wo), self.strides)]
            return
        windows = sliding_window_view(xp, self.span, axis=(1, 2))[:, ::sh, ::sw][:, :ho, :wo, :, ::dh, ::dw]
        np.copyto(cols, windows.transpose(0, 1, 2, 4, 5, 3))

    def _samples_per_chunk(self, n: int, cols_per_sample: int, itemsize: int) -> int:
        """Samples per chunk of the training convolution: their im2col about CHUNK_COLS_BYTES, so it is
        still in cache when its products read it."""
        return max(1, min(n, CHUNK_COLS_BYTES // max(cols_per_sample * itemsize, 1)))

    def linear(self, x):
        return self.convolve(x, keep_cols=True)

    def linear_inference(self, x):
        return self.convolve(x, keep_cols=False)

    def convolve(self, x: np.ndarray, keep_cols: bool) -> np.ndarray:
        """z = im2col(xp) @ K, in chunks of samples shared between the cores, each chunk's im2col (about
        CHUNK_COLS_BYTES) multiplied while it is in cache. Training keeps the whole im2col in self.cols for
        the backward; predict (keep_cols False) only a chunk's at a time, so its memory stays bounded (a
        28x28x32 input with a 3x3 kernel at batch 256 would build a 231 MB im2col)."""
        (kh, kw), (n, h, w, c) = self.kernel_size, x.shape
        ho, wo = self._output_hw(h, w)
        window = kh * kw * c
        xp, self.pads = self._pad(x)
        self.padded_shape = xp.shape
        cols = np.empty((n * ho * wo, window), dtype=x.dtype) if keep_cols else None
        kernel = self.params["kernel"].reshape(window, self.filters)
        z = np.empty((n, ho, wo, self.filters), dtype=x.dtype)

        def forward_chunk(start: int, stop: int) -> None:
            rows = slice(start * ho * wo, stop * ho * wo)
            chunk_cols = cols[rows] if cols is not None else np.empty((rows.stop - rows.start, window), x.dtype)
            self._im2col(xp[start:stop], chunk_cols.reshape(stop - start, ho, wo, kh, kw, c))
            np.matmul(chunk_cols, kernel, out=z[start:stop].reshape(-1, self.filters))

        in_chunks(forward_chunk, n, self._samples_per_chunk(n, ho * wo * window, x.itemsize))
        if cols is not None:
            self.cols = cols
        return z

    def backward(self, grad_output):
        return self.linear_backward(self.deactivate(grad_output))

    def linear_backward(self, g: np.ndarray) -> np.ndarray | None:
        """The gradients of the layer's own map, from g = dL/dz (N, Ho, Wo, F), in the forward's chunks of
        samples shared between the cores: each chunk's share of dL/dkernel and dL/dbias (summed over the
        chunks in float64, in chunk order) and its samples' dL/dx."""
        kh, kw = self.kernel_size
        n, ho, wo, f = g.shape
        window = self.cols.shape[1]
        g2d = g.reshape(n * ho * wo, f)
        need_input_grad = self.need_input_grad  # the first layer: nobody needs dL/dx, skip its products
        dxp = np.empty(self.padded_shape, dtype=g.dtype) if need_input_grad else None
        ones = np.ones((1, ho * wo), dtype=g.dtype)

        def backward_chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
            rows = slice(start * ho * wo, stop * ho * wo)
            cols, g_rows = self.cols[rows], g2d[rows]
            if window >= PER_SAMPLE_BELOW:
                kernel_part = cols.T @ g_rows  # (kh kw C, F)
            else:
                # few channels (a window of kh kw C < PER_SAMPLE_BELOW values): one (kh kw C, F) block per
                # sample, summed in float64 (tiny): OpenBLAS is slower on one product whose inner dimension
                # is long and whose outer ones are this small (the seed CNN's first layer), and the short
                # float32 sums are more accurate too.
                cols3, g3 = cols.reshape(stop - start, ho * wo, window), g_rows.reshape(stop - start, ho * wo, f)
                kernel_part = np.matmul(cols3.transpose(0, 2, 1), g3).sum(axis=0, dtype=np.float64)
            bias_part = None
            if self.use_bias:  # per sample: (1, Ho Wo) ones @ g, then a float64 sum
                bias_part = np.matmul(ones, g_rows.reshape(stop - start, ho * wo, f)).sum(axis=0, dtype=np.float64)
            if dxp is not None:
                self.add_input_gradient(g_rows, dxp[start:stop], (ho, wo))
            return kernel_part, bias_part

        chunk = self._samples_per_chunk(n, ho * wo * window, g.itemsize)
        parts = in_chunks(backward_chunk, n, chunk)
        kernel_grad = self.grad_buffer("kernel")
        np.copyto(kernel_grad, np.sum([k for k, _ in parts], axis=0, dtype=np.float64).reshape(kernel_grad.shape))
        if self.use_bias:
            np.copyto(self.grad_buffer("bias"), np.sum([b for _, b in parts], axis=0, dtype=np.float64).reshape(f))
        if dxp is None:
            return None
        top, bottom, left, right = self.pads
        return dxp[:, top : dxp.shape[1] - bottom, left : dxp.shape[2] - right, :]

    def add_input_gradient(self, g_rows: np.ndarray, dxp: np.ndarray, out_hw: tuple[int, int]) -> None:
        """dxp (n, Hp, Wp, C) <- col2im(G K^T) for G = dL/dz (n Ho Wo, F) of the same n samples, (Ho, Wo) =
        out_hw: one kernel offset at a time, because offset (a, b) of output pixel (i, j) read
        xp[:, i sh + a, j sw + b], so its share of dL/dcols, G K[a, b]^T (n Ho Wo, C), is added back
        there while it is still in cache (faster than forming all of dL/dcols first, benchmarks/README.md).
        kh kw iterations, none over pixels."""
        n, _, _, c = dxp.shape
        ho, wo = out_hw
        kernel = self.params["kernel"].reshape(-1, c, self.filters)  # (kh kw, C, F)
        share = np.empty((len(g_rows), c), dtype=g_rows.dtype)
        dxp.fill(0)
        for k, (_, _, da, db) in enumerate(self._offsets()):
            np.matmul(g_rows, kernel[k].T, out=share)
            window = dxp[window_slices(da, db, (ho, wo), self.strides)]
            np.add(window, share.reshape(n, ho, wo, c), out=window)


class Conv1D(Conv2D):
    """Keras's Conv1D: the 2-D convolution of a (N, 1, T, C) view with a (1, k) kernel.

    Shapes: x (N, T, C) -> y (N, To, F); kernel (k, C, F) (Keras's layout); bias (F,). The maths, forward
    and backward, are Conv2D's (see its docstring) on that view.
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", dilation_rate=1, **kwargs):
        owner = "Conv1D"
        super().__init__(
            filters,
            (1, *normalize_tuple(kernel_size, owner, "kernel_size", 1)),
            strides=(1, *normalize_tuple(strides, owner, "strides", 1)),
            padding=padding,
            dilation_rate=(1, *normalize_tuple(dilation_rate, owner, "dilation_rate", 1)),
            **kwargs,
        )

    def get_config(self):
        config = super().get_config()
        return {**config, **{key: config[key][1:] for key in ("kernel_size", "strides", "dilation_rate")}}

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=3 "
                f"(batch, steps, channels), found ndim={len(input_shape)}. Full shape received: "
                f"{format_shape(input_shape)}"
            )
        n, t, channels = input_shape
        super().build((n, 1, t, channels))
        self.params["kernel"] = self.params["kernel"].reshape(self.kernel_size[1], channels, self.filters)

    def compute_output_shape(self, input_shape):
        n, _, to, f = super().compute_output_shape((input_shape[0], 1, input_shape[1], input_shape[2]))
        return (n, to, f)

    def linear(self, x):
        z = super().linear(x[:, None])
        return z.reshape(len(z), z.shape[2], z.shape[3])

    def linear_inference(self, x):
        z = super().linear_inference(x[:, None])
        return z.reshape(len(z), z.shape[2], z.shape[3])

    def linear_backward(self, g):
        dx = super().linear_backward(g[:, None])
        return None if dx is None else dx[:, 0]
