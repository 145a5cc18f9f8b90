"""ZeroPadding2D, Cropping2D and UpSampling2D: the image grid made larger or smaller, channels-last; their
1-D forms on sequences."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .blocks import block_repeat, block_sums
from .conv import check_rank4, normalize_tuple, positive_integer


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


def one_dimensional(value, owner: str, name: str) -> tuple[int, int]:
    """Keras's 1-D forms: n or (before, after) -> (before, after), each >= 0."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in pair):
        raise ValueError(f"{owner}: `{name}` should be an int >= 0 or a tuple of 2 of them, got {value!r}")
    return (int(pair[0]), int(pair[1]))


def check_rank3(layer: Layer, input_shape) -> None:
    if len(input_shape) != 3:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected ndim=3 (batch, steps, "
            f"channels), found ndim={len(input_shape)}"
        )


class Sequence1D(Layer):
    """A 1-D layer as its 2-D one on a (N, 1, T, C) view of the (N, T, C) sequences (Conv1D's way): `grid`
    is the 2-D layer, its forward and backward those of the view."""

    grid: Layer

    def build(self, input_shape):
        check_rank3(self, input_shape)
        n, t, c = input_shape
        self.grid.build_for((n, 1, t, c))

    def compute_output_shape(self, input_shape):
        n, _, t, c = self.grid.compute_output_shape((input_shape[0], 1, input_shape[1], input_shape[2]))
        return (n, t, c)

    def forward(self, x, training=False):
        y = self.grid.forward(x[:, None], training)
        return y.reshape(len(y), y.shape[2], y.shape[3])

    def backward(self, grad_output):
        dx = self.grid.backward(grad_output[:, None])
        assert dx is not None  # padding, cropping and upsampling always pass the gradient back
        return dx.reshape(len(dx), dx.shape[2], dx.shape[3])


class ZeroPadding1D(Sequence1D):
    """y = x with `before` zero steps ahead and `after` zero steps behind.   (N, T, C) -> (N, T + b + a, C)."""

    def __init__(self, padding=1, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.padding = one_dimensional(padding, f"ZeroPadding1D '{self.name}'", "padding")
        self.data_format = "channels_last"
        self.grid = ZeroPadding2D(((0, 0), self.padding), name=self.name)


class Cropping1D(Sequence1D):
    """y = x without its first `before` and last `after` steps.   (N, T, C) -> (N, T - b - a, C)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = one_dimensional(cropping, f"Cropping1D '{self.name}'", "cropping")
        self.grid = Cropping2D(((0, 0), self.cropping), name=self.name)


class UpSampling1D(Sequence1D):
    """Each step repeated `size` times.   (N, T, C) -> (N, T size, C); dL/dx sums each step's copies."""

    def __init__(self, size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.size = positive_integer(size, f"UpSampling1D '{self.name}'", "size")
        self.grid = UpSampling2D((1, self.size), name=self.name)
