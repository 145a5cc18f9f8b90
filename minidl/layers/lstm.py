"""LSTM: Keras's long short-term memory layer, backpropagated through time."""

from __future__ import annotations

import numpy as np

from .. import initializers
from .recurrent import Recurrent


class LSTM(Recurrent):
    """Over the steps t of x (N, T, in), with h_0 = c_0 = 0 and the gates in Keras's order (i, f, c, o),
    s the recurrent_activation (sigmoid by default) and a the activation (tanh by default):

        z_t = x_t kernel + h_{t-1} recurrent_kernel + bias              (N, 4u)
        i, f, o = s(z_i), s(z_f), s(z_o);   g = a(z_c)
        c_t = f c_{t-1} + i g;               h_t = o a(c_t)

    Output: h_T (N, u), or every h_t (N, T, u) with return_sequences. kernel (in, 4u), recurrent_kernel
    (u, 4u), bias (4u,) (its forget quarter starts at 1: unit_forget_bias, as Keras).

    Backward through time, t = T..1, with dh = dL/dh_t (from the output and from step t + 1):
        do = dh a(c_t);   dc = dc_{t+1} f_{t+1} + dh o a'(c_t)
        di = dc g;   dg = dc i;   df = dc c_{t-1}
        dz = [di s'(z_i), df s'(z_f), dg a'(z_c), do s'(z_o)]               (N, 4u)
        dh_{t-1} = dz recurrent_kernel^T
    (s' = s (1 - s) and a' = 1 - a^2 for the defaults), then, over all steps at once (one product each, see
    Recurrent): dL/drecurrent_kernel = sum_t h_{t-1}^T dz_t, dL/dkernel = sum_t x_t^T dz_t, dL/dbias =
    sum dz, dL/dx_t = dz_t kernel^T.
    """

    gates = 4
    state_names = ("h", "c")

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        unit_forget_bias: bool = True,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.set_activations(activation, recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            u = self.units
            self.params["bias"][u : 2 * u] = initializers.get("ones")((u,), self.params["bias"].dtype)

    def run(self, x):
        u, gate, activation = self.units, self.gate_function, self.function
        z_inputs = self.input_projection(x, self.params.get("bias"))  # (N, T, 4u)
        h, c = self.previous_state(0), self.previous_state(0, which=1)
        self.steps = []
        for t in range(x.shape[1]):
            z = z_inputs[:, t] + self.recurrent_product(h)
            i, f, o = gate(z[:, :u]), gate(z[:, u : 2 * u]), gate(z[:, 3 * u :])  # contiguous: faster in small u
            g = activation(z[:, 2 * u : 3 * u])
            c_previous = c
            c = f * c_previous + i * g
            activated_c = activation(c)
            h = self.outputs[:, t] = self.carry(t, o * activated_c, h)
            self.steps.append((z, i, f, g, o, c_previous, c, activated_c))
            c = self.carry(t, c, c_previous)
        self.cell_state = c  # c_T

    def final_states(self):
        return [self.outputs[:, -1].copy(), self.cell_state.copy()]  # h_T, c_T

    def backprop(self, dh_out, carry_grad=None):
        u, gate, activation = self.units, self.gate_function, self.function
        dz_all = np.empty((*dh_out.shape[:2], 4 * u), dh_out.dtype)
        dh_next = np.zeros_like(dh_out[:, 0])
        dc_next = np.zeros_like(dh_out[:, 0]) if carry_grad is None else carry_grad
        for t in reversed(range(dh_out.shape[1])):
            z, i, f, g, o, c_previous, c, activated_c = self.steps[t]
            dh, dh_skip = self.split_carry(t, dh_next + dh_out[:, t])  # a masked step: all to h_{t-1}
            dc, dc_skip = self.split_carry(t, dc_next)
            dc = dc + dh * o * activation.derivative(c, activated_c)
            dz = dz_all[:, t]
            dz[:, :u] = dc * g * gate.derivative(z[:, :u], i)
            dz[:, u : 2 * u] = dc * c_previous * gate.derivative(z[:, u : 2 * u], f)
            dz[:, 2 * u : 3 * u] = dc * i * activation.derivative(z[:, 2 * u : 3 * u], g)
            dz[:, 3 * u :] = dh * activated_c * gate.derivative(z[:, 3 * u :], o)
            dh_next, dc_next = self.recurrent_backprop(dz), dc * f
            if dh_skip is not None and dc_skip is not None:
                dh_next, dc_next = dh_next + dh_skip, dc_next + dc_skip
        self.initial_state_grads = [dh_next, dc_next]  # dL/dh_0, dL/dc_0
        return self.weight_gradients(dz_all)
