"""The inference forward pass as a list of steps, with max-pooling moved ahead of the maps it commutes with.

Max-pooling commutes with every non-decreasing function f applied value by value with one f per channel:

    max(f(a), f(b)) = f(max(a, b))          (exactly in floating point too: rounding is monotone)

and in inference the layers in front of a MaxPooling2D are often such maps: the bias and ReLU of a
Conv2D (z + b, max(z, 0)), a BatchNormalization (y = x s + t per channel, s = gamma /
sqrt(moving_variance + epsilon), non-decreasing when s >= 0). Pooling first, they run on 1 / (ph pw) of the
values (a quarter for 2x2 windows), and the largest array, the convolution's output, is read once instead
of four times. The output has the same values as running the layers one by one (tests/test_inference.py;
at most the sign of a zero may differ, as max(-0.0, 0.0) may return either).
Training keeps the layers' own order: its backward pass needs every layer's input.

Then the steps after a convolution that treat each sample alone (pooling, bias and activation,
BatchNormalization: those with a Layer.inference_map) run inside the convolution's chunks of samples,
while each chunk's output is still in cache (fused_runs): the largest arrays are never written out whole.
The same arithmetic on the same values, so the same bits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .layers.activated import ActivatedLayer
from .layers.activations import Activation, Linear, ReLU
from .layers.base import Layer, own_inference_map
from .layers.conv import Conv2D
from .layers.normalization import BatchNormalization
from .layers.pooling import MaxPooling2D
from .layers.symbolic import readers


@dataclass(frozen=True)
class Step:
    """One step of the inference pass: `run` is a bound method of `layer` (training defaults to False): its forward,
    or one of the two halves of a Conv2D/Dense forward, `linear_inference` (its own map) and `activate` (bias
    and activation)."""

    layer: Layer
    run: Callable[[np.ndarray], np.ndarray]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.run(x)

    @property
    def method(self) -> str:
        return self.run.__name__

    def __str__(self) -> str:
        return f"{self.layer.name}.{self.method}"

    def chunk_map(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """The step as a function of some samples that keeps nothing on its layer, if it has one."""
        if self.method == "activate" and isinstance(self.layer, ActivatedLayer):
            return self.layer.activation_map()
        return own_inference_map(self.layer) if self.method == "forward" else None


class FusedStep:
    """A Conv2D's linear_inference with the steps after it that treat each sample alone, `tail`, run on
    each of its chunks of samples while the chunk is in cache (Conv2D.convolve's `then`)."""

    def __init__(self, head: Step, tail: list[Step]):
        self.layer, self.tail = cast(Conv2D, head.layer), tail
        self.maps = [cast(Callable[[np.ndarray], np.ndarray], step.chunk_map()) for step in tail]
        self.steps = [head, *tail]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        shape = self.layer.compute_output_shape(x.shape)
        for step in self.tail:
            shape = shape if step.method == "activate" else step.layer.compute_output_shape(shape)
        return self.layer.convolve(x, then=self._then, then_shape=tuple(shape[1:]))

    def _then(self, z: np.ndarray) -> np.ndarray:
        for function in self.maps:
            z = function(z)
        return z

    def __str__(self) -> str:
        return " + ".join(str(step) for step in self.steps)


def fused_runs(steps: Sequence[Step]) -> list[Step | FusedStep]:
    """`steps` with each Conv2D's linear_inference and the steps after it that have a chunk_map fused."""
    runs: list[Step | FusedStep] = []
    i = 0
    while i < len(steps):
        tail: list[Step] = []
        if type(steps[i].layer) is Conv2D and steps[i].method == "linear_inference":
            while i + 1 + len(tail) < len(steps) and steps[i + 1 + len(tail)].chunk_map() is not None:
                tail.append(steps[i + 1 + len(tail)])
        runs.append(FusedStep(steps[i], tail) if tail else steps[i])
        i += 1 + len(tail)
    return runs


class InferencePlan:
    """The inference pass of `layers` as steps, planned once (call it on every batch of a predict or
    evaluate call): each layer's forward in order, except that each MaxPooling2D runs before the
    per-channel non-decreasing maps directly in front of it. Plan again after changing the layers or
    their weights (a BatchNormalization's sign decides whether pooling may overtake it)."""

    def __init__(self, layers: Sequence):  # Layers, and models used as layers
        steps: list[Step] = []
        waiting: list[Step] = []  # per-channel non-decreasing maps not applied yet: a pooling may overtake them
        for layer in layers:
            if isinstance(layer, MaxPooling2D):
                steps.append(Step(layer, layer.forward))  # ahead of the waiting maps
            elif _nondecreasing_per_channel(layer):
                waiting.append(Step(layer, layer.forward))
            else:  # a layer that mixes values or channels: the maps waiting before it run first
                steps += waiting
                waiting = []
                if (
                    isinstance(layer, ActivatedLayer)
                    and _splits_into_linear_and_activate(layer)
                    and _nondecreasing_activation(layer.activation)
                ):
                    steps.append(Step(layer, layer.linear_inference))
                    waiting.append(Step(layer, layer.activate))  # bias and activation
                else:
                    steps.append(Step(layer, layer.forward))
        self.steps = steps + waiting
        self.runs = fused_runs(self.steps)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for run in self.runs:
            x = run(x)
        return x


@dataclass(frozen=True)
class GraphRuns:
    """A functional graph's convolutions fused with the nodes after them: `heads` maps the index of a
    Conv2D's node to its FusedStep and the tensor its last step makes; `absorbed` holds the indices of
    the nodes that run inside those steps (skipped in the graph's pass)."""

    heads: dict[int, tuple[FusedStep, Any]]
    absorbed: frozenset[int]


def fused_graph_runs(nodes: Sequence, instances: Sequence, outputs: Sequence) -> GraphRuns:
    """For a functional model's inference pass: each Conv2D node with its bias and activation and the
    chain of nodes after it that treat each sample alone (those with an inference_map), each reading
    one tensor that nothing else reads (not a model output either)."""
    reading = readers(nodes, outputs)
    heads: dict[int, tuple[FusedStep, Any]] = {}
    absorbed: set[int] = set()
    for i, (node, layer) in enumerate(zip(nodes, instances)):
        if type(layer) is not Conv2D or not _splits_into_linear_and_activate(layer) or node.training:
            continue
        tail, tensor = [Step(layer, layer.activate)], node.outputs[0]
        if tail[0].chunk_map() is None:
            continue
        while len(reading.get(id(tensor), [])) == 1 and reading[id(tensor)][0] >= 0:
            k = reading[id(tensor)][0]
            step = Step(instances[k], instances[k].forward)
            if len(nodes[k].inputs) != 1 or nodes[k].training or step.chunk_map() is None:
                break
            tail.append(step)
            absorbed.add(k)
            tensor = nodes[k].outputs[0]
        heads[i] = (FusedStep(Step(layer, layer.linear_inference), tail), tensor)
    return GraphRuns(heads, frozenset(absorbed))


def infer(layer: Any, x: Any) -> Any:  # a Layer or a model used as one; an array, or a list for a merge
    """One layer's inference output, its forward with training=False; a Conv2D's or Dense's own map runs
    as `linear_inference` (nothing kept for a backward: a convolution goes in chunks of bounded size)."""
    if isinstance(layer, ActivatedLayer) and _splits_into_linear_and_activate(layer):
        return layer.activate(layer.linear_inference(x))
    return layer.forward(x, training=False)


# Exact types, not isinstance: a subclass may override forward with anything.
def _splits_into_linear_and_activate(layer: ActivatedLayer) -> bool:
    return type(layer).forward is ActivatedLayer.forward


def _nondecreasing_activation(activation: Layer | None) -> bool:
    return activation is None or type(activation) in (ReLU, Linear)


def _nondecreasing_per_channel(layer: Layer) -> bool:
    """Inference maps each value through a non-decreasing function of its channel alone."""
    if type(layer) in (ReLU, Linear):
        return True
    if type(layer) is Activation:
        return _nondecreasing_activation(layer.activation)
    if type(layer) is BatchNormalization and layer.channels_last:
        scale, _ = layer.inference_scale_and_shift()
        return bool(np.all(scale >= 0))
    return False
