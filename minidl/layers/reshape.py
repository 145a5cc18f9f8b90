"""Reshape, Permute, Rescaling and RepeatVector: values moved or copied."""

from __future__ import annotations

import math

import numpy as np

from ..shapes import format_shape
from .base import Layer
from .conv import positive_integer


class Reshape(Layer):
    """y[n] = x[n].reshape(target_shape) (one entry may be -1, as Keras).   Shapes: (N, ...) -> (N, *target_shape).
    Backward: dL/dx = dL/dy reshaped back.   No parameters."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(d < -1 or d == 0 for d in self.target_shape):
            raise ValueError(
                f"Reshape '{self.name}': target_shape must hold positive sizes and at most one -1, got {target_shape!r}"
            )

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and known != size):
            raise ValueError(
                f"Reshape '{self.name}': total size of the new array must be unchanged, input_shape = "
                f"{format_shape(input_shape[1:])}, output_shape = {format_shape(self.target_shape)}"
            )
        return (input_shape[0], *(size // known if d == -1 else d for d in self.target_shape))

    def forward(self, x, training=False):
        self.input_shape_seen = x.shape
        return x.reshape(len(x), *self.target_shape)

    def backward(self, grad_output):
        return grad_output.reshape(self.input_shape_seen)


class Permute(Layer):
    """y[n] = x[n].transpose(dims - 1): `dims` numbers the axes from 1 (the batch axis stays first), as Keras.
    Backward: dL/dx = dL/dy transposed by the inverse permutation.   No parameters."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                f"must be consecutive and start from 1. Received dims={dims}"
            )
        self.axes = (0, *self.dims)
        self.inverse = tuple(np.argsort(self.axes))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[a] for a in self.axes)

    def forward(self, x, training=False):
        return x.transpose(self.axes)

    def backward(self, grad_output):
        return grad_output.transpose(self.inverse)


class Rescaling(Layer):
    """y = x scale + offset (Keras's preprocessing layer, e.g. Rescaling(1 / 255)); the input is cast to
    the layer's float dtype first.   Backward: dL/dx = dL/dy scale.   No parameters."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, scale: float, offset: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def forward(self, x, training=False):
        dtype = x.dtype.type if x.dtype.kind == "f" else np.dtype(self.dtype or "float32").type
        return x.astype(dtype, copy=False) * dtype(self.scale) + dtype(self.offset)

    def backward(self, grad_output):
        return grad_output * grad_output.dtype.type(self.scale)


class RepeatVector(Layer):
    """y[:, t] = x for t < n: each vector repeated n times along a new time axis (an encoder's summary fed
    to a decoder's every step).   Shapes: (N, D) -> (N, n, D).   Backward: dL/dx = sum_t dL/dy[:, t]."""

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        self.n = positive_integer(n, f"RepeatVector '{self.name}'", "n")

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=2 (batch, features), "
                f"found ndim={len(input_shape)}. Full shape received: {format_shape(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def forward(self, x, training=False):
        return np.repeat(x[:, None, :], self.n, axis=1)

    def backward(self, grad_output):
        return grad_output.sum(axis=1)


class Identity(Layer):
    """y = x; dL/dx = dL/dy.   No parameters (a placeholder in a model, as Keras's)."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output
