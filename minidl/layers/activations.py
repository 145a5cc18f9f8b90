"""Activation layers. Each can stand alone (`layers.ReLU()`) or inside a layer (`Dense(10, activation="relu")`)."""

from __future__ import annotations

import numpy as np

from ..parallel import blockwise
from ..registry import Registry
from .base import Layer


class ReLU(Layer):
    """y = max(x, 0).   Backward: dL/dx = dL/dy * [y > 0].   Shapes: any, unchanged.

    `overwrite_input`: set by a layer that owns its activation (Dense, Conv2D), whose pre-activation
    array nobody else reads: y is then written over x, saving an allocation and a pass over memory.
    """

    overwrite_input = False

    def forward(self, x, training=False):
        self.output = x if self.overwrite_input else np.empty_like(x)
        blockwise(lambda x_block, y_block: np.maximum(x_block, 0, out=y_block), x, self.output, block=None)
        return self.output

    def backward(self, grad_output):
        grad_input = np.empty_like(grad_output)
        blockwise(lambda g, y, dx: np.multiply(g, y > 0, out=dx), grad_output, self.output, grad_input)
        return grad_input


class Softmax(Layer):
    """p = exp(x - max x) / sum exp(x - max x) over the last axis.   Shapes: (N, ..., K) -> same.

    Backward (Jacobian-vector product): dL/dx = p * (g - sum_k g_k p_k), with g = dL/dp.

    When a model ends in Softmax and its loss is cross-entropy, the loss returns dL/dx = (p - y) / N
    directly (numerically stable, and no K x K Jacobian); the model then sets `fused_with_loss`
    and this backward passes that gradient through unchanged.
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.fused_with_loss = False

    def forward(self, x, training=False):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=self.axis, keepdims=True)
        self.output = shifted
        return shifted

    def backward(self, grad_output):
        if self.fused_with_loss:
            return grad_output
        p = self.output
        return p * (grad_output - (grad_output * p).sum(axis=self.axis, keepdims=True))


class Linear(Layer):
    """y = x (Keras's activation=None / "linear")."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output


def _owned_relu() -> ReLU:
    """ReLU for a layer that owns its input array (see ReLU.overwrite_input)."""
    activation = ReLU()
    activation.overwrite_input = True
    return activation


ACTIVATIONS: Registry[Layer] = Registry("activation", Layer)
ACTIVATIONS.register(_owned_relu, names=("relu",))
ACTIVATIONS.register(Softmax, names=("softmax",))


def get(identifier: str | Layer | None) -> Layer | None:
    """An activation layer from a name ("relu", "softmax", "linear"/None) or a Layer instance, for a
    layer that applies it to its own fresh pre-activation array (which the activation may overwrite)."""
    if identifier is None or identifier == "linear":
        return None
    return ACTIVATIONS.get(identifier)
