"""What the recurrent layers (SimpleRNN, GRU, LSTM) share: their weights, the time axis, the gradients
after the loop. Each layer's own step, forward and backward through time, is in its file."""

from __future__ import annotations

import numpy as np

from .. import constraints, regularizers
from ..shapes import format_shape
from .base import Layer


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|, the logistic function exactly


class Recurrent(Layer):
    """A layer that runs a step over the time axis of x (N, T, in), from h_0 = 0, with Keras's weights

        kernel (in, G u),   recurrent_kernel (u, G u),   bias (G u,) (a GRU's: (2, G u))

    for G gates of u units each. Output: h_T (N, u), or every h_t (N, T, u) with return_sequences. With
    go_backwards the steps run from the last time step to the first, and the sequence returned is in
    that order (as Keras).

    A subclass writes `run(x)`, which fills self.outputs (N, T, u) with every h_t and keeps what its
    backward needs, and `backprop(dL/dh_t for every t)`, which returns dL/dx (or None). The gradients
    that do not depend on the step order are taken after the loop, one product each, from dz (N, T, G u),
    the gradients of the steps' pre-activations:
        dL/dkernel = sum_t x_t^T dz_t,   dL/dx_t = dz_t kernel^T,
        dL/drecurrent_kernel = sum_t h_{t-1}^T dz_t   (h_0 = 0 adds nothing).
    """

    gates = 1
    keras_cell = "cell"  # Keras's files keep the weights in the layer's cell (minidl.saving)

    def __init__(
        self,
        units: int,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        go_backwards: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': units must be a positive integer, got {units!r}")
        if dropout or recurrent_dropout:  # Keras's arguments, taken with their "not used" value
            raise ValueError(
                f"{type(self).__name__} '{self.name}': dropout and recurrent_dropout are not supported by minidl "
                f"yet, got dropout={dropout!r}, recurrent_dropout={recurrent_dropout!r}; a Dropout or "
                f"SpatialDropout1D layer before the recurrent layer drops its inputs"
            )
        self.dropout, self.recurrent_dropout = 0.0, 0.0
        self.units, self.use_bias = int(units), use_bias
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.return_sequences, self.go_backwards = return_sequences, go_backwards

    def set_gate_activations(self, activation, recurrent_activation) -> None:
        """A gated layer's (LSTM's, GRU's) activations: Keras's defaults, tanh and sigmoid, are what minidl has."""
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise ValueError(
                f"{type(self).__name__} '{self.name}': minidl's {type(self).__name__} has Keras's default "
                f"activations (tanh, sigmoid); got activation={activation!r}, "
                f"recurrent_activation={recurrent_activation!r}"
            )
        self.activation, self.recurrent_activation = activation, recurrent_activation

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[2] is None:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected (batch, steps, "
                f"features) with known features, found {format_shape(input_shape)}"
            )
        width = self.gates * self.units
        kernel_shape = (input_shape[2], width)
        for name, shape, initializer, regularizer, constraint in (
            ("kernel", kernel_shape, self.kernel_initializer, self.kernel_regularizer, self.kernel_constraint),
            (
                "recurrent_kernel",
                (self.units, width),
                self.recurrent_initializer,
                self.recurrent_regularizer,
                self.recurrent_constraint,
            ),
            ("bias", self.bias_shape(), self.bias_initializer, self.bias_regularizer, self.bias_constraint),
        ):
            if name != "bias" or self.use_bias:
                self.add_weight(shape, initializer, regularizer=regularizer, constraint=constraint, name=name)

    def compute_output_shape(self, input_shape):
        n, steps, _ = input_shape
        return (n, steps, self.units) if self.return_sequences else (n, self.units)

    def forward(self, x, training=False):
        self.x = x[:, ::-1] if self.go_backwards else x
        n, steps, _ = x.shape
        self.outputs = np.empty((n, steps, self.units), x.dtype)  # every h_t, for the backward too
        self.run(self.x)
        return self.outputs if self.return_sequences else self.outputs[:, -1].copy()

    def backward(self, grad_output):
        if self.return_sequences:
            dh = grad_output
        else:  # only h_T is an output
            dh = np.zeros(self.outputs.shape, grad_output.dtype)
            dh[:, -1] = grad_output
        dx = self.backprop(dh)
        return dx[:, ::-1] if dx is not None and self.go_backwards else dx

    def run(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def backprop(self, dh: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def input_projection(self, x: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """x_t kernel + bias for every step at once (N, T, G u): one product."""
        projected = x @ self.params["kernel"]
        if bias is not None:
            projected += bias
        return projected

    def kernel_gradients(self, dz: np.ndarray) -> np.ndarray | None:
        """dL/dkernel = sum_t x_t^T dz_t into its gradient; returns dL/dx = dz kernel^T (None if not needed)."""
        n, steps, width = dz.shape
        np.matmul(self.x.reshape(n * steps, -1).T, dz.reshape(n * steps, width), out=self.grad_buffer("kernel"))
        return dz @ self.params["kernel"].T if self.need_input_grad else None

    def recurrent_kernel_gradient(self, dz: np.ndarray, h_previous: np.ndarray | None = None) -> np.ndarray:
        """sum_t h_{t-1}^T dz_t (u, width) over t >= 2 (h_0 = 0), h_{t-1} from self.outputs (or
        `h_previous`, (N, T, u), what multiplies the recurrent kernel at each step if not h_{t-1})."""
        n, steps, width = dz.shape
        if h_previous is None:
            inputs = self.outputs[:, :-1].reshape(n * (steps - 1), self.units)  # h_1 .. h_{T-1}
        else:
            inputs = h_previous[:, 1:].reshape(n * (steps - 1), self.units)
        return inputs.T @ dz[:, 1:].reshape(n * (steps - 1), width)

    def weight_gradients(self, dz: np.ndarray) -> np.ndarray | None:
        """Every weight's gradient after the loop, for a layer whose steps' pre-activations z_t = x_t kernel
        + h_{t-1} recurrent_kernel + bias have the gradients dz (N, T, G u) (LSTM, SimpleRNN): dL/dbias =
        sum dz; returns dL/dx (None if not needed)."""
        np.copyto(self.grad_buffer("recurrent_kernel"), self.recurrent_kernel_gradient(dz))
        if self.use_bias:
            np.sum(dz.reshape(-1, dz.shape[2]), axis=0, out=self.grad_buffer("bias"))
        return self.kernel_gradients(dz)

    def previous_state(self, t: int) -> np.ndarray:
        """h_{t-1} of step t (0-based): zeros before the first step."""
        return self.outputs[:, t - 1] if t > 0 else np.zeros((len(self.outputs), self.units), self.outputs.dtype)
