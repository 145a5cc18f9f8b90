"""LSTM: Keras's long short-term memory layer, backpropagated through time."""

from __future__ import annotations

import numpy as np

from .. import initializers
from .recurrent import Recurrent, sigmoid


class LSTM(Recurrent):
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
    then, over all steps at once (one product each, see Recurrent): dL/drecurrent_kernel = sum_t
    h_{t-1}^T dz_t, dL/dkernel = sum_t x_t^T dz_t, dL/dbias = sum dz, dL/dx_t = dz_t kernel^T.
    """

    gates = 4

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.set_gate_activations(activation, recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            u = self.units
            self.params["bias"][u : 2 * u] = initializers.get("ones")((u,), self.params["bias"].dtype)

    def run(self, x):
        u = self.units
        z_inputs = self.input_projection(x, self.params.get("bias"))  # (N, T, 4u)
        h, c = self.previous_state(0), self.previous_state(0)
        self.steps = []
        for t in range(x.shape[1]):
            z = z_inputs[:, t] + self.recurrent_product(h)
            i, f, o = sigmoid(z[:, :u]), sigmoid(z[:, u : 2 * u]), sigmoid(z[:, 3 * u :])
            g = np.tanh(z[:, 2 * u : 3 * u])
            c_previous = c
            c = f * c_previous + i * g
            tanh_c = np.tanh(c)
            h = self.outputs[:, t] = o * tanh_c
            self.steps.append((i, f, g, o, c_previous, tanh_c))

    def backprop(self, dh_out):
        u = self.units
        dz_all = np.empty((*dh_out.shape[:2], 4 * u), dh_out.dtype)
        dh_next, dc_next = np.zeros_like(dh_out[:, 0]), np.zeros_like(dh_out[:, 0])
        for t in reversed(range(dh_out.shape[1])):
            i, f, g, o, c_previous, tanh_c = self.steps[t]
            dh = dh_next + dh_out[:, t]
            do = dh * tanh_c
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
            dz = dz_all[:, t]
            dz[:, :u] = dc * g * i * (1 - i)
            dz[:, u : 2 * u] = dc * c_previous * f * (1 - f)
            dz[:, 2 * u : 3 * u] = dc * i * (1 - g * g)
            dz[:, 3 * u :] = do * o * (1 - o)
            dh_next, dc_next = self.recurrent_backprop(dz), dc * f
        return self.weight_gradients(dz_all)
