"""Bidirectional: a recurrent layer run forwards and a copy of it run backwards over the same sequence."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..serializable import keras_object, supported_arguments
from .base import Layer
from .gru import GRU
from .lstm import LSTM
from .recurrent import Recurrent, call_with_states
from .simple_rnn import SimpleRNN

RECURRENT_LAYERS = {cls.__name__: cls for cls in (LSTM, GRU, SimpleRNN)}  # what a config may name
MERGE_MODES = ("concat", "sum", "ave", "mul")


def renamed_copy(layer: Recurrent, prefix: str, **changes: Any) -> Recurrent:
    """A fresh layer with `layer`'s config, named prefix + its name (as Keras: no weights carried over)."""
    name = layer.name[len(prefix) :] if layer.name.startswith(prefix) else layer.name
    copy = type(layer).from_config({**layer.get_config(), "name": prefix + name, **changes})
    assert isinstance(copy, Recurrent)
    return copy


class Bidirectional(Layer):
    """y_f = forward_layer(x), y_b = backward_layer(x) (the same layer with go_backwards: its steps from
    the last to the first; with return_sequences its outputs are flipped back to the input's order), and

        concat: y = [y_f, y_b] (last axis, 2u);   sum: y_f + y_b;   ave: (y_f + y_b) / 2;   mul: y_f y_b

    Shapes: x (N, T, in) -> y (N, 2u) or (N, u) (return_sequences: (N, T, 2u) or (N, T, u)). Weights: the
    forward layer's, then the backward layer's (Keras's order). Backward, with g = dL/dy:
        concat: g_f, g_b = the two halves of g;   sum: g, g;   ave: g / 2, g / 2;   mul: g y_b, g y_f
    (g_b flipped in time with return_sequences), then dL/dx = the two layers' input gradients added.
    A mask (minidl.masking) goes to both layers; with return_sequences their masked steps' outputs are 0.
    """

    supports_masking = True

    def __init__(self, layer: Recurrent, merge_mode: str = "concat", backward_layer: Recurrent | None = None, **kwargs):
        super().__init__(**kwargs)
        owner = f"Bidirectional '{self.name}'"
        for name, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is not None and not isinstance(value, Recurrent):
                raise ValueError(
                    f"{owner}: {name} must be one of minidl's recurrent layers ({', '.join(RECURRENT_LAYERS)}), "
                    f"got {value!r}"
                )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"{owner}: merge_mode must be one of {MERGE_MODES} (None, two outputs, is not supported by "
                f"minidl), got {merge_mode!r}"
            )
        self.merge_mode = merge_mode
        self.forward_layer = renamed_copy(layer, "forward_")
        if backward_layer is None:
            backward_layer = renamed_copy(layer, "backward_", go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == backward_layer.go_backwards:
            raise ValueError(f"{owner}: the forward and backward layers must differ in go_backwards")
        for argument in ("return_sequences", "return_state"):
            if getattr(self.forward_layer, argument) != getattr(backward_layer, argument):
                raise ValueError(f"{owner}: the forward and backward layers must agree on {argument}")
        self.return_sequences, self.return_state = self.forward_layer.return_sequences, self.forward_layer.return_state
        for direction in (self.forward_layer, backward_layer):  # Keras's: masked steps' outputs are 0
            direction.zero_output_for_mask = self.return_sequences

    @property
    def directions(self) -> tuple[tuple[str, Recurrent], tuple[str, Recurrent]]:
        """(the prefix of its weights' names here, the layer) for each direction."""
        return (("forward_", self.forward_layer), ("backward_", self.backward_layer))

    def build(self, input_shape):
        for prefix, layer in self.directions:
            layer.dtype = self.dtype
            layer.build_for(input_shape)
            for name in layer.weight_names:  # the same arrays, under this layer's names
                self.adopt_weight(layer, name, prefix + name)

    def share_weights(self) -> None:
        """Point each direction's weights at this layer's arrays (which the optimiser and set_weights update,
        and which a float64 gradient check may replace)."""
        for prefix, layer in self.directions:
            layer.params = {name: self.params[prefix + name] for name in layer.weight_names}

    def wrapped_layers(self) -> list[tuple[str, Recurrent]]:
        """("forward_layer", ...), ("backward_layer", ...), their weights this layer's: Keras's names for them,
        in its configs and files."""
        self.share_weights()
        return [(prefix + "layer", layer) for prefix, layer in self.directions]

    def compute_output_shape(self, input_shape):
        shapes = self.forward_layer.compute_output_shape(input_shape)
        shape, states = (shapes[0], shapes[1:]) if self.return_state else (shapes, [])
        merged = (*shape[:-1], 2 * shape[-1]) if self.merge_mode == "concat" else shape
        return [merged, *states, *states] if self.return_state else merged

    def __call__(self, x, training: bool | None = None, initial_state=None):
        """As a recurrent layer's: `initial_state` the forward layer's states, then the backward layer's."""
        names = [f"{prefix}{name}" for prefix, layer in self.directions for name in layer.state_names]
        return call_with_states(self, x, training, initial_state, names, self.forward_layer.units)

    def compute_mask(self, inputs, mask=None):
        output_mask = mask if self.return_sequences else None
        return [output_mask, *[None] * 2 * len(self.forward_layer.state_names)] if self.return_state else output_mask

    def forward(self, x, training=False, mask=None):
        """The merged output; with return_state [it, the forward layer's states, the backward layer's]."""
        self.share_weights()
        x, states = (x[0], x[1:]) if isinstance(x, list) else (x, [])
        half = len(states) // 2
        y_f = self.forward_layer.forward([x, *states[:half]] if states else x, training, mask)
        y_b = self.backward_layer.forward([x, *states[half:]] if states else x, training, mask)
        (y_f, *states_f), (y_b, *states_b) = (y if self.return_state else [y] for y in (y_f, y_b))
        if self.return_sequences:
            y_b = y_b[:, ::-1]
        self.outputs = (y_f, y_b)
        if self.merge_mode == "concat":
            y = np.concatenate([y_f, y_b], axis=-1)
        elif self.merge_mode == "sum":
            y = y_f + y_b
        elif self.merge_mode == "ave":
            y = (y_f + y_b) / 2
        else:
            y = y_f * y_b
        return [y, *states_f, *states_b] if self.return_state else y

    def backward(self, grad_output):
        state_grads: list = []
        if self.return_state:  # [dL/dy, the forward layer's states' gradients, the backward layer's]
            grad_output, *state_grads = grad_output
        y_f, y_b = self.outputs
        if grad_output is None:  # only the states are read
            g_f, g_b = np.zeros_like(y_f), np.zeros_like(y_b)
        elif self.merge_mode == "concat":
            g_f, g_b = np.split(grad_output, 2, axis=-1)
        elif self.merge_mode in ("sum", "ave"):
            g_f = g_b = grad_output / 2 if self.merge_mode == "ave" else grad_output
        else:
            g_f, g_b = grad_output * y_b, grad_output * y_f
        if self.return_sequences:
            g_b = g_b[:, ::-1]
        half = len(state_grads) // 2
        dx, initial_state_grads = [], []
        for (prefix, layer), g, g_states in zip(self.directions, (g_f, g_b), (state_grads[:half], state_grads[half:])):
            layer.need_input_grad = self.need_input_grad
            result = layer.backward([g, *g_states] if self.return_state else g)
            if layer.initial_states:  # [dL/dx, dL/d(its initial states)]
                result, *grads = result
                initial_state_grads += grads
            dx.append(result)
            for name in layer.weight_names:
                self.grads[prefix + name] = layer.grads[name]
        input_grad = dx[0] + dx[1] if self.need_input_grad else None
        return [input_grad, *initial_state_grads] if initial_state_grads else input_grad

    not_in_config = ("input_shape", "layer", "backward_layer")  # written below, as Keras's nested configs

    def get_config(self) -> dict[str, Any]:
        layers = {"layer": self.forward_layer, "backward_layer": self.backward_layer}
        return {**super().get_config(), **{key: keras_object(layer) for key, layer in layers.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        """The wrapper from Keras's config (checked as every layer's, see Layer.from_config), its layers made
        only from minidl's recurrent layers."""
        arguments = {"name", "trainable", "dtype", "merge_mode", "layer", "backward_layer"}
        taken = supported_arguments(cls.__name__, config, arguments)
        for key in ("layer", "backward_layer"):
            nested = taken.get(key)
            if isinstance(nested, dict):
                class_name = nested.get("class_name")
                if class_name not in RECURRENT_LAYERS:
                    raise ValueError(
                        f"Bidirectional: minidl wraps only its recurrent layers ({', '.join(RECURRENT_LAYERS)}), "
                        f"the config names {class_name!r}"
                    )
                taken[key] = RECURRENT_LAYERS[class_name].from_config(nested.get("config") or {})
        return cls(**taken)
