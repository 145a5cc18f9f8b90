"""DepthwiseConv2D: each input channel convolved with kernels of its own, channels-last."""

from __future__ import annotations

import numpy as np

from .. import regularizers
from ..parallel import in_chunks, scratch
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
            **kwargs,
        )
        self.depth_multiplier = positive_integer(
            depth_multiplier, f"{type(self).__name__} '{self.name}'", "depth_multiplier"
        )
        self.depthwise_initializer = depthwise_initializer
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)

    not_in_config = ("kernel_initializer", "kernel_regularizer")  # Keras's names are depthwise_...

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

    def _chunk(self, n: int, h: int, w: int, channels: int, itemsize: int) -> int:
        """Samples per chunk: about CHUNK_COLS_BYTES of padded input and output, in at least two chunks."""
        ho, wo = self._output_hw(h, w)
        per_sample = (h * w + ho * wo * self.depth_multiplier) * channels * itemsize
        return max(1, min(-(-n // 2), CHUNK_COLS_BYTES // max(per_sample, 1)))

    def depthwise(self, x: np.ndarray) -> np.ndarray:
        """z (N, Ho, Wo, C M) of x (N, H, W, C): per kernel offset, the strided view of the padded x times
        that offset's (C, M) kernel, added up."""
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

        in_chunks(forward_chunk, n, self._chunk(n, h, w, c, x.itemsize))
        return out.reshape(n, ho, wo, c * m)

    def linear_backward(self, g: np.ndarray) -> np.ndarray | None:
        kernel_grad, dx = self.depthwise_backward(self.input, g)
        np.copyto(self.grad_buffer(self.depthwise_weight), kernel_grad)
        if self.use_bias:
            np.copyto(self.grad_buffer("bias"), g.sum(axis=(0, 1, 2), dtype=np.float64))
        return dx

    def depthwise_backward(self, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(dL/dkernel (float64), dL/dx or None if not needed) of the depthwise map of x, from g = dL/dz
        (N, Ho, Wo, C M): the per-chunk kernel gradients summed in float64, in chunk order."""
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

        parts = in_chunks(backward_chunk, n, self._chunk(n, h, w, c, x.itemsize))
        return np.asarray(np.sum(parts, axis=0, dtype=np.float64)), dx
