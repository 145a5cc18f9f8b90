"""ZeroPadding2D, Cropping2D and UpSampling2D: the image grid made larger or smaller, channels-last."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .blocks import block_repeat, block_sums
from .conv import check_rank4


def two_sided(value, owner: str, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's forms: n, (h, w) or ((top, bottom), (left, right)) -> ((top, bottom), (left, right))."""
    if isinstance(value, (int, np.integer)):
        pairs = ((value, value), (value, value))
    elif len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        pairs = ((value[0], value[0]), (value[1], value[1]))
    elif len(value) == 2 and all(len(v) == 2 for v in value):
        pairs = (tuple(value[0]), tuple(value[1]))
    else:
        raise ValueError(
            f"{owner}: `{name}` should be an int, a tuple of 2 ints or a tuple of 2 tuples of 2 ints, got {value!r}"
        )
    if any(v < 0 for pair in pairs for v in pair):
        raise ValueError(f"{owner}: `{name}` must be >= 0, got {value!r}")
    return ((int(pairs[0][0]), int(pairs[0][1])), (int(pairs[1][0]), int(pairs[1][1])))


class ZeroPadding2D(Layer):
    """y = x with (top, bottom) zero rows and (left, right) zero columns around each image.
    Shapes: (N, H, W, C) -> (N, H + top + bottom, W + left + right, C).
    Backward: dL/dx = dL/dy with the border cut off.   No parameters."""

    def __init__(self, padding=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.padding = two_sided(padding, f"ZeroPadding2D '{self.name}'", "padding")

    def build(self, input_shape):
        check_rank4(self, input_shape)

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        n, h, w, c = input_shape
        return (n, None if h is None else h + top + bottom, None if w is None else w + left + right, c)

    def forward(self, x, training=False):
        return np.pad(x, ((0, 0), *self.padding, (0, 0)))

    def backward(self, grad_output):
        (top, bottom), (left, right) = self.padding
        return grad_output[:, top : grad_output.shape[1] - bottom, left : grad_output.shape[2] - right, :]


class Cropping2D(Layer):
    """y = x without (top, bottom) rows and (left, right) columns at its edges.
    Shapes: (N, H, W, C) -> (N, H - top - bottom, W - left - right, C).
    Backward: dL/dx = dL/dy with a zero border where the crop was.   No parameters."""

    def __init__(self, cropping=((0, 0), (0, 0)), **kwargs):
        super().__init__(**kwargs)
        self.cropping = two_sided(cropping, f"Cropping2D '{self.name}'", "cropping")

    def build(self, input_shape):
        check_rank4(self, input_shape)
        (top, bottom), (left, right) = self.cropping
        _, h, w, _ = input_shape
        if (h is not None and h <= top + bottom) or (w is not None and w <= left + right):
            raise ValueError(f"Cropping2D '{self.name}': cropping {self.cropping} leaves nothing of an input {h}x{w}")

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.cropping
        n, h, w, c = input_shape
        return (n, None if h is None else h - top - bottom, None if w is None else w - left - right, c)

    def forward(self, x, training=False):
        (top, bottom), (left, right) = self.cropping
        self.input_shape_seen = x.shape
        return x[:, top : x.shape[1] - bottom, left : x.shape[2] - right, :]

    def backward(self, grad_output):
        (top, bottom), (left, right) = self.cropping
        return np.pad(grad_output, ((0, 0), (top, bottom), (left, right), (0, 0)))


class UpSampling2D(Layer):
    """Nearest-neighbour upsampling: each value repeated size[0] times down and size[1] times across.
    Shapes: (N, H, W, C) -> (N, H sh, W sw, C).
    Backward: dL/dx[i, j] = sum of dL/dy over the (sh, sw) block it was copied to.   No parameters."""

    def __init__(self, size=(2, 2), interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        from .conv import normalize_tuple

        self.size = normalize_tuple(size, f"UpSampling2D '{self.name}'", "size")
        if interpolation != "nearest":
            raise ValueError(
                f"UpSampling2D '{self.name}': only interpolation='nearest' is supported, got {interpolation!r}"
            )
        self.interpolation = interpolation

    def build(self, input_shape):
        check_rank4(self, input_shape)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.size[0], None if w is None else w * self.size[1], c)

    def forward(self, x, training=False):
        return block_repeat(x, *self.size)

    def backward(self, grad_output):
        return block_sums(grad_output, *self.size)
