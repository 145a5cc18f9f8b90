"""Symbolic tensors of the functional API: a KerasTensor is a placeholder (shape with the batch axis None,
dtype) that remembers the layer call (Node) that made it."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..shapes import Shape, format_shape


@dataclass(eq=False)
class Node:
    """One call of a layer (or a model) on symbolic tensors: `layer(inputs)` gave `outputs`; `training`
    given to that call (e.g. `base(x, training=False)`) overrides the model's mode for it."""

    layer: Any  # the Layer (or model) called
    inputs: list[KerasTensor]
    outputs: list[KerasTensor] = field(default_factory=list)
    training: bool | None = None
    serial: int = field(default_factory=itertools.count().__next__)  # creation order (a config's node order)
    keyword: tuple[str, int] | None = None  # (name, k): the last k inputs were given as that keyword argument

    @property
    def positional_inputs(self) -> list[KerasTensor]:
        return self.inputs[: len(self.inputs) - self.keyword[1]] if self.keyword else self.inputs


@dataclass(eq=False)
class KerasTensor:
    """A symbolic tensor: `shape` with the batch axis None, `dtype`, and the node that made it."""

    shape: Shape
    dtype: str | None
    node: Node
    name: str = ""
    index: int = 0  # which of its node's outputs (a recurrent layer's states follow its output)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={format_shape(self.shape)}, dtype={self.dtype}, name={self.name}>"


def symbolic_output(
    layer, inputs: list[KerasTensor], shape: Shape | list[Shape], dtype, training: bool | None, keyword=None
) -> KerasTensor | list[KerasTensor]:
    """Record the call `layer(inputs)` as a Node and return its symbolic output, or a list of them for a
    list of shapes (a layer with several outputs); `keyword`: see Node."""
    node = Node(layer, inputs, training=training, keyword=keyword)
    shapes = shape if isinstance(shape, list) else [shape]
    node.outputs = [KerasTensor(tuple(s), dtype, node, name=layer.name, index=i) for i, s in enumerate(shapes)]
    return node.outputs if isinstance(shape, list) else node.outputs[0]


def is_symbolic(value) -> bool:
    return isinstance(value, KerasTensor) or (
        isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, KerasTensor) for v in value)
    )


def readers(nodes: Sequence[Node], outputs: Sequence[KerasTensor]) -> dict[int, list[int]]:
    """id(tensor) -> the indices of the nodes that read it, -1 for a model output."""
    found: dict[int, list[int]] = {}
    for k, node in enumerate(nodes):
        for tensor in node.inputs:
            found.setdefault(id(tensor), []).append(k)
    for tensor in outputs:
        found.setdefault(id(tensor), []).append(-1)
    return found
