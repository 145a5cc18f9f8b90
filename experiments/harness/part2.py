"""Part 2: the CNN in Keras and in minidl with the identical fit/evaluate calls, one table for both."""

from __future__ import annotations

import numpy as np

from . import seed_models
from .config import Config, parse_args
from .data import Data, load_notmnist
from .frameworks import seed_everything
from .recording import Run, train
from .report import plot_curves, plot_test_pictures, results_table, write_results
from .sweep import Point, sweep

PART2_COLUMNS = [
    ("train_accuracy", "train acc"),
    ("train_loss", "train loss"),
    ("valid_accuracy", "valid acc"),
    ("valid_loss", "valid loss"),
    ("test_accuracy", "test acc"),
    ("test_loss", "test loss"),
]
PART2_NOTES = (
    "As in the report (Keras's History): train values are the means over each epoch's batches, "
    "valid values are fit's val_* after the epoch, test values come from evaluate at the end."
)


def train_seed_cnn(
    config: Config,
    data: Data,
    framework: str,
    setting: str,
    l2: float | None = None,
    dropout: float | None = None,
    residual: bool = False,
    seed: int | None = None,
) -> Run:
    """Part 2's training, with the identical fit call in Keras and in minidl (the seed CNN, or with
    `residual` the residual CNN beyond the report)."""
    seed = config.seed if seed is None else seed
    seed_everything(framework, seed)
    model = seed_models.residual_cnn(framework) if residual else seed_models.cnn(framework, l2=l2, dropout=dropout)
    run = train(
        framework,
        setting,
        model,
        data,
        config,
        evaluate=("test",),
        seed=seed,
        fit_kwargs=dict(batch_size=32, shuffle=True, validation_data=(data.x["valid"], data.y["valid"])),
    )
    plot_curves(run, f"{setting}: Adam(1e-4), batch 32, {config.epochs} epochs", config.out)
    plot_test_pictures(run, data, config.out)
    return run


def part2_main(script_file: str, doc: str, title: str, settings: dict[str, dict], report: dict, argv=None) -> list[Run]:
    """Every setting in every chosen framework as one sweep (sweep.py), one table for both frameworks:
    `--framework keras` and `--framework minidl` (or two --setting values) may run apart, even at once,
    and the table shows every run of the study. A part-2 script is its settings."""
    config = parse_args(script_file, doc, epochs=50, frameworks=True, argv=argv, settings=list(settings))
    data = load_notmnist(config.data, config.quick, image_shape=(28, 28, 1))

    def train_point(point: Point) -> Run:
        return train_seed_cnn(config, data, point.framework, point.setting, seed=point.seed, **settings[point.setting])

    runs = sweep(config, train_point)
    per_epoch = {
        f: np.mean([r.seconds / r.epochs_run for r in runs if r.framework == f])
        for f in sorted({r.framework for r in runs})
    }
    notes = (
        PART2_NOTES
        + " Mean wall time per epoch: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in per_epoch.items())
        + " (threads: see each run's command)."
    )
    write_results(config, title, results_table(runs, report, PART2_COLUMNS), runs, report, notes)
    return runs
