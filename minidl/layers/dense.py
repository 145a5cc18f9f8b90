"""Dense: the fully connected layer."""

from __future__ import annotations

import numpy as np

from .activated import ActivatedLayer


class Dense(ActivatedLayer):
    """y = activation(x @ kernel + bias).

    Shapes: x (N, in) -> y (N, units); kernel (in, units); bias (units,).
    (Inputs with more axes, (N, ..., in), are treated as N*... rows, as Keras does.)

    Backward, with g = dL/dz for z = x @ kernel + bias (g = dL/dy passed back through the activation):
        dL/dkernel = x^T g          (in, units)
        dL/dbias   = sum_n g[n]     (units,)
        dL/dx      = g kernel^T     (N, in)
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            **kwargs,
        )
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)

    def build(self, input_shape):
        self.build_kernel((input_shape[-1], self.units), self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def linear(self, x):
        self.input = x
        return x @ self.params["kernel"]

    def backward(self, grad_output):
        g = self.deactivate(grad_output)
        x2d = self.input.reshape(-1, self.input.shape[-1])
        g2d = g.reshape(-1, self.units)
        if len(x2d) == 1:  # an outer product: NumPy's matmul takes a loop 4x slower for an inner dimension of 1
            np.multiply(x2d.T, g2d, out=self.grad_buffer("kernel"))
        else:
            np.matmul(x2d.T, g2d, out=self.grad_buffer("kernel"))
        if self.use_bias:
            np.sum(g2d, axis=0, out=self.grad_buffer("bias"))
        if not self.need_input_grad:
            return None
        return g @ self.params["kernel"].T
