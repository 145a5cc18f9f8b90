"""Conv2D: the 2-D convolution (Keras's cross-correlation), channels-last, via im2col + one matmul."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..parallel import in_chunks, scratch
from ..shapes import format_shape
from .activated import ActivatedLayer
from .base import Layer
from .blocks import channel_sums

PER_SAMPLE_BELOW = 64  # windows of fewer values (kh kw C) take dL/dkernel per sample, see linear_backward
FULL_CORRELATION_CHANNELS = 32  # fewer input channels: dL/dx offset by offset, see correlates_input_gradient
CHUNK_COLS_BYTES = 4 * 2**20  # the im2col goes in chunks of samples of about this size (cache), see convolve


def normalize_tuple(value, owner: str, name: str, n: int = 2, minimum: int = 1) -> tuple[int, ...]:
    """An int or a length-n sequence of ints >= minimum -> a tuple of n ints (Keras accepts both)."""
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
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum for v in values)
    ):
        kind = "positive integer" if minimum == 1 else f"integer >= {minimum}"
        raise ValueError(f"{owner}: {name} must be a {kind} or a tuple of {n} {kind}s, got {value!r}")
    return tuple(int(v) for v in values)


def positive_integer(value, owner: str, name: str) -> int:
    """A positive int argument (filters, depth_multiplier), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


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


def zero_padded(x: np.ndarray, pads: tuple[int, int, int, int], buffer: str) -> np.ndarray:
    """x (n, H, W, C) with (top, bottom, left, right) rows and columns of zeros around each sample, in
    the thread's scratch `buffer` (see minidl.parallel.scratch); x itself when there are none."""
    top, bottom, left, right = pads
    if top == bottom == left == right == 0:
        return x
    n, h, w, c = x.shape
    xp = scratch(buffer, (n, top + h + bottom, left + w + right, c), x.dtype)
    xp[:, :top], xp[:, top + h :] = 0, 0
    xp[:, top : top + h, :left], xp[:, top : top + h, left + w :] = 0, 0
    xp[:, top : top + h, left : left + w] = x
    return xp


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


class WindowedLayer(ActivatedLayer):
    """What the 2-D convolutions share: a kh x kw window of the input, zero-padded for "same", at strides
    (sh, sw), its offsets dilation apart; each window gives one output pixel."""

    def __init__(self, kernel_size, strides=1, padding: str = "valid", dilation_rate=1, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
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

    def check_input(self, input_shape: Sequence, windows_fit: bool = True) -> int:
        """The input's channels, after the checks a window layer makes at build time (and that its windows
        fit in the input, unless not `windows_fit`)."""
        check_rank4(self, input_shape)
        _, h, w, channels = input_shape
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}': the channel axis of the input must be known, "
                f"got shape {format_shape(input_shape)}"
            )
        if windows_fit and h is not None and w is not None and min(self._output_hw(h, w)) < 1:
            raise ValueError(
                f"Layer '{self.name}': kernel {self.kernel_size} is larger than the input {h}x{w} with padding 'valid'"
            )
        return channels

    def windows_shape(self, input_shape: Sequence) -> tuple:
        """(N, Ho, Wo): the batch and the grid of windows, None where the input's size is unknown."""
        n, h, w, _ = input_shape
        (kh, kw), (sh, sw) = self.span, self.strides
        ho = None if h is None else conv_output_length(h, kh, sh, self.padding)
        wo = None if w is None else conv_output_length(w, kw, sw, self.padding)
        return (n, ho, wo)

    def _pads(self, h: int, w: int) -> tuple[int, int, int, int]:
        """The (top, bottom, left, right) zero rows and columns around an h x w input: none for "valid"."""
        if self.padding == "valid":
            return (0, 0, 0, 0)
        return (*same_padding(h, self.span[0], self.strides[0]), *same_padding(w, self.span[1], self.strides[1]))

    def _pad(self, x: np.ndarray) -> np.ndarray:
        """x (a chunk of samples) with the zero border of the padding (itself when there is none), in
        the thread's scratch buffer "padded"."""
        return zero_padded(x, self._pads(x.shape[1], x.shape[2]), "padded")

    def backward(self, grad_output):
        return self.linear_backward(self.deactivate(grad_output))

    def linear_backward(self, g: np.ndarray) -> np.ndarray | None:
        """The gradients of the layer's own map from g = dL/dz, dL/dx returned (None if not needed)."""
        raise NotImplementedError


class Conv2D(WindowedLayer):
    """y = activation(conv(x, kernel) + bias), channels-last, Keras's Conv2D.

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, F); kernel (kh, kw, C, F); bias (F,).
        "valid": Ho = floor((H - kh) / sh) + 1;   "same": Ho = ceil(H / sh), x zero-padded by
        pad_total = max((Ho - 1) sh + kh - H, 0): pad_total // 2 rows on top, the rest below (TF).
        (Same for W with kw, sw.)

    Forward (cross-correlation, as every DL framework):
        z[n, i, j, f] = bias[f] + sum_{a, b, c} xp[n, i sh + a, j sw + b, c] kernel[a, b, c, f]
    computed as im2col: cols (N Ho Wo, kh kw C), one row per output pixel, then z = cols @ K,
    with K = kernel reshaped to (kh kw C, F). Stride 1 with F <= C / 2 (an output layer): each pixel times
    each offset's kernel first, then those products summed shifted (multiply_then_shift), and dL/dkernel
    likewise (shifted_kernel_gradient): kh kw F values per pixel instead of the im2col's kh kw C.

    Backward, with g = dL/dz (N, Ho, Wo, F) (dL/dy passed back through the activation), G = g as (N Ho Wo, F):
        dL/dkernel = cols^T G                     (kh kw C, F) -> (kh, kw, C, F)  (per chunk of samples, summed)
        dL/dbias   = sum_{n, i, j} g[n, i, j]     (F,)
        dL/dxp     = col2im(G K^T): each row of G K^T (kh, kw, C) is added back onto the input
                     window it came from; dL/dx = dL/dxp with the padding cropped.   (N, H, W, C)
                     Stride 1 (many channels): the same as the correlation of g, zero-padded, with the
                     kernel flipped in space and its channels swapped (correlate_input_gradient).
    All of it in chunks of samples: each chunk's im2col is built (again, in the backward) and used in cache.
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
            kernel_size,
            strides,
            padding,
            dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            **kwargs,
        )
        self.filters = positive_integer(filters, f"{type(self).__name__} '{self.name}'", "filters")

    def build(self, input_shape):
        channels = self.check_input(input_shape)
        self.build_kernel((*self.kernel_size, channels, self.filters), self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return (*self.windows_shape(input_shape), self.filters)

    def _im2col(self, xp: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
        """cols (n Ho Wo, kh kw C): every output pixel's input window of xp (n, Hp, Wp, C), in the kernel's
        (kh, kw, C) order, in the thread's scratch buffer "cols". Few channels: one strided copy per kernel
        offset (much faster for C = 1, benchmarks/README.md); otherwise one copy of a strided view of all
        the windows. A 1x1 kernel at stride 1: xp itself, as rows."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        (n, _, _, c), (ho, wo) = xp.shape, out_hw
        if (kh, kw, sh, sw) == (1, 1, 1, 1):  # a 1x1 kernel, stride 1: each window is its pixel
            return xp.reshape(n * ho * wo, c)
        cols = scratch("cols", (n, ho, wo, kh, kw, c), xp.dtype)
        if c < 8:
            for a, b, da, db in self._offsets():
                cols[:, :, :, a, b, :] = xp[window_slices(da, db, out_hw, self.strides)]
        else:
            s0, s1, s2, s3 = xp.strides  # window (i, j), offset (a, b): xp[:, i sh + a dh, j sw + b dw]
            strides = (s0, sh * s1, sw * s2, dh * s1, dw * s2, s3)
            np.copyto(cols, as_strided(xp, cols.shape, strides, writeable=False))
        return cols.reshape(n * ho * wo, kh * kw * c)

    def _samples_per_chunk(self, out_hw: tuple[int, int], c: int, itemsize: int) -> int:
        """Most samples per chunk of the convolution: their im2col, or their output if larger (few input
        channels), about CHUNK_COLS_BYTES, so it is still in cache when the next step reads it (in_chunks
        evens the chunks out between the cores). Smaller chunks would fit the 1 MiB L2 of this kind of
        machine but cost more in handing chunks to threads than they save (benchmarks/README.md).
        Multiplied first: the input and its products with every offset's kernel instead of the im2col."""
        (kh, kw), (ho, wo) = self.kernel_size, out_hw
        window_values = c + kh * kw * self.filters if self.multiplies_first(c) else max(kh * kw * c, self.filters)
        per_sample = ho * wo * window_values * itemsize
        return max(1, CHUNK_COLS_BYTES // max(per_sample, 1))

    def linear(self, x):
        # the backward pads each chunk and builds its im2col again: cheaper than keeping them all
        self.input, self.pads = x, self._pads(x.shape[1], x.shape[2])
        return self.convolve(x)

    def linear_inference(self, x):
        return self.convolve(x)

    def convolve(
        self,
        x: np.ndarray,
        then: Callable[[np.ndarray], np.ndarray] | None = None,
        then_shape: tuple[int, ...] | None = None,
    ) -> np.ndarray:
        """z = im2col(xp) @ K for x zero-padded, in chunks of samples shared between the cores, each chunk
        padded and its im2col (about CHUNK_COLS_BYTES) multiplied while it is in cache, so memory holds only
        a chunk's at a time (a 28x28x32 input with a 3x3 kernel at batch 128 would build a 115 MB im2col).
        With `then` (inference: the maps of the layers that follow, see minidl.inference), then(z) of each
        chunk while it is in cache instead, each sample's of shape `then_shape`."""
        (n, h, w, c) = x.shape
        ho, wo = self._output_hw(h, w)
        kernel = self.params["kernel"].reshape(-1, self.filters)
        by_offset = self.kernel_by_offset() if self.multiplies_first(c) else None
        out = np.empty((n, *(then_shape or (ho, wo, self.filters))), dtype=x.dtype)

        in_place = out.shape[1:] == (ho, wo, self.filters)  # z can be written where the output goes

        def forward_chunk(start: int, stop: int) -> None:
            z = out[start:stop] if in_place else scratch("convolved", (stop - start, ho, wo, self.filters), x.dtype)
            if by_offset is not None:
                self.multiply_then_shift(self._pad(x[start:stop]), by_offset, z)
            else:
                np.matmul(self._im2col(self._pad(x[start:stop]), (ho, wo)), kernel, out=z.reshape(-1, self.filters))
            if then is not None:
                result = then(z)
                if result is not z:
                    out[start:stop] = result

        in_chunks(forward_chunk, n, self._samples_per_chunk((ho, wo), c, x.itemsize))
        return out

    def linear_backward(self, g: np.ndarray) -> np.ndarray | None:
        """The gradients of the layer's own map, from g = dL/dz (N, Ho, Wo, F), in the forward's chunks of
        samples shared between the cores: each chunk's share of dL/dkernel and dL/dbias (summed over the
        chunks in float64, in chunk order) and its samples' dL/dx."""
        n, ho, wo, f = g.shape
        x = self.input
        window = int(np.prod(self.params["kernel"].shape[:-1]))
        g2d = g.reshape(n * ho * wo, f)
        c = x.shape[3]
        dx = np.empty(x.shape, dtype=g.dtype) if self.need_input_grad else None  # (first layer)
        flipped = self.flipped_kernel() if dx is not None and self.correlates_input_gradient(c) else None

        multiplies_first = self.multiplies_first(c)

        def backward_chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
            g_rows = g2d[start * ho * wo : stop * ho * wo]
            if multiplies_first:
                kernel_part = self.shifted_kernel_gradient(self._pad(x[start:stop]), g[start:stop])
            elif window >= PER_SAMPLE_BELOW:
                kernel_part = self._im2col(self._pad(x[start:stop]), (ho, wo)).T @ g_rows  # (kh kw C, F)
            else:
                # few channels (a window of kh kw C < PER_SAMPLE_BELOW values): one (kh kw C, F) block per
                # sample, summed in float64 (tiny): OpenBLAS is slower on one product whose inner dimension
                # is long and whose outer ones are this small (the seed CNN's first layer), and the short
                # float32 sums are more accurate too.
                cols = self._im2col(self._pad(x[start:stop]), (ho, wo))
                cols3, g3 = cols.reshape(stop - start, ho * wo, window), g_rows.reshape(stop - start, ho * wo, f)
                kernel_part = np.matmul(cols3.transpose(0, 2, 1), g3).sum(axis=0, dtype=np.float64)
            bias_part = channel_sums(g[start:stop]) if self.use_bias else None
            if dx is not None and flipped is not None:
                self.correlate_input_gradient(g[start:stop], dx[start:stop], flipped)
            elif dx is not None:
                self.add_input_gradient(g[start:stop], dx[start:stop])
            return kernel_part, bias_part

        self.store_gradients(in_chunks(backward_chunk, n, self._samples_per_chunk((ho, wo), c, g.itemsize)))
        return dx

    def store_gradients(self, parts: list[tuple[np.ndarray, np.ndarray | None]]) -> None:
        """grads["kernel"] and grads["bias"]: the sums (in float64, in chunk order) of the chunks' shares."""
        kernel_grad = self.grad_buffer("kernel")
        np.copyto(kernel_grad, np.sum([k for k, _ in parts], axis=0, dtype=np.float64).reshape(kernel_grad.shape))
        if self.use_bias:
            bias_grad = self.grad_buffer("bias")
            bias_parts = [b for _, b in parts if b is not None]
            np.copyto(bias_grad, np.sum(bias_parts, axis=0, dtype=np.float64).reshape(bias_grad.shape))

    def multiplies_first(self, channels: int) -> bool:
        """Whether z and dL/dkernel go by multiply_then_shift and shifted_kernel_gradient instead of the
        im2col: stride 1, a kernel larger than 1x1 over enough values (PER_SAMPLE_BELOW), and at most half
        as many filters as input channels, so that every pixel's products with every offset's kernel (kh kw F
        values) are fewer than its im2col's (kh kw C) (measured: 1.5-3x faster, benchmarks/README.md)."""
        kh, kw = self.kernel_size
        return (
            self.strides == (1, 1)
            and kh * kw > 1
            and kh * kw * channels >= PER_SAMPLE_BELOW
            and 2 * self.filters <= channels
        )

    def kernel_by_offset(self) -> np.ndarray:
        """The kernel as (C, kh kw F): row c holds every offset's weights from input channel c."""
        kh, kw = self.kernel_size
        kernel = self.params["kernel"].reshape(kh, kw, -1, self.filters)
        return np.ascontiguousarray(kernel.transpose(2, 0, 1, 3)).reshape(kernel.shape[2], -1)

    def multiply_then_shift(self, xp: np.ndarray, by_offset: np.ndarray, z: np.ndarray) -> None:
        """z (n, Ho, Wo, F) <- the convolution of the padded chunk xp (n, Hp, Wp, C), stride 1, with few
        filters: first every input pixel times every offset's kernel, P = xp @ kernel_by_offset
        (n, Hp, Wp, kh kw, F), one product; then z[:, i, j] = sum_{a, b} P[:, i + a, j + b, (a, b)]."""
        (n, hp, wp, c), offsets = xp.shape, self._offsets()
        products = scratch("products", (n, hp, wp, len(offsets), self.filters), xp.dtype)
        np.matmul(xp.reshape(-1, c), by_offset, out=products.reshape(-1, by_offset.shape[1]))
        for k, (_, _, da, db) in enumerate(offsets):
            shifted = products[window_slices(da, db, z.shape[1:3], (1, 1))][..., k, :]
            if k == 0:
                np.copyto(z, shifted)
            else:
                np.add(z, shifted, out=z)

    def shifted_kernel_gradient(self, xp: np.ndarray, g: np.ndarray) -> np.ndarray:
        """A chunk's share of dL/dkernel (kh kw C, F), stride 1, few filters, without the im2col of xp:
        dL/dkernel[a, b] = xp^T S[(a, b)], S (n, Hp, Wp, kh kw, F) holding g shifted by each offset,
        S[:, y, x, (a, b)] = g[:, y - a, x - b] (zero where no window reads xp[:, y, x]); one product."""
        (n, hp, wp, c), (ho, wo, f), offsets = xp.shape, g.shape[1:], self._offsets()
        shifted = scratch("shifted", (n, hp, wp, len(offsets), f), g.dtype)
        shifted.fill(0)
        for k, (_, _, da, db) in enumerate(offsets):
            shifted[:, da : da + ho, db : db + wo, k] = g
        by_offset = xp.reshape(-1, c).T @ shifted.reshape(-1, len(offsets) * f)  # (C, kh kw F)
        return by_offset.reshape(c, len(offsets), f).transpose(1, 0, 2).reshape(-1, f)

    def correlates_input_gradient(self, channels: int) -> bool:
        """Whether dL/dx goes by correlate_input_gradient: stride 1 and "same" (its products then cover
        the input once, no more than the forward's) and enough input channels (its product's outer
        dimension) for the one product to beat col2im's kh kw small ones (measured, benchmarks/README.md)."""
        return self.strides == (1, 1) and self.padding == "same" and channels >= FULL_CORRELATION_CHANNELS

    def flipped_kernel(self) -> np.ndarray:
        """The kernel flipped in space, its channels swapped: (kh kw F, C), for correlate_input_gradient."""
        kh, kw, c, f = self.params["kernel"].shape
        return np.ascontiguousarray(self.params["kernel"][::-1, ::-1].transpose(0, 1, 3, 2)).reshape(kh * kw * f, c)

    def correlate_input_gradient(self, g: np.ndarray, dx: np.ndarray, flipped: np.ndarray) -> None:
        """dx (n, H, W, C) <- dL/dx from g = dL/dz (n, Ho, Wo, F) of the same n samples, stride 1: the "full"
        correlation of g with the flipped kernel, dx[n, y, x, c] = sum_{a, b, f} gp[n, y + a, x + b, f]
        kernel[kh-1-a, kw-1-b, c, f] (dilated: offsets times the dilation), gp = g zero-padded by
        span - 1 - (the forward's pad) on each side. One im2col and one product whose inner dimension is
        long (kh kw F), as the forward's."""
        (span_h, span_w), (top, bottom, left, right) = self.span, self.pads
        gp = zero_padded(g, (span_h - 1 - top, span_h - 1 - bottom, span_w - 1 - left, span_w - 1 - right), "padded")
        np.matmul(self._im2col(gp, dx.shape[1:3]), flipped, out=dx.reshape(-1, dx.shape[3]))

    def add_input_gradient(self, g: np.ndarray, dx: np.ndarray) -> None:
        """dx (n, H, W, C) <- dL/dx from g = dL/dz (n, Ho, Wo, F) of the same n samples, any stride: col2im
        of G K^T, G = g as (n Ho Wo, F), into the padded dxp, one kernel offset at a time: offset (a, b) of
        output pixel (i, j) read xp[:, i sh + a, j sw + b], so its share of dL/dcols, G K[a, b]^T
        (n Ho Wo, C), is added back there while it is still in cache (faster than forming all of dL/dcols
        first, benchmarks/README.md). kh kw iterations, none over pixels; then the padding is cropped."""
        (n, ho, wo, f), c = g.shape, dx.shape[3]
        top, bottom, left, right = self.pads
        dxp = scratch("padded", (n, top + dx.shape[1] + bottom, left + dx.shape[2] + right, c), g.dtype)
        dxp.fill(0)
        kernel = self.params["kernel"].reshape(-1, c, f)  # (kh kw, C, F)
        g_rows, share = g.reshape(-1, f), scratch("cols", (n * ho * wo, c), g.dtype)
        for k, (_, _, da, db) in enumerate(self._offsets()):
            np.matmul(g_rows, kernel[k].T, out=share)
            window = dxp[window_slices(da, db, (ho, wo), self.strides)]
            np.add(window, share.reshape(n, ho, wo, c), out=window)
        dx[...] = dxp[:, top : top + dx.shape[1], left : left + dx.shape[2]]


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
