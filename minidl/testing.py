"""Numerical gradient checking for any Layer, including your own subclasses.

    from minidl.testing import check_layer_gradients
    worst = check_layer_gradients(MyLayer(), x)      # x: a small float array, e.g. shape (4, 5)
    assert worst < 1e-6

The check runs in float64 with central differences, (f(w + eps) - f(w - eps)) / (2 eps), on the scalar
loss L = sum(layer(x) * R) (+ the layer's weight penalties), where R is a fixed random projection:
a plain sum(output) would hide errors whose contributions cancel (for softmax, d sum(p)/dx = 0).
Every parameter gradient and the input gradient are compared with what `backward(R)` gives.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .layers.base import Layer, random_generators


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |analytic - numeric| / max(max |analytic|, max |numeric|): 0 when equal, ~1 when unrelated."""
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), 1e-12)
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale)


def numeric_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences (f(a + eps) - f(a - eps)) / (2 eps) of the scalar `f()` with respect to each
    element of `array`, which is perturbed in place (and restored)."""
    grad = np.zeros_like(array)
    flat, grad_flat = array.reshape(-1), grad.reshape(-1)  # views: perturb in place
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = f()
        flat[i] = original - eps
        minus = f()
        flat[i] = original
        grad_flat[i] = (plus - minus) / (2 * eps)
    return grad


def _set_path(obj, path: tuple, value) -> None:
    for name in path[:-1]:
        obj = getattr(obj, name)
    setattr(obj, path[-1], value)


def check_layer_gradients(
    layer: Layer,
    x: np.ndarray,
    *,
    training: bool = True,
    eps: float = 1e-6,
    seed: int = 0,
    return_details: bool = False,
    mask: np.ndarray | None = None,
) -> float | dict[str, float]:
    """Worst relative error between `backward` and central differences, over the input gradient and
    every parameter gradient (a dict of errors by name with return_details=True); `mask`: the input's
    mask (minidl.masking), for a layer that takes one.

    The layer is built (or converted) to float64. Random layers (Dropout) draw the same numbers on
    every forward pass: their Generators are reset to one saved state before each pass.
    """
    x = np.array(x, dtype=np.float64)
    if not layer.built:
        layer.dtype = "float64"
        layer.build_for((None, *x.shape[1:]))
    else:
        layer.dtype = "float64"
        for store in (layer.params, layer.state):
            for name in store:
                store[name] = store[name].astype(np.float64)
    layer.need_input_grad = True
    generators = {path: copy.deepcopy(g) for path, g in random_generators(layer).items()}
    saved_state = {name: value.copy() for name, value in layer.state.items()}

    def forward(inputs: np.ndarray) -> np.ndarray:
        for path, generator in generators.items():
            _set_path(layer, path, copy.deepcopy(generator))
        run: Any = layer.forward  # a forward that takes the mask
        return run(inputs, training=training) if mask is None else run(inputs, training=training, mask=mask)

    projection = np.random.default_rng(seed).standard_normal(forward(x).shape)

    def loss(inputs: np.ndarray) -> float:  # with the weight penalties and the penalty on the activity
        output = forward(inputs)
        return float(np.sum(output * projection)) + layer.regularization_loss() + layer.activity_loss()

    forward(x)
    input_gradient = layer.backward(projection.copy())
    assert input_gradient is not None  # need_input_grad is set above
    analytic = {"input": input_gradient}
    layer.add_regularization_gradients()
    analytic.update({name: np.array(g, dtype=np.float64) for name, g in layer.grads.items()})

    errors = {"input": relative_error(analytic["input"], numeric_gradient(lambda: loss(x), x, eps))}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numeric_gradient(lambda: loss(x), param, eps))
    for name, value in saved_state.items():
        layer.state[name][...] = value  # forward passes in training mode may move running statistics
    return errors if return_details else max(errors.values())


def check_loss_gradients(
    loss,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sample_weight: np.ndarray | None = None,
    *,
    eps: float = 1e-6,
    return_details: bool = False,
) -> float | dict[str, float]:
    """Worst relative error between a loss's `backward()` and central differences of its `forward` value,
    in float64 (and, for a loss that fuses with an activation, of `logits_gradient()` against central
    differences of loss(activation(z)), z the activation's input that gives y_pred)."""
    from . import activations

    y_pred = np.array(y_pred, dtype=np.float64)
    loss.forward(y_true, y_pred, sample_weight)
    analytic = loss.backward()
    probe = y_pred.copy()
    errors = {
        "y_pred": relative_error(
            analytic, numeric_gradient(lambda: loss.forward(y_true, probe, sample_weight), probe, eps)
        )
    }
    if loss.fuses_with in ("softmax", "sigmoid"):
        activation = activations.softmax if loss.fuses_with == "softmax" else activations.sigmoid
        z = np.log(np.clip(y_pred, 1e-300, None))
        if loss.fuses_with == "sigmoid":
            z = z - np.log1p(-np.clip(y_pred, None, 1 - 1e-16))  # logit(p)
        loss.forward(y_true, activation(z), sample_weight)
        fused = loss.logits_gradient()
        errors["logits"] = relative_error(
            fused, numeric_gradient(lambda: loss.forward(y_true, activation(z), sample_weight), z, eps)
        )
    return errors if return_details else max(errors.values())
