"""LSTM: Keras's long short-term memory layer, backpropagated through time."""

from __future__ import annotations

import numpy as np

from .. import initializers, regularizers
from .base import Layer


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|, the logistic function exactly


class LSTM(Layer):
    """Over the steps t of x (N, T, in), with h_0 = c_0 = 0 and the gates in Keras's order (i, f, c, o):

        z_t = x_t kernel + h_{t-1} recurrent_kernel + bias              (N, 4u)
        i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);   g = tanh(z_c)
        c_t = f c_{t-1} + i g;                                 h_t = o tanh(c_t)

    Output: h_T (N, u), or every h_t (N, T, u) with return_sequences. kernel (in, 4u), recurrent_kernel
    (u, 4u), bias (4u,) (its forget quarter starts at 1: unit_forget_bias, as Keras).

    Backward through time, t = T..1, with dh = dL/dh_t (from the output and from step t + 1):
        do = dh tanh(c_t);   dc = dc_{t+1} f_{t+1} + dh o (1 - tanh(c_t)^2)
        di = dc g;   dg = dc i;   df = dc c_{t-1}
        dz = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)]               (N, 4u)
        dh_{t-1} = dz recurrent_kernel^T
    then, over all steps at once (one product each): dL/drecurrent_kernel = sum_t h_{t-1}^T dz_t,
    dL/dkernel = sum_t x_t^T dz_t, dL/dbias = sum dz, dL/dx_t = dz_t kernel^T.
    """

    keras_cell = "cell"  # Keras's files keep the weights in the layer's LSTMCell (minidl.saving)

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer=None,
        return_sequences: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"LSTM '{self.name}': units must be a positive integer, got {units!r}")
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError(
                f"LSTM '{self.name}': minidl's LSTM has Keras's default activations (tanh, sigmoid); got "
                f"activation={activation!r}, recurrent_activation={recurrent_activation!r}"
            )
        self.units, self.activation, self.recurrent_activation = int(units), activation, recurrent_activation
        self.use_bias, self.unit_forget_bias, self.return_sequences = use_bias, unit_forget_bias, return_sequences
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[2] is None:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected (batch, steps, "
                f"features) with known features, found {input_shape}"
            )
        u = self.units
        kernel_shape = (input_shape[2], 4 * u)
        self.add_weight(kernel_shape, self.kernel_initializer, regularizer=self.kernel_regularizer, name="kernel")
        self.add_weight((u, 4 * u), self.recurrent_initializer, name="recurrent_kernel")
        if self.use_bias:
            bias = self.add_weight((4 * u,), self.bias_initializer, name="bias")
            if self.unit_forget_bias:
                bias[u : 2 * u] = initializers.get("ones")((u,), bias.dtype)

    def compute_output_shape(self, input_shape):
        n, steps, _ = input_shape
        return (n, steps, self.units) if self.return_sequences else (n, self.units)

    def forward(self, x, training=False):
        n, steps, _ = x.shape
        u, recurrent = self.units, self.params["recurrent_kernel"]
        z_inputs = x @ self.params["kernel"]  # (N, T, 4u): the input part of every step in one product
        if self.use_bias:
            z_inputs += self.params["bias"]
        h, c = np.zeros((n, u), x.dtype), np.zeros((n, u), x.dtype)
        self.x, self.steps = x, []
        self.outputs = outputs = np.empty((n, steps, u), x.dtype)  # every h_t, for the backward too
        for t in range(steps):
            z = z_inputs[:, t] + h @ recurrent
            i, f, o = sigmoid(z[:, :u]), sigmoid(z[:, u : 2 * u]), sigmoid(z[:, 3 * u :])
            g = np.tanh(z[:, 2 * u : 3 * u])
            c_previous = c
            c = f * c_previous + i * g
            tanh_c = np.tanh(c)
            h = o * tanh_c
            self.steps.append((i, f, g, o, c_previous, tanh_c))
            outputs[:, t] = h
        return outputs if self.return_sequences else h

    def backward(self, grad_output):
        n, steps, _ = self.x.shape
        u, recurrent = self.units, self.params["recurrent_kernel"]
        dz_all = np.empty((n, steps, 4 * u), grad_output.dtype)
        dh_next, dc_next = np.zeros((n, u), grad_output.dtype), np.zeros((n, u), grad_output.dtype)
        for t in reversed(range(steps)):
            i, f, g, o, c_previous, tanh_c = self.steps[t]
            dh = dh_next + (grad_output[:, t] if self.return_sequences else (grad_output if t == steps - 1 else 0))
            do = dh * tanh_c
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
            dz = dz_all[:, t]
            dz[:, :u] = dc * g * i * (1 - i)
            dz[:, u : 2 * u] = dc * c_previous * f * (1 - f)
            dz[:, 2 * u : 3 * u] = dc * i * (1 - g * g)
            dz[:, 3 * u :] = do * o * (1 - o)
            dh_next, dc_next = dz @ recurrent.T, dc * f
        dz2d = dz_all.reshape(n * steps, 4 * u)
        np.matmul(self.x.reshape(n * steps, -1).T, dz2d, out=self.grad_buffer("kernel"))
        h_previous = self.outputs[:, :-1].reshape(n * (steps - 1), u)  # h_1 .. h_{T-1}; h_0 = 0 adds nothing
        dz_after_first = dz_all[:, 1:].reshape(n * (steps - 1), 4 * u)
        np.matmul(h_previous.T, dz_after_first, out=self.grad_buffer("recurrent_kernel"))
        if self.use_bias:
            np.sum(dz2d, axis=0, out=self.grad_buffer("bias"))
        return dz_all @ self.params["kernel"].T if self.need_input_grad else None
