"""Benchmarks: minidl against Keras (TensorFlow backend) and against the matrix-product floor.

    python benchmarks/run.py            # full run (about 15 minutes on 2 cores)
    python benchmarks/run.py --quick    # smoke run on small data (CI)

In one process, contenders are interleaved and each is timed `--repeats` times after a warm-up;
the table shows the best (and the median) time. Written to benchmarks/results/ as Markdown and JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' harness (and its seed models)
import numpy as np  # noqa: E402

import harness  # noqa: E402,F401  (first: it sets OPENBLAS_THREAD_TIMEOUT before NumPy loads)

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import minidl  # noqa: E402
from harness import import_keras, seed_models  # noqa: E402


def timings(contenders: dict, repeats: int) -> dict[str, dict]:
    """Warm each contender up once, then time them `repeats` times, interleaved."""
    for run in contenders.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: {"best": min(t), "median": statistics.median(t), "all": t} for name, t in times.items()}


def data(n: int, shape: tuple, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return x, y


def mlp(framework: str, hidden: int):
    """The benchmark MLP, the same lines in Keras and in minidl (as harness.seed_models.cnn)."""
    api = import_keras() if framework == "keras" else minidl
    model = api.Sequential(
        [
            api.layers.Input((784,)),
            api.layers.Dense(hidden, activation="relu"),
            api.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=api.optimizers.SGD(learning_rate=0.05, momentum=0.99),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def mlp_floor(x: np.ndarray, y: np.ndarray, hidden: int):
    """The matrix products a full-batch MLP step cannot avoid: two forward, three backward (no dX)."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((784, hidden), dtype=np.float32) * 0.05
    w2 = rng.standard_normal((hidden, 10), dtype=np.float32) * 0.05

    def step():
        h = x @ w1
        g = h @ w2  # stands in for dL/dlogits, same shape (N, 10)
        _ = h.T @ g  # dW2
        dh = g @ w2.T
        _ = x.T @ dh  # dW1

    return step


def bench_mlp(args, results: dict) -> None:
    n, hidden = args.mlp_samples, args.hidden
    x, y = data(n, (784,))
    keras_model, minidl_model = mlp("keras", hidden), mlp("minidl", hidden)
    fit = dict(batch_size=n, epochs=1, verbose=0)
    results["mlp_epoch"] = timings(
        {
            "minidl": lambda: minidl_model.fit(x, y, **fit),
            "keras": lambda: keras_model.fit(x, y, **fit),
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
        {name: (lambda m=m: m.fit(x, y, batch_size=32, epochs=1, verbose=0)) for name, m in models.items()},
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


def keras_io_convnet(api):
    """keras.io's "Simple MNIST convnet", line for line."""
    model = api.Sequential(
        [
            api.Input(shape=(28, 28, 1)),
            api.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            api.layers.MaxPooling2D(pool_size=(2, 2)),
            api.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            api.layers.MaxPooling2D(pool_size=(2, 2)),
            api.layers.Flatten(),
            api.layers.Dropout(0.5),
            api.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def all_conv_net(api):
    """An all-convolutional net: "same" padding, a stride-2 convolution, BatchNormalization, global pooling."""
    model = api.Sequential(
        [
            api.Input(shape=(28, 28, 1)),
            api.layers.Conv2D(32, 3, padding="same", use_bias=False),
            api.layers.BatchNormalization(),
            api.layers.ReLU(),
            api.layers.Conv2D(64, 3, strides=2, padding="same", use_bias=False),
            api.layers.BatchNormalization(),
            api.layers.ReLU(),
            api.layers.Conv2D(64, 3, padding="same", activation="relu"),
            api.layers.GlobalAveragePooling2D(),
            api.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def tabular_mlp(api):
    """A tabular binary classifier: Dense 64-64-1, sigmoid, binary cross-entropy."""
    model = api.Sequential(
        [
            api.Input(shape=(30,)),
            api.layers.Dense(64, activation="relu"),
            api.layers.Dense(64, activation="relu"),
            api.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def residual_cnn(api):
    """The residual CNN of experiments/residual_cnn.py (the functional API), compiled as part 2's."""
    return seed_models.residual_cnn("minidl" if api is minidl else "keras")


# name: (builder, input shape, classes (1: binary labels), samples, batch size)
EVERYDAY_MODELS = {
    "keras.io MNIST convnet": (keras_io_convnet, (28, 28, 1), 10, 6000, 128),
    "all-conv net (same, stride 2, BN, GAP)": (all_conv_net, (28, 28, 1), 10, 6000, 128),
    "tabular MLP 64-64-1": (tabular_mlp, (30,), 1, 60000, 256),
    "residual CNN (functional)": (residual_cnn, (28, 28, 1), 10, 2000, 32),
}


def bench_everyday(args, results: dict) -> None:
    """The models people write, each the same code in both frameworks: a training epoch and a predict."""
    keras = import_keras()
    for name, (build, shape, classes, samples, batch) in EVERYDAY_MODELS.items():
        samples = min(samples, 512) if args.quick else samples
        rng = np.random.default_rng(0)
        x = rng.random((samples, *shape), dtype=np.float32)
        labels = rng.integers(0, max(classes, 2), samples)
        y = labels.astype(np.float32)[:, None] if classes == 1 else np.eye(classes, dtype=np.float32)[labels]
        models = {"minidl": build(minidl), "keras": build(keras)}
        results[f"{name} epoch"] = timings(
            {
                framework: (lambda m=model, x=x, y=y, b=batch: m.fit(x, y, batch_size=b, epochs=1, verbose=0))
                for framework, model in models.items()
            },
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


PEAK_RSS_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {root!r} + "/experiments")
    from harness import seed_models
    kind, n, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(0)
    shape = (784,) if kind == "mlp" else (28, 28, 1)
    x = rng.random((n, *shape), dtype=np.float32); y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    model = seed_models.mlp(2000) if kind == "mlp" else seed_models.cnn("minidl")
    model.fit(x, y, batch_size=n if kind == "mlp" else 32, epochs=epochs, verbose=0)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) parent across fork and exec
    print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024)
""")


def bench_memory(args, results: dict) -> None:
    """Peak RSS (MiB) of a fresh process training the largest hidden_units.py MLP (H=2000, full batch)
    and the CNN (batch 32), each for 2 epochs."""
    script = PEAK_RSS_SCRIPT.format(root=str(ROOT))
    results["peak_rss_mib"] = {}
    for kind, n in (("mlp", args.mlp_samples), ("cnn", args.cnn_samples)):
        out = subprocess.run(
            [sys.executable, "-c", script, kind, str(n), "2"], capture_output=True, text=True, check=True
        )
        results["peak_rss_mib"][kind] = float(out.stdout.strip().splitlines()[-1])


def _run_group(group, args) -> dict:
    results: dict = {}
    group(args, results)
    return results


def in_fresh_process(group, args) -> dict:
    """Run one group of benchmarks (its contenders interleaved) in a new Python process: what a process
    ran before changes TensorFlow's speed after it (here the full-batch MLP benchmark slows a later
    Keras CNN epoch from 7.9 s to 10.3 s, and not minidl's), and users run one model per process."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_run_group, (group, args))


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
    def ratio(row, a, b):
        return results[row][a]["best"] / results[row][b]["best"]

    def cell(row, name):
        best, median = results[row][name]["best"] * 1e3, results[row][name]["median"] * 1e3
        digits = 1 if best < 100 else 0
        return f"{best:.{digits}f} ms (median {median:.{digits}f})"

    def throughput(row, name):
        return f"{results[row]['samples'] / results[row][name]['best']:,.0f} samples/s"

    lines = [
        "| benchmark | minidl | Keras | floor | minidl / Keras | minidl / floor | target |",
        "|---|---|---|---|---|---|---|",
    ]
    if "mlp_epoch" in results:
        lines += [
            f"| MLP epoch ({args.mlp_samples} x 784, H={args.hidden}, full batch, SGD momentum) | "
            f"{cell('mlp_epoch', 'minidl')} | {cell('mlp_epoch', 'keras')} | {cell('mlp_epoch', 'floor')} | "
            f"{ratio('mlp_epoch', 'minidl', 'keras'):.2f} | {ratio('mlp_epoch', 'minidl', 'floor'):.2f} | "
            "<= 1.0, <= 1.2 |",
            f"| MLP predict (batch 1024) | {throughput('mlp_predict', 'minidl')} | "
            f"{throughput('mlp_predict', 'keras')} | | {ratio('mlp_predict', 'minidl', 'keras'):.2f} | | <= 1.0 |",
        ]
    if "cnn_epoch" in results:
        lines += [
            f"| CNN epoch ({args.cnn_samples} samples, batch 32, Adam) | {cell('cnn_epoch', 'minidl')} | "
            f"{cell('cnn_epoch', 'keras')} | | {ratio('cnn_epoch', 'minidl', 'keras'):.2f} | | <= 0.8 |",
            f"| CNN predict (batch 256) | {throughput('cnn_predict', 'minidl')} | "
            f"{throughput('cnn_predict', 'keras')} | | {ratio('cnn_predict', 'minidl', 'keras'):.2f} | | <= 1.0 |",
        ]
    if "adam_update" in results:
        shape = results["adam_update"]["shape"]
        lines.append(
            f"| Adam update of one {shape[0]} x {shape[1]} kernel | {cell('adam_update', 'minidl')} | "
            f"{cell('adam_update', 'keras')} | | {ratio('adam_update', 'minidl', 'keras'):.2f} | | |"
        )
    for name, (_, _, _, _, batch) in EVERYDAY_MODELS.items():
        if f"{name} epoch" in results:
            samples = results[f"{name} epoch"]["samples"]
            lines.append(
                f"| {name}: epoch ({samples} samples, batch {batch}, Adam) | {cell(f'{name} epoch', 'minidl')} | "
                f"{cell(f'{name} epoch', 'keras')} | | {ratio(f'{name} epoch', 'minidl', 'keras'):.2f} | | <= 1.0 |"
            )
            lines.append(
                f"| {name}: predict (batch 256) | {throughput(f'{name} predict', 'minidl')} | "
                f"{throughput(f'{name} predict', 'keras')} | | {ratio(f'{name} predict', 'minidl', 'keras'):.2f} "
                "| | <= 1.0 |"
            )
    if "peak_rss_mib" in results:
        rss = results["peak_rss_mib"]
        lines.append(
            f"\nPeak RSS of a fresh process, 2 epochs: MLP H=2000 full batch {rss['mlp']:.0f} MiB, "
            f"CNN batch 32 {rss['cnn']:.0f} MiB."
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, one repeat: proves the benchmark runs")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per contender (default 5)")
    parser.add_argument("--out", default=None, help="results folder (default benchmarks/results)")
    parser.add_argument(
        "--only",
        choices=("mlp", "cnn", "adam", "everyday"),
        action="append",
        default=None,
        help="run only these groups (repeatable; default all, with the memory measurement)",
    )
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 5)
    args.mlp_samples, args.cnn_samples = (1000, 256) if args.quick else (10000, 10000)
    args.hidden = 1000
    out = Path(args.out or ROOT / ("out/quick/benchmarks" if args.quick else "benchmarks/results"))
    out.mkdir(parents=True, exist_ok=True)

    results: dict = {}
    groups = {"mlp": bench_mlp, "cnn": bench_cnn, "adam": bench_adam, "everyday": bench_everyday}
    for name, group in groups.items():
        if args.only is None or name in args.only:
            results.update(in_fresh_process(group, args))
    if args.only is None:
        bench_memory(args, results)
    import keras
    import tensorflow as tf

    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__} "
        f"({blas_info()}, OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT')}); "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )
    only = "".join(f" --only {name}" for name in args.only or [])
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "") + f" --repeats {args.repeats}" + only
    table = report(args, results)
    commit = (
        subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    text = f"# minidl benchmarks\n\nCommand: `{command}` at commit {commit}\n\nMachine: {machine}\n\n{table}\n"
    print(text)
    (out / "results.md").write_text(text)
    (out / "results.json").write_text(
        json.dumps({"command": command, "machine": machine, "results": results}, indent=1)
    )
    return results


if __name__ == "__main__":
    main()
