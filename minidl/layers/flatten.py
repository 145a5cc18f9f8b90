"""Flatten: (N, d1, d2, ...) -> (N, d1 d2 ...), e.g. between the conv/pool layers and Dense."""

from __future__ import annotations

import math

from .base import Layer


class Flatten(Layer):
    """y[n] = x[n].reshape(-1), row-major (C order), so channels-last (H, W, C) flattens exactly as
    Keras does: feature index = (i W + j) C + c.

    Shapes: x (N, d1, ..., dk) -> y (N, d1 ... dk)  (x (N,) -> y (N, 1), as Keras).
    Backward: dL/dx = (dL/dy).reshape(x.shape): a reshape moves no value.   No parameters.
    """

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else math.prod(rest))

    def forward(self, x, training=False):
        self.input_shape_seen = x.shape
        return x.reshape(len(x), -1)  # a view when x is contiguous

    def backward(self, grad_output):
        return grad_output.reshape(self.input_shape_seen)
