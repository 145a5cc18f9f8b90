"""The training pass of a stack of layers as steps, with each max-pooling moved ahead of the ReLU in front of it.

Max-pooling commutes with ReLU, values and gradients alike:

    max(relu(a), relu(b)) = relu(max(a, b))          (exactly in floating point)

and where a window's maximum m is > 0, the first cell holding m is the same before and after the ReLU
(ReLU is the identity there), so the pooling's gradient goes to the same cell; where m <= 0, ReLU's
gradient is 0 for the whole window either way. So in training a Conv2D(activation="relu") (or a ReLU
layer) followed by a MaxPooling2D may pool first and apply the ReLU, forward and backward, to the pooled
values only: a quarter of them for 2x2 windows, and the convolution's output, the largest array, is read
by one pass fewer each way. Same values, same gradients (at most the sign of a zero may differ).

Only a plain ReLU: after another non-decreasing map two cells of a window may tie that did not before (a
bias added in float32, a sigmoid rounding to 1), which would move the window's gradient to another cell.
So a Conv2D's bias is still added before the pooling, as the layers do it one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from .layers.activations import Activation, ReLU
from .layers.base import Layer
from .layers.conv import Conv1D, Conv2D
from .layers.pooling import MaxPooling1D, MaxPooling2D
from .layers.symbolic import Node, readers


@dataclass(frozen=True)
class TrainingStep:
    """A layer's part of the training pass: `forward` (x -> y, in training mode) and its `backward` (dL/dy ->
    dL/dx, or None where no input gradient is needed)."""

    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray], np.ndarray | None]


def whole(layer: Any) -> TrainingStep:
    """The layer's own forward and backward."""
    return TrainingStep(lambda x: layer.forward(x, training=True), layer.backward)


def pooling_first(layer: Any, pool: Any) -> tuple[TrainingStep, TrainingStep] | None:
    """The steps of `layer` and of the `pool` that reads its output, with the pooling ahead of the layer's
    plain ReLU (its own, for a Conv2D or Conv1D; itself, for a ReLU or Activation("relu") layer), or None
    if this does not apply. The ReLU then runs in the pooling's step, after it forward, before it backward."""
    if type(pool) not in (MaxPooling2D, MaxPooling1D):
        return None
    relu: Layer
    if type(layer) in (Conv2D, Conv1D) and _plain_relu(layer.activation):
        relu, first = layer.activation, TrainingStep(lambda x: layer.add_bias(layer.linear(x)), layer.linear_backward)
    elif _plain_relu(layer) or (type(layer) is Activation and _plain_relu(layer.activation)):
        relu, first = layer, TrainingStep(lambda x: x, lambda g: g)
    else:
        return None
    then = TrainingStep(
        lambda x: relu.forward(pool.forward(x, training=True), training=True),
        lambda g: pool.backward(relu.backward(g)),  # a ReLU always returns dL/dx
    )
    return first, then


def training_steps(layers: Sequence[Any]) -> list[TrainingStep]:  # Layers, and models used as layers
    """A stack's steps, one per layer: each layer's own, except a ReLU's and a MaxPooling2D/1D's after it."""
    steps = [whole(layer) for layer in layers]
    for i in range(len(layers) - 1):
        pair = pooling_first(layers[i], layers[i + 1])
        if pair is not None:
            steps[i], steps[i + 1] = pair
    return steps


def graph_training_steps(
    nodes: Sequence[Node], instances: Sequence[Any], outputs: Sequence, training: bool | None
) -> dict[int, TrainingStep]:
    """A functional graph's nodes whose training steps are not their layer's own (by node index): each
    ReLU node and the MaxPooling node that is the only reader of its output (not a model output), both
    in training mode (`training`, or where it is None, the node's own)."""
    reading, steps = readers(nodes, outputs), {}
    for i, node in enumerate(nodes):
        read_by = reading.get(id(node.outputs[0]), [])
        if len(read_by) != 1 or read_by[0] < 0:
            continue
        if training is None and not (node.training and nodes[read_by[0]].training):
            continue
        pair = pooling_first(instances[i], instances[read_by[0]])
        if pair is not None:
            steps[i], steps[read_by[0]] = pair
    return steps


def _plain_relu(activation: Layer | None) -> TypeGuard[ReLU]:
    """max(x, 0) with Keras's default arguments (a ReLU with a threshold or a ceiling pools differently)."""
    return type(activation) is ReLU and activation.function is None
