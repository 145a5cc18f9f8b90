"""MaxPooling2D: the maximum of each (ph, pw) window, channels-last, Keras's semantics."""

from __future__ import annotations

import numpy as np

from ..parallel import blockwise
from .base import Layer
from .conv import check_rank4, conv_output_length, normalize_padding, normalize_tuple, same_padding, window_slices


def max_over(views: list[np.ndarray], out: np.ndarray) -> np.ndarray:
    """out = the element-wise maximum of the views; the first two are combined straight into out (a copy
    of the first would be one more pass over memory)."""
    if len(views) == 1:
        np.copyto(out, views[0])
    else:
        np.maximum(views[0], views[1], out=out)
    for view in views[2:]:
        np.maximum(out, view, out=out)
    return out


class Pooling2D(Layer):
    """What the 2D poolings share: their window arguments (strides default to pool_size) and the output
    shape, Ho = conv_output_length(H, ph, sh, padding) (see MaxPooling2D)."""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = normalize_tuple(pool_size, owner, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, owner, "strides")
        self.padding = normalize_padding(padding, owner)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho = None if h is None else conv_output_length(h, ph, sh, self.padding)
        wo = None if w is None else conv_output_length(w, pw, sw, self.padding)
        return (n, ho, wo, c)


class MaxPooling2D(Pooling2D):
    """y[n, i, j, c] = max_{a < ph, b < pw} xp[n, i sh + a, j sw + b, c].

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C);  strides default to pool_size (non-overlapping).
        "valid": Ho = floor((H - ph) / sh) + 1 (odd leftovers are cropped, as Keras);
        "same":  Ho = ceil(H / sh), x padded with -inf as TF's "same" padding (extra row after).

    Backward: each window's gradient goes to ONE input, its arg-max, as TF does; on ties the first
    maximum in row-major window order (a, then b) wins. Overlapping windows add up:
        dL/dxp[n, i sh + a*, j sw + b*, c] += dL/dy[n, i, j, c],   (a*, b*) = first arg-max of window (i, j)
    and dL/dx is dL/dxp with the padding cropped.   No parameters.
    """

    def build(self, input_shape):
        check_rank4(self, input_shape)
        _, h, w, _ = input_shape
        if self.padding == "valid" and (
            (h is not None and h < self.pool_size[0]) or (w is not None and w < self.pool_size[1])
        ):
            raise ValueError(
                f"Layer '{self.name}': pool_size {self.pool_size} is larger than the input {h}x{w} with padding 'valid'"
            )

    def forward(self, x, training=False):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        n, h, w, c = x.shape
        ho, wo = conv_output_length(h, ph, sh, self.padding), conv_output_length(w, pw, sw, self.padding)
        self.pads = (0, 0, 0, 0)
        if self.padding == "same":
            (top, bottom), (left, right) = same_padding(h, ph, sh), same_padding(w, pw, sw)
            if top or bottom or left or right:
                # -inf: a padded cell never wins a window (each window holds >= 1 real cell)
                x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
                self.pads = (top, bottom, left, right)
        self.input_padded = x
        # The max over a window is a max over its rows, then over its columns: first every output row's
        # maximum over its ph input rows (each a strided view, full rows of W C contiguous values), then
        # over pw columns of that. (ph - 1) + (pw - 1) vectorised steps, no loop over pixels.
        row_offsets = [window_slices(a, 0, (ho, wo), self.strides)[1] for a in range(ph)]
        col_offsets = [window_slices(0, b, (ho, wo), self.strides)[2] for b in range(pw)]

        def pool(x_block, out_block):
            row_max = np.empty((len(x_block), ho, x_block.shape[2], c), dtype=x_block.dtype)
            max_over([x_block[:, rows] for rows in row_offsets], out=row_max)  # (n, Ho, Wp, C)
            max_over([row_max[:, :, cols] for cols in col_offsets], out=out_block)

        out = np.empty((n, ho, wo, c), dtype=x.dtype)
        blockwise(pool, x, out, block=None)
        self.output = out
        return out

    def backward(self, grad_output):
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        xp, out = self.input_padded, self.output
        _, ho, wo, _ = out.shape
        dxp = np.empty(xp.shape, dtype=grad_output.dtype)
        disjoint = sh >= ph and sw >= pw  # each input in at most one window: write, don't accumulate
        windows = [window_slices(a, b, (ho, wo), self.strides) for a in range(ph) for b in range(pw)]
        # `remaining` is each window's gradient not routed yet: once the window's first maximum (in
        # row-major window order, as TF) took it, it drops to exactly 0, so later ties get nothing.
        remaining = self.scratch("remaining", grad_output.shape, grad_output.dtype)

        def route(dxp, xp, out, grad_output, remaining):  # on a block of samples
            dxp.fill(0)
            np.copyto(remaining, grad_output)
            for k, idx in enumerate(windows):
                hit = xp[idx] == out
                if disjoint:
                    routed = np.multiply(remaining, hit, out=dxp[idx])
                else:
                    routed = remaining * hit
                    dxp[idx] += routed
                if k < len(windows) - 1:
                    remaining -= routed

        # samples split between the cores (faster than one thread: benchmarks/README.md)
        blockwise(route, dxp, xp, out, grad_output, remaining, block=None)
        top, bottom, left, right = self.pads
        return dxp[:, top : dxp.shape[1] - bottom, left : dxp.shape[2] - right, :]


class OnTimeAxis:
    """Mixin: a 2-D pooling run on the (N, 1, T, C) view of (N, T, C) inputs, (1, p) windows, for the 1-D
    poolings (their maths are the 2-D layer's; see its docstring)."""

    name: str

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", **kwargs):
        owner = type(self).__name__
        pool = normalize_tuple(pool_size, owner, "pool_size", 1)
        stride = pool if strides is None else normalize_tuple(strides, owner, "strides", 1)
        super().__init__((1, *pool), strides=(1, *stride), padding=padding, **kwargs)  # type: ignore[call-arg]

    def get_config(self):
        config = super().get_config()  # type: ignore[misc]
        return {**config, "pool_size": config["pool_size"][1:], "strides": config["strides"][1:]}

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=3 "
                f"(batch, steps, channels), found ndim={len(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        n, _, steps, c = super().compute_output_shape(  # type: ignore[misc]
            (input_shape[0], 1, input_shape[1], input_shape[2])
        )
        return (n, steps, c)

    def forward(self, x, training=False):
        return super().forward(x[:, None], training)[:, 0]  # type: ignore[misc]

    def backward(self, grad_output):
        return super().backward(grad_output[:, None])[:, 0]  # type: ignore[misc]


class MaxPooling1D(OnTimeAxis, MaxPooling2D):
    """Keras's MaxPooling1D: x (N, T, C) -> y (N, To, C), the maxima over windows of `pool_size` steps."""
