"""DepthwiseConv2D: each input channel convolved with kernels of its own, channels-last."""

from __future__ import annotations

import numpy as np

from .. import constraints, regularizers
from ..parallel import in_chunks, scratch
from .blocks import channel_sums
from .conv import CHUNK_COLS_BYTES, WindowedLayer, positive_integer, window_slices

__all__ = ["DepthwiseConv2D"]


class DepthwiseConv2D(WindowedLayer):
    """y = activation(depthwise(x, kernel) + bias), Keras's DepthwiseConv2D: no sum over channels.

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C M); kernel (kh, kw, C, M), M = depth_multiplier; bias (C M,).
        Ho, Wo and the padding as Conv2D's. Output channel c M + m is input channel c through kernel m.

    Forward, one pass per kernel offset (kh kw of them; none over pixels or channels):
        z[n, i, j, c, m] = sum_{a, b} xp[n, i sh + a, j sw + b, c] kernel[a, b, c, m]
    Backward, with g = dL/dz as (N, Ho, Wo, C, M) and xs_ab = xp[:, a::sh, b::sw] (N, Ho, Wo, C), each offset:
        dL/dkernel[a, b, c, m] = sum_{n, i, j} xs_ab[n, i, j, c] g[n, i, j, c, m]
        dL/dxp[:, a::sh, b::sw, c] += sum_m g[..., c, m] kernel[a, b, c, m];   dL/dx = dL/dxp cropped
        dL/dbias = sum_{n, i, j} g[n, i, j]
    (offsets a, b times the dilation for a dilated kernel.) In chunks of samples shared between the cores.
    """

    depthwise_weight = "kernel"  # the depthwise kernel's name among the weights (SeparableConv2D's differs)

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        depthwise_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=depthwise_regularizer,
            kernel_constraint=depthwise_constraint,
            **kwargs,
        )
        self.depth_multiplier = positive_integer(
            depth_multiplier, f"{type(self).__name__} '{self.name}'", "depth_multiplier"
        )
        self.depthwise_initializer = depthwise_initializer
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    not_in_config = ("kernel_initializer", "kernel_regularizer", "kernel_constraint")  # Keras's: depthwise_...

    def build(self, input_shape):
        channels = self.check_input(input_shape)
        self.build_kernel((*self.kernel_size, channels, self.depth_multiplier), self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return (*self.windows_shape(input_shape), input_shape[3] * self.depth_multiplier)

    def linear(self, x):
        self.input = x
        return self.depthwise(x)

    def linear_inference(self, x):
        return self.depthwise(x)

    def _chunk(self, h: int, w: int, channels: int, itemsize: int) -> int:
        """Most samples per chunk (in_chunks evens the chunks out between the cores): about CHUNK_COLS_BYTES
        in the three arrays of a sample's size each pass touches. Smaller chunks cost more in handing them
        to threads than they gain in cache (benchmarks/README.md)."""
        top, bottom, left, right = self._pads(h, w)
        per_sample = 3 * (top + h + bottom) * (left + w + right) * channels * self.depth_multiplier * itemsize
        return max(1, CHUNK_COLS_BYTES // max(per_sample, 1))

    def depthwise(self, x: np.ndarray) -> np.ndarray:
        """z (N, Ho, Wo, C M) of x (N, H, W, C): per kernel offset, the strided view of the padded x times
        that offset's (C, M) kernel, added up."""
        if self.by_rows():
            return self.depthwise_by_rows(x)
        (n, h, w, c), m = x.shape, self.depth_multiplier
        ho, wo = self._output_hw(h, w)
        kernel = self.params[self.depthwise_weight]
        out = np.empty((n, ho, wo, c, m), dtype=x.dtype)

        def forward_chunk(start: int, stop: int) -> None:
            xp, z = self._pad(x[start:stop]), out[start:stop]
            term = scratch("depthwise_term", z.shape, z.dtype)
            for k, (a, b, da, db) in enumerate(self._offsets()):
                shifted = xp[window_slices(da, db, (ho, wo), self.strides)][..., None]  # (n, Ho, Wo, C, 1)
                np.multiply(shifted, kernel[a, b], out=z if k == 0 else term)
                if k:
                    z += term

        in_chunks(forward_chunk, n, self._chunk(h, w, c, x.itemsize))
        return out.reshape(n, ho, wo, c * m)

    def linear_backward(self, g: np.ndarray) -> np.ndarray | None:
        kernel_grad, dx = self.depthwise_backward(self.input, g)
        np.copyto(self.grad_buffer(self.depthwise_weight), kernel_grad)
        if self.use_bias:
            np.copyto(self.grad_buffer("bias"), channel_sums(g))
        return dx

    def depthwise_backward(self, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(dL/dkernel (float64), dL/dx or None if not needed) of the depthwise map of x, from g = dL/dz
        (N, Ho, Wo, C M): the per-chunk kernel gradients summed in float64, in chunk order."""
        if self.by_rows():
            return self.depthwise_backward_by_rows(x, g)
        (n, h, w, c), m = x.shape, self.depth_multiplier
        ho, wo = g.shape[1:3]
        kernel, g5 = self.params[self.depthwise_weight], g.reshape(n, ho, wo, c, m)
        dx = np.empty(x.shape, dtype=g.dtype) if self.need_input_grad else None
        top, _, left, _ = self._pads(h, w)

        def backward_chunk(start: int, stop: int) -> np.ndarray:
            xp, gc = self._pad(x[start:stop]), g5[start:stop]
            kernel_part = np.empty(kernel.shape, dtype=np.float64)
            dxp = scratch("depthwise_dxp", xp.shape, g.dtype) if dx is not None else None
            if dxp is not None:
                dxp.fill(0)
            for a, b, da, db in self._offsets():
                where = window_slices(da, db, (ho, wo), self.strides)
                kernel_part[a, b] = np.einsum("nijc,nijcm->cm", xp[where], gc)
                if dxp is not None:
                    window = dxp[where]
                    window += (
                        np.einsum("nijcm,cm->nijc", gc, kernel[a, b]) if m > 1 else gc[..., 0] * kernel[a, b, :, 0]
                    )
            if dx is not None and dxp is not None:
                dx[start:stop] = dxp[:, top : top + h, left : left + w]
            return kernel_part

        parts = in_chunks(backward_chunk, n, self._chunk(h, w, c, x.itemsize))
        return np.asarray(np.sum(parts, axis=0, dtype=np.float64)), dx

    # ------------------------------------------------------------ stride 1: whole rows at a time
    # A shift by a kernel offset (a, b) is, in the padded batch laid out as rows of Wp C values one after
    # another, one contiguous slice (a Wp C + b C values further on): each offset's pass runs over long
    # contiguous rows instead of C values at a time. Windows that start in the padding give values
    # nobody keeps (the output is cropped from the grid), and the gradient is zero there.

    def by_rows(self) -> bool:
        """Whether the passes run over whole padded rows (stride 1; benchmarks/choices.py --only
        depthwise_by_rows) rather than over strided views of the windows."""
        return self.strides == (1, 1)

    def _rows_layout(self, n: int, h: int, w: int, channels: int) -> tuple[int, int, int, list[int]]:
        """(Hp, Wp, R, offsets): the padded grid, the R rows of windows computed (every row of the chunk's
        padded batch but the last kh - 1 span's), each offset's distance in values."""
        top, bottom, left, right = self._pads(h, w)
        hp, wp = top + h + bottom, left + w + right
        rows = n * hp - (self.span[0] - 1)
        return hp, wp, rows, [(da * wp + db) * channels for _, _, da, db in self._offsets()]

    def _in_rows(self, images: np.ndarray, hp: int, wp: int, at: tuple[int, int], buffer: str) -> np.ndarray:
        """images (n, h, w, C) placed at (row, column) `at` of a zero grid (n, Hp, Wp, C), as (n Hp + 1, Wp C)
        rows in the thread's scratch `buffer` (one zero row more: the last offset's slice reaches into it)."""
        n, h, w, c = images.shape
        rows = scratch(buffer, (n * hp + 1, wp * c), images.dtype)
        rows.fill(0)
        rows[: n * hp].reshape(n, hp, wp, c)[:, at[0] : at[0] + h, at[1] : at[1] + w] = images
        return rows

    def _tiled_kernel(self, wp: int) -> list[np.ndarray]:
        """Each offset's kernel (C M,) repeated along a padded row: (Wp C M,)."""
        kernel = self.params[self.depthwise_weight]
        kh, kw = self.kernel_size
        return [np.tile(kernel[a, b].reshape(-1), wp) for a in range(kh) for b in range(kw)]

    def depthwise_by_rows(self, x: np.ndarray) -> np.ndarray:
        (n, h, w, channels), m = x.shape, self.depth_multiplier
        x = np.repeat(x, m, axis=-1) if m > 1 else x  # channel c M + m: input channel c, as the output's
        c = x.shape[3]
        ho, wo = self._output_hw(h, w)
        top, _, left, _ = self._pads(h, w)
        out = np.empty((n, ho, wo, c), dtype=x.dtype)

        def forward_chunk(start: int, stop: int) -> None:
            hp, wp, rows, offsets = self._rows_layout(stop - start, h, w, c)
            tiled = self._tiled_kernel(wp)
            flat = self._in_rows(x[start:stop], hp, wp, (top, left), "depthwise_rows").reshape(-1)
            z = scratch("depthwise_out", ((stop - start) * hp, wp * c), x.dtype)
            term = scratch("depthwise_term", (rows, wp * c), x.dtype)
            for k, offset in enumerate(offsets):
                shifted = flat[offset : offset + rows * wp * c].reshape(rows, wp * c)
                np.multiply(shifted, tiled[k], out=z[:rows] if k == 0 else term)
                if k:
                    np.add(z[:rows], term, out=z[:rows])
            out[start:stop] = z.reshape(stop - start, hp, wp, c)[:, :ho, :wo]

        in_chunks(forward_chunk, n, self._chunk(h, w, channels, x.itemsize))
        return out

    def depthwise_backward_by_rows(self, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        (n, h, w, channels), m = x.shape, self.depth_multiplier
        x = np.repeat(x, m, axis=-1) if m > 1 else x
        c = x.shape[3]
        top, _, left, _ = self._pads(h, w)
        dx = np.empty(x.shape, dtype=g.dtype) if self.need_input_grad else None

        def backward_chunk(start: int, stop: int) -> np.ndarray:
            hp, wp, rows, offsets = self._rows_layout(stop - start, h, w, c)
            tiled = self._tiled_kernel(wp)
            flat = self._in_rows(x[start:stop], hp, wp, (top, left), "depthwise_rows").reshape(-1)
            g_rows = self._in_rows(g[start:stop], hp, wp, (0, 0), "depthwise_gradient")[:rows]
            kernel_part = np.empty((len(offsets), c), dtype=np.float64)
            dx_rows = scratch("depthwise_dx", ((stop - start) * hp + 1, wp * c), g.dtype) if dx is not None else None
            if dx_rows is not None:
                dx_rows.fill(0)
            term = scratch("depthwise_term", (rows, wp * c), g.dtype)
            for k, offset in enumerate(offsets):
                shifted = flat[offset : offset + rows * wp * c].reshape(rows, wp * c)
                kernel_part[k] = np.einsum("rk,rk->k", shifted, g_rows).reshape(wp, c).sum(axis=0, dtype=np.float64)
                if dx_rows is not None:
                    window = dx_rows.reshape(-1)[offset : offset + rows * wp * c].reshape(rows, wp * c)
                    np.multiply(g_rows, tiled[k], out=term)
                    np.add(window, term, out=window)
            if dx is not None and dx_rows is not None:
                grid = dx_rows[: (stop - start) * hp].reshape(stop - start, hp, wp, c)
                dx[start:stop] = grid[:, top : top + h, left : left + w]
            return kernel_part

        parts = in_chunks(backward_chunk, n, self._chunk(h, w, channels, x.itemsize))
        kernel_grad = np.sum(parts, axis=0, dtype=np.float64).reshape(*self.kernel_size, channels, m)
        if dx is not None and m > 1:  # the copies' gradients added (a loop over m: NumPy's sum over a short last
            copies = dx.reshape(n, h, w, channels, m)  # axis is slow)
            dx = copies[..., 0].copy()
            for i in range(1, m):
                dx += copies[..., i]
        return kernel_grad, dx
