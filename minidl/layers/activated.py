"""What Dense and Conv2D share: y = activation(z + bias), after the layer's own linear map z of x."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np

from .. import constraints, regularizers
from ..parallel import blockwise, per_position, per_position_rows
from ..shapes import Shape
from . import activations
from .base import Layer, own_inference_map


class ActivatedLayer(Layer):
    """Base of layers that compute a linear map of their input, z = lin(x), then y = activation(z + bias).

    A subclass computes z in `linear(x)` (keeping what its backward needs); `forward` is then
    `activate(linear(x))`. Its `backward` starts with `g = self.deactivate(grad_output)` (dL/dz) and ends
    with the gradients of its own map. The activation is a layer of its own (`activations.get`), which may
    overwrite z: the layer owns z.
    """

    def __init__(
        self,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.activation = activations.get(activation, owns_input=True)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def get_config(self):
        return {**super().get_config(), "activation": activations.activation_name(self.activation)}

    def build_kernel(self, kernel_shape: tuple, output_shape: Shape) -> None:
        """kernel, bias (output channels,) (each with its regularizer and constraint) and the activation, in
        Keras's order."""
        self.add_weight(
            kernel_shape,
            self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
            name="kernel",
        )
        if self.use_bias:
            self.add_bias_weight(cast(int, output_shape[-1]))
        if self.activation is not None:
            self.activation.build_for(output_shape)

    def add_bias_weight(self, channels: int) -> None:
        """The bias (channels,), with its regularizer and constraint."""
        self.add_weight(
            (channels,),
            self.bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
            name="bias",
        )

    def linear(self, x: np.ndarray) -> np.ndarray:
        """z, the layer's own linear map of x (without the bias), as a fresh array."""
        raise NotImplementedError

    def linear_inference(self, x: np.ndarray) -> np.ndarray:
        """linear(x) for predict and evaluate (minidl.inference), where no backward follows."""
        return self.linear(x)

    def forward(self, x, training=False):
        return self.activate(self.linear(x), training)

    def activate(self, z: np.ndarray, training: bool = False) -> np.ndarray:
        """activation(z + bias), z (..., channels) fresh from the layer's product: the bias is added in place."""
        z = self.add_bias(z)
        return z if self.activation is None else self.activation.forward(z, training)

    def add_bias(self, z: np.ndarray) -> np.ndarray:
        """z + bias, in place (z fresh from the layer's product)."""
        if self.use_bias:
            bias = per_position(self.params["bias"], z.shape[1:])
            blockwise(lambda block: np.add(block, bias, out=block), z.reshape(len(z), -1), block=None)
        return z

    def activation_map(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """activate(z) as a function of some samples' z that keeps nothing on the layer (see
        Layer.inference_map), or None if the activation has none. It overwrites z."""
        function = None if self.activation is None else own_inference_map(self.activation)
        if self.activation is not None and function is None:
            return None
        bias_row = per_position_rows(self.params["bias"]) if self.use_bias else None

        def activate(z: np.ndarray) -> np.ndarray:
            if bias_row is not None:
                rows = z.reshape(len(z), -1)
                np.add(rows, bias_row(z.shape[1:]), out=rows)
            return z if function is None else function(z)

        return activate

    def deactivate(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dz from dL/dy, through the activation."""
        if self.activation is None:
            return grad_output
        return cast(np.ndarray, self.activation.backward(grad_output))  # an activation always returns dL/dx

    @property
    def output_activation(self) -> Layer:
        return self.activation if self.activation is not None else self
