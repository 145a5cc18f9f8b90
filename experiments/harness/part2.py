"""Part 2: the CNN in Keras and in minidl with the identical fit/evaluate calls, one table for both."""

from __future__ import annotations

import json

import numpy as np

from . import seed_models
from .config import Config, parse_args
from .data import Data, load_notmnist
from .frameworks import seed_everything
from .recording import Run, train
from .report import plot_curves, plot_test_pictures, results_table, write_results

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
) -> Run:
    """Part 2's training, with the identical fit call in Keras and in minidl (the seed CNN, or with
    `residual` the residual CNN beyond the report)."""
    seed_everything(framework, config.seed)
    model = seed_models.residual_cnn(framework) if residual else seed_models.cnn(framework, l2=l2, dropout=dropout)
    run = train(
        framework,
        setting,
        model,
        data,
        config,
        evaluate=("test",),
        fit_kwargs=dict(batch_size=32, shuffle=True, validation_data=(data.x["valid"], data.y["valid"])),
    )
    plot_curves(run, f"{setting}: Adam(1e-4), batch 32, {config.epochs} epochs", config.out)
    plot_test_pictures(run, data, config.out)
    return run


def part2_main(script_file: str, doc: str, title: str, settings: dict[str, dict], report: dict, argv=None) -> list[Run]:
    """Every setting in every chosen framework, one table; rewritten after each run, so a long script
    stopped midway keeps the runs it finished. A part-2 script is its settings."""
    config = parse_args(script_file, doc, epochs=50, frameworks=True, argv=argv, settings=list(settings))
    data = load_notmnist(config.data, config.quick, image_shape=(28, 28, 1))
    runs = []
    for setting in config.settings:
        for framework in config.frameworks:
            runs.append(train_seed_cnn(config, data, framework, setting, **settings[setting]))
            # `--framework keras` and `--framework minidl` (or two --setting values) may run apart, even
            # at once: the table shows this invocation's runs with the others saved in the same folder.
            table_runs = sorted(
                runs + saved_runs_not_retrained(config), key=lambda r: (list(settings).index(r.setting), r.framework)
            )
            per_epoch = {
                f: np.mean([r.seconds / r.epochs_run for r in table_runs if r.framework == f])
                for f in sorted({r.framework for r in table_runs})
            }
            notes = (
                PART2_NOTES
                + " Mean wall time per epoch: "
                + ", ".join(f"{k} {v:.1f} s" for k, v in per_epoch.items())
                + " (threads: see each run's command)."
            )
            write_results(config, title, results_table(table_runs, report, PART2_COLUMNS), table_runs, report, notes)
    return runs


def saved_runs_not_retrained(config: Config) -> list[Run]:
    """Runs (framework, setting) this invocation does not train, saved in config.out by one with the
    same epochs, seed and data (--quick or not)."""
    path = config.out / "results.json"
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    if (saved.get("epochs"), saved.get("seed"), saved.get("quick")) != (config.epochs, config.seed, config.quick):
        return []
    return [
        Run(
            r["framework"],
            r["setting"],
            r["curves"],
            r["final"],
            r["seconds"],
            r["epochs_run"],
            r.get("command", saved.get("command", "")),
            r.get("seed", saved.get("seed")),
        )
        for r in saved["runs"]
        if r["framework"] not in config.frameworks or r["setting"] not in config.settings
    ]
