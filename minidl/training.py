"""Training and inference loops: one gradient step on one screen, then the loops of fit, evaluate and predict.

    fit -> train_step:  forward -> loss -> backward -> weight penalties -> optimiser

These functions take the model as an argument and use only its public side: `layers` (in order, each
with params/grads and state), `forward(x, training)`, `backward(grad)`, `inference()` (the inference
pass, planned once per call) and what `compile` set (`loss`, `optimizer`, `metrics`). Any model that
offers these trains here: a Sequential, or a graph of layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from . import data, validation
from .callbacks import CallbackList, History, ProgressBar
from .layers.activations import Softmax
from .layers.base import Layer

Logs = dict[str, float]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite (fit stops and keeps the last good weights)."""


def link_loss(model) -> Callable[[], np.ndarray]:
    """The gradient the loss hands to backward. A cross-entropy after a final Softmax gives the softmax's
    input gradient (p - y) / N at once (stable, no K x K Jacobian), and that Softmax passes it through.
    Linked anew at every fit/train_on_batch: it depends on the model as it is, not on the loss object,
    which one may compile into several models."""
    final = model.layers[-1].output_activation
    over_classes = isinstance(final, Softmax) and final.axis in (-1, len(model.output_shape) - 1)
    fused = over_classes and model.loss.fuses_with_softmax
    if isinstance(final, Softmax):
        final.fused_with_loss = fused
    return model.loss.softmax_input_gradient if fused else model.loss.backward


def train_step(model, x: np.ndarray, y: np.ndarray, loss_gradient: Callable[[], np.ndarray]) -> Logs:
    """One gradient step on a prepared batch; returns its logs (the loss is the one before the update)."""
    state = [array for layer in model.layers for array in layer.state.values()]
    state_before = [array.copy() for array in state]  # tiny: BatchNormalization's (C,) statistics, if any
    y_pred = model.forward(x, training=True)
    loss = model.loss.forward(y, y_pred) + regularization_loss(model.layers)
    if not math.isfinite(loss):  # checked before the update: the weights stay the last good ones
        for array, before in zip(state, state_before):
            array[...] = before  # and the moving statistics this forward pass changed
        raise NonFiniteLossError(f"the loss is {loss} (weights left as they were before this batch)")
    model.backward(loss_gradient())
    for layer in model.layers:
        if layer.regularizers:
            layer.add_regularization_gradients()
    model.optimizer.apply_gradients(params_and_grads(model.layers))
    return batch_logs(model, y, y_pred, loss)


def regularization_loss(layers: list[Layer]) -> float:
    return sum(layer.regularization_loss() for layer in layers if layer.regularizers)


def params_and_grads(layers: list[Layer]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(key, parameter, its gradient) of every trainable layer; the key names the optimiser's state."""
    for i, layer in enumerate(layers):
        if layer.trainable:
            for name, param in layer.params.items():
                yield f"{i}/{name}", param, layer.grads[name]


def batch_logs(model, y: np.ndarray, y_pred: np.ndarray, loss: float) -> Logs:
    return {"loss": loss, **{metric.name: metric(y, y_pred) for metric in model.metrics}}


def keras_return(logs: Logs, return_dict: bool) -> float | list[float] | Logs:
    """Keras's convention: a dict on request, else the loss alone, or [loss, *metrics] with metrics."""
    if return_dict:
        return logs
    return list(logs.values()) if len(logs) > 1 else logs["loss"]


def fit(
    model,
    x,
    y,
    batch_size: int,
    epochs: int,
    verbose: int | str,
    callbacks,
    validation_data,
    shuffle: bool,
    initial_epoch: int,
) -> History:
    """Keras's fit: every argument checked and the data prepared before anything changes, then the epochs."""
    callbacks = validation.check_fit_arguments(epochs, initial_epoch, callbacks, validation_data)
    batch_size = validation.check_batch_size(batch_size)
    x, y = data.prepare_xy(model, x, y, "fit")
    if validation_data is not None:
        x_val, y_val = validation_data
        validation_data = data.prepare_xy(model, x_val, y_val, "fit (validation_data)")
    verbose = 1 if verbose == "auto" else int(verbose)
    return run_epochs(model, x, y, batch_size, epochs, verbose, callbacks, validation_data, shuffle, initial_epoch)


def run_epochs(
    model,
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    epochs: int,
    verbose: int,
    callbacks: list,
    validation_data: tuple[np.ndarray, np.ndarray] | None,
    shuffle: bool,
    initial_epoch: int,
) -> History:
    """The epoch loop on prepared arrays. Each epoch's logs hold the batch-size-weighted means of the loss
    (with weight penalties) and metrics over its batches, then val_* computed after the epoch."""
    loss_gradient = link_loss(model)
    n = len(x)
    steps = data.steps_per_epoch(n, batch_size)
    model.history = History()
    callback_list = CallbackList(
        [*callbacks, model.history, *([ProgressBar(verbose)] if verbose else [])],
        model,
        {"epochs": epochs, "steps": steps, "verbose": verbose, "do_validation": validation_data is not None},
    )
    model.stop_training = False
    callback_list.on_train_begin()
    epoch_logs: Logs = {}
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        # A single full batch is not shuffled: its summed gradient would not change.
        order = data.epoch_order(model.shuffle_seed, epoch, n, shuffle and steps > 1)
        sums: dict[str, float] = {}
        seen = 0
        for step, batch in enumerate(data.batches(n, batch_size, order)):
            callback_list.on_train_batch_begin(step)
            xb, yb = x[batch], y[batch]
            try:
                logs = train_step(model, xb, yb, loss_gradient)
            except NonFiniteLossError as error:
                _report_divergence(model, epoch, step, error)
                callback_list.on_train_end(epoch_logs)  # a partial epoch with a diverged loss is not recorded
                return model.history
            size = len(xb)
            seen += size
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + value * size
            epoch_logs = {key: total / seen for key, total in sums.items()}
            callback_list.on_train_batch_end(step, epoch_logs)
            if model.stop_training:
                break
        if validation_data is not None:
            val_logs = evaluate(model, *validation_data, batch_size)
            epoch_logs.update({f"val_{key}": value for key, value in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(epoch_logs)
    return model.history


def _report_divergence(model, epoch: int, step: int, error: NonFiniteLossError) -> None:
    model.stop_training = True
    finite = all(np.isfinite(w).all() for w in model.get_weights())  # rare: only when stopping
    print(
        f"Epoch {epoch + 1}, batch {step + 1}: {error}; training stopped. Try a smaller learning rate."
        + (
            ""
            if finite
            else " The weights themselves are not finite (an earlier update overflowed): reload the last checkpoint."
        ),
        flush=True,
    )


def evaluate(model, x: np.ndarray, y: np.ndarray, batch_size: int) -> Logs:
    """The loss (with weight penalties, as Keras) and metrics over (x, y) in inference mode, each the
    batch-size-weighted mean over the batches."""
    forward = model.inference()
    sums: dict[str, float] = {}
    for batch in data.batches(len(x), batch_size):
        xb, yb = x[batch], y[batch]
        y_pred = forward(xb)
        for key, value in batch_logs(model, yb, y_pred, model.loss.forward(yb, y_pred)).items():
            sums[key] = sums.get(key, 0.0) + value * len(xb)
    logs = {key: total / len(x) for key, total in sums.items()}
    logs["loss"] += regularization_loss(model.layers)
    return logs


def predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's outputs for prepared x, batch by batch in inference mode."""
    forward = model.inference()
    out = np.empty((len(x), *model.output_shape[1:]), dtype=model.compute_dtype)
    for batch in data.batches(len(x), batch_size):
        out[batch] = forward(x[batch])
    return out
