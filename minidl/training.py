"""Training and inference loops: one gradient step on one screen, then the loops of fit, evaluate and predict.

    fit -> train_step:  forward -> loss -> backward -> weight penalties -> optimiser

These functions take the model as an argument and use only its public side: `leaf_layers` (in order,
each with params/grads and state; a nested model's layers in its place), `forward(x, training)`,
`backward(grad)`, `inference()` (the inference pass, planned once per call) and what `compile` set
(`loss`, `optimizer`, `compiled_metrics`). Any model that offers these trains here: a Sequential, or a
graph of layers.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator

import numpy as np

from . import data, validation
from . import metrics as metrics_module
from .callbacks import Callback, CallbackList, History, ProgressBar
from .layers.base import Layer
from .losses import Loss
from .losses.base import masked_weights
from .losses.outputs import OutputLosses
from .metrics import Mean
from .py_dataset import PyDataset

Logs = dict[str, float]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite (fit stops and keeps the last good weights)."""


def link_loss(model) -> Callable[[], np.ndarray | list]:
    """The gradient the loss hands to backward. A cross-entropy after the activation it pairs with (a
    final Softmax over the classes, or a sigmoid) gives that activation's input gradient at once, e.g.
    (p - y) / N (stable, no K x K Jacobian, as Keras computes such a loss from the logits), and the
    activation passes it through. Linked anew at every fit/train_on_batch: it depends on the model as it
    is, not on the loss object, which one may compile into several models. With several outputs, each
    output's loss is linked to its own activation (a list of gradients)."""
    if isinstance(model.loss, OutputLosses):
        per_output = [
            None if loss is None else _linked_gradient(activation, loss)
            for activation, loss in zip(model.output_activations(), model.loss.losses)
        ]
        return lambda: model.loss.gradient(per_output)
    return _linked_gradient(model.output_activation, model.loss)


def _linked_gradient(final: Layer | None, loss: Loss) -> Callable[[], np.ndarray]:
    kind = getattr(final, "fusable_as", None)
    fused = kind is not None and kind == loss.fuses_with
    if kind is not None:
        final.fused_with_loss = fused  # type: ignore[union-attr]
    return loss.logits_gradient if fused else loss.backward


def train_step(
    model,
    x: np.ndarray,
    y: np.ndarray,
    loss_gradient: Callable[[], np.ndarray | list],
    sample_weight: np.ndarray | None = None,
) -> float:
    """One gradient step on a prepared batch; updates the metrics and returns the loss before the update."""
    state = [array for layer in model.leaf_layers for array in layer.state.values()]
    state_before = [array.copy() for array in state]  # tiny: BatchNormalization's (C,) statistics, if any
    y_pred = model.forward(x, training=True)
    mask = model.output_mask  # the output's mask, if the model carries masks (minidl.masking)
    loss = model.loss.forward(y, y_pred, sample_weight, mask) + regularization_loss(model.leaf_layers)
    loss += activity_loss(model.leaf_layers)
    if not math.isfinite(loss):  # checked before the update: the weights stay the last good ones
        for array, before in zip(state, state_before):
            array[...] = before  # and the moving statistics this forward pass changed
        raise NonFiniteLossError(f"the loss is {loss} (weights left as they were before this batch)")
    model.backward(loss_gradient())
    for layer in model.leaf_layers:
        if layer.regularizers:
            layer.add_regularization_gradients()
    model.optimizer.apply_gradients(params_and_grads(model.leaf_layers))
    for layer in model.leaf_layers:  # as Keras's optimizer: the constraints after the update
        if layer.trainable and layer.constraints:
            layer.apply_constraints()
    update_metrics(model, y, y_pred, sample_weight, mask)
    return loss


def regularization_loss(layers: list[Layer]) -> float:
    return sum(layer.regularization_loss() for layer in layers if layer.regularizers)


def activity_loss(layers: list[Layer]) -> float:
    """The penalties on the activities of the last forward pass (ActivityRegularization), one batch's."""
    return sum(layer.activity_loss() for layer in layers)


def params_and_grads(layers: list[Layer]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(key, parameter, its gradient) of every trainable layer; the key names the optimiser's state."""
    for i, layer in enumerate(layers):
        if layer.trainable:
            for name, param in layer.params.items():
                yield f"{i}/{name}", param, layer.grads[name]


def build_metrics(model, y) -> None:
    """The compiled metrics as objects, once, from the first targets' shape (as Keras resolves
    "accuracy"): `model.metrics`, the unweighted ones first, then the weighted ones (with several
    outputs, each named "<output>_<metric>" and all in the order of their names, as Keras lists them),
    and for each the output it reads and whether it takes the sample weights (`model.metric_roles`);
    then reset: every fit, evaluate and train_on_batch starts from a clean state."""
    if model.metrics is None:
        targets, shapes = as_list(model, y), as_list(model, model.output_shape)
        built: list[tuple[metrics_module.Metric, tuple[int, bool]]] = []
        for weighted, pairs in ((False, model.compiled_metrics), (True, model.compiled_weighted_metrics)):
            for output, identifier in pairs:
                metric = metrics_module.resolve(identifier, targets[output].shape, shapes[output])
                if model.multiple_outputs:  # a copy: the given object keeps its own name (saved in compile_config)
                    metric = copy.deepcopy(metric)
                    metric.name = f"{model.output_names[output]}_{metric.name}"
                built.append((metric, (output, weighted)))
        if model.multiple_outputs:
            built.sort(key=lambda pair: pair[0].name)
        model.metrics, model.metric_roles = [m for m, _ in built], [role for _, role in built]
    for metric in model.metrics:
        metric.reset_state()


def as_list(model, values) -> list:
    """A model's outputs (or their targets, or shapes) as a list, one entry per output."""
    if not model.multiple_outputs:
        return [values]
    return values.arrays if isinstance(values, data.Arrays) else values


def update_metrics(model, y, y_pred, sample_weight: np.ndarray | None, mask=None) -> None:
    """Keras's rule: compile's `metrics` see no sample weights, its `weighted_metrics` do; a metric that
    averages per-sample values (MeanMetricWrapper: the accuracies...) weighs them by the output's mask."""
    targets, outputs = as_list(model, y), as_list(model, y_pred)
    masks = [None] * len(outputs) if mask is None else as_list(model, mask)
    for metric, (output, weighted) in zip(model.metrics, model.metric_roles):
        weight = sample_weight if weighted else None
        if masks[output] is not None and isinstance(metric, metrics_module.MeanMetricWrapper):
            weight = masked_weights(weight, masks[output], "sum")
        metric.update_state(targets[output], outputs[output], weight)


def batch_losses(model, loss: float) -> Logs:
    """{"loss": the batch's loss, and with several outputs each output's as "<name>_loss"}."""
    if isinstance(model.loss, OutputLosses):
        return {"loss": loss, **model.loss.output_values()}
    return {"loss": loss}


def update_means(means: dict[str, Mean], losses: Logs, count: int) -> None:
    for key, value in losses.items():
        means.setdefault(key, Mean()).update_state(value, count)


def logs_of(model, losses: dict[str, Mean] | Logs) -> Logs:
    """{"loss": ..., "<output>_loss": ..., metric name: result, ...}: the losses' running means (or one
    batch's losses) and each metric's result over the batches seen."""
    return {
        **{key: value.result() if isinstance(value, Mean) else value for key, value in losses.items()},
        **{metric.name: metric.result() for metric in model.metrics},
    }


def keras_return(logs: Logs, return_dict: bool) -> float | list[float] | Logs:
    """Keras's convention: a dict on request, else the loss alone, or [loss, *metrics] with metrics."""
    if return_dict:
        return logs
    return list(logs.values()) if len(logs) > 1 else logs["loss"]


def train_on_batch(model, x, y, sample_weight=None, class_weight=None) -> Logs:
    x, y, sample_weight = data.prepare_training_data(model, x, y, sample_weight, class_weight, "train_on_batch")
    build_metrics(model, y)
    loss = train_step(model, x, y, link_loss(model), sample_weight)
    return logs_of(model, batch_losses(model, loss))


def fit(
    model,
    x,
    y,
    batch_size: int | None,
    epochs: int,
    verbose: int | str,
    callbacks,
    validation_split: float,
    validation_data,
    shuffle: bool,
    class_weight,
    sample_weight,
    initial_epoch: int,
    steps_per_epoch: int | None,
    validation_steps: int | None,
    validation_batch_size: int | None,
    validation_freq,
) -> History:
    """Keras's fit: every argument checked and the data prepared before anything changes, then the epochs.
    x: arrays (with y), or a PyDataset or a generator of (x, y[, sample_weight]) batches."""
    callbacks = validation.check_fit_arguments(epochs, initial_epoch, callbacks, validation_data)
    batch_size = None if batch_size is None else validation.check_batch_size(batch_size)
    validation_batch_size = (
        batch_size if validation_batch_size is None else validation.check_batch_size(validation_batch_size)
    )
    validation_freq = validation.check_validation_freq(validation_freq)
    validation_split = validation.check_validation_split(validation_split)
    validation_epochs = None
    if validation_split and validation_data is None:  # the last samples held out, as Keras
        if isinstance(x, PyDataset) or data.is_generator(x):
            raise ValueError("fit: validation_split is only supported for arrays, not for a PyDataset or a generator")
        x, y, sample_weight = data.prepare_training_data(model, x, y, sample_weight, class_weight, "fit")
        (x, y, sample_weight), (x_val, y_val, w_val) = data.split_off_validation(x, y, sample_weight, validation_split)
        epochs_of_data = data.array_epochs(x, y, sample_weight, batch_size, shuffle, steps_per_epoch, "fit")
        validation_epochs = data.array_epochs(
            x_val, y_val, w_val, validation_batch_size, False, validation_steps, "fit (validation)"
        )
    else:
        epochs_of_data = data.epochs_of(
            model, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch, "fit"
        )
    if validation_data is not None:
        x_val, y_val, w_val = (
            (validation_data, None, None) if isinstance(validation_data, PyDataset) else (*validation_data, None)[:3]
        )
        validation_epochs = data.epochs_of(
            model, x_val, y_val, w_val, None, validation_batch_size, False, validation_steps, "fit (validation_data)"
        )
    verbose = validation.check_verbose(verbose, "fit")
    callback_list = CallbackList(
        [*callbacks, *([ProgressBar(verbose)] if verbose else [])],
        model,
        {
            "epochs": epochs,
            "steps": epochs_of_data.num_batches,
            "verbose": verbose,
            "do_validation": validation_epochs is not None,
        },
    )
    return run_epochs(model, epochs_of_data, epochs, callback_list, validation_epochs, initial_epoch, validation_freq)


def run_epochs(
    model,
    epochs_of_data: data.EpochIterator,
    epochs: int,
    callbacks: CallbackList,
    validation_epochs: data.EpochIterator | None,
    initial_epoch: int,
    validation_freq: Callable[[int], bool],
) -> History:
    """The epoch loop on prepared batches. Each epoch's logs hold the loss's batch-size-weighted mean (with
    weight penalties) and the metrics over the epoch's batches, then val_* after the epoch."""
    loss_gradient = link_loss(model)
    targets = epochs_of_data.source.targets
    model.history = History()
    callbacks.append(model.history)
    build_metrics(model, targets)
    model.stop_training = False
    model.resume_from_epoch = None
    epochs_of_data.reset()
    callbacks.on_train_begin()
    if model.resume_from_epoch is not None:  # a callback restored a backup (BackupAndRestore)
        initial_epoch = model.resume_from_epoch
    epoch_logs: Logs = {}
    for epoch in range(initial_epoch, epochs):
        callbacks.on_epoch_begin(epoch)
        build_metrics(model, targets)
        loss_means: dict[str, Mean] = {}
        with epochs_of_data.epoch(epoch, model.shuffle_seed) as batches:  # the seed a backup may have restored
            for step, (xb, yb, wb) in enumerate(batches):
                callbacks.on_train_batch_begin(step)
                try:
                    loss = train_step(model, xb, yb, loss_gradient, wb)
                except NonFiniteLossError as error:
                    _report_divergence(model, epoch, step, error)
                    callbacks.on_train_end(epoch_logs)  # a partial epoch with a diverged loss is not recorded
                    return model.history
                update_means(loss_means, batch_losses(model, loss), len(xb))
                epoch_logs = logs_of(model, loss_means)
                callbacks.on_train_batch_end(step, epoch_logs)
                if model.stop_training:
                    break
        if epochs_of_data.ran_out and epoch < epochs - 1:  # a generator's stream cannot start again
            if epochs_of_data.steps is None:  # (with steps, the epoch that ran short has warned)
                data.warn_ran_out()
            model.stop_training = True
        if validation_epochs is not None and validation_freq(epoch):
            val_logs = evaluate(model, validation_epochs, callbacks)
            epoch_logs.update({f"val_{key}": value for key, value in val_logs.items()})
        callbacks.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callbacks.on_train_end(epoch_logs)
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


def evaluate(model, epochs_of_data: data.EpochIterator, callbacks: CallbackList | Callback | None = None) -> Logs:
    """The loss (with weight penalties, as Keras) and metrics over one epoch of prepared batches in inference
    mode: the loss the batch-size-weighted mean over the batches, each metric its result over all of them.
    Metrics are reset first, and left holding this evaluation's state (fit reads them again at its next
    epoch)."""
    callbacks = callbacks or Callback()
    forward = model.inference()
    build_metrics(model, epochs_of_data.source.targets)
    loss_means: dict[str, Mean] = {}
    epochs_of_data.reset()
    callbacks.on_test_begin()
    with epochs_of_data.epoch(0) as batches:
        for step, (xb, yb, wb) in enumerate(batches):
            callbacks.on_test_batch_begin(step)
            y_pred = forward(xb)
            batch_loss = model.loss.forward(yb, y_pred, wb, model.output_mask) + activity_loss(model.leaf_layers)
            update_means(loss_means, batch_losses(model, batch_loss), len(xb))
            update_metrics(model, yb, y_pred, wb, model.output_mask)
            callbacks.on_test_batch_end(step, logs_of(model, loss_means))
    logs = logs_of(model, loss_means)
    logs["loss"] += regularization_loss(model.leaf_layers)
    callbacks.on_test_end(logs)
    return logs


def predict(model, epochs_of_data: data.EpochIterator, callbacks: CallbackList | Callback | None = None):
    """The model's outputs for one epoch of prepared inputs, batch by batch in inference mode (a list, or
    a dict by name, of arrays for several outputs)."""
    callbacks = callbacks or Callback()
    forward = model.inference()
    per_output: list[list[np.ndarray]] = []
    callbacks.on_predict_begin()
    with epochs_of_data.epoch(0) as batches:
        for step, (xb, _, _) in enumerate(batches):
            callbacks.on_predict_batch_begin(step)
            batch_outputs = as_list(model, forward(xb))
            per_output = per_output or [[] for _ in batch_outputs]
            for kept, values in zip(per_output, batch_outputs):  # a copy: a layer may reuse its output's memory
                kept.append(np.array(values, dtype=model.compute_dtype))
            callbacks.on_predict_batch_end(
                step, {"outputs": batch_outputs if model.multiple_outputs else batch_outputs[0]}
            )
    callbacks.on_predict_end()
    outs = [np.concatenate(kept) for kept in per_output]
    return model.structure_outputs(outs) if model.multiple_outputs else outs[0]
