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
computed for the input (unless this model is a layer of another), nor for a branch no output depends on.

A model is a layer too (`features = base(inputs)`, a Sequential or a Model): it runs as one call and its
layers train with the others. A call's own `training` (`base(inputs, training=False)`) holds when the
model runs with training=None (`model(x)`); fit, evaluate, predict and model(x, training=...) set every
call's mode, as Keras 3 does (a frozen base's BatchNormalization stays in inference mode because it is
not trainable).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import masking
from ..backend import floatx, unique_name
from ..data import Arrays
from ..inference import GraphRuns, fused_graph_runs, infer
from ..layers.base import Layer
from ..layers.core import InputLayer, input_tensor
from ..layers.symbolic import KerasTensor, Node
from ..saving.serialization import deserialize_keras_object, register_model_class, serialize_keras_object
from ..serializable import config_value
from ..training_steps import TrainingStep, graph_training_steps
from .base import Model, twin_of


def topological_nodes(outputs: list[KerasTensor]) -> list[Node]:
    """The nodes the outputs depend on, each after the nodes it reads from (depth-first from each output)."""
    order: list[Node] = []
    seen: set[int] = set()
    stack: list[tuple[Node, bool]] = [(output.node, False) for output in reversed(outputs)]
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


def layers_by_depth(nodes: list[Node]) -> list:
    """Each layer once, in Keras's order (which is its weights' order): by depth, the longest path to the
    output (a shared layer at its deepest call), deepest first (the Inputs), ties in topological order."""
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(nodes):
        depth = max(node_depth.get(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for tensor in node.inputs:
            node_depth[id(tensor.node)] = max(depth + 1, node_depth.get(id(tensor.node), 0))
    return sorted(dict.fromkeys(node.layer for node in nodes), key=lambda layer: -layer_depth[id(layer)])


def call_config(node: Node, argument: Callable[[KerasTensor], dict]) -> dict[str, Any]:
    """A layer call's entry in Keras's inbound_nodes: its inputs (a list for several), its `training`,
    and inputs given as a keyword (a recurrent layer's initial_state) among the kwargs."""
    inputs = node.positional_inputs
    kwargs: dict[str, Any] = {} if node.training is None else {"training": node.training}
    if node.keyword:
        kwargs[node.keyword[0]] = [argument(t) for t in node.inputs[len(inputs) :]]
    return {"args": [[argument(t) for t in inputs]] if len(inputs) > 1 else [argument(inputs[0])], "kwargs": kwargs}


class Functional(Model, graph=True):
    """A graph of layers from Input tensors (one, or a list or dict of them) to one output or several (a
    list, or a dict by name): what `Model(inputs, outputs)` makes, and named as Keras names it (summary
    shows "Functional"). With several inputs, x is a list (in their order) or a dict (by their names) of
    arrays; with several outputs, y likewise by the output names (the output layers' names, or the dict's
    keys), and predict returns a list (or a dict) of arrays."""

    def __init__(self, inputs, outputs, name: str | None = None, dtype: str | None = None):
        super().__init__(name or unique_name("functional"), dtype)
        self.training_pass: dict[int, TrainingStep] = {}  # the last training pass's own steps, by node
        input_list, output_list = self._tensors(inputs, "inputs"), self._tensors(outputs, "outputs")
        for tensor in input_list:
            if not isinstance(tensor.node.layer, InputLayer):
                raise ValueError(
                    f"Model '{self.name}': inputs must be Input tensors (minidl.Input(shape)), got "
                    f"the output of layer '{tensor.node.layer.name}'"
                )
        if len({id(t) for t in output_list}) < len(output_list):
            raise ValueError(f"Model '{self.name}': the same tensor is given twice as an output")
        nodes = topological_nodes(output_list)
        roots = [node for node in nodes if isinstance(node.layer, InputLayer)]
        for tensor in input_list:
            if tensor.node not in roots:
                raise ValueError(
                    f"Model '{self.name}': the output does not depend on the input '{tensor.node.layer.name}'"
                )
        others = [node.layer.name for node in roots if all(node is not t.node for t in input_list)]
        if others:
            raise ValueError(f"Model '{self.name}': the output depends on Input(s) {others} not given as inputs")
        self.inputs, self.outputs = input_list, output_list
        self.output_names = sorted(outputs) if isinstance(outputs, dict) else [t.node.layer.name for t in output_list]
        self.outputs_as_dict = isinstance(outputs, dict)
        self.multiple_outputs = len(output_list) > 1
        self.nodes = [node for node in nodes if not isinstance(node.layer, InputLayer)]
        self.layers = layers_by_depth(nodes)
        # each call of a layer after its first runs on a copy sharing the weights (see the module docstring)
        self.instances: list[Layer | Model] = []
        self.copies: list[tuple[Layer, Layer]] = []  # (layer, a copy of it): the copy's gradients go to the layer
        first_use: set[int] = set()
        for node in self.nodes:
            instance, pairs = (node.layer, []) if id(node.layer) not in first_use else twin_of(node.layer)
            self.instances.append(instance)
            self.copies += pairs
            first_use.add(id(node.layer))
        self.input_shape = input_list[0].shape if len(input_list) == 1 else [t.shape for t in input_list]
        shapes = [t.shape for t in output_list]
        self.output_shape = shapes if self.multiple_outputs else shapes[0]
        self.dtype = self.dtype or input_list[0].dtype
        self.built = True

    @staticmethod
    def _tensors(tensors, what: str) -> list[KerasTensor]:
        """One tensor, or a list or dict of them (a dict in its sorted keys' order, as Keras flattens it)."""
        if isinstance(tensors, dict):
            tensors = [tensors[key] for key in sorted(tensors)]
        tensors = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
        if not tensors or not all(isinstance(t, KerasTensor) for t in tensors):
            raise TypeError(
                f"Model: {what} must be symbolic tensors (minidl.Input and the layers' outputs), got {tensors!r}"
            )
        return tensors

    def twin(self) -> tuple[Functional, list[tuple[Layer, Layer]]]:
        """A copy for another call of this model (see `twin_of`): each layer call on a copy of its layer."""
        twin = copy.copy(self)
        twin.instances, twin.copies, pairs = [], [], []
        for node in self.nodes:
            instance, layer_pairs = twin_of(node.layer)
            twin.instances.append(instance)
            pairs += layer_pairs
        return twin, pairs

    def connections(self) -> dict[int, str] | None:
        """summary()'s "Connected to" column, by id of layer: each call's inputs as Keras writes them,
        `layer[call][0]` (a functional model's calls count from 1, after the node Keras builds it with; a
        Sequential's from 0); None for a chain of single calls, whose summary has no such column (as Keras's)."""
        chain = (
            len(self.inputs) == len(self.outputs) == 1
            and not self.copies
            and all(len(node.inputs) == 1 for node in self.nodes)
        )
        if chain:
            return None
        calls: dict[int, int] = {}  # id of node -> its index among its layer's calls
        next_call: dict[int, int] = {}  # id of layer -> the index of its next call
        inbound: dict[int, list[str]] = {id(layer): [] for layer in self.layers}
        for node in self.nodes:  # topological: a node's inputs are numbered before it
            calls[id(node)] = next_call.get(id(node.layer), 1 if isinstance(node.layer, Functional) else 0)
            next_call[id(node.layer)] = calls[id(node)] + 1
            inbound[id(node.layer)] += [
                f"{t.node.layer.name}[{calls.get(id(t.node), 0)}][{t.index}]" for t in node.inputs
            ]
        return {key: ", ".join(names) or "-" for key, names in inbound.items()}

    # ------------------------------------------------------------------ configs (Keras's)
    def get_config(self) -> dict[str, Any]:
        """Keras's functional config: each layer's config with its calls ("inbound_nodes", each input as
        [layer name, call index, 0]), and the input and output tensors the same way."""
        calls: dict[int, list[Node]] = {}
        for node in sorted(self.nodes, key=lambda node: node.serial):
            calls.setdefault(id(node.layer), []).append(node)
        index = {id(node): i for nodes in calls.values() for i, node in enumerate(nodes)}

        def history(tensor: KerasTensor, model_end: bool = False) -> list:
            # Keras counts a nested functional model's construction as its node 0 in input_layers and
            # output_layers (not in the calls' arguments)
            offset = int(model_end and isinstance(tensor.node.layer, Functional))
            return [tensor.node.layer.name, index.get(id(tensor.node), 0) + offset, tensor.index]

        def argument(tensor: KerasTensor) -> dict[str, Any]:
            shape, dtype = config_value(tensor.shape), tensor.dtype or floatx()
            return {
                "class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": dtype, "keras_history": history(tensor)},
            }

        layer_configs = []
        for layer in self.layers:
            entry = serialize_keras_object(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [call_config(node, argument) for node in calls.get(id(layer), [])]
            layer_configs.append(entry)
        outputs = [history(t, model_end=True) for t in self.outputs]
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layer_configs,
            "input_layers": [history(t, True) for t in self.inputs]
            if len(self.inputs) > 1
            else history(self.inputs[0], True),
            "output_layers": dict(zip(self.output_names, outputs))
            if self.outputs_as_dict
            else outputs
            if self.multiple_outputs
            else outputs[0],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:
        """The graph a Keras functional config describes: its layers made, then called on each other's
        outputs in the order of their calls (a call waits until its inputs exist)."""
        layers, calls, made = {}, {}, {}
        for entry in config.get("layers", []):
            name = entry.get("name") or entry.get("config", {}).get("name")
            if entry.get("class_name") == "InputLayer":
                layers[name] = InputLayer.from_config(entry.get("config", {}))
                made[name] = [[input_tensor(layers[name])]]
            else:
                layers[name] = deserialize_keras_object(entry, "layers")
                made[name] = []
            calls[name] = list(entry.get("inbound_nodes", []))

        def tensor(history: list, model_end: bool = False) -> KerasTensor | None:
            offset = int(model_end and isinstance(layers.get(history[0]), Functional))  # see get_config
            name, node_index, tensor_index = history[0], int(history[1]) - offset, int(history[2])
            outputs = made.get(name)
            if outputs is None:
                raise ValueError(f"Functional config: a call reads layer {name!r}, which the config does not have")
            if not 0 <= node_index < len(outputs):
                return None  # not made yet
            if not 0 <= tensor_index < len(outputs[node_index]):
                raise ValueError(f"Functional config: layer {name!r}'s call {node_index} has no output {tensor_index}")
            return outputs[node_index][tensor_index]

        def arguments(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                return tensor(value["config"]["keras_history"])
            if isinstance(value, list):
                return [arguments(v) for v in value]
            return value

        progress = True
        while progress and any(calls.values()):
            progress = False
            for name, pending in calls.items():
                while pending:
                    args = arguments(pending[0].get("args", []))
                    flat = args[0] if len(args) == 1 else args
                    kwargs = pending[0].get("kwargs", {})
                    states = arguments(kwargs["initial_state"]) if kwargs.get("initial_state") is not None else None
                    if any(t is None for t in (flat if isinstance(flat, list) else [flat]) + (states or [])):
                        break  # an input of this call is not made yet
                    pending.pop(0)
                    extra = {} if states is None else {"initial_state": states}
                    result = layers[name](flat, training=kwargs.get("training"), **extra)
                    made[name].append(result if isinstance(result, list) else [result])
                    progress = True
        stuck = [name for name, pending in calls.items() if pending]
        if stuck:
            raise ValueError(f"Functional config: the calls of {stuck} read tensors that no call makes (a cycle?)")

        def structure(value):
            if isinstance(value, dict):
                return {key: structure(v) for key, v in value.items()}
            if value and isinstance(value[0], list):
                return [structure(v) for v in value]
            found = tensor(value, model_end=True)
            if found is None:
                raise ValueError(f"Functional config: no tensor {value!r}")
            return found

        return cls(structure(config["input_layers"]), structure(config["output_layers"]), name=config.get("name"))

    def get_build_config(self) -> dict[str, Any]:
        return {"input_shape": None}

    def build(self, input_shape=None) -> None:
        """A functional Model is built by its construction."""

    def check_input_shape(self, shape: tuple) -> None:
        self.inputs[0].node.layer.check_input_shape(shape)

    @property
    def output_activation(self) -> Layer:
        if self.multiple_outputs:
            raise ValueError(f"Model '{self.name}' has {len(self.outputs)} outputs: see output_activations()")
        return self.output_activations()[0] or self.instances[-1].output_activation

    def output_activations(self) -> list[Layer | None]:
        """Each output's final activation, which may fuse with that output's loss; None where the output
        tensor also feeds another layer of the graph (its gradient is then not that loss's alone)."""
        makers = {id(node.outputs[0]): instance for node, instance in zip(self.nodes, self.instances)}
        read = {id(tensor) for node in self.nodes for tensor in node.inputs}
        return [
            makers[id(t)].output_activation if id(t) in makers and id(t) not in read else None for t in self.outputs
        ]

    def structure_outputs(self, arrays: list[np.ndarray]) -> list[np.ndarray] | dict[str, np.ndarray]:
        """predict's return value for several outputs: a list, or a dict by name if the outputs were one."""
        return dict(zip(self.output_names, arrays)) if self.outputs_as_dict else arrays

    # ------------------------------------------------------------------ the passes
    def _run(
        self, x, training: bool | None, fused: GraphRuns | None = None, input_mask=None
    ) -> np.ndarray | list[np.ndarray]:
        """The graph's pass; `fused` (predict, evaluate: see inference): layers not in training mode run as
        minidl.inference.infer, keeping nothing for a backward, and the convolutions with the nodes
        fused after them. A graph with a layer that starts masks runs each call with its input's mask
        instead (minidl.masking), and keeps the outputs' in `output_mask`."""
        arrays = x.arrays if isinstance(x, Arrays) else [x]
        values: dict[int, np.ndarray] = {id(tensor): array for tensor, array in zip(self.inputs, arrays)}
        masks: dict[int, Any] | None = None
        if input_mask is not None or masking.carries_masks(self.instances):
            given = input_mask if isinstance(input_mask, list) else [input_mask] * len(self.inputs)
            masks = {id(tensor): mask for tensor, mask in zip(self.inputs, given)}
        steps: dict[int, TrainingStep] = {}
        if masks is not None:
            fused, self.training_pass = None, {}
        elif fused is None and training is not False:  # a max-pooling ahead of a ReLU, see there
            steps = self.training_pass = graph_training_steps(self.nodes, self.instances, self.outputs, training)
        for i, (node, instance) in enumerate(zip(self.nodes, self.instances)):
            if fused is not None and i in fused.absorbed:
                continue  # run inside a convolution's chunks
            args = [values[id(t)] for t in node.inputs]
            mode = bool(node.training) if training is None else training
            arg = args if len(args) > 1 else args[0]
            if fused is not None and i in fused.heads:
                run, tensor = fused.heads[i]
                values[id(tensor)] = run(args[0])  # a convolution: one input
                continue
            if masks is not None:
                result = self._call_masked(node, instance, arg, mode, masks)
            elif fused is not None and not mode:
                result = infer(instance, arg)
            elif i in steps:
                result = steps[i].forward(args[0])  # a ReLU, a convolution or a pooling: one input
            else:
                result = instance.forward(arg, training=mode)
            for tensor, value in zip(node.outputs, result if len(node.outputs) > 1 else [result]):
                values[id(tensor)] = value
        output_masks = [None if masks is None else masks.get(id(tensor)) for tensor in self.outputs]
        self.output_mask = output_masks if self.multiple_outputs else output_masks[0]
        if self.multiple_outputs:
            return [values[id(tensor)] for tensor in self.outputs]
        return values[id(self.outputs[0])]

    @staticmethod
    def _call_masked(node: Node, instance: Any, arg: Any, training: bool, masks: dict[int, Any]) -> Any:
        """A call with its input's mask (a list for several inputs), its outputs' masks kept in `masks`.
        As Keras, a call given initial_state gets no mask."""
        input_masks = [masks.get(id(tensor)) for tensor in node.positional_inputs]
        mask = input_masks if len(input_masks) > 1 else input_masks[0]
        result, output_mask = masking.masked_call(instance, arg, mask, training, give_mask=not node.keyword)
        output_masks = output_mask if isinstance(output_mask, list) else [output_mask] * len(node.outputs)
        for tensor, tensor_mask in zip(node.outputs, output_masks):
            masks[id(tensor)] = tensor_mask
        return result

    def forward(self, x, training: bool | None = False, mask=None) -> np.ndarray | list[np.ndarray]:
        """The output (a list of them, in the outputs' order, for several) for a prepared batch; `mask`:
        its input's (a list for several inputs), as a layer of another model (minidl.masking)."""
        return self._run(x, training, input_mask=mask)

    def inference(self) -> Callable[[np.ndarray], np.ndarray | list[np.ndarray]]:
        fused = fused_graph_runs(self.nodes, self.instances, self.outputs)  # planned for the weights as they are
        return lambda x: self._run(x, training=False, fused=fused)

    def backward(self, grad_output) -> np.ndarray | None:
        """Reverse topological order, from dL/d(output) (a list for several outputs, None for an output no
        loss reads); a tensor read by several calls gets the sum of their gradients. Returns dL/d(input)
        if `need_input_grad` (this model is a layer of another)."""
        seeds = grad_output if self.multiple_outputs else [grad_output]
        grads: dict[int, np.ndarray] = {id(t): g for t, g in zip(self.outputs, seeds) if g is not None}
        model_inputs = set() if self.need_input_grad else {id(tensor) for tensor in self.inputs}
        for i in reversed(range(len(self.nodes))):
            node, instance = self.nodes[i], self.instances[i]
            output_grads = [grads.pop(id(tensor), None) for tensor in node.outputs]
            if all(g is None for g in output_grads):
                continue  # no loss depends on this call
            grad: Any = output_grads if len(output_grads) > 1 else output_grads[0]  # several: None where unused
            instance.need_input_grad = any(id(t) not in model_inputs for t in node.inputs)
            step = self.training_pass.get(i)
            result = instance.backward(grad) if step is None else step.backward(grad)
            if result is None:
                continue
            input_grads = result if len(node.inputs) > 1 else [result]
            for i, (tensor, input_grad) in enumerate(zip(node.inputs, input_grads)):
                key = id(tensor)
                if key in model_inputs:
                    continue
                if key in grads:
                    grads[key] = grads[key] + input_grad
                else:  # its own array: a layer's backward may write into its grad_output (Add hands one to all)
                    aliased = any(input_grad is other for other in input_grads[:i])
                    grads[key] = input_grad.copy() if aliased else input_grad
        for layer, twin in self.copies:  # the copies' parameter gradients into their layer's
            for name, grad in twin.grads.items():
                layer.grads[name] = layer.grads[name] + grad
        return grads[id(self.inputs[0])] if self.need_input_grad else None  # the output depends on the input


register_model_class(Functional)
