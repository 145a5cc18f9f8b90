"""clone_model: the same architecture with new layers, Keras's `keras.models.clone_model`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from ..layers.base import Layer
from ..layers.core import Input
from ..layers.symbolic import KerasTensor
from .base import Model
from .functional import Functional
from .sequential import Sequential


def clone_model(
    model: Model,
    input_tensors=None,
    clone_function: Callable[[Any], Any] | None = None,
    call_function: Callable[..., Any] | None = None,
    recursive: bool = False,
    **kwargs,
) -> Model:
    """A new model of the same layers, each made anew from its config (fresh weights, as Keras: weights
    are not copied; `new.set_weights(model.get_weights())` copies them), same names, not compiled.

    clone_function(layer) -> the layer to use instead (by default layer.__class__.from_config(its config));
    a layer called twice is cloned once and stays shared. recursive: a model used as a layer is cloned
    the same way, layer by layer (else clone_function gets it whole). call_function(layer, *args, **kwargs)
    (functional models): makes each call instead of layer(*args, **kwargs). input_tensors: the symbolic
    inputs to build the clone on (new Inputs of the same shapes by default)."""
    if kwargs:
        raise ValueError(f"clone_model: unexpected arguments {sorted(kwargs)}")
    if not isinstance(model, (Sequential, Functional)):
        raise ValueError(f"clone_model: expected a Sequential or a functional Model, got {type(model).__name__}")

    def clone(layer: Any) -> Any:
        if recursive and isinstance(layer, (Sequential, Functional)):
            return clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True)
        if clone_function is not None:
            return clone_function(layer)
        return type(layer).from_config(layer.get_config())

    if isinstance(model, Sequential):
        layers = [clone(layer) for layer in model.layers]
        if input_tensors is None and model.input_shape is not None:
            input_tensors = Input(model.input_shape[1:], dtype=model.dtype)
        if isinstance(input_tensors, list):
            input_tensors = input_tensors[0]
        return Sequential([*([] if input_tensors is None else [input_tensors]), *layers], name=model.name)
    return _clone_graph(model, input_tensors, clone, call_function)


def _clone_graph(
    model: Functional, input_tensors, clone: Callable[[Any], Any], call_function: Callable[..., Any] | None
) -> Functional:
    """The graph's calls made again, in their order, with the cloned layers on the new tensors."""
    if input_tensors is None:
        inputs = [Input(cast(tuple, t.shape[1:]), name=t.node.layer.name, dtype=t.dtype) for t in model.inputs]
    else:
        inputs = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(inputs) != len(model.inputs):
            raise ValueError(f"clone_model: model '{model.name}' has {len(model.inputs)} inputs, got {len(inputs)}")
    new: dict[int, KerasTensor] = {id(old): t for old, t in zip(model.inputs, inputs)}
    clones: dict[int, Layer | Model] = {}
    for node in model.nodes:
        if id(node.layer) not in clones:
            clones[id(node.layer)] = clone(node.layer)
        layer = clones[id(node.layer)]
        positional = [new[id(t)] for t in node.positional_inputs]
        kwargs: dict[str, Any] = {} if node.training is None else {"training": node.training}
        if node.keyword:
            kwargs[node.keyword[0]] = [new[id(t)] for t in node.inputs[len(positional) :]]
        argument = positional if len(positional) > 1 else positional[0]
        result = call_function(layer, argument, **kwargs) if call_function else layer(argument, **kwargs)
        for old, tensor in zip(node.outputs, result if isinstance(result, list) else [result]):
            new[id(old)] = tensor
    outputs: Any = [new[id(t)] for t in model.outputs]
    if model.outputs_as_dict:
        outputs = dict(zip(model.output_names, outputs))
    elif not model.multiple_outputs:
        outputs = outputs[0]
    return Functional(inputs if len(inputs) > 1 else inputs[0], outputs, name=model.name)
