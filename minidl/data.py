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
    if model.optimizer is None:
        raise RuntimeError(f"You must call compile() before {caller}() on model '{model.name}'")
    if model.loss is None:
        raise ValueError(f"{caller}: No loss to compute. Provide a `loss` argument in `compile()`.")
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers: add some before {caller}()")


class Arrays:
    """The arrays of a model's several inputs (or targets of its several outputs), sliced together:
    arrays[batch] is the batch of each."""

    def __init__(self, arrays: list[np.ndarray]):
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index) -> Arrays:
        return Arrays([a[index] for a in self.arrays])


def prepare_inputs(model, x, caller: str) -> Arrays:
    """A model with several inputs: x as a list (in the inputs' order) or a dict (by the inputs' names) of
    arrays, each checked against its Input, all with the same number of samples."""
    names = [tensor.node.layer.name for tensor in model.inputs]
    x = by_name(model, x, names, "x", "inputs", caller)
    arrays = []
    for name, tensor, value in zip(names, model.inputs, x):
        array = validation.as_array(value, f"x['{name}']", caller)
        tensor.node.layer.check_input_shape(array.shape)
        arrays.append(validation.cast_finite(array, model.compute_dtype, f"x['{name}']", caller))
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(
            f"{caller}: the inputs have different numbers of samples: {dict(zip(names, (len(a) for a in arrays)))}"
        )
    return Arrays(arrays)


def prepare_x(model, x, caller: str) -> np.ndarray | Arrays:
    """x as a finite array of the model's dtype whose sample shape the model takes (building the model
    for it if it has no input shape yet); for a model with several inputs, their arrays (`Arrays`)."""
    if len(getattr(model, "inputs", [])) > 1:
        return prepare_inputs(model, x, caller)
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
        model.check_input_shape(x.shape)
    except ValueError as error:
        if "validation" in caller:  # say which array: the message alone reads as if x were wrong
            raise ValueError(f"{caller}: {error}") from None
        raise
    return validation.cast_finite(x, model.compute_dtype, "x", caller)


def by_name(model, values, names: list[str], what: str, kind: str, caller: str) -> list:
    """One value per input (or output) of the model, given as a list in their order or a dict by name."""
    if isinstance(values, dict):
        if set(values) != set(names):
            raise ValueError(
                f"{caller}: the keys of {what} {sorted(values)} do not match the model's {kind[:-1]} names {names}"
            )
        return [values[name] for name in names]
    if not isinstance(values, (list, tuple)) or len(values) != len(names):
        given = f"a list of {len(values)} arrays" if isinstance(values, (list, tuple)) else f"a {type(values).__name__}"
        raise ValueError(
            f"{caller}: model '{model.name}' has {len(names)} {kind} {names}: pass {what} as a list of "
            f"{len(names)} arrays or a dict by name, got {given}"
        )
    return list(values)


def prepare_xy(model, x, y, caller: str) -> tuple[np.ndarray | Arrays, np.ndarray | Arrays]:
    """(x, y) checked against the compiled model: y must fit its loss and its output shape (with several
    outputs, each target its output's loss and shape)."""
    require_compiled(model, caller)
    x = prepare_x(model, x, caller)
    if not getattr(model, "multiple_outputs", False):
        return x, validation.check_targets(y, len(x), model.loss, model.output_shape, model.compute_dtype, caller)
    targets = []
    for name, value, loss, shape in zip(
        model.output_names,
        by_name(model, y, model.output_names, "y", "outputs", caller),
        model.loss.losses,
        model.output_shape,
    ):
        if loss is None:  # an output no loss reads: its target only needs the batch axis
            value = validation.as_array(value, f"y['{name}']", caller)
        else:
            value = validation.check_targets(value, len(x), loss, shape, model.compute_dtype, f"{caller} (y['{name}'])")
        targets.append(value)
    return x, Arrays(targets)


def prepare_training_data(
    model, x, y, sample_weight, class_weight, caller: str
) -> tuple[np.ndarray | Arrays, np.ndarray | Arrays, np.ndarray | None]:
    """(x, y, sample weights) checked, the weights from `sample_weight` (one per sample) or from
    `class_weight` ({class: weight}, as Keras: by the arg-max of one-hot targets, else the rounded label)."""
    x, y = prepare_xy(model, x, y, caller)
    if class_weight is not None and isinstance(y, Arrays):
        raise ValueError(f"{caller}: `class_weight` is only supported for Models with a single output.")
    if sample_weight is not None and class_weight is not None:
        raise ValueError(
            f"{caller}: Arguments `sample_weight` and `class_weight` cannot be specified at the "
            f"same time. Received: sample_weight={type(sample_weight).__name__}, "
            f"class_weight={type(class_weight).__name__}"
        )
    if class_weight is not None:
        sample_weight = class_weights_to_sample_weights(y, class_weight, caller)
    elif sample_weight is not None:
        sample_weight = validation.as_array(sample_weight, "sample_weight", caller).astype(np.float64)
        if sample_weight.shape != (len(x),):
            raise ValueError(
                f"{caller}: sample_weight must hold one weight per sample, shape ({len(x)},), got "
                f"shape {sample_weight.shape}"
            )
        if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError(f"{caller}: sample_weight must be finite and >= 0")
    return x, y, sample_weight


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict, caller: str) -> np.ndarray:
    """Keras's class_weight_to_sample_weights: each sample weighs its class's weight."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"{caller}: class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}"
        )
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else np.round(y.reshape(len(y), -1)[:, 0])
    labels = labels.astype(np.int64)
    missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"{caller}: class_weight has no weight for class(es) {missing}; it has {sorted(class_weight)}")
    table = np.zeros(int(max(max(class_weight), labels.max())) + 1)
    for label, weight in class_weight.items():
        table[int(label)] = float(weight)
    return table[labels]


def split_off_validation(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, fraction: float
) -> tuple[tuple, tuple]:
    """Keras's validation_split: the last `fraction` of the samples, before any shuffling, is held out
    (the split at floor(n (1 - fraction)))."""
    split_at = int(math.floor(len(x) * (1.0 - fraction)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(
            f"fit: validation_split={fraction} leaves {'no training' if split_at == 0 else 'no validation'}"
            f" samples of {len(x)}"
        )
    w, w_val = (None, None) if sample_weight is None else (sample_weight[:split_at], sample_weight[split_at:])
    return (x[:split_at], y[:split_at], w), (x[split_at:], y[split_at:], w_val)


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
