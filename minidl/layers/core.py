"""Input: declares the shape a Sequential model takes (as `keras.Input`)."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Layer


class Input(Layer):
    """`Input((784,))` first in a Sequential fixes the input shape (without the batch axis).

    It holds no weights and is not listed by `summary()`, as in Keras.
    """

    def __init__(self, shape: Sequence[int], name: str | None = None, dtype: str | None = None):
        if not isinstance(shape, (tuple, list)):
            raise ValueError(
                f"Cannot convert '{shape!r}' to a shape. Input takes the shape of one sample, without "
                f"the batch axis, as a tuple: Input(({shape!r},))"
            )
        shape = tuple(shape)
        if not shape or any(not isinstance(d, int) or d < 1 for d in shape):
            raise ValueError(f"Input: shape must be a tuple of positive integers, got {shape!r}")
        super().__init__(name=name, dtype=dtype, input_shape=shape)
        self.shape = shape

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output
