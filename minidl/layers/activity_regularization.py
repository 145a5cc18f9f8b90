"""ActivityRegularization: a penalty on the activity (the values) passing through, added to the loss."""

from __future__ import annotations

import numpy as np

from ..regularizers import L1L2
from .base import Layer


class ActivityRegularization(Layer):
    """y = x, and the loss of the batch gains (Keras 3: the penalty divided by the batch size N)

        penalty = (l1 sum |x| + l2 sum x^2) / N

    in training and in evaluation alike. Backward: dL/dx = dL/dy + (l1 sign(x) + 2 l2 x) / N.
    Shapes: any (N, ...), unchanged.   No parameters.
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.regularizer = L1L2(l1, l2)  # checks l1, l2 >= 0
        self.l1, self.l2 = self.regularizer.l1, self.regularizer.l2
        self.input: np.ndarray | None = None

    def forward(self, x, training=False):
        self.input = x
        return x

    def activity_loss(self) -> float:
        if self.input is None or self.input.ndim == 0 or len(self.input) == 0:
            return 0.0
        return self.regularizer.penalty(self.input) / len(self.input)

    def backward(self, grad_output):
        x = self.input
        assert x is not None, "backward before forward"
        gradient = self.regularizer.gradient(x).astype(grad_output.dtype, copy=False)
        gradient /= grad_output.dtype.type(len(x))
        gradient += grad_output
        return gradient
