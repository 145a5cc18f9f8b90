"""GRU: Keras's gated recurrent unit layer, backpropagated through time."""

from __future__ import annotations

import numpy as np

from .recurrent import Recurrent, gate_products, gate_products_backward


class GRU(Recurrent):
    """Over the steps t of x (N, T, in), from h_0 = 0, the gates in Keras's order (z, r, h), s the
    recurrent_activation (sigmoid by default) and a the activation (tanh by default):

        [x_z, x_r, x_h] = x_t kernel + b_in                                  (N, 3u)
        [q_z, q_r, q_h] = h_{t-1} recurrent_kernel + b_rec                   (N, 3u)
        z = s(x_z + q_z);   r = s(x_r + q_r);   hh = a(x_h + r q_h)
        h_t = z h_{t-1} + (1 - z) hh

    That is reset_after=True (Keras's default): bias (2, 3u), rows b_in and b_rec. With reset_after=False
    the reset gate comes before the product: q_z, q_r as above without b_rec, hh = a(x_h + (r h_{t-1})
    recurrent_kernel_h), and one bias (3u,). Output: h_T (N, u), or every h_t with return_sequences.

    Backward through time, t = T..1, with dh = dL/dh_t (from the output and from step t + 1), s' and a'
    at each gate's pre-activation (s' = z (1 - z) for the sigmoid, a' = 1 - hh^2 for tanh):
        a_z = dh (h_{t-1} - hh) s'_z;   a_h = dh (1 - z) a'_h
        reset_after:  a_r = a_h q_h s'_r;   dq = [a_z, a_r, a_h r]    (the gradient of q)
                      dh_{t-1} = dh z + dq recurrent_kernel^T
        before:       e = a_h recurrent_kernel_h^T;   a_r = e h_{t-1} s'_r
                      dh_{t-1} = dh z + [a_z, a_r] recurrent_kernel_zr^T + e r
    with dz = [a_z, a_r, a_h] the gradient of the input side; then over all steps at once (Recurrent):
    dL/dkernel = sum_t x_t^T dz_t, dL/dx_t = dz_t kernel^T, dL/db_in = sum dz; reset_after:
    dL/drecurrent_kernel = sum_t h_{t-1}^T dq_t, dL/db_rec = sum dq; before: its z and r columns
    sum_t h_{t-1}^T [a_z, a_r], its h columns sum_t (r h_{t-1})^T a_h.
    """

    gates = 3

    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        reset_after: bool = True,
        **kwargs,
    ):
        super().__init__(units, **kwargs)
        self.set_activations(activation, recurrent_activation)
        self.reset_after = bool(reset_after)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def biases(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(b_in, b_rec): None where there is none."""
        bias = self.params.get("bias")
        if bias is None or not self.reset_after:
            return bias, None
        return bias[0], bias[1]

    def zr_and_h_masks(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """reset_after=False: the recurrent dropout masks of the z and r gates (2, N, u) and of the candidate
        (N, u), or None (no recurrent dropout)."""
        masks = self.recurrent_masks
        return (None, None) if masks is None else (masks[:2], masks[2])

    def run(self, x):
        u, recurrent, gate, activation = self.units, self.params["recurrent_kernel"], self.gate_function, self.function
        input_bias, recurrent_bias = self.biases()
        zr_masks, h_mask = self.zr_and_h_masks()
        x_all = self.input_projection(x, input_bias)  # (N, T, 3u)
        self.steps = []
        for t in range(x.shape[1]):
            h_previous, x_t = self.previous_state(t), x_all[:, t]
            if self.reset_after:
                q = self.recurrent_product(h_previous)
                if recurrent_bias is not None:
                    q += recurrent_bias
                q_h = q[:, 2 * u :]
                zr_in = x_t[:, : 2 * u] + q[:, : 2 * u]  # the z and r gates' pre-activations
                z, r = gate(zr_in[:, :u]), gate(zr_in[:, u:])
                h_in = x_t[:, 2 * u :] + r * q_h
            else:
                zr_in = x_t[:, : 2 * u] + gate_products(h_previous, zr_masks, recurrent[:, : 2 * u])
                z, r = gate(zr_in[:, :u]), gate(zr_in[:, u:])
                q_h = r * (h_previous if h_mask is None else h_previous * h_mask)  # times recurrent_kernel_h
                h_in = x_t[:, 2 * u :] + q_h @ recurrent[:, 2 * u :]
            hh = activation(h_in)
            self.outputs[:, t] = self.carry(t, z * h_previous + (1 - z) * hh, h_previous)
            self.steps.append((zr_in, z, r, h_in, hh, q_h))

    def backprop(self, dh_out, carry_grad=None):
        u, recurrent, gate, activation = self.units, self.params["recurrent_kernel"], self.gate_function, self.function
        zr_masks, h_mask = self.zr_and_h_masks()
        dz_all = np.empty((*dh_out.shape[:2], 3 * u), dh_out.dtype)
        dq_all = np.empty_like(dz_all) if self.reset_after else None
        dh_next = np.zeros_like(dh_out[:, 0])
        for t in reversed(range(dh_out.shape[1])):
            zr_in, z, r, h_in, hh, q_h = self.steps[t]
            h_previous = self.previous_state(t)
            dh, dh_skip = self.split_carry(t, dh_next + dh_out[:, t])  # a masked step: all to h_{t-1}
            dz = dz_all[:, t]
            dz[:, :u] = dh * (h_previous - hh) * gate.derivative(zr_in[:, :u], z)
            a_h = dz[:, 2 * u :] = dh * (1 - z) * activation.derivative(h_in, hh)
            if dq_all is not None:
                dz[:, u : 2 * u] = a_h * q_h * gate.derivative(zr_in[:, u:], r)
                dq = dq_all[:, t]
                dq[:, : 2 * u], dq[:, 2 * u :] = dz[:, : 2 * u], a_h * r
                dh_next = dh * z + self.recurrent_backprop(dq)
            else:
                e = a_h @ recurrent[:, 2 * u :].T
                h_candidate = h_previous if h_mask is None else h_previous * h_mask  # the candidate's h_{t-1}
                dz[:, u : 2 * u] = e * h_candidate * gate.derivative(zr_in[:, u:], r)
                through_h = e * r if h_mask is None else e * r * h_mask
                dh_next = dh * z + gate_products_backward(dz[:, : 2 * u], zr_masks, recurrent[:, : 2 * u]) + through_h
            if dh_skip is not None:
                dh_next += dh_skip
        self.initial_state_grads = [dh_next]  # dL/dh_0
        self.recurrent_gradients(dz_all, dq_all)
        return self.kernel_gradients(dz_all)

    def recurrent_gradients(self, dz_all: np.ndarray, dq_all: np.ndarray | None) -> None:
        """dL/drecurrent_kernel and dL/dbias after the loop (see the class docstring)."""
        u, recurrent_grad = self.units, self.grad_buffer("recurrent_kernel")
        if dq_all is not None:
            np.copyto(recurrent_grad, self.recurrent_kernel_gradient(dq_all, self.recurrent_masks))
        else:
            zr_masks, _ = self.zr_and_h_masks()
            reset_states = np.stack([step[-1] for step in self.steps], axis=1)  # r h_{t-1}, (N, T, u)
            recurrent_grad[:, : 2 * u] = self.recurrent_kernel_gradient(dz_all[:, :, : 2 * u], zr_masks)
            recurrent_grad[:, 2 * u :] = self.recurrent_kernel_gradient(dz_all[:, :, 2 * u :], None, reset_states)
        if self.use_bias:
            bias_grad = self.grad_buffer("bias")  # (2, 3u): b_in's row, then b_rec's; else (3u,)
            np.sum(dz_all.reshape(-1, 3 * u), axis=0, out=bias_grad[0] if dq_all is not None else bias_grad)
            if dq_all is not None:
                np.sum(dq_all.reshape(-1, 3 * u), axis=0, out=bias_grad[1])
