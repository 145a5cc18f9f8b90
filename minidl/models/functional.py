"""Model(inputs, outputs): the functional API, a graph of layers between symbolic tensors.

    inputs = minidl.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(16, 3, padding="same")(x)
    x = layers.ReLU()(layers.Add()([x, y]))              # a residual connection
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    model = minidl.Model(inputs, outputs)

forward runs the layer calls (nodes) in topological order; backward runs them in reverse, summing the
gradients where a tensor feeds several layers (a skip connection, a shared layer). A layer called twice
(shared weights) runs each call on its own copy of the layer, which keeps that call's values for backward
but shares the weights; the copies' parameter gradients are added into the layer's. No gradient is
computed for the input, nor for a branch no output depends on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from ..backend import unique_name
from ..layers.base import Layer
from ..layers.core import InputLayer
from ..layers.symbolic import KerasTensor, Node
from .base import BaseModel


def topological_nodes(output: KerasTensor) -> list[Node]:
    """The nodes `output` depends on, each after the nodes it reads from (depth-first from the output)."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(output.node, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((tensor.node, False) for tensor in reversed(node.inputs) if id(tensor.node) not in seen)
    return order


class Model(BaseModel):
    """A graph of layers from one Input tensor to one output tensor (Keras's functional Model)."""

    def __init__(self, inputs, outputs, name: str | None = None, dtype: str | None = None):
        super().__init__(name or unique_name("functional"), dtype)
        inputs, outputs = self._single(inputs, "inputs"), self._single(outputs, "outputs")
        if not isinstance(inputs.node.layer, InputLayer):
            raise ValueError(
                f"Model '{self.name}': inputs must be Input tensors (minidl.Input(shape)), got the "
                f"output of layer '{inputs.node.layer.name}'"
            )
        nodes = topological_nodes(outputs)
        roots = [node for node in nodes if isinstance(node.layer, InputLayer)]
        if inputs.node not in roots:
            raise ValueError(f"Model '{self.name}': the output does not depend on the input '{inputs.node.layer.name}'")
        if len(roots) > 1:
            others = [node.layer.name for node in roots if node is not inputs.node]
            raise ValueError(f"Model '{self.name}': the output depends on Input(s) {others} not given as inputs")
        self.inputs, self.outputs = [inputs], [outputs]
        self.nodes = [node for node in nodes if not isinstance(node.layer, InputLayer)]
        self.layers = list(dict.fromkeys(node.layer for node in self.nodes))
        # each call of a layer after its first runs on a copy sharing the weights (see the module docstring)
        self.instances: list[Layer] = []
        first_use: set[int] = set()
        for node in self.nodes:
            self.instances.append(node.layer if id(node.layer) not in first_use else self._copy(node.layer))
            first_use.add(id(node.layer))
        self.input_shape, self.output_shape = inputs.shape, outputs.shape
        self.dtype = self.dtype or inputs.dtype
        self.built = True

    @staticmethod
    def _single(tensors, what: str) -> KerasTensor:
        if isinstance(tensors, dict):
            tensors = list(tensors.values())
        if isinstance(tensors, (list, tuple)):
            if len(tensors) != 1:
                raise ValueError(
                    f"Model: this minidl Model takes one input and one output for now; got {what} "
                    f"of length {len(tensors)}"
                )
            tensors = tensors[0]
        if not isinstance(tensors, KerasTensor):
            raise TypeError(
                f"Model: {what} must be symbolic tensors (minidl.Input and the layers' outputs), "
                f"got {type(tensors).__name__}"
            )
        return tensors

    @staticmethod
    def _copy(layer: Layer) -> Layer:
        """A copy of `layer` for another call: the same params and state dicts (the same weights), its own
        gradients, work arrays and sub-layers (e.g. a Dense's activation, which keeps its call's output)."""
        twin = copy.copy(layer)
        twin.grads, twin._scratch = {}, {}
        for attribute, value in vars(layer).items():
            if isinstance(value, Layer):
                setattr(twin, attribute, Model._copy(value))
        return twin

    def build(self, input_shape=None) -> None:
        """A functional Model is built by its construction."""

    def check_input_shape(self, shape: tuple) -> None:
        self.inputs[0].node.layer.check_input_shape(shape)

    @property
    def output_activation(self) -> Layer:
        return self.instances[-1].output_activation

    # ------------------------------------------------------------------ the passes
    def _run(self, x: np.ndarray, training: bool) -> np.ndarray:
        values: dict[int, np.ndarray] = {id(self.inputs[0]): x}
        for node, instance in zip(self.nodes, self.instances):
            args = [values[id(t)] for t in node.inputs]
            values[id(node.outputs[0])] = instance.forward(args if len(args) > 1 else args[0], training=training)
        return values[id(self.outputs[0])]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return self._run(x, training)

    def inference(self) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: self._run(x, training=False)

    def backward(self, grad_output: np.ndarray) -> None:
        """Reverse topological order; a tensor read by several calls gets the sum of their gradients."""
        grads: dict[int, np.ndarray] = {id(self.outputs[0]): grad_output}
        model_input = id(self.inputs[0])
        for node, instance in zip(reversed(self.nodes), reversed(self.instances)):
            grad = grads.pop(id(node.outputs[0]), None)
            if grad is None:
                continue  # no output depends on this call
            instance.need_input_grad = any(id(t) != model_input for t in node.inputs)
            result = instance.backward(grad)
            if result is None:
                continue
            for tensor, input_grad in zip(node.inputs, result if len(node.inputs) > 1 else [result]):
                key = id(tensor)
                if key == model_input:
                    continue
                grads[key] = input_grad.copy() if key not in grads else grads[key] + input_grad
        for layer in self.layers:  # the copies' parameter gradients into their layer's
            for twin in (i for i in self.instances if i.params is layer.params and i is not layer):
                for name, grad in twin.grads.items():
                    layer.grads[name] = layer.grads[name] + grad
