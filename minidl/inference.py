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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .layers.activated import ActivatedLayer
from .layers.activations import Linear, ReLU
from .layers.base import Layer
from .layers.normalization import BatchNormalization
from .layers.pooling import MaxPooling2D


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

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for step in self.steps:
            x = step(x)
        return x


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
    if type(layer) is BatchNormalization and layer.channels_last:
        scale, _ = layer.inference_scale_and_shift()
        return bool(np.all(scale >= 0))
    return False
