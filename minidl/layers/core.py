"""Input and the symbolic tensors of the functional API.

`Input((784,))` returns a KerasTensor: a placeholder with a shape (batch axis None) and a dtype. Calling a
layer on KerasTensors builds the layer for their shapes and returns new KerasTensors, each remembering the
call (a Node: the layer, its input tensors) that made it, so that `minidl.Model(inputs, outputs)` can find
the graph between them. A Sequential also takes an Input first, for its input shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..backend import floatx
from ..serializable import supported_arguments
from .base import Layer
from .symbolic import KerasTensor, Node


class InputLayer(Layer):
    """The layer behind an Input tensor: no weights, the identity (a functional Model's first layer, as in
    Keras; a Sequential's Input sets its input shape only)."""

    def __init__(self, shape: Sequence[int], name: str | None = None, dtype: str | None = None):
        if not isinstance(shape, (tuple, list)):
            raise ValueError(
                f"Cannot convert '{shape!r}' to a shape. Input takes the shape of one sample, without "
                f"the batch axis, as a tuple: Input(({shape!r},))"
            )
        shape = tuple(shape)
        if not shape or any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1) for d in shape):
            raise ValueError(
                f"Input: shape must be a tuple of positive integers (None for a size that varies, as a "
                f"sequence's length), got {shape!r}"
            )
        super().__init__(name=name or None, dtype=dtype, input_shape=shape)
        self.shape = shape
        self.input_shape = self.output_shape = (None, *shape)
        self.built = True

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output

    def get_config(self):
        return {
            "batch_shape": [None, *self.shape],
            "dtype": self.dtype or floatx(),
            "sparse": False,
            "ragged": False,
            "name": self.name,
            "optional": False,
        }

    @classmethod
    def from_config(cls, config):
        """Keras's InputLayer config: batch_shape (or shape), dtype, name (sparse, ragged, optional unused)."""
        config = dict(config)
        batch_shape = config.pop("batch_shape", None)
        shape = config.pop("shape", None) or (batch_shape[1:] if batch_shape else None)
        config.pop("batch_size", None)
        if shape is None:
            raise ValueError(f"InputLayer config without a shape: {config!r}")
        arguments = supported_arguments("InputLayer", config, {"name", "dtype", "sparse", "ragged", "optional"})
        for flag in ("sparse", "ragged", "optional"):
            if arguments.pop(flag, False):
                raise ValueError(f"InputLayer: minidl does not support {flag}=True inputs")
        return cls(tuple(shape), **arguments)

    def get_build_config(self):
        return None


def Input(shape: Sequence[int], name: str | None = None, dtype: str | None = None) -> KerasTensor:  # noqa: N802
    """keras.Input: a symbolic input of one sample's `shape` (no batch axis), for a Model or a Sequential."""
    return input_tensor(InputLayer(shape, name=name, dtype=dtype))


def input_tensor(layer: InputLayer) -> KerasTensor:
    """The symbolic tensor an InputLayer gives."""
    tensor = KerasTensor((None, *layer.shape), layer.dtype, Node(layer, []), name=layer.name)
    tensor.node.outputs.append(tensor)
    return tensor
