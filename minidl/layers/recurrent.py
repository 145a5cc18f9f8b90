"""What the recurrent layers (SimpleRNN, GRU, LSTM) share: their weights, the time axis, the gradients
after the loop. Each layer's own step, forward and backward through time, is in its file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import activations, constraints, regularizers
from ..arguments import check_fraction
from ..backend import make_rng
from ..masking import sequence_mask
from ..shapes import format_shape
from .base import Layer
from .dropout import dropout_mask
from .symbolic import is_symbolic


class GateSigmoid(activations.Sigmoid):
    """The logistic function as 0.5 (1 + tanh(z / 2)): fewer passes than Sigmoid's, stable for large |z|
    (a gate near 0 loses the relative precision of a tiny value, which a gate does not need)."""

    def __call__(self, x):
        return 0.5 * (1.0 + np.tanh(0.5 * x))


def elementwise_activation(owner: str, argument: str, activation) -> tuple[str, activations.ElementwiseActivation]:
    """(Keras's name, the function) of a recurrent layer's `activation` or `recurrent_activation`: the name
    of an element-wise activation, one of minidl.activations' functions, or None (linear)."""
    name = "linear" if activation is None else activation
    if callable(activation) and getattr(activation, "__module__", None) == activations.__name__:
        name = activation.__name__  # minidl.activations.relu -> "relu"
    if not isinstance(name, str) or name not in activations.ELEMENTWISE:
        raise ValueError(
            f"{owner}: {argument} must be the name of an element-wise activation "
            f"({', '.join(sorted(activations.ELEMENTWISE))}) or None, got {activation!r}"
        )
    return name, GateSigmoid() if name == "sigmoid" else activations.ELEMENTWISE[name]()


# Dropout masks in a recurrent layer: None (none drawn), or an array of one mask shared by every gate or
# of one mask per gate, each broadcast against what it multiplies. The three maps below are the product
# of the masked a with a weight of G gates' columns, its gradient with respect to a, and the weight's.


def gate_products(a: np.ndarray, masks: np.ndarray | None, weight: np.ndarray) -> np.ndarray:
    """(..., G u): a (..., d) times weight (d, G u), gate g's columns taking a * masks[g] (or the one mask)."""
    if masks is None:
        return a @ weight
    if len(masks) == 1:
        return (a * masks[0]) @ weight
    columns = np.split(weight, len(masks), axis=1)
    return np.concatenate([(a * mask) @ w for mask, w in zip(masks, columns)], axis=-1)


def gate_products_backward(d: np.ndarray, masks: np.ndarray | None, weight: np.ndarray) -> np.ndarray:
    """(..., d): the gradient of gate_products with respect to a, from d (..., G u), its output's:
    sum_g (d_g weight_g^T) masks[g]."""
    if masks is None:
        return d @ weight.T
    if len(masks) == 1:
        return (d @ weight.T) * masks[0]
    gates = zip(masks, np.split(d, len(masks), axis=-1), np.split(weight, len(masks), axis=1))
    total = np.zeros((*d.shape[:-1], weight.shape[0]), d.dtype)
    for mask, d_gate, w in gates:
        total += (d_gate @ w.T) * mask
    return total


def gate_weight_gradient(a: np.ndarray, masks: np.ndarray | None, d: np.ndarray) -> np.ndarray:
    """(d, G u): the gradient of gate_products with respect to weight, summed over the leading axes:
    gate g's columns sum (a masks[g])^T d_g."""

    def rows(v: np.ndarray) -> np.ndarray:
        return v.reshape(-1, v.shape[-1])

    if masks is None or len(masks) == 1:
        return rows(a if masks is None else a * masks[0]).T @ rows(d)
    parts = zip(masks, np.split(d, len(masks), axis=-1))
    return np.concatenate([rows(a * mask).T @ rows(d_gate) for mask, d_gate in parts], axis=1)


def check_state(layer: Layer, shape: tuple, batch: int | None, units: int) -> None:
    if len(shape) != 2 or shape[1] != units or (batch is not None and shape[0] != batch):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': each initial state must be (batch, units) = "
            f"({'batch' if batch is None else batch}, {units}), got {format_shape(shape)}"
        )


def call_with_states(layer: Layer, x, training: bool | None, initial_state, names: Sequence[str], units: int):
    """layer(x, initial_state=...) for a recurrent layer (or a Bidirectional, its states the two
    directions'): the states checked, then a symbolic call recording them as the keyword's inputs, or the
    forward pass on [x, *states]."""
    if initial_state is None:
        return Layer.__call__(layer, x, training)
    states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
    if len(states) != len(names):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': initial_state must be {len(names)} state(s) "
            f"({', '.join(names)}), each (batch, {units}); got {len(states)}"
        )
    if is_symbolic(x) or is_symbolic(states):
        if not (is_symbolic(x) and is_symbolic(states)):
            raise TypeError(
                f"{type(layer).__name__} '{layer.name}': x and initial_state must be both symbolic tensors "
                "or both arrays"
            )
        for state in states:
            check_state(layer, state.shape, None, units)
        return layer._call_symbolic(x, training, keyword_inputs=("initial_state", states))
    x = layer.prepared(x)
    return layer.forward([x, *(np.asarray(state, dtype=x.dtype) for state in states)], bool(training))


class Recurrent(Layer):
    """A layer that runs a step over the time axis of x (N, T, in), from h_0 = 0, with Keras's weights

        kernel (in, G u),   recurrent_kernel (u, G u),   bias (G u,) (a GRU's: (2, G u))

    for G gates of u units each. Output: h_T (N, u), or every h_t (N, T, u) with return_sequences. With
    go_backwards the steps run from the last time step to the first, and the sequence returned is in
    that order (as Keras).

    Dropout (Keras's, in training only): masks of 0 or 1/(1 - rate) drawn once per batch and used at every
    step, `dropout` on x_t (N, in) and `recurrent_dropout` on h_{t-1} (N, u) where it multiplies the
    recurrent kernel (the GRU's carry z h_{t-1} keeps h_{t-1} whole). With recurrent_dropout a gated layer
    draws a mask per gate for each (Keras's implementation 1), else one input mask serves all the gates.
    The gradients take each gate's masked x_t and h_{t-1} (gate_products and its two gradients).

    States (Keras's): `layer(x, initial_state=[h_0])` ([h_0, c_0] for an LSTM, each (N, u)) starts from
    them instead of zeros, and their gradients come back after dL/dx; with return_state the output is
    [output, h_T] ([output, h_T, c_T]), the states' gradients joining the last step's.

    Masks (minidl.masking; Keras's): with a mask m (N, T) a masked step leaves the states as they were,
    h_t = h_{t-1} (and c_t = c_{t-1}), which the step's `carry` does; its output is the last unmasked
    step's h (0 before the first one), or 0 with zero_output_for_mask (a Bidirectional's, with
    return_sequences). Backward, `split_carry` sends a masked step's state gradient straight to t - 1.

    A subclass writes `run(x)`, which fills self.outputs (N, T, u) with every h_t and keeps what its
    backward needs, and `backprop(dL/dh_t for every t, dL/dc_T)`, which returns dL/dx (or None) and leaves
    the initial states' gradients in self.initial_state_grads. The gradients that do not depend on the step
    order are taken after the loop, one product each, from dz (N, T, G u), the gradients of the steps'
    pre-activations:
        dL/dkernel = sum_t x_t^T dz_t,   dL/dx_t = dz_t kernel^T,
        dL/drecurrent_kernel = sum_t h_{t-1}^T dz_t   (a zero h_0 adds nothing).
    """

    gates = 1
    state_names: tuple[str, ...] = ("h",)  # the states a step carries (an LSTM's: h and c)
    keras_cell = "cell"  # Keras's files keep the weights in the layer's cell (minidl.saving)
    supports_masking = True  # takes a mask; passes it on with return_sequences

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
        seed=None,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"{owner}: units must be a positive integer, got {units!r}")
        self.dropout = check_fraction(owner, "dropout", dropout)
        self.recurrent_dropout = check_fraction(owner, "recurrent_dropout", recurrent_dropout)
        self.seed, self.rng = seed, make_rng(seed)
        self.input_masks: np.ndarray | None = None
        self.recurrent_masks: np.ndarray | None = None
        self.unroll = bool(unroll)  # Keras's hint to unroll the loop in its graph: the same values, minidl loops
        self.units, self.use_bias = int(units), use_bias
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.step_mask: np.ndarray | None = None  # the last forward's mask (N, T), in the steps' order
        self.output_kept: np.ndarray | None = None  # where the output sequence holds h_t, not 0 (with a mask)
        self.initial_states: list[np.ndarray] | None = None  # the last forward pass's, if given
        self.initial_state_grads: list[np.ndarray] = []

    def set_activations(self, activation, recurrent_activation=None) -> None:
        """The layer's `activation` (its function `self.function`) and a gated layer's (LSTM's, GRU's)
        `recurrent_activation`, its gates' (`self.gate_function`): any element-wise activations."""
        owner = f"{type(self).__name__} '{self.name}'"
        self.activation, self.function = elementwise_activation(owner, "activation", activation)
        if self.gates > 1:
            self.recurrent_activation, self.gate_function = elementwise_activation(
                owner, "recurrent_activation", recurrent_activation
            )

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
        output = (n, steps, self.units) if self.return_sequences else (n, self.units)
        return [output, *[(n, self.units)] * len(self.state_names)] if self.return_state else output

    def __call__(self, x, training: bool | None = None, initial_state=None):
        """As Layer's; `initial_state`: the states to start from instead of zeros, a list (an LSTM's
        [h_0, c_0]) of arrays or of symbolic tensors, each (N, units)."""
        return call_with_states(self, x, training, initial_state, self.state_names, self.units)

    def compute_mask(self, inputs, mask=None):
        """Keras's: the input's mask with return_sequences, else none; none for the states."""
        output_mask = mask if self.return_sequences else None
        return [output_mask, *[None] * len(self.state_names)] if self.return_state else output_mask

    def forward(self, x, training=False, mask=None):
        x, states = (x[0], x[1:]) if isinstance(x, list) else (x, [])
        for state in states:
            check_state(self, state.shape, len(x), self.units)
        self.initial_states = [state.astype(x.dtype, copy=False) for state in states] or None
        self.x = x[:, ::-1] if self.go_backwards else x
        self.step_mask = None if mask is None else sequence_mask(x, mask, f"{type(self).__name__} '{self.name}'")
        if self.step_mask is not None and self.go_backwards:
            self.step_mask = self.step_mask[:, ::-1]
        self.input_masks, self.recurrent_masks = self.dropout_masks(x) if training else (None, None)
        n, steps, _ = x.shape
        self.outputs = np.empty((n, steps, self.units), x.dtype)  # every h_t (the state), for the backward too
        self.run(self.x)
        sequence, self.output_kept = self.outputs, None
        if self.step_mask is not None:
            kept = self.step_mask  # with zero_output_for_mask; else from the first unmasked step on
            self.output_kept = kept if self.zero_output_for_mask else np.logical_or.accumulate(kept, axis=1)
            sequence = np.where(self.output_kept[..., None], self.outputs, 0).astype(x.dtype, copy=False)
        output = sequence if self.return_sequences else sequence[:, -1].copy()
        return [output, *self.final_states()] if self.return_state else output

    def carry(self, t: int, new: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """A state after step t: `new`, or `previous` for the samples whose step t is masked."""
        return new if self.step_mask is None else np.where(self.step_mask[:, t, None], new, previous)

    def split_carry(self, t: int, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A state's gradient after step t, split into the step's own (0 where masked) and what a masked
        step carries straight to step t - 1 (None without a mask)."""
        if self.step_mask is None:
            return grad, None
        kept = self.step_mask[:, t, None]
        return np.where(kept, grad, 0), np.where(kept, 0, grad)

    def final_states(self) -> list[np.ndarray]:
        """The states after the last step: [h_T] (an LSTM adds c_T)."""
        return [self.outputs[:, -1].copy()]

    def backward(self, grad_output):
        state_grads: list = []
        if self.return_state:  # [dL/doutput, dL/dh_T (, dL/dc_T)], None where no loss reads one
            grad_output, *state_grads = grad_output
        if self.return_sequences and grad_output is not None:
            dh = grad_output.copy() if state_grads and state_grads[0] is not None else grad_output
        else:  # only h_T is an output
            dh = np.zeros(self.outputs.shape, self.outputs.dtype)
            if grad_output is not None:
                dh[:, -1] = grad_output
        if self.output_kept is not None:  # the output held 0, not the state, at these steps
            dh = np.where(self.output_kept[..., None], dh, 0).astype(dh.dtype, copy=False)
        if state_grads and state_grads[0] is not None:
            dh[:, -1] += state_grads[0]
        dx = self.backprop(dh, state_grads[1] if len(state_grads) > 1 else None)
        if dx is not None and self.go_backwards:
            dx = dx[:, ::-1]
        return [dx, *self.initial_state_grads] if self.initial_states else dx

    def run(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def backprop(self, dh: np.ndarray, carry_grad: np.ndarray | None = None) -> np.ndarray | None:
        """dL/dx from dh (N, T, u), every h_t's gradient from the outputs, and an LSTM's dL/dc_T."""
        raise NotImplementedError

    def dropout_masks(self, x: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(input masks (G', N, 1, in), recurrent masks (G', N, u)), each None at rate 0; G' = G with
        recurrent_dropout in a gated layer, else 1."""
        n, _, features = x.shape
        per_gate = self.gates if self.recurrent_dropout else 1
        return (
            dropout_mask(self.rng, (per_gate, n, 1, features), self.dropout, x.dtype) if self.dropout else None,
            dropout_mask(self.rng, (per_gate, n, self.units), self.recurrent_dropout, x.dtype)
            if self.recurrent_dropout
            else None,
        )

    def recurrent_product(self, h: np.ndarray) -> np.ndarray:
        """h_{t-1} recurrent_kernel (N, G u), each gate's h_{t-1} through its dropout mask."""
        return gate_products(h, self.recurrent_masks, self.params["recurrent_kernel"])

    def recurrent_backprop(self, dz: np.ndarray) -> np.ndarray:
        """The gradient of recurrent_product with respect to h_{t-1} (N, u), from dz (N, G u)."""
        return gate_products_backward(dz, self.recurrent_masks, self.params["recurrent_kernel"])

    def input_projection(self, x: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """x_t kernel + bias for every step at once (N, T, G u): one product (one per gate with masks)."""
        projected = gate_products(x, self.input_masks, self.params["kernel"])
        if bias is not None:
            projected += bias
        return projected

    def kernel_gradients(self, dz: np.ndarray) -> np.ndarray | None:
        """dL/dkernel = sum_t x_t^T dz_t into its gradient; returns dL/dx = dz kernel^T (None if not needed)."""
        np.copyto(self.grad_buffer("kernel"), gate_weight_gradient(self.x, self.input_masks, dz))
        return gate_products_backward(dz, self.input_masks, self.params["kernel"]) if self.need_input_grad else None

    def recurrent_kernel_gradient(
        self, dz: np.ndarray, masks: np.ndarray | None, h_previous: np.ndarray | None = None
    ) -> np.ndarray:
        """sum_t (h_{t-1} masks)^T dz_t (u, width), h_{t-1} from self.outputs (or `h_previous`, (N, T, u),
        what multiplies the recurrent kernel at each step if not h_{t-1}); over t >= 2 from a zero h_0."""
        initial, first = self.initial_states, 0 if self.initial_states else 1
        if h_previous is None:
            h_previous = self.outputs[:, :-1]  # h_1 .. h_{T-1}
            if initial:
                h_previous = np.concatenate([initial[0][:, None], h_previous], axis=1)
        else:
            h_previous = h_previous[:, first:]
        return gate_weight_gradient(h_previous, None if masks is None else masks[:, :, None], dz[:, first:])

    def weight_gradients(self, dz: np.ndarray) -> np.ndarray | None:
        """Every weight's gradient after the loop, for a layer whose steps' pre-activations z_t = x_t kernel
        + h_{t-1} recurrent_kernel + bias have the gradients dz (N, T, G u) (LSTM, SimpleRNN): dL/dbias =
        sum dz; returns dL/dx (None if not needed)."""
        np.copyto(self.grad_buffer("recurrent_kernel"), self.recurrent_kernel_gradient(dz, self.recurrent_masks))
        if self.use_bias:
            np.sum(dz.reshape(-1, dz.shape[2]), axis=0, out=self.grad_buffer("bias"))
        return self.kernel_gradients(dz)

    def previous_state(self, t: int, which: int = 0) -> np.ndarray:
        """h_{t-1} of step t (0-based): before the first step, the initial state (`which`: 1 for an
        LSTM's c_0) or zeros."""
        if t > 0:
            return self.outputs[:, t - 1]
        if self.initial_states:
            return self.initial_states[which]
        return np.zeros((len(self.outputs), self.units), self.outputs.dtype)
