"""The flags every experiment script takes, parsed once into a Config."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .frameworks import limit_threads

ROOT = Path(__file__).resolve().parents[2]
QUICK_EPOCHS = 2


@dataclass(frozen=True)
class Config:
    """One invocation of a script: what to train, how long, with which seeds, and where to write."""

    script: str  # the script's name, e.g. "hidden_units"
    command: str  # the command line, as recorded with the results
    epochs: int
    data: str | None  # path of notMNIST.npz (None: $MINIDL_NOTMNIST, the cache, or download)
    out: Path  # folder for tables and plots
    seed: int
    seeds: tuple[int, ...]  # every run is repeated with each (just (seed,) without --seeds)
    quick: bool  # smoke run: a few epochs on a subset
    verbose: int  # fit's verbose
    threads: int | None
    frameworks: tuple[str, ...]  # ("keras", "minidl"), or one of them
    settings: tuple[str, ...]  # the settings (table rows) to train
    started: float  # time.perf_counter() at start, for the wall time
    all_frameworks: tuple[str, ...] = ("minidl",)  # the script's whole grid: its frameworks ...
    all_settings: tuple[str, ...] = ()  # ... and its settings (the study's identity, see sweep.py)
    script_file: str = ""  # the script's path, to start worker processes
    argv: tuple[str, ...] = ()  # the flags it was given
    storage: str | None = None  # the study's database URL (None: SQLite in `out`)
    study: str | None = None  # the study's name (None: script and epochs)
    workers: int = 1  # worker processes sharing the study
    rerun: bool = False  # train again the runs the study has completed
    worker: bool = False  # this process is one of a sweep's workers: train, write no table
    options: dict = field(default_factory=dict)  # the script's own flags (parse_args's add_arguments)


def parse_args(
    script_file: str,
    description: str | None,
    epochs: int,
    frameworks: bool = False,
    argv: list[str] | None = None,
    settings: list[str] | None = None,
    seeds: bool = False,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> Config:
    """The flags every script takes (--framework for the part-2 scripts, --setting where a script has
    settings, --seeds where it can repeat its runs over seeds, and its own from `add_arguments`, in
    Config.options)."""
    script = Path(script_file).stem
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"epochs to train (default {epochs}; {QUICK_EPOCHS} with --quick)"
    )
    parser.add_argument(
        "--data", default=None, help="path of notMNIST.npz (default: $MINIDL_NOTMNIST, then the cache, then download)"
    )
    parser.add_argument(
        "--out",
        default=None,
        help=f"folder for tables and plots (default out/{script}, untracked; out/quick/{script} with --quick)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help=f"write to experiments/results/{script}, the reference results committed with the code",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="random seed of initialisation and shuffling "
        "(default 1; see README: with seed 0 the part-1 MLP has a transient divergence)",
    )
    if seeds:
        parser.add_argument(
            "--seeds",
            type=int,
            nargs="+",
            default=None,
            metavar="SEED",
            help="repeat every run with each of these seeds (instead of --seed); the table "
            "gives the mean and standard deviation over them, then each seed's row",
        )
    parser.add_argument("--quick", action="store_true", help="smoke run: a few epochs on a small subset")
    parser.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2), help="fit's verbose")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for NumPy's BLAS and TensorFlow (default: all cores); 1 lets two "
        "scripts share a 2-core machine without oversubscribing it",
    )
    if frameworks:
        parser.add_argument(
            "--framework",
            choices=("keras", "minidl", "both"),
            default="both",
            help="which framework(s) to train (default both)",
        )
    if settings:
        parser.add_argument(
            "--setting",
            action="append",
            choices=settings,
            default=None,
            help="train only this setting (repeatable; default all); the table keeps the "
            "other settings' runs completed in the study (or saved in --out)",
        )
    add_sweep_arguments(parser)
    common = {action.dest for action in parser._actions}
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.threads:
        limit_threads(args.threads)
    run_seeds = tuple(dict.fromkeys(getattr(args, "seeds", None) or [args.seed]))
    folder = script if len(run_seeds) == 1 else f"{script}/seeds_" + "_".join(map(str, run_seeds))
    if args.record and (args.out or args.quick):
        parser.error("--record writes the reference results: give it without --out and --quick")
    default_out = "experiments/results" if args.record else "out/quick" if args.quick else "out"
    out = Path(args.out or (ROOT / default_out / folder))
    out.mkdir(parents=True, exist_ok=True)
    chosen = getattr(args, "framework", "minidl")
    return Config(
        script=script,
        command="python " + " ".join(shlex.quote(a) for a in [os.path.relpath(script_file, ROOT), *argv]),
        epochs=args.epochs or (QUICK_EPOCHS if args.quick else epochs),
        data=args.data,
        out=out,
        seed=args.seed,
        seeds=run_seeds,
        quick=args.quick,
        verbose=args.verbose,
        threads=args.threads,
        frameworks=("keras", "minidl") if chosen == "both" else (chosen,),
        settings=tuple(getattr(args, "setting", None) or settings or ()),
        started=time.perf_counter(),
        all_frameworks=("keras", "minidl") if frameworks else ("minidl",),
        all_settings=tuple(settings or ()),
        script_file=str(script_file),
        argv=tuple(argv),
        storage=args.storage,
        study=args.study,
        workers=args.workers,
        rerun=args.rerun,
        worker=args.worker,
        options={k: v for k, v in vars(args).items() if k not in common},
    )


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of a sweep on Optuna (experiments/harness/sweep.py)."""
    group = parser.add_argument_group('sweep (Optuna: pip install -e ".[sweep]")')
    group.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="the study's database (default: sqlite:///<out>/study.db; postgresql://user@host/db or "
        "mysql://... lets several machines share the sweep)",
    )
    group.add_argument(
        "--study", default=None, metavar="NAME", help="the study's name (default: the script's name and epochs)"
    )
    group.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on this machine sharing the study, the cores divided between them (default 1)",
    )
    group.add_argument("--rerun", action="store_true", help="train again the runs the study has already completed")
    group.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)  # set by the sweep for its workers
