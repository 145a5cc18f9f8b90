"""The report's pictures and tables: curves over epochs, results tables beside the report's numbers,
written as Markdown and JSON."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from minidl.io import atomic_write

from .config import Config
from .data import SPLITS, Data
from .recording import Run


# ------------------------------------------------------------------------------------------ plots
def plot_curves(run: Run, title: str, out: Path, name: str | None = None) -> list[Path]:
    """Accuracy and loss curves of a run (train/valid/test lines), saved as PNG (`name`: the file
    names' start, default framework_setting)."""
    colors = {"train": "tab:red", "valid": "tab:blue", "test": "tab:green"}
    paths = []
    for key, label in (("accuracy", "Accuracy"), ("loss", "Loss")):

        def draw(ax, key=key):
            for split in SPLITS:
                values = run.curves[split][key]
                if values:
                    ax.plot(np.arange(1, len(values) + 1), values, color=colors[split], label=split)

        path = out / f"{slug(name or run.framework + '_' + run.setting)}_{key}.png"
        ylabel = "accuracy" if key == "accuracy" else "loss (categorical cross-entropy)"
        paths.append(_epoch_figure(draw, f"{label} ({run.framework})\n{title}", ylabel, key, path))
    return paths


LETTERS = list("ABCDEFGHIJ")


def plot_test_pictures(run: Run, data: Data, out: Path, name: str | None = None) -> list[Path]:
    """What the trained model gets right and wrong on the test set: its confusion matrix and a grid of
    misclassified letters (true -> predicted); for a minidl CNN also its first Conv2D's learned filters and
    that layer's feature maps of the first test letter (minidl.plotting)."""
    from minidl import plotting

    stem = out / slug(name or run.framework + "_" + run.setting)
    predicted = np.asarray(run.model.predict(data.x["test"], batch_size=2048, verbose=0)).argmax(axis=1)
    truth = data.labels["test"]
    title = f"{run.setting} ({run.framework}), test set"
    paths = [Path(f"{stem}_confusion.png"), Path(f"{stem}_mistakes.png")]
    plotting.plot_confusion_matrix(truth, predicted, LETTERS, paths[0], title=title)
    wrong = np.flatnonzero(predicted != truth)[:24]
    plotting.plot_images(
        data.x["test"][wrong], truth[wrong], predicted[wrong], LETTERS, paths[1], title=f"misclassified: {title}"
    )
    convs = [layer for layer in getattr(run.model, "layers", []) if type(layer).__name__ == "Conv2D"]
    if run.framework == "minidl" and convs:
        paths += [Path(f"{stem}_filters.png"), Path(f"{stem}_feature_maps.png")]
        plotting.plot_filters(convs[0], paths[2])
        plotting.plot_feature_maps(run.model, data.x["test"][0], convs[0], paths[3])
    return paths


def plot_settings(runs: list[Run], split: str, key: str, title: str, path: Path) -> Path:
    """One line per setting: `split`'s `key` curve, the mean over the setting's seeds, with a band from
    the lowest to the highest seed when there are several. Saved as PNG."""

    def draw(ax):
        for setting in dict.fromkeys(run.setting for run in runs):
            curves = np.array([run.curves[split][key] for run in runs if run.setting == setting])
            epochs = np.arange(1, curves.shape[1] + 1)
            (line,) = ax.plot(
                epochs, curves.mean(axis=0), label=setting + (f" ({len(curves)} seeds)" if len(curves) > 1 else "")
            )
            if len(curves) > 1:
                ax.fill_between(epochs, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2)

    return _epoch_figure(draw, title, f"{split} {key}", key, path)


def _epoch_figure(draw, title: str, ylabel: str, key: str, path: Path) -> Path:
    """A figure of curves over epochs: `draw(ax)` adds the lines; titled, labelled, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only: never plt.show()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    draw(ax)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if key == "accuracy" else "upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text).strip("_")


# ------------------------------------------------------------------------------------------ tables
def results_table(
    runs: list[Run], report: dict[str, dict], columns: list[tuple[str, str]], extra: dict[str, dict] | None = None
) -> str:
    """A Markdown table, one row per run: each cell "ours (report, ours - report)" where the
    report has the number. `report[setting][column_key]` holds the report's values."""
    by_seed = len({run.seed for run in runs}) > 1
    header = [
        "setting",
        "framework",
        *(["seed"] if by_seed else []),
        *[title for _, title in columns],
        "epochs",
        "time (s)",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in runs:
        reference = report.get(run.setting, {})
        values = {**run.final, **((extra or {}).get(run.framework + run.setting, {}))}
        cells = []
        for key, _ in columns:
            ours, theirs = values.get(key), reference.get(key)
            if ours is None:
                cells.append("" if theirs is None else f"— ({theirs:.4f})")
            else:
                ours_text = f"{ours:.4f}" + (f" ± {run.spread[key]:.4f}" if key in run.spread else "")
                cells.append(ours_text if theirs is None else f"{ours_text} ({theirs:.4f}, {ours - theirs:+.4f})")
        seed = [] if not by_seed else ["mean ± sd" if run.seed is None else str(run.seed)]
        lines.append(
            "| "
            + " | ".join([run.setting, run.framework, *seed, *cells, str(run.epochs_run), f"{run.seconds:.0f}"])
            + " |"
        )
    return "\n".join(lines)


TERMINAL_COLUMNS = [
    ("train_accuracy", "train acc"),
    ("valid_accuracy", "valid acc"),
    ("test_accuracy", "test acc"),
    ("test_loss", "test loss"),
]


def terminal_table(runs: list[Run], report: dict[str, dict], width: int = 100) -> str:
    """The table for a terminal: the accuracies and the test loss of each run, aligned, "ours (report)"
    where the report has the number, within `width` columns (the report's numbers go first, then the
    test loss, if it would not fit). The wide table, with every loss and difference, is results.md."""
    by_seed = len({run.seed for run in runs}) > 1
    keys = [(key, title) for key, title in TERMINAL_COLUMNS if any(key in run.final for run in runs)]
    for with_report, columns in ((True, keys), (False, keys), (False, keys[:3])):
        rows = [
            ["setting", "framework", *(["seed"] if by_seed else []), *[t for _, t in columns], "epochs", "time (s)"]
        ]
        for run in runs:
            cells = []
            for key, _ in columns:
                ours, theirs = run.final.get(key), report.get(run.setting, {}).get(key)
                text = (
                    "" if ours is None else f"{ours:.4f}" + (f" ± {run.spread[key]:.4f}" if key in run.spread else "")
                )
                cells.append(text + (f" ({theirs:.4f})" if with_report and theirs is not None and text else ""))
            seed = [] if not by_seed else ["mean ± sd" if run.seed is None else str(run.seed)]
            rows.append([run.setting, run.framework, *seed, *cells, str(run.epochs_run), f"{run.seconds:.0f}"])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        if max(len(line) for line in lines) <= width:
            break
    note = "ours (report)" if with_report else "ours"
    return "\n".join(lines) + f"\n({note}; every loss and difference in results.md)"


def write_results(config: Config, title: str, table: str, runs: list[Run], report: dict, notes: str = "") -> None:
    """Print the runs' table within 100 columns and write the wide one as Markdown and JSON (with the
    curves) to config.out."""
    wall_time = time.perf_counter() - config.started
    commands = " and ".join(f"`{c}`" for c in dict.fromkeys([config.command, *(r.command for r in runs if r.command)]))
    text = (
        f"# {title}\n\nCommand: {commands}\n\nEach cell: ours (report, difference). "
        f"{notes}\n\n{table}\n\nWall time of the script: {wall_time:.0f} s. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}.\n"
    )
    print("\n" + terminal_table(runs, report) + "\n", flush=True)
    payload = {
        "title": title,
        "command": config.command,
        "wall_time_s": wall_time,
        "epochs": config.epochs,
        "seed": config.seed,
        "seeds": config.seeds,
        "quick": config.quick,
        "report": report,
        "runs": [
            {
                "framework": r.framework,
                "setting": r.setting,
                "seed": r.seed,
                "final": r.final,
                "seconds": r.seconds,
                "epochs_run": r.epochs_run,
                "command": r.command,
                "curves": r.curves,
            }
            for r in runs
        ],
    }
    # atomically: another invocation may read results.json at any moment (sweep.saved_runs)
    atomic_write(config.out / "results.md", lambda f: f.write(text.encode()))
    atomic_write(config.out / "results.json", lambda f: f.write(json.dumps(payload, indent=1).encode()))
    print(f"[{config.script}] wrote {config.out / 'results.md'} and results.json", flush=True)
