"""From what a user passes to `fit`/`evaluate`/`predict` to the batches a training step sees.

prepare_x / prepare_xy   checked arrays in the model's dtype (clear errors, nothing changed yet)
epoch_order              the sample order of one epoch, a function of (seed, epoch) alone
batches                  the index of each batch in an epoch's order
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from . import validation


def require_compiled(model, caller: str) -> None:
    if model.optimizer is None or model.loss is None:
        raise RuntimeError(f"You must call compile() before {caller}() on model '{model.name}'")
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers: add some before {caller}()")


def prepare_x(model, x, caller: str) -> np.ndarray:
    """x as a finite array of the model's dtype whose sample shape the model takes (building the model
    for it if it has no input shape yet)."""
    x = validation.as_array(x, "x", caller)
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers: add some before {caller}()")
    if not model.built:
        if model.input_shape is None and x.ndim < 2:
            raise ValueError(
                f"{caller}: x has shape {x.shape}, but the model needs the batch axis first, "
                f"(N, features...): one sample x[np.newaxis], one feature x.reshape(-1, 1)"
            )
        model.build(model.input_shape or (None, *x.shape[1:]))
    try:
        model.layers[0].check_input_shape(x.shape)
    except ValueError as error:
        if "validation" in caller:  # say which array: the message alone reads as if x were wrong
            raise ValueError(f"{caller}: {error}") from None
        raise
    return validation.cast_finite(x, model.compute_dtype, "x", caller)


def prepare_xy(model, x, y, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) checked against the compiled model: y must fit its loss and its output shape."""
    require_compiled(model, caller)
    x = prepare_x(model, x, caller)
    return x, validation.check_targets(y, len(x), model.loss, model.output_shape, model.compute_dtype, caller)


def epoch_order(seed: int, epoch: int, n: int, shuffle: bool) -> np.ndarray | None:
    """The sample order of an epoch: a permutation that depends only on (seed, epoch), so a run resumed
    at `initial_epoch` sees the same batches as an uninterrupted one. None: the samples in order."""
    if not shuffle:
        return None
    return np.random.default_rng([seed, epoch]).permutation(n)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def batches(n: int, batch_size: int, order: np.ndarray | None = None) -> Iterator[slice | np.ndarray]:
    """The index of each batch of `batch_size` samples (the last one smaller): slices of 0..n-1, or
    pieces of `order`."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]
