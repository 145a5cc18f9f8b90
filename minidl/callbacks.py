"""Callbacks with Keras's hook names: `fit` calls them at the start and end of training, of each
epoch and of each batch. `self.model` is the model being trained; set `model.stop_training = True`
to end training after the current epoch."""

from __future__ import annotations

import csv
import math
import os
import string
import sys
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm


class Callback:
    """Keras's callback: override any hook. fit calls the train, epoch and (for validation) test hooks,
    evaluate the test hooks, predict the predict hooks."""

    def __init__(self):
        self.model: Any = None  # the model being trained, set by fit
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


class CallbackList(Callback):
    """Calls every hook on each callback in turn."""

    def __init__(self, callbacks: Iterable[Callback], model, params: dict):
        super().__init__()
        self.callbacks: list[Callback] = []
        self.model, self.params = model, params
        for callback in callbacks:
            self.append(callback)

    def append(self, callback: Callback) -> None:
        callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)


class History(Callback):
    """`history.history["loss"][e]` is epoch e's value, with keys loss, accuracy, val_loss, val_accuracy."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []  # Keras keeps the history dict across calls but restarts the epoch list

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class ProgressBar(Callback):
    """Keras's progress output. fit: verbose=1, a bar per epoch (in a terminal) with the live loss and
    metrics first (so a narrow terminal cuts the bar, not the numbers), then, when the epoch ends, its
    complete line with the validation results, whatever the terminal's width; verbose=2, that line
    alone. evaluate and predict (`mode`): a bar over their batches (verbose=1) or one line at the end
    (verbose=2). fit's validation shows no bar of its own, as in Keras."""

    BAR_FORMAT = "{desc} {n_fmt}/{total_fmt}{postfix} {bar:12} {elapsed}"  # tqdm writes ", " before the postfix
    REFRESH_SECONDS = 0.2  # the bar and its numbers are redrawn at most this often

    def __init__(self, verbose: int = 1, mode: str = "fit", file=None):
        super().__init__()
        self.verbose, self.mode = verbose, mode
        self.file = file or sys.stdout
        self.bar = None

    def _open(self, title: str) -> None:
        self.started, self.title, self.steps_done = time.perf_counter(), title, 0
        self.postfix_time = self.started
        if self.verbose == 1 and getattr(self.file, "isatty", lambda: False)():  # a live bar for a terminal only
            self.bar = tqdm(
                total=self.params.get("steps"),
                desc=title,
                unit="batch",
                file=self.file,
                leave=False,  # replaced by the complete line at the end
                dynamic_ncols=True,
                mininterval=self.REFRESH_SECONDS,
                bar_format=self.BAR_FORMAT,
            )

    def _step(self, logs) -> None:
        self.steps_done += 1
        if self.bar is not None:
            now = time.perf_counter()
            if logs and (self.bar.n + 1 == self.bar.total or now - self.postfix_time >= self.REFRESH_SECONDS):
                self.bar.set_postfix_str(_format_logs(logs), refresh=False)
                self.postfix_time = now
            self.bar.update(1)

    def _close(self, logs) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self.verbose in (1, 2):
            seconds = time.perf_counter() - self.started
            steps = f" - {self.steps_done}/{self.params.get('steps')} batch" if self.verbose == 1 else ""
            line = f"{self.title}{steps} - {seconds:.1f}s - {_format_logs(logs)}".rstrip(" -")
            print(line, file=self.file, flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._open(f"Epoch {epoch + 1}/{self.params.get('epochs')}")

    def on_train_batch_end(self, batch, logs=None):
        self._step(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._close(logs)

    def on_test_begin(self, logs=None):
        if self.mode == "evaluate":
            self._open("evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if self.mode == "evaluate":
            self._step(logs)

    def on_test_end(self, logs=None):
        if self.mode == "evaluate":
            self._close(logs)

    def on_predict_begin(self, logs=None):
        if self.mode == "predict":
            self._open("predict")

    def on_predict_batch_end(self, batch, logs=None):
        if self.mode == "predict":
            self._step(None)

    def on_predict_end(self, logs=None):
        if self.mode == "predict":
            self._close(None)


class ProgbarLogger(ProgressBar):
    """Keras's ProgbarLogger, given explicitly: fit's progress output at the verbosity fit was called with
    (fit adds one by itself when verbose is not 0)."""

    def __init__(self, count_mode=None):
        super().__init__(verbose=1)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", 1) or 1


def _format_value(value) -> str:
    """A log value as Keras prints it: 4 decimals (an array metric, e.g. F1Score per class: each value)."""
    if np.ndim(value):
        return "[" + " ".join(f"{v:.4f}" for v in np.ravel(value)) + "]"
    return f"{value:.4f}"


def _format_logs(logs) -> str:
    return " - ".join(f"{k}: {_format_value(v)}" for k, v in (logs or {}).items())


def _maximizes(owner: str, monitor: str, mode: str, model=None) -> bool:
    """Whether `monitor` improves upward: mode "max"; with "auto", as Keras, the direction of the model's
    metric of that name (accuracy, AUC, precision: up; errors: down), the loss down, and, before the
    metrics exist, names like accuracy up."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode == "max"
    name = monitor.removeprefix("val_")
    for metric in getattr(model, "metrics", None) or []:
        if metric.name == name:
            return getattr(metric, "direction", "down") == "up"
    return name != "loss" and "acc" in name


def _validation_hint(log_name: str) -> str:
    """Why a val_* name may be missing from the logs."""
    return " (val_* values need validation_data)" if log_name.startswith("val_") else ""


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    Keras's semantics exactly: mode "auto" maximises metrics named like accuracy and minimises the
    rest; no check before `start_from_epoch`; with `restore_best_weights` the weights of the best
    epoch are restored when training ends (also when it ran to the last epoch without stopping).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ):
        super().__init__()
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience!r}")
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch, self.mode = start_from_epoch, mode
        self.maximize = _maximizes("EarlyStopping", monitor, mode)
        self.min_delta = abs(min_delta)

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        return value - self.min_delta > reference if self.maximize else value + self.min_delta < reference

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None
        self.maximize = _maximizes("EarlyStopping", self.monitor, self.mode, self.model)

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite (as Keras's TerminateOnNaN).

    (`fit` itself already stops before applying an update whose loss is not finite, keeping the
    last good weights; this callback also sees losses that other code puts in the logs.)"""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class ModelCheckpoint(Callback):
    """Save the model after every epoch, or only when `monitor` improves: as Keras by the file's name, a
    `.keras` archive (model.save) or with save_weights_only a `.weights.h5` file (save_weights); or
    minidl's `.npz` (weights and optimiser state, either way).

    `filepath` may hold the epoch and log values, as in Keras: "ckpt/epoch{epoch:03d}-{val_loss:.3f}.keras".
    Files are written atomically (temporary file, fsync, rename): a crash while saving leaves the
    previous checkpoint intact. Resume with `model.load_weights(path)` and `fit(..., initial_epoch=k)`
    (k = the epoch number in the file name: checkpoint {epoch} = k holds the state after k epochs).

    save_best_only: save only when `monitor` is strictly better than the best value so far (mode
    "min", "max", or "auto": max for names containing "acc", else min); a NaN value never is.
    initial_value_threshold: the best value to beat at the start, e.g. the best of the run being
    resumed (as Keras's argument of that name).
    """

    def __init__(
        self,
        filepath: str,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)) or not str(filepath):
            raise TypeError(f"ModelCheckpoint: filepath must be a non-empty path, got {filepath!r}")
        name = os.fspath(filepath)
        if save_weights_only and not name.endswith((".weights.h5", ".npz")):
            raise ValueError(
                f"ModelCheckpoint: when using `save_weights_only=True`, the filepath provided must end in "
                f"`.weights.h5` (Keras's weights file) or `.npz` (minidl's). Received: filepath={name}"
            )
        if not save_weights_only and not name.endswith((".keras", ".npz")):
            raise ValueError(
                f"ModelCheckpoint: the filepath provided must end in `.keras` (Keras's model format) or "
                f"`.npz` (minidl's weights with the optimiser state). Received: filepath={name}"
            )
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        ):
            raise ValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer (batches), got {save_freq!r}"
            )
        self.save_weights_only, self.save_freq, self._batches_seen = save_weights_only, save_freq, 0
        if not isinstance(monitor, str):
            raise TypeError(f"ModelCheckpoint: monitor must be a log name such as 'val_loss', got {monitor!r}")
        try:  # a malformed template fails now, not after the first epoch of training
            list(string.Formatter().parse(os.fspath(filepath)))
        except ValueError as error:
            raise ValueError(
                f"ModelCheckpoint: filepath {str(filepath)!r} is not a valid format string: {error}"
            ) from None
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only = save_best_only
        self.maximize = _maximizes("ModelCheckpoint", monitor, mode)
        if initial_value_threshold is not None and not math.isfinite(initial_value_threshold):
            raise ValueError(
                f"ModelCheckpoint: initial_value_threshold must be finite, got {initial_value_threshold!r}"
            )
        self.best: float | None = initial_value_threshold

    def on_train_begin(self, logs=None):
        """Check the filepath template and the monitor against the logs fit will produce, so that a
        typo fails now rather than after the first epoch."""
        metrics = getattr(self.model, "metrics", None)
        if metrics is None or "do_validation" not in self.params:
            return  # not run by Sequential.fit: the logs' keys are unknown
        keys = ["loss", *(m.name for m in metrics)]
        expected = {
            **dict.fromkeys(keys, 0.0),
            **({f"val_{k}": 0.0 for k in keys} if self.params["do_validation"] else {}),
        }
        self._path(0, expected)
        if self.save_best_only and self.monitor not in expected:
            raise KeyError(
                f"ModelCheckpoint: monitor '{self.monitor}' will not be in the logs, which hold "
                f"{sorted(expected)}" + _validation_hint(self.monitor)
            )

    def _path(self, epoch: int, logs: dict) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError) as error:
            raise KeyError(
                f"ModelCheckpoint: filepath {self.filepath!r} uses {{{error.args[0]}}}, which is not in "
                f"this epoch's logs; available: epoch, {', '.join(sorted(logs))}" + _validation_hint(str(error.args[0]))
            ) from None
        except ValueError as error:  # e.g. {loss:02d}: a float with an integer format
            raise ValueError(
                f"ModelCheckpoint: cannot format filepath {self.filepath!r} with epoch={epoch + 1} "
                f"and the logs {logs}: {error}"
            ) from None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches_seen += 1
            if self._batches_seen % int(self.save_freq) == 0:
                self._save(self._epoch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch: int, logs: dict) -> None:
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(
                    f"ModelCheckpoint: monitor '{self.monitor}' is not in the logs {sorted(logs)}"
                    + _validation_hint(self.monitor)
                )
            improved = math.isfinite(current) and (
                self.best is None or (current > self.best if self.maximize else current < self.best)
            )
            if not improved:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to {current}, saving to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if os.fspath(path).endswith(".keras"):
            self.model.save(path)
        else:
            self.model.save_weights(path)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` has not improved by more than `min_delta` for
    `patience` epochs, then wait `cooldown` epochs; never below `min_lr` (Keras's semantics; the epoch's
    logs get the rate as "learning_rate", as Keras)."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        _maximizes("ReduceLROnPlateau", monitor, mode)
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, abs(min_delta), cooldown, min_lr

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0
        self.maximize = _maximizes("ReduceLROnPlateau", self.monitor, self.mode, self.model)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        better = self.best is None or (
            current - self.min_delta > self.best if self.maximize else current + self.min_delta < self.best
        )
        if better:
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(self.model.optimizer.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new
                    if self.verbose:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """At each epoch's start, learning_rate = schedule(epoch, current rate) (or schedule(epoch)), as Keras."""

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        try:
            rate = self.schedule(epoch, float(self.model.optimizer.learning_rate))
        except TypeError:  # Keras's old one-argument API
            rate = self.schedule(epoch)
        if not isinstance(rate, (float, np.floating)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {rate}")
        self.model.optimizer.learning_rate = float(rate)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """One CSV row per epoch: "epoch" then the logs' keys in sorted order, as Keras (val_* columns added
    from the first row on when it has none)."""

    def __init__(self, filename, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.file: Any = None
        self.writer: Any = None
        self.keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        header = not (self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0)
        self.file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115  (kept open)
        self.writer, self.keys, self.header = None, None, header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch", *self.keys], delimiter=self.separator)
            if self.header:
                self.writer.writeheader()
        row = {"epoch": epoch, **{key: _csv_value(logs.get(key, "NA")) for key in self.keys}}
        self.writer.writerow(row)
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


def _csv_value(value):
    if isinstance(value, str) or not np.ndim(value):
        return value
    return f"[{', '.join(map(str, np.ravel(value)))}]"


class LambdaCallback(Callback):
    """A callback from functions, as Keras: LambdaCallback(on_epoch_end=lambda epoch, logs: ...)."""

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **hooks,
    ):
        super().__init__()
        given = dict(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
            on_train_batch_begin=on_train_batch_begin,
            on_train_batch_end=on_train_batch_end,
            **hooks,
        )
        for hook, function in given.items():
            if function is not None:
                if not callable(getattr(Callback, hook, None)):
                    raise ValueError(f"LambdaCallback: unknown hook {hook!r}")
                setattr(self, hook, function)


class BackupAndRestore(Callback):
    """Keras's BackupAndRestore (save_freq="epoch"): after every epoch the model, its optimiser and random
    states are saved to `backup_dir`; a fit that was interrupted (Ctrl-C,
    a killed process) and is started again with the same callback resumes after the last saved epoch, as
    if it had never stopped: the same batches, the same dropout masks, bit for bit. The backup is deleted
    when training ends (unless delete_checkpoint=False).

    Files: `backup_dir/epoch-{k}.npz` (k epochs done), written atomically, the older one deleted after."""

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint: bool = True):
        super().__init__()
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: only save_freq='epoch' is supported, got {save_freq!r}")
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        self.backup_dir, self.delete_checkpoint = Path(backup_dir), delete_checkpoint

    def _backups(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.backup_dir.glob("epoch-*.npz"):
            done = path.name.removeprefix("epoch-").removesuffix(".npz")
            if done.isdigit():
                found.append((int(done), path))
        return sorted(found)

    def on_train_begin(self, logs=None):
        backups = self._backups()
        if backups:
            done, path = backups[-1]
            self.model.load_weights(path)
            self.model.resume_from_epoch = done

    def on_epoch_end(self, epoch, logs=None):
        older = self._backups()
        self.model.save_weights(self.backup_dir / f"epoch-{epoch + 1}.npz")
        for done, path in older:
            if done != epoch + 1:
                path.unlink(missing_ok=True)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:  # training ended (an exception skips this: the backup stays)
            for _, path in self._backups():
                path.unlink(missing_ok=True)


class GradientStats(Callback):
    """See backprop work: per layer and per epoch, on the epoch's last training batch,

        grad_norm[layer/param]     |dL/dW|, the norm of the parameter's gradient
        update_ratio[layer/param]  |W_after - W_before| / |W_before|, the step the optimiser took
        activation_rms[layer]      sqrt(mean(y^2)) of the layer's output in that forward pass

    in `self.stats` ({name: [one value per epoch]}), drawn by `plot()`. The learner sees the gradients
    shrink from the last layer to the first, the jump of a momentum run, BatchNormalization keeping the
    activations at scale. Cheap to leave on: it copies the weights and watches the outputs on one batch
    per epoch only."""

    def __init__(self):
        super().__init__()
        self.stats: dict[str, dict[str, list[float]]] = {"grad_norm": {}, "update_ratio": {}, "activation_rms": {}}
        self.samples = 0  # batches measured (one per epoch)
        self._before: dict[str, np.ndarray] | None = None

    def _parameters(self):
        for layer in self.model.leaf_layers:
            for name, param in layer.params.items():
                yield layer, f"{layer.name}/{name}", name, param

    def on_train_batch_begin(self, batch, logs=None):
        if batch != self.params.get("steps", 0) - 1:
            return
        self._before = {key: param.copy() for _, key, _, param in self._parameters()}
        for layer in self.model.leaf_layers:  # watch each output of this forward pass
            layer.forward = self._watching(layer)

    def _watching(self, layer):
        forward = type(layer).forward.__get__(layer)

        def watched(x, training=False):
            y = forward(x, training)
            rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
            self.stats["activation_rms"].setdefault(layer.name, []).append(rms)
            return y

        return watched

    def on_train_batch_end(self, batch, logs=None):
        if self._before is None:
            return
        for layer in self.model.leaf_layers:
            vars(layer).pop("forward", None)  # the class's own forward again
        for layer, key, name, param in self._parameters():
            before = self._before[key]
            grad = layer.grads.get(name)
            norm = float(np.linalg.norm(grad)) if grad is not None else float("nan")
            self.stats["grad_norm"].setdefault(key, []).append(norm)
            ratio = float(np.linalg.norm(param - before) / (np.linalg.norm(before) or 1.0))
            self.stats["update_ratio"].setdefault(key, []).append(ratio)
        self._before = None
        self.samples += 1

    def plot(self, path: str | os.PathLike | None = None, title: str = ""):
        """Three panels over the epochs, log scale: gradient norms, update ratios, activation RMS (a line
        per parameter or layer, the first layers' lines lighter). Returns the matplotlib figure."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(13, 3.8), layout="constrained")
        axes = fig.subplots(1, 3)
        titles = {
            "grad_norm": "|dL/dW| (last batch of each epoch)",
            "update_ratio": "|ΔW| / |W| per step",
            "activation_rms": "RMS of each layer's output",
        }
        for ax, (kind, series) in zip(axes, self.stats.items()):
            shown = {name: values for name, values in series.items() if "bias" not in name}
            colors = [(0.2, 0.3 + 0.5 * i / max(len(shown) - 1, 1), 0.8) for i in range(len(shown))]
            for (name, values), color in zip(shown.items(), colors):
                ax.plot(np.arange(1, len(values) + 1), values, label=name, color=color)
            ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_title(titles[kind], fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        if title:
            fig.suptitle(title)
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig
