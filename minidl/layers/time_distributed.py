"""TimeDistributed: one layer applied to every time step of a sequence, its weights shared by the steps."""

from __future__ import annotations

from typing import Any

from ..serializable import keras_object, supported_arguments
from ..shapes import format_shape
from .base import Layer

# The layers a config may wrap, by class name: filled by minidl.layers (which sits above this module).
LAYER_CLASSES: dict[str, type[Layer]] = {}


class TimeDistributed(Layer):
    """y[:, t] = layer(x[:, t]) for each step t: the wrapped layer run once on the N T steps as samples,
    x (N, T, ...) -> (N T, ...) -> layer -> (N, T, ...). Its weights are this layer's (Keras's order and
    file layout, under "layer"). Backward: the wrapped layer's, on dL/dy as (N T, ...); its weight
    gradients are sums over the samples and steps alike."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed '{self.name}': layer must be a minidl layer, got {layer!r}")
        self.layer = layer

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: TimeDistributed needs inputs of "
                f"at least 3 axes (batch, time, ...), found shape {format_shape(input_shape)}"
            )
        self.layer.dtype = self.dtype
        self.layer.build_for((None, *input_shape[2:]))
        for name in self.layer.weight_names:  # the same arrays, under the same names
            self.adopt_weight(self.layer, name, name)

    def share_weights(self) -> None:
        """Point the wrapped layer's weights at this layer's arrays (which the optimiser and set_weights
        update, and which a float64 gradient check may replace)."""
        self.layer.params = {name: self.params[name] for name in self.layer.params}
        self.layer.state = {name: self.state[name] for name in self.layer.state}

    def wrapped_layers(self) -> list[tuple[str, Layer]]:
        """("layer", the wrapped layer): Keras's name for it in configs and files; its weights are this layer's."""
        self.share_weights()
        return [("layer", self.layer)]

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *inner[1:])

    def forward(self, x, training=False):
        self.share_weights()
        self.steps = x.shape[:2]
        y = self.layer.forward(x.reshape(-1, *x.shape[2:]), training)
        return y.reshape(*self.steps, *y.shape[1:])

    def backward(self, grad_output):
        self.layer.need_input_grad = self.need_input_grad
        dx = self.layer.backward(grad_output.reshape(-1, *grad_output.shape[2:]))
        self.grads.update(self.layer.grads)
        return None if dx is None else dx.reshape(*self.steps, *dx.shape[1:])

    not_in_config = ("input_shape", "layer")  # written below, as Keras's nested config

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": keras_object(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        """The wrapper from Keras's config, its layer made only from minidl's layers."""
        taken = supported_arguments(cls.__name__, config, {"name", "trainable", "dtype", "layer"})
        nested = taken.get("layer")
        if isinstance(nested, dict):
            class_name = nested.get("class_name")
            if class_name not in LAYER_CLASSES:
                raise ValueError(f"TimeDistributed: minidl has no layer {class_name!r} to wrap")
            taken["layer"] = LAYER_CLASSES[str(class_name)].from_config(nested.get("config") or {})
        return cls(**taken)
