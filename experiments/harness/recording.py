"""What a training run leaves: its curves, recorded by one callback that serves minidl and Keras, and
its final values, as a Run."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import minidl

from .config import Config
from .data import SPLITS, Data
from .frameworks import import_keras

Curves = dict[str, dict[str, list[float]]]  # curves[split]["loss" | "accuracy"][epoch]


class EpochRecorder:
    """Records, at the end of every epoch, the loss and accuracy of `model.evaluate` on the given
    splits, and the values of fit's own logs (train: running mean over the epoch's batches; valid:
    val_*) for splits it does not evaluate. Mixed into each framework's Callback (`epoch_recorder`)."""

    model: Any  # set by the framework's callback machinery

    def __init__(self, data: Data, evaluate: tuple = SPLITS, batch_size: int = 2048):
        super().__init__()
        self.data, self.evaluated, self.batch_size = data, tuple(evaluate), batch_size
        self.curves: Curves = {split: {"loss": [], "accuracy": []} for split in SPLITS}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for split in SPLITS:
            if split in self.evaluated:
                values = self.model.evaluate(
                    self.data.x[split], self.data.y[split], batch_size=self.batch_size, verbose=0, return_dict=True
                )
            else:
                prefix = "val_" if split == "valid" else ""
                values = {key: logs.get(prefix + key) for key in ("loss", "accuracy")}
            for key in ("loss", "accuracy"):
                if values.get(key) is not None:
                    self.curves[split][key].append(float(values[key]))

    def final(self) -> dict[str, float]:
        return {
            f"{split}_{key}": values[-1]
            for split, curve in self.curves.items()
            for key, values in curve.items()
            if values
        }


class MinidlEpochRecorder(EpochRecorder, minidl.callbacks.Callback):
    """The EpochRecorder as a minidl callback."""


@functools.cache
def _keras_epoch_recorder_class() -> type:
    """The EpochRecorder as a Keras callback (defined on first use: Keras is imported only when needed)."""
    keras = import_keras()

    class KerasEpochRecorder(EpochRecorder, keras.callbacks.Callback):
        """The EpochRecorder as a Keras callback."""

    return KerasEpochRecorder


def epoch_recorder(framework: str, data: Data, evaluate: tuple = SPLITS) -> EpochRecorder:
    """An EpochRecorder that is a Callback of the given framework."""
    recorder_class = _keras_epoch_recorder_class() if framework == "keras" else MinidlEpochRecorder
    return recorder_class(data, evaluate)


@dataclass
class Run:
    """One training run (or, with seed None, the mean of a setting's runs over several seeds)."""

    framework: str
    setting: str
    curves: Curves
    final: dict[str, float]
    seconds: float
    epochs_run: int
    command: str = ""  # the command line that produced it
    seed: int | None = None  # None: the mean over several seeds (their standard deviations in `spread`)
    spread: dict[str, float] = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)  # the trained model, while the script runs


def mean_over_seeds(runs: list[Run]) -> list[Run]:
    """One Run per (framework, setting), in first-seen order, for the table: the mean over its seeds of
    every final value, the sample standard deviation (ddof=1) in `spread`; no curves (the plots and
    results.json keep each seed's)."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault((run.framework, run.setting), []).append(run)
    means = []
    for (framework, setting), group in groups.items():
        if len(group) == 1:
            means.append(group[0])
            continue
        finals = {key: [run.final[key] for run in group] for key in group[0].final}
        means.append(
            Run(
                framework,
                setting,
                {},
                {k: float(np.mean(v)) for k, v in finals.items()},
                float(np.mean([r.seconds for r in group])),
                group[0].epochs_run,
                group[0].command,
                seed=None,
                spread={k: float(np.std(v, ddof=1)) for k, v in finals.items()},
            )
        )
    return means


def train(
    framework: str,
    setting: str,
    model,
    data: Data,
    config: Config,
    fit_kwargs: dict,
    evaluate: tuple = SPLITS,
    callbacks: tuple = (),
    seed: int | None = None,
) -> Run:
    """model.fit on the training split with `fit_kwargs` and a recorder; the identical call for both frameworks."""
    recorder = epoch_recorder(framework, data, evaluate)
    seed = config.seed if seed is None else seed
    print(f"\n[{config.script}] {framework}: {setting}, {config.epochs} epochs, seed {seed}", flush=True)
    start = time.perf_counter()
    history = model.fit(
        data.x["train"],
        data.y["train"],
        epochs=config.epochs,
        verbose=config.verbose,
        callbacks=[recorder, *callbacks],
        **fit_kwargs,
    )
    seconds = time.perf_counter() - start
    final = recorder.final()
    final["test_loss"], final["test_accuracy"] = (
        float(v) for v in model.evaluate(data.x["test"], data.y["test"], batch_size=2048, verbose=0)
    )
    run = Run(
        framework, setting, recorder.curves, final, seconds, len(history.epoch), config.command, seed, model=model
    )
    print(
        f"[{config.script}] {framework}: {setting}: "
        + ", ".join(f"{k} {v:.4f}" for k, v in final.items())
        + f" ({seconds:.1f} s)",
        flush=True,
    )
    return run
