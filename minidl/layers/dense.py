"""Dense: the fully connected layer."""
from __future__ import annotations

import numpy as np

from .. import regularizers
from . import activations
from .base import Layer


class Dense(Layer):
    """y = activation(x @ kernel + bias).

    Shapes: x (N, in) -> y (N, units); kernel (in, units); bias (units,).
    (Inputs with more axes, (N, ..., in), are treated as N*... rows, as Keras does.)

    Backward, with g = dL/dz for z = x @ kernel + bias (g = dL/dy passed back through the activation):
        dL/dkernel = x^T g          (in, units)
        dL/dbias   = sum_n g[n]     (units,)
        dL/dx      = g kernel^T     (N, in)
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer,
                        regularizer=self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)
        if self.activation is not None:
            self.activation.build_for((*input_shape[:-1], self.units))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def forward(self, x, training=False):
        self.input = x
        z = x @ self.params["kernel"]
        if self.use_bias:
            z += self.params["bias"]
        return z if self.activation is None else self.activation.forward(z, training)

    def backward(self, grad_output):
        g = grad_output if self.activation is None else self.activation.backward(grad_output)
        x2d = self.input.reshape(-1, self.input.shape[-1])
        g2d = g.reshape(-1, self.units)
        np.matmul(x2d.T, g2d, out=self.grad_buffer("kernel"))
        if self.use_bias:
            np.sum(g2d, axis=0, out=self.grad_buffer("bias"))
        if not self.need_input_grad:
            return None
        return g @ self.params["kernel"].T

    @property
    def output_activation(self):
        return self.activation if self.activation is not None else self
