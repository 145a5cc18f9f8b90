"""Conv2DTranspose: the transposed 2-D convolution ("deconvolution"), Conv2D's two maps swapped."""

from __future__ import annotations

import numpy as np

from ..parallel import in_chunks
from .blocks import channel_sums
from .conv import Conv2D, normalize_tuple


def transposed_length(size: int, span: int, stride: int, padding: str, output_padding: int | None) -> int:
    """Keras's output length: "valid" (size - 1) stride + span + output_padding (default max(span, stride)
    - span); "same" size stride, or (size - 1) stride + span % 2 + output_padding if one is given."""
    if padding == "valid":
        extra = max(span, stride) - span if output_padding is None else output_padding
        return (size - 1) * stride + span + extra
    return size * stride if output_padding is None else (size - 1) * stride + span % 2 + output_padding


class Conv2DTranspose(Conv2D):
    """y = activation(T^T(x) + bias), channels-last, Keras's Conv2DTranspose.

    T is the Conv2D with this layer's kernel, strides, padding and dilation that maps an image of the
    output's shape back to one of the input's: this layer is its transpose (T's input gradient), so each
    input pixel spreads its values over a kh x kw window of the output, windows stride apart.

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, F); kernel (kh, kw, F, C) (T's kernel, Keras's layout); bias (F,).
        "valid": Ho = (H - 1) sh + kh + max(sh - kh, 0);   "same": Ho = H sh;   with output_padding p
        (0 <= p < sh): "valid" (H - 1) sh + kh + p, "same" (H - 1) sh + kh % 2 + p.  (Same for W; a
        dilated kernel: kh -> its span.) T pads Ho as Conv2D's "same" does; y is cropped by that padding.

    Forward (col2im of X K^T; Conv2D.add_input_gradient with x in the place of dL/dz):
        yp[n, i sh + a, j sw + b, f] += sum_c x[n, i, j, c] kernel[a, b, f, c],   y = yp cropped
    Backward, with g = dL/dz (N, Ho, Wo, F) and cols = im2col(gp), gp = g zero-padded as T pads:
        dL/dx      = T(g) = cols @ K                (N H W, kh kw F) @ (kh kw F, C) -> (N, H, W, C)
        dL/dkernel = cols^T X                       (kh kw F, C), X = x as (N H W, C)
        dL/dbias   = sum_{n, i, j} g[n, i, j]       (F,)
    In chunks of samples shared between the cores, as Conv2D's.
    """

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", output_padding=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, **kwargs)
        self.output_padding = None
        if output_padding is not None:
            owner = f"Conv2DTranspose '{self.name}'"
            self.output_padding = normalize_tuple(output_padding, owner, "output_padding", minimum=0)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"{owner}: output_padding must be strictly less than strides in every dimension. "
                    f"Received: output_padding={self.output_padding}, strides={self.strides}"
                )

    def _transposed_hw(self, h, w) -> tuple:
        """The output's (Ho, Wo) for an h x w input (None for an unknown size)."""
        paddings = self.output_padding or (None, None)
        return tuple(
            None if size is None else transposed_length(size, span, stride, self.padding, p)
            for size, span, stride, p in zip((h, w), self.span, self.strides, paddings)
        )

    def build(self, input_shape):
        channels, (_, h, w, _) = self.check_input(input_shape, windows_fit=False), input_shape
        if h is not None and w is not None and self._output_hw(*self._transposed_hw(h, w)) != (h, w):
            raise ValueError(
                f"Layer '{self.name}': an even kernel {self.kernel_size} with padding 'same' and "
                f"output_padding {self.output_padding} has no convolution to transpose for a {h}x{w} input"
            )
        self.build_kernel((*self.kernel_size, self.filters, channels), self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, *self._transposed_hw(h, w), self.filters)

    def linear(self, x):
        self.input = x
        return self.linear_inference(x)

    def linear_inference(self, x):
        n, h, w, _ = x.shape
        ho, wo = self._transposed_hw(h, w)
        self.pads = self._pads(ho, wo)
        y = np.empty((n, ho, wo, self.filters), dtype=x.dtype)
        flipped = self.flipped_kernel() if self.correlates_input_gradient(self.filters) else None

        def forward_chunk(start: int, stop: int) -> None:
            if flipped is not None:
                self.correlate_input_gradient(x[start:stop], y[start:stop], flipped)
            else:
                self.add_input_gradient(x[start:stop], y[start:stop])

        in_chunks(forward_chunk, n, self._samples_per_chunk((h, w), self.filters, x.itemsize))
        return y

    def linear_backward(self, g):
        x = self.input
        n, h, w, c = x.shape
        kernel = self.params["kernel"].reshape(-1, c)  # (kh kw F, C)
        dx = np.empty(x.shape, dtype=g.dtype) if self.need_input_grad else None

        def backward_chunk(start: int, stop: int) -> tuple[np.ndarray, np.ndarray | None]:
            cols, x_rows = self._im2col(self._pad(g[start:stop]), (h, w)), x[start:stop].reshape(-1, c)
            if dx is not None:
                np.matmul(cols, kernel, out=dx[start:stop].reshape(-1, c))
            bias_part = channel_sums(g[start:stop]) if self.use_bias else None
            return cols.T @ x_rows, bias_part

        self.store_gradients(in_chunks(backward_chunk, n, self._samples_per_chunk((h, w), self.filters, g.itemsize)))
        return dx
