"""Checks of what users pass in, at the boundary: each failure names the caller, the argument and the
shapes, before anything runs, so a mistake never surfaces as a NumPy traceback from deep inside."""

from __future__ import annotations

import numbers

import numpy as np

from .callbacks import Callback
from .layers.base import Layer
from .layers.core import InputLayer
from .layers.symbolic import KerasTensor
from .losses import CategoricalCrossentropy, Loss
from .metrics import Metric
from .optimizers import Optimizer
from .py_dataset import PyDataset
from .registry import reject_class
from .shapes import format_shape


def as_array(data, what: str, caller: str) -> np.ndarray:
    """`data` as a numeric array, or a TypeError/ValueError naming `what` ("x", "y") and the caller."""
    if data is None:
        raise TypeError(f"{caller}: {what} is None; pass a NumPy array")
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(
            f"{caller}: {what} cannot be made into an array (rows of different lengths?): {error}"
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{caller}: {what} must be numeric, got an array of dtype {array.dtype}"
            + (" (rows of different lengths, or None values?)" if array.dtype.kind == "O" else "")
        )
    if array.ndim == 0:
        raise ValueError(f"{caller}: {what} must be an array with a batch axis first, got the scalar {data!r}")
    if array.size == 0:
        raise ValueError(f"{caller}: {what} is empty (shape {array.shape})")
    return array


def cast_finite(a: np.ndarray, dtype: str, what: str, caller: str) -> np.ndarray:
    """`a` as `dtype`, or a ValueError saying where a NaN/inf is, or which value is too large for dtype."""
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, not as a warning
        cast = a.astype(dtype, copy=False)
    if cast.dtype.kind == "f" and not np.isfinite(cast).all():
        bad = ~np.isfinite(cast)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"at sample {first[0]}, index {first}; {int(bad.sum())} non-finite value(s) in all"
        if np.isfinite(a[first]):
            raise ValueError(f"{caller}: {what} has values too large for {dtype} ({a[first]} {where}): scale the data")
        raise ValueError(f"{caller}: {what} contains NaN or infinite values ({a[first]} {where})")
    return cast


def check_targets(y, n: int, loss: Loss, output_shape: tuple, dtype: str, caller: str) -> np.ndarray:
    """y checked against the loss (one-hot rows or integer labels) and the model's output shape, as `dtype`
    (integer labels as intp)."""
    y = as_array(y, "y", caller)
    if len(y) != n:
        raise ValueError(f"{caller}: x and y have different numbers of samples: x has {n}, y has {len(y)}")
    classes = output_shape[-1]
    if loss.expects_integer_labels:
        # a label per output row: (N,) for (N, K) outputs, (N, T) for a sequence's (N, T, K), as Keras
        label_shape = tuple(output_shape[1:-1])
        expected = format_shape(("N", *label_shape))
        if y.ndim == len(label_shape) + 2 and y.shape[-1] == 1:
            y = y[..., 0]
        if y.ndim == len(label_shape) + 2 and y.shape[-1] == classes:
            raise ValueError(
                f"{caller}: loss '{loss.name}' expects integer labels of shape {expected}, got "
                f"one-hot targets of shape {y.shape}; use loss='categorical_crossentropy' or "
                f"pass y.argmax(axis=-1)"
            )
        if y.ndim != len(label_shape) + 1 or any(d is not None and d != s for d, s in zip(label_shape, y.shape[1:])):
            raise ValueError(
                f"{caller}: loss '{loss.name}' expects integer labels of shape {expected}, "
                f"got {y.dtype} labels of shape {y.shape}"
            )
        if y.dtype.kind == "f":  # whole-valued floats (labels read from a CSV) are labels, as in Keras
            bad = ~np.isfinite(y) | (y != np.round(y))
            if bad.any():
                raise ValueError(
                    f"{caller}: loss '{loss.name}' expects integer class labels, got "
                    f"{y.dtype} values such as {y[bad][0]} at index {int(np.argmax(bad))}"
                )
        if y.min() < 0 or y.max() >= classes:
            raise ValueError(
                f"{caller}: labels must be in 0..{classes - 1} for the model's {classes} "
                f"outputs, found values in {float(y.min()):g}..{float(y.max()):g}"
            )
        return y.astype(np.intp, copy=False)
    if y.ndim == len(output_shape) - 1 and output_shape[-1] == 1:
        y = y[..., None]  # labels (N,) for one output (N, 1), as Keras matches them
    categorical = isinstance(loss, CategoricalCrossentropy)
    if y.ndim == 1 and categorical:
        raise ValueError(
            f"{caller}: loss '{loss.name}' expects one-hot targets of shape (N, {classes}), "
            f"got labels of shape {y.shape}; use minidl.utils.to_categorical(y, {classes}) "
            f"or loss='sparse_categorical_crossentropy'"
        )
    if len(y.shape) != len(output_shape) or any(
        d is not None and d != s for d, s in zip(output_shape[1:], y.shape[1:])
    ):
        hint = (
            f"; these look like integer labels: use minidl.utils.to_categorical(y, {classes}) or "
            f"loss='sparse_categorical_crossentropy'"
            if y.shape[1:] == (1,) and categorical
            else ""
        )
        raise ValueError(
            f"{caller}: targets of shape {format_shape((None, *y.shape[1:]))} do not match the "
            f"model's output shape {format_shape(output_shape)}{hint}"
        )
    y = cast_finite(y, dtype, "y", caller)
    if categorical:
        # Categorical cross-entropy targets are probability rows; anything else is a mistake (labels as
        # floats, a wrong encoding) that would train silently.
        sums = y.sum(axis=-1, dtype=np.float64)
        bad_rows = (np.abs(sums - 1) > 1e-3) | (y < 0).any(axis=-1)
        if bad_rows.any():
            i = int(np.argmax(bad_rows.reshape(-1)))
            raise ValueError(
                f"{caller}: loss '{loss.name}' expects one-hot (or probability) target rows "
                f"with values in [0, 1] summing to 1; row {i} sums to {sums.reshape(-1)[i]:g} "
                f"(min {y.reshape(-1, classes)[i].min():g}); for class labels use "
                f"minidl.utils.to_categorical(labels, {classes})"
            )
    return y


def check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_fit_arguments(epochs, initial_epoch, callbacks, validation_data) -> list[Callback]:
    """fit's arguments other than the data, checked before anything runs; returns the callbacks as a list."""
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(f"fit: {name} must be an integer >= 0, got {value!r}")
    if initial_epoch > epochs:
        raise ValueError(
            f"fit: initial_epoch={initial_epoch} is larger than epochs={epochs}; epochs is the "
            f"index of the last epoch (as in Keras), not the number of epochs to run: "
            f"to train {epochs} more epochs use epochs={initial_epoch + epochs}"
        )
    callbacks = check_callbacks(callbacks, "fit")
    if (
        validation_data is not None
        and not isinstance(validation_data, PyDataset)
        and (not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3))
    ):
        got = (
            f"a {type(validation_data).__name__} of length {len(validation_data)}"
            if isinstance(validation_data, (tuple, list))
            else f"an array of shape {validation_data.shape}"
            if isinstance(validation_data, np.ndarray)
            else f"a {type(validation_data).__name__}"
        )
        raise ValueError(
            f"fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight), or a "
            f"PyDataset, got {got}"
        )
    return callbacks


def check_callbacks(callbacks, caller: str) -> list[Callback]:
    """The callbacks as a list (a single one is accepted, as Keras), each a Callback instance."""
    if callbacks is None:
        callbacks = []
    elif isinstance(callbacks, Callback):
        callbacks = [callbacks]
    elif isinstance(callbacks, (list, tuple)):
        callbacks = list(callbacks)
    else:
        raise TypeError(f"{caller}: callbacks must be a list of Callback instances, got {callbacks!r}")
    for callback in callbacks:
        reject_class(callback, Callback, f"{caller}: callbacks must be Callback instances", "callbacks=[{}(...)]")
        if not isinstance(callback, Callback):
            raise TypeError(
                f"{caller}: callbacks must be Callback instances, got {type(callback).__name__}: {callback!r}"
            )
    return callbacks


def check_validation_freq(validation_freq):
    """fit's validation_freq: every k epochs (an int) or at the listed epochs (1-based), as a predicate of
    the 0-based epoch index."""
    if isinstance(validation_freq, (int, np.integer)) and not isinstance(validation_freq, bool) and validation_freq > 0:
        every = int(validation_freq)
        return lambda epoch: (epoch + 1) % every == 0
    if isinstance(validation_freq, (list, tuple, set, range)) and all(
        isinstance(e, numbers.Integral) for e in validation_freq
    ):
        epochs = set(validation_freq)
        return lambda epoch: epoch + 1 in epochs
    raise ValueError(f"fit: validation_freq must be a positive integer or a list of epochs, got {validation_freq!r}")


def check_verbose(verbose, caller: str) -> int:
    """Keras's verbose: "auto" (1), 0 (silent), 1 (a progress bar) or 2 (one line)."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"{caller}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def check_validation_split(validation_split) -> float:
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, (int, float, np.floating))
        or not 0 <= validation_split < 1
    ):
        raise ValueError(f"fit: validation_split must be a number in [0, 1), got {validation_split!r}")
    return float(validation_split)


def check_layer_to_add(model, layer) -> None:
    """Sequential.add's checks: a Layer instance, an Input only first, no layer or name twice."""
    reject_class(layer, Layer, "Sequential.add expects a Layer instance", "{}(...)")
    if isinstance(layer, KerasTensor):
        if not isinstance(layer.node.layer, InputLayer):
            raise TypeError(
                f"Sequential.add expects a Layer or an Input, got the output of layer "
                f"'{layer.node.layer.name}': build graphs of layers with minidl.Model(inputs, outputs)"
            )
        if model.layers or model.input_shape is not None:
            raise ValueError("Sequential.add: an Input must come first, and only once")
        return
    if not isinstance(layer, Layer) and not hasattr(layer, "leaf_layers"):  # a model is a layer too
        raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}: {layer!r}")
    if layer is model:
        raise ValueError(f"Sequential.add: model '{model.name}' cannot be a layer of itself")
    if getattr(layer, "multiple_outputs", False):
        raise ValueError(f"Sequential.add: model '{layer.name}' has several outputs; a Sequential's layers have one")
    if any(layer is other for other in model.layers):
        raise ValueError(
            f"Sequential.add: layer '{layer.name}' is already in model '{model.name}'; "
            f"a layer can appear only once (create a new one)"
        )
    if any(layer.name == other.name for other in model.layers):
        raise ValueError(
            f"All layers added to a Sequential model should have unique names. Name "
            f"'{layer.name}' is already the name of a layer in this model. Update the "
            f"`name` argument to pass a unique name."
        )


def check_model_input_shape(model_name: str, input_shape) -> tuple:
    """`build(input_shape)`: a shape with the batch axis first, e.g. (None, 784) or (32, 28, 28, 1)."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise TypeError(
            f"Model '{model_name}': build expects an input shape such as (None, 784), got {input_shape!r}"
        ) from None
    dims = shape[1:]
    if (
        len(shape) < 2
        or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in dims)
        or not (shape[0] is None or isinstance(shape[0], (int, np.integer)))
    ):
        hint = (
            f"; with the batch axis first, it is probably {format_shape((None, *shape))}"
            if len(shape) >= 1 and all(isinstance(d, (int, np.integer)) and d >= 1 for d in shape)
            else ""
        )
        raise ValueError(
            f"Model '{model_name}': build expects the input shape with the batch axis first "
            f"and positive sizes after it, e.g. (None, 784); got {input_shape!r}{hint}"
        )
    return (None, *(int(d) for d in dims))


def check_layers_can_train(layers) -> None:
    """A layer written with Keras's `call` (or its own forward) still needs its backward to be trained."""
    for layer in layers:
        if not layer.has_backward:
            raise TypeError(
                f"compile: layer '{layer.name}' ({type(layer).__name__}) has no backward: minidl trains a "
                f"layer through `def backward(self, grad_output)`, which stores dL/d(weight) in "
                f"self.grads[name] and returns dL/d(input); write it in {type(layer).__name__} "
                f"(minidl.testing.check_layer_gradients checks it)"
            )


def check_optimizer(optimizer):
    reject_class(optimizer, Optimizer, "compile: optimizer must be a name or an instance", "optimizer={}()")
    return optimizer


def check_loss(loss):
    reject_class(loss, Loss, "compile: loss must be a name or an instance", "loss={}()")
    return loss


def check_metrics(metrics) -> None:
    """compile's metrics: a list of names, instances (not classes) or functions."""
    reject_class(metrics, Metric, "compile: metrics must be a name or an instance", "metrics={}()")
    if not isinstance(metrics, (list, tuple)):
        raise TypeError(
            f"compile: metrics must be a list, e.g. metrics=['accuracy'], got {metrics!r} "
            f"of type {type(metrics).__name__}"
        )
    for metric in metrics:
        reject_class(metric, Metric, "compile: metrics must be a name or an instance", "metrics={}()")


def per_output(value, names: list[str], argument: str, model_name: str, broadcast: bool) -> list:
    """compile's `loss`, `loss_weights` or `metrics` for a model with several outputs, one entry per output
    in the outputs' order: given as a list in that order, a dict by output name (for metrics, some names
    may be left out), or, where `broadcast`, one value for every output (as Keras does with one loss)."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        missing = [] if argument == "metrics" else [name for name in names if name not in value]
        if unknown or missing:
            raise ValueError(
                f"compile: model '{model_name}' has the outputs {names}; the {argument} dict "
                + (f"names unknown outputs {unknown}" if unknown else f"has no entry for the output(s) {missing}")
            )
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"compile: model '{model_name}' has {len(names)} outputs {names}; {argument} must give one entry "
                f"per output (a list of {len(names)}, or a dict by name), got a list of {len(value)}"
            )
        return list(value)
    if not broadcast:
        raise ValueError(
            f"compile: model '{model_name}' has {len(names)} outputs {names}; give {argument} as a list of "
            f"{len(names)} entries or a dict by output name, got {value!r}"
        )
    return [value] * len(names)
