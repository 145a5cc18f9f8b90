"""The flags every experiment script takes, parsed once into a Config."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import dataclass
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


def parse_args(
    script_file: str,
    description: str | None,
    epochs: int,
    frameworks: bool = False,
    argv: list[str] | None = None,
    settings: list[str] | None = None,
    seeds: bool = False,
) -> Config:
    """The flags every script takes (--framework and --setting for the part-2 scripts, --seeds where a
    script can repeat its runs over seeds)."""
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
            "other settings' runs saved in --out",
        )
    args = parser.parse_args(argv)
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
    )
