"""SimpleRNN: Keras's fully-connected recurrent layer, backpropagated through time."""

from __future__ import annotations

import numpy as np

from .recurrent import Recurrent


class SimpleRNN(Recurrent):
    """Over the steps t of x (N, T, in), from h_0 = 0, with f the activation (tanh by default):

        a_t = x_t kernel + h_{t-1} recurrent_kernel + bias               (N, u)
        h_t = f(a_t)

    Output: h_T (N, u), or every h_t (N, T, u) with return_sequences. kernel (in, u), recurrent_kernel
    (u, u), bias (u,).

    Backward through time, t = T..1, with dh = dL/dh_t (from the output and from step t + 1):
        dz_t = dh f'(a_t);   dh_{t-1} = dz_t recurrent_kernel^T
    then, over all steps at once (one product each, see Recurrent): dL/drecurrent_kernel = sum_t
    h_{t-1}^T dz_t, dL/dkernel = sum_t x_t^T dz_t, dL/dbias = sum dz, dL/dx_t = dz_t kernel^T.
    """

    not_in_config = ("seed",)  # as Keras's SimpleRNN, which keeps its seed in its cell's config only

    def __init__(self, units: int, activation="tanh", **kwargs):
        super().__init__(units, **kwargs)
        self.set_activations(activation)

    def run(self, x):
        self.pre_activations = self.input_projection(x, self.params.get("bias"))  # (N, T, u), a_t in place
        for t in range(x.shape[1]):
            a, h_previous = self.pre_activations[:, t], self.previous_state(t)
            if t > 0 or self.initial_states:  # a zero h_0 adds nothing
                a += self.recurrent_product(h_previous)
            self.outputs[:, t] = self.carry(t, self.function(a), h_previous)

    def backprop(self, dh_out, carry_grad=None):
        dz_all = np.empty_like(dh_out)
        dh_next = np.zeros_like(dh_out[:, 0])
        for t in reversed(range(dh_out.shape[1])):
            dh, dh_skip = self.split_carry(t, dh_next + dh_out[:, t])  # a masked step: all to h_{t-1}
            dz = dz_all[:, t] = dh * self.function.derivative(self.pre_activations[:, t], self.outputs[:, t])
            dh_next = self.recurrent_backprop(dz)
            if dh_skip is not None:
                dh_next += dh_skip
        self.initial_state_grads = [dh_next]  # dL/dh_0
        return self.weight_gradients(dz_all)
