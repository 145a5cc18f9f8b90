"""Benchmarks: minidl against Keras (TensorFlow backend) and against the matrix-product floor.

    python benchmarks/run.py            # full run (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick    # smoke run on small data (CI)
    python benchmarks/run.py --scaling  # how cost grows with batch size and hidden units (log-log plots)

In one process, contenders are interleaved and each is timed `--repeats` times after a warm-up;
the table shows the best (and the median) time. Written to benchmarks/results/ as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy loads OpenBLAS: see experiments/harness
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from workloads import (  # noqa: E402  (benchmarks/workloads.py)
    EVERYDAY_MODELS,
    ROOT,
    WORKLOADS,
    data,
    fit_epoch,
    in_fresh_process,
    mlp,
    mlp_floor,
    peak_rss_mib,
    timings,
    workload_data,
)

import minidl  # noqa: E402
from harness import import_keras, seed_models  # noqa: E402


def bench_mlp(args, results: dict) -> None:
    n, hidden = args.mlp_samples, args.hidden
    x, y = data(n, (784,))
    keras_model, minidl_model = mlp("keras", hidden), mlp("minidl", hidden)
    results["mlp_epoch"] = timings(
        {
            "minidl": fit_epoch(minidl_model, x, y, n),
            "keras": fit_epoch(keras_model, x, y, n),
            "floor": mlp_floor(x, y, hidden),
        },
        args.repeats,
    )
    results["mlp_predict"] = timings(
        {
            "minidl": lambda: minidl_model.predict(x, batch_size=1024),
            "keras": lambda: keras_model.predict(x, batch_size=1024, verbose=0),
        },
        args.repeats,
    )
    results["mlp_predict"]["samples"] = n


def bench_cnn(args, results: dict) -> None:
    n = args.cnn_samples
    x, y = data(n, (28, 28, 1))
    models = {"minidl": seed_models.cnn("minidl"), "keras": seed_models.cnn("keras")}
    results["cnn_epoch"] = timings(
        {name: fit_epoch(model, x, y, 32) for name, model in models.items()},
        max(1, args.repeats // 2),
    )
    results["cnn_predict"] = timings(
        {
            "minidl": lambda: models["minidl"].predict(x, batch_size=256),
            "keras": lambda: models["keras"].predict(x, batch_size=256, verbose=0),
        },
        args.repeats,
    )
    results["cnn_predict"]["samples"] = n


def bench_adam(args, results: dict) -> None:
    """One Adam update of the seed CNN's largest weight, the 6272 x 784 Dense kernel, alone: the
    element-wise work of a CNN step that no matrix product hides."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    shape = (64, 64) if args.quick else (6272, 784)
    param, grad = rng.random(shape, dtype=np.float32), rng.random(shape, dtype=np.float32)
    ours, pairs = minidl.optimizers.Adam(1e-4), [("kernel", param.copy(), grad)]
    variable, keras_grad, theirs = tf.Variable(param), tf.constant(grad), keras.optimizers.Adam(1e-4)
    theirs.build([variable])
    keras_step = tf.function(lambda: theirs.apply_gradients([(keras_grad, variable)]))
    results["adam_update"] = timings(
        {"minidl": lambda: ours.apply_gradients(pairs), "keras": keras_step}, args.repeats * 3
    )
    results["adam_update"]["shape"] = shape


def bench_everyday(args, results: dict) -> None:
    """The models people write, each the same code in both frameworks: a training epoch and a predict."""
    keras = import_keras()
    for name, (build, shape, classes, samples, batch) in EVERYDAY_MODELS.items():
        samples = min(samples, 512) if args.quick else samples
        x, y = workload_data(shape, classes, samples)
        models = {"minidl": build(minidl), "keras": build(keras)}
        results[f"{name} epoch"] = timings(
            {framework: fit_epoch(model, x, y, batch) for framework, model in models.items()},
            max(1, args.repeats // 2),
        )
        results[f"{name} predict"] = timings(
            {
                framework: (lambda m=model, x=x: m.predict(x, batch_size=256, verbose=0))
                for framework, model in models.items()
            },
            args.repeats,
        )
        results[f"{name} epoch"]["samples"] = results[f"{name} predict"]["samples"] = samples


def bench_memory(args, results: dict) -> None:
    """Peak RSS (MiB) of a fresh process per workload and framework: one epoch and a predict."""
    results["peak_rss_mib"] = {
        workload: {framework: peak_rss_mib(framework, workload, args.quick) for framework in ("minidl", "keras")}
        for workload in WORKLOADS
    }


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        return (
            ", ".join(
                f"{i['internal_api']} {i.get('version')} ({i.get('threading_layer', '')}, "
                f"{i['num_threads']} threads, {i.get('architecture')})"
                for i in threadpool_info()
                if i["user_api"] == "blas"
            )
            or "unknown"
        )
    except ImportError:
        return "threadpoolctl not installed"


def report(args, results: dict) -> str:
    """The Markdown table: best (median) times, the ratios, the targets, and each workload's peak memory."""

    def ratio(row, a, b):
        return results[row][a]["best"] / results[row][b]["best"]

    def cell(row, name):
        best, median = results[row][name]["best"] * 1e3, results[row][name]["median"] * 1e3
        digits = 1 if best < 100 else 0
        return f"{best:.{digits}f} ms (median {median:.{digits}f})"

    def throughput(row, name):
        return f"{results[row]['samples'] / results[row][name]['best']:,.0f} samples/s"

    def memory(workload):
        rss = results.get("peak_rss_mib", {}).get(workload)
        return f"{rss['minidl']:.0f} / {rss['keras']:.0f}" if rss else ""

    def line(title, row, shown, floor, target, workload=""):
        minidl_cell, keras_cell = shown(row, "minidl"), shown(row, "keras")
        floor_cells = [cell(row, "floor"), f"{ratio(row, 'minidl', 'floor'):.2f}"] if floor else ["", ""]
        return (
            f"| {title} | {minidl_cell} | {keras_cell} | {floor_cells[0]} | {ratio(row, 'minidl', 'keras'):.2f} | "
            f"{floor_cells[1]} | {target} | {memory(workload)} |"
        )

    lines = [
        "| benchmark | minidl | Keras | floor | minidl / Keras | minidl / floor | target "
        "| peak RSS (MiB) minidl / Keras |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if "mlp_epoch" in results:
        title = f"MLP epoch ({args.mlp_samples} x 784, H={args.hidden}, full batch, SGD momentum)"
        lines += [
            line(title, "mlp_epoch", cell, True, "<= 1.0, <= 1.2", "seed MLP"),
            line("MLP predict (batch 1024)", "mlp_predict", throughput, False, "<= 1.0"),
        ]
    if "cnn_epoch" in results:
        title = f"CNN epoch ({args.cnn_samples} samples, batch 32, Adam)"
        lines += [
            line(title, "cnn_epoch", cell, False, "<= 0.8", "seed CNN"),
            line("CNN predict (batch 256)", "cnn_predict", throughput, False, "<= 1.0"),
        ]
    if "adam_update" in results:
        shape = results["adam_update"]["shape"]
        lines.append(line(f"Adam update of one {shape[0]} x {shape[1]} kernel", "adam_update", cell, False, ""))
    for name, (_, _, _, _, batch) in EVERYDAY_MODELS.items():
        if f"{name} epoch" in results:
            samples = results[f"{name} epoch"]["samples"]
            title = f"{name}: epoch ({samples} samples, batch {batch}, Adam)"
            lines.append(line(title, f"{name} epoch", cell, False, "<= 1.0", name))
            lines.append(line(f"{name}: predict (batch 256)", f"{name} predict", throughput, False, "<= 1.0"))
    if "peak_rss_mib" in results:
        lines.append(
            "\nPeak RSS: a fresh process per workload and framework (its imports, TensorFlow's for Keras, "
            "one training epoch and a predict), shown on the workload's epoch row."
        )
    return "\n".join(lines)


def provenance(args, argv: list[str]) -> tuple[str, str]:
    """The command (with its commit) and the machine, written above every table."""
    import keras
    import tensorflow as tf

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__} "
        f"({blas_info()}, OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}); "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    flags = [a for a in argv if a not in ("--out", args.out)] + (
        [] if "--repeats" in argv else ["--repeats", str(args.repeats)]
    )
    command = " ".join(["python benchmarks/run.py", *flags])
    return f"`{command}` at commit {commit.stdout.strip() or 'unknown'}", machine


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, one repeat: proves the benchmark runs")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per contender (default 5; 3 with --scaling)"
    )
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    parser.add_argument(
        "--only",
        choices=("mlp", "cnn", "adam", "everyday"),
        action="append",
        default=None,
        help="run only these groups (repeatable; default all, with the memory measurement)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="instead of the table: epoch time over batch sizes and hidden units, drawn on log-log axes (scaling.png)",
    )
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 3 if args.scaling else 5)
    args.mlp_samples, args.cnn_samples = (1000, 256) if args.quick else (10000, 10000)
    args.hidden = 1000
    out = Path(args.out or ROOT / ("out/quick/benchmarks" if args.quick else "benchmarks/results"))
    out.mkdir(parents=True, exist_ok=True)
    if args.scaling:
        import scaling  # benchmarks/scaling.py

        command, machine = provenance(args, argv)
        return scaling.main(args, out, f"# How cost grows\n\nCommand: {command}\n\nMachine: {machine}")

    results: dict = {}
    groups = {"mlp": bench_mlp, "cnn": bench_cnn, "adam": bench_adam, "everyday": bench_everyday}
    for name, group in groups.items():
        if args.only is None or name in args.only:
            results.update(in_fresh_process(group, args))
    if args.only is None:
        bench_memory(args, results)
    command, machine = provenance(args, argv)
    text = f"# minidl benchmarks\n\nCommand: {command}\n\nMachine: {machine}\n\n{report(args, results)}\n"
    print(text)
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(
        json.dumps({"command": command, "machine": machine, "results": results}, indent=1)
    )
    return results


if __name__ == "__main__":
    main()
