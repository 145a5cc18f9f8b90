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
from .data import SPLITS
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

        path = out / f"{_slug(name or run.framework + '_' + run.setting)}_{key}.png"
        paths.append(_epoch_figure(draw, f"{label} ({run.framework})\n{title}", label.lower(), key, path))
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


def _slug(text: str) -> str:
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


def write_results(config: Config, title: str, table: str, runs: list[Run], report: dict, notes: str = "") -> None:
    """Print the table and write it as Markdown and JSON (with the curves) to config.out."""
    wall_time = time.perf_counter() - config.started
    commands = " and ".join(f"`{c}`" for c in dict.fromkeys([config.command, *(r.command for r in runs if r.command)]))
    text = (
        f"# {title}\n\nCommand: {commands}\n\nEach cell: ours (report, difference). "
        f"{notes}\n\n{table}\n\nWall time of the script: {wall_time:.0f} s. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}.\n"
    )
    print("\n" + table + "\n", flush=True)
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
    # atomically: another invocation may read results.json at any moment (saved_runs_not_retrained)
    atomic_write(config.out / "results.md", lambda f: f.write(text.encode()))
    atomic_write(config.out / "results.json", lambda f: f.write(json.dumps(payload, indent=1).encode()))
    print(f"[{config.script}] wrote {config.out / 'results.md'} and results.json", flush=True)
