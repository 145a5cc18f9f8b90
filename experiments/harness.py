"""What every experiment script shares: flags, data, per-epoch recording, plots and results tables.

A script reads like the report section it reproduces, e.g. 1.4.1:

    args = harness.parse_args(__file__, __doc__, epochs=200)
    data = harness.load_notmnist(args)
    runs = [harness.train_seed_mlp(args, data, hidden_units=h) for h in (100, 500, 1000, 2000)]
    harness.write_results(args, "1.4.1 Number of hidden units", harness.results_table(runs, REPORT, ...), ...)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# OpenBLAS's idle threads spin for ~0.1 s after each matrix product, on the cores minidl's element-wise
# work needs; a timeout of 2^4 cycles puts them to sleep at once. OpenBLAS reads it when NumPy loads.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import minidl  # noqa: E402
from minidl.datasets import notmnist  # noqa: E402
from minidl.io import atomic_write  # noqa: E402
from minidl.utils import to_categorical  # noqa: E402

SPLITS = ("train", "valid", "test")
QUICK_SIZES = {"train": 1000, "valid": 500, "test": 500}
QUICK_EPOCHS = 2


# ------------------------------------------------------------------------------------------ flags
def parse_args(script_file: str, description: str, epochs: int, frameworks: bool = False,
               argv=None, settings: list[str] | None = None, seeds: bool = False) -> argparse.Namespace:
    """The flags every script takes (--framework and --setting for the part-2 scripts, --seeds where
    a script can repeat its runs over seeds)."""
    script = Path(script_file).stem
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=None, help=f"epochs to train (default {epochs}; "
                                                                 f"{QUICK_EPOCHS} with --quick)")
    parser.add_argument("--data", default=None, help="path of notMNIST.npz (default: $MINIDL_NOTMNIST, "
                                                     "then the cache, then download)")
    parser.add_argument("--out", default=None, help="folder for tables and plots (default "
                                                    f"experiments/results/{script}; out/quick/{script} with --quick)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of initialisation and shuffling "
                        "(default 1; see README: with seed 0 the part-1 MLP has a transient divergence)")
    if seeds:
        parser.add_argument("--seeds", type=int, nargs="+", default=None, metavar="SEED",
                            help="repeat every run with each of these seeds (instead of --seed); the table "
                                 "gives the mean and standard deviation over them, then each seed's row")
    parser.add_argument("--quick", action="store_true", help="smoke run: a few epochs on a small subset")
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="fit's verbose")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for NumPy's BLAS and TensorFlow (default: all cores); 1 lets two "
                             "scripts share a 2-core machine without oversubscribing it")
    if frameworks:
        parser.add_argument("--framework", choices=("keras", "minidl", "both"), default="both",
                            help="which framework(s) to train (default both)")
    if settings:
        parser.add_argument("--setting", action="append", choices=settings, default=None,
                            help="train only this setting (repeatable; default all); the table keeps the "
                                 "other settings' runs saved in --out")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    args.started = time.perf_counter()
    args.script = script
    args.epochs = args.epochs or (QUICK_EPOCHS if args.quick else epochs)
    args.seeds = list(dict.fromkeys(getattr(args, "seeds", None) or [args.seed]))
    folder = script if len(args.seeds) == 1 else f"{script}/seeds_" + "_".join(map(str, args.seeds))
    args.out = Path(args.out or (ROOT / ("out/quick" if args.quick else "experiments/results") / folder))
    args.out.mkdir(parents=True, exist_ok=True)
    args.command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(script_file, ROOT), *argv])
    args.frameworks = (("keras", "minidl") if args.framework == "both" else (args.framework,)) if frameworks else ("minidl",)
    args.settings = tuple(getattr(args, "setting", None) or settings or ())
    return args


# ------------------------------------------------------------------------------------------ data
@dataclass
class Data:
    """x[split]: inputs; y[split]: one-hot targets (N, 10) float32; labels[split]: integers."""
    x: dict = field(default_factory=dict)
    y: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)


def load_notmnist(args, image_shape: tuple = (784,)) -> Data:
    """The seed's split; images reshaped to `image_shape` ((784,) for the MLP, (28, 28, 1) for the CNN)."""
    data = Data()
    for split, (x, labels) in zip(SPLITS, notmnist.load_data(args.data, dtype="float32")):
        if args.quick:
            x, labels = x[:QUICK_SIZES[split]], labels[:QUICK_SIZES[split]]
        data.x[split] = x.reshape(len(x), *image_shape)
        data.labels[split] = labels
        data.y[split] = to_categorical(labels, 10, dtype="float32")
    return data


# ------------------------------------------------------------------------------------------ recording
class _EpochRecorderLogic:
    """Records, at the end of every epoch, the loss and accuracy of `model.evaluate` on the given
    splits, and the values of fit's own logs (train: running mean over the epoch's batches; valid:
    val_*) for splits it does not evaluate. The same code serves minidl and Keras models."""

    def __init__(self, data: Data, evaluate: tuple = SPLITS, batch_size: int = 2048):
        super().__init__()
        self.data, self.evaluated, self.batch_size = data, tuple(evaluate), batch_size
        self.curves = {split: {"loss": [], "accuracy": []} for split in SPLITS}

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for split in SPLITS:
            if split in self.evaluated:
                values = self.model.evaluate(self.data.x[split], self.data.y[split], batch_size=self.batch_size,
                                             verbose=0, return_dict=True)
            else:
                prefix = "val_" if split == "valid" else ""
                values = {key: logs.get(prefix + key) for key in ("loss", "accuracy")}
            for key in ("loss", "accuracy"):
                if values.get(key) is not None:
                    self.curves[split][key].append(float(values[key]))

    def final(self) -> dict:
        return {f"{split}_{key}": values[-1] for split, curve in self.curves.items()
                for key, values in curve.items() if values}


def epoch_recorder(framework: str, data: Data, evaluate: tuple = SPLITS):
    """An _EpochRecorderLogic that is a Callback of the given framework."""
    if framework == "keras":
        import keras
        base = keras.callbacks.Callback
    else:
        base = minidl.callbacks.Callback
    recorder_class = type("EpochRecorder", (_EpochRecorderLogic, base), {})
    return recorder_class(data, evaluate)


@dataclass
class Run:
    framework: str
    setting: str
    curves: dict
    final: dict
    seconds: float
    epochs_run: int
    command: str = ""  # the command line that produced it
    seed: int | None = None  # None: the mean over several seeds (their standard deviations in `spread`)
    spread: dict = field(default_factory=dict)


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
        means.append(Run(framework, setting, {}, {k: float(np.mean(v)) for k, v in finals.items()},
                         float(np.mean([r.seconds for r in group])), group[0].epochs_run, group[0].command,
                         seed=None, spread={k: float(np.std(v, ddof=1)) for k, v in finals.items()}))
    return means


def train(framework: str, setting: str, model, data: Data, args, fit_kwargs: dict, evaluate: tuple = SPLITS,
          callbacks: tuple = (), seed: int | None = None) -> Run:
    """model.fit on the training split with `fit_kwargs` and a recorder; the identical call for both frameworks."""
    recorder = epoch_recorder(framework, data, evaluate)
    seed = args.seed if seed is None else seed
    print(f"\n[{args.script}] {framework}: {setting}, {args.epochs} epochs, seed {seed}", flush=True)
    start = time.perf_counter()
    history = model.fit(data.x["train"], data.y["train"], epochs=args.epochs, verbose=args.verbose,
                        callbacks=[recorder, *callbacks], **fit_kwargs)
    seconds = time.perf_counter() - start
    final = recorder.final()
    final["test_loss"], final["test_accuracy"] = (float(v) for v in model.evaluate(
        data.x["test"], data.y["test"], batch_size=2048, verbose=0))
    run = Run(framework, setting, recorder.curves, final, seconds, len(history.epoch), args.command, seed)
    print(f"[{args.script}] {framework}: {setting}: " + ", ".join(f"{k} {v:.4f}" for k, v in final.items())
          + f" ({seconds:.1f} s)", flush=True)
    return run


def seed_everything(framework: str, seed: int) -> None:
    if framework == "keras":
        import keras
        import tensorflow as tf
        keras.utils.set_random_seed(seed)  # initial weights and dropout masks: Keras's own SeedGenerator
        # With TensorFlow's global seed set, Keras 3 (TF backend) fit(x, y, shuffle=True) repeats its first
        # epoch's permutation in every epoch: the shuffle is traced once into a tf.data pipeline whose
        # random op restarts from the same seed at each epoch. Unset it so that Keras reshuffles every
        # epoch, as its documentation says and as the report's runs did; the price is that Keras's epoch
        # order (not its weights or masks) differs from run to run. (tests/test_keras_shuffle.py shows both.)
        tf.random.set_seed(None)
    minidl.set_seed(seed)


def limit_threads(threads: int) -> None:
    """Use `threads` threads in NumPy's BLAS, in minidl's element-wise work and in TensorFlow (set before
    TensorFlow starts)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("--threads needs threadpoolctl to limit NumPy's BLAS: pip install threadpoolctl "
                         "(it comes with pip install -e \".[test]\" or \".[bench]\")") from None
    threadpool_limits(threads)
    minidl.set_num_threads(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ["MINIDL_TF_THREADS"] = str(threads)


def import_keras():
    """Keras 3 on the TensorFlow backend (Keras's NumPy backend cannot fit)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    if os.environ.get("MINIDL_TF_THREADS"):
        import tensorflow as tf
        threads = int(os.environ["MINIDL_TF_THREADS"])
        if tf.config.threading.get_intra_op_parallelism_threads() != threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"the experiments need Keras's TensorFlow backend, got {keras.backend.backend()!r}")
    return keras


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
            line, = ax.plot(epochs, curves.mean(axis=0),
                            label=setting + (f" ({len(curves)} seeds)" if len(curves) > 1 else ""))
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
def results_table(runs: list[Run], report: dict[str, dict], columns: list[tuple[str, str]],
                  extra: dict[str, dict] | None = None) -> str:
    """A Markdown table, one row per run: each cell "ours (report, ours - report)" where the
    report has the number. `report[setting][column_key]` holds the report's values."""
    by_seed = len({run.seed for run in runs}) > 1
    header = ["setting", "framework", *(["seed"] if by_seed else []), *[title for _, title in columns],
              "epochs", "time (s)"]
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
        lines.append("| " + " | ".join([run.setting, run.framework, *seed, *cells, str(run.epochs_run),
                                         f"{run.seconds:.0f}"]) + " |")
    return "\n".join(lines)


def write_results(args, title: str, table: str, runs: list[Run], report: dict, notes: str = "") -> None:
    """Print the table and write it as Markdown and JSON (with the curves) to args.out."""
    wall_time = time.perf_counter() - args.started
    commands = " and ".join(f"`{c}`" for c in dict.fromkeys([args.command, *(r.command for r in runs if r.command)]))
    text = (f"# {title}\n\nCommand: {commands}\n\nEach cell: ours (report, difference). "
            f"{notes}\n\n{table}\n\nWall time of the script: {wall_time:.0f} s. Machine: {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}.\n")
    print("\n" + table + "\n", flush=True)
    payload = {"title": title, "command": args.command, "wall_time_s": wall_time, "epochs": args.epochs, "seed": args.seed,
               "seeds": args.seeds, "quick": args.quick, "report": report,
               "runs": [{"framework": r.framework, "setting": r.setting, "seed": r.seed, "final": r.final,
                         "seconds": r.seconds, "epochs_run": r.epochs_run, "command": r.command, "curves": r.curves}
                        for r in runs]}
    # atomically: another invocation may read results.json at any moment (saved_runs_not_retrained)
    atomic_write(args.out / "results.md", lambda f: f.write(text.encode()))
    atomic_write(args.out / "results.json", lambda f: f.write(json.dumps(payload, indent=1).encode()))
    print(f"[{args.script}] wrote {args.out / 'results.md'} and results.json", flush=True)


# ------------------------------------------------------------------------------------------ part 1
# The report's part-1 loss is -mean(y * log p) over N*10 entries: one tenth of the usual cross-entropy.
PART1_COLUMNS = [("train_accuracy", "train acc"), ("test_accuracy", "test acc"), ("valid_accuracy", "valid acc"),
                 ("train_loss10", "train loss/10"), ("test_loss10", "test loss/10"),
                 ("valid_loss10", "valid loss/10"), ("train_loss", "train CE"), ("test_loss", "test CE"),
                 ("valid_loss", "valid CE")]
PART1_NOTES = ("Losses: 'loss/10' is the report's scale (-mean(y log p) over N*10 entries), 'CE' the usual "
               "categorical cross-entropy (Keras's).")


def add_report_scale(values: dict) -> dict:
    """Add the report's one-tenth-scale losses (`train_loss10`, ...) beside the usual ones."""
    values.update({f"{split}_loss10": values[f"{split}_loss"] / 10 for split in SPLITS if f"{split}_loss" in values})
    return values


def train_seed_mlp(args, data: Data, hidden_units: int, setting: str | None = None, callbacks: tuple = (),
                   validation: bool = False, seed: int | None = None) -> Run:
    """Part 1's training: the seed MLP, full-batch gradient descent, train/valid/test recorded each epoch."""
    import seed_models
    seed = args.seed if seed is None else seed
    seed_everything("minidl", seed)
    model = seed_models.mlp(hidden_units)
    fit_kwargs = dict(batch_size=len(data.x["train"]))
    if validation:
        fit_kwargs["validation_data"] = (data.x["valid"], data.y["valid"])
    run = train("minidl", setting or f"H={hidden_units}", model, data, args, fit_kwargs,
                evaluate=("train", "test") if validation else SPLITS, callbacks=callbacks, seed=seed)
    add_report_scale(run.final)
    several = len(args.seeds) > 1
    plot_curves(run, f"{args.epochs} epochs, {hidden_units} hidden units, alpha {seed_models.MLP_LEARNING_RATE} "
                     f"(batch mean), gamma {seed_models.MLP_MOMENTUM}" + (f", seed {seed}" if several else ""),
                args.out, name=f"minidl_{run.setting}" + (f"_seed{seed}" if several else ""))
    run.model = model
    return run


# ------------------------------------------------------------------------------------------ part 2
PART2_COLUMNS = [("train_accuracy", "train acc"), ("train_loss", "train loss"), ("valid_accuracy", "valid acc"),
                 ("valid_loss", "valid loss"), ("test_accuracy", "test acc"), ("test_loss", "test loss")]
PART2_NOTES = ("As in the report (Keras's History): train values are the means over each epoch's batches, "
               "valid values are fit's val_* after the epoch, test values come from evaluate at the end.")


def train_seed_cnn(args, data: Data, framework: str, setting: str, l2: float | None = None,
                   dropout: float | None = None) -> Run:
    """Part 2's training, with the identical fit call in Keras and in minidl."""
    import seed_models
    seed_everything(framework, args.seed)
    model = seed_models.cnn(framework, l2=l2, dropout=dropout)
    run = train(framework, setting, model, data, args, evaluate=("test",),
                fit_kwargs=dict(batch_size=32, shuffle=True, validation_data=(data.x["valid"], data.y["valid"])))
    plot_curves(run, f"{setting}: Adam(1e-4), batch 32, {args.epochs} epochs", args.out)
    return run


def part2_main(script_file: str, doc: str, title: str, settings: dict[str, dict], report: dict,
               argv=None) -> list[Run]:
    """Every setting in every chosen framework, one table; rewritten after each run, so a long script
    stopped midway keeps the runs it finished. A part-2 script is its settings."""
    args = parse_args(script_file, doc, epochs=50, frameworks=True, argv=argv, settings=list(settings))
    data = load_notmnist(args, image_shape=(28, 28, 1))
    runs = []
    for setting in args.settings:
        for framework in args.frameworks:
            runs.append(train_seed_cnn(args, data, framework, setting, **settings[setting]))
            # `--framework keras` and `--framework minidl` (or two --setting values) may run apart, even
            # at once: the table shows this invocation's runs with the others saved in the same folder.
            table_runs = sorted(runs + saved_runs_not_retrained(args), key=lambda r: (
                list(settings).index(r.setting), r.framework))
            per_epoch = {f: np.mean([r.seconds / r.epochs_run for r in table_runs if r.framework == f])
                         for f in sorted({r.framework for r in table_runs})}
            notes = (PART2_NOTES + " Mean wall time per epoch: " + ", ".join(
                f"{k} {v:.1f} s" for k, v in per_epoch.items()) + " (threads: see each run's command).")
            write_results(args, title, results_table(table_runs, report, PART2_COLUMNS), table_runs, report, notes)
    return runs


def saved_runs_not_retrained(args) -> list[Run]:
    """Runs (framework, setting) this invocation does not train, saved in args.out by one with the
    same epochs, seed and data (--quick or not)."""
    path = args.out / "results.json"
    if not path.exists():
        return []
    saved = json.loads(path.read_text())
    if (saved.get("epochs"), saved.get("seed"), saved.get("quick")) != (args.epochs, args.seed, args.quick):
        return []
    return [Run(r["framework"], r["setting"], r["curves"], r["final"], r["seconds"], r["epochs_run"],
                r.get("command", saved.get("command", "")), r.get("seed", saved.get("seed")))
            for r in saved["runs"] if r["framework"] not in args.frameworks or r["setting"] not in args.settings]
