"""What the benchmarks share: interleaved timing, random data, the benchmark models (each the same lines
in Keras and in minidl), the matrix-product floors, and running a group in a fresh process."""

from __future__ import annotations

import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' harness (and its seed models)
import numpy as np  # noqa: E402

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


def fit_epoch(model, x: np.ndarray, y: np.ndarray, batch: int):
    """A contender for `timings`: one training epoch of `model` (either framework) in batches of `batch`."""
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)


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


def sequence_classifier(api):
    """A sequence classifier: a bidirectional GRU over 50 steps of 16 features, softmax over 10 classes."""
    model = api.Sequential(
        [
            api.Input(shape=(50, 16)),
            api.layers.Bidirectional(api.layers.GRU(32)),
            api.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def separable_convnet(api):
    """Depthwise-separable convolutions, MobileNet's and Xception's way: a strided Conv2D, then
    SeparableConv2D, and a DepthwiseConv2D with a 1x1 Conv2D, each followed by BatchNormalization and ReLU."""
    model = api.Sequential(
        [
            api.Input(shape=(28, 28, 1)),
            api.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False),
            api.layers.BatchNormalization(),
            api.layers.ReLU(),
            api.layers.SeparableConv2D(64, 3, padding="same", use_bias=False),
            api.layers.BatchNormalization(),
            api.layers.ReLU(),
            api.layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False),
            api.layers.BatchNormalization(),
            api.layers.ReLU(),
            api.layers.Conv2D(128, 1, use_bias=False),
            api.layers.BatchNormalization(),
            api.layers.ReLU(),
            api.layers.GlobalAveragePooling2D(),
            api.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def denoising_autoencoder(api):
    """keras.io's convolutional denoising autoencoder: Conv2D and MaxPooling2D down, stride-2 Conv2DTranspose
    up, a sigmoid Conv2D out, binary cross-entropy against the image."""
    model = api.Sequential(
        [
            api.Input(shape=(28, 28, 1)),
            api.layers.Conv2D(32, 3, activation="relu", padding="same"),
            api.layers.MaxPooling2D(2, padding="same"),
            api.layers.Conv2D(32, 3, activation="relu", padding="same"),
            api.layers.MaxPooling2D(2, padding="same"),
            api.layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same"),
            api.layers.Conv2DTranspose(32, 3, strides=2, activation="relu", padding="same"),
            api.layers.Conv2D(1, 3, activation="sigmoid", padding="same"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def framework_of(api) -> str:
    return "minidl" if api is minidl else "keras"


def residual_cnn(api):
    """The residual CNN of experiments/residual_cnn.py (the functional API), compiled as part 2's."""
    return seed_models.residual_cnn(framework_of(api))


# name: (builder, input shape, classes (1: binary labels, 0: the input itself), samples, batch size)
EVERYDAY_MODELS = {
    "keras.io MNIST convnet": (keras_io_convnet, (28, 28, 1), 10, 6000, 128),
    "all-conv net (same, stride 2, BN, GAP)": (all_conv_net, (28, 28, 1), 10, 6000, 128),
    "tabular MLP 64-64-1": (tabular_mlp, (30,), 1, 60000, 256),
    "residual CNN (functional)": (residual_cnn, (28, 28, 1), 10, 2000, 32),
    "sequence classifier (Bidirectional GRU)": (sequence_classifier, (50, 16), 10, 2048, 32),
    "separable convnet (SeparableConv2D, DepthwiseConv2D)": (separable_convnet, (28, 28, 1), 10, 6000, 128),
    "denoising autoencoder (Conv2DTranspose)": (denoising_autoencoder, (28, 28, 1), 0, 6000, 128),
}


# The rows of the main table, for the memory column: (builder, input shape, classes, samples, batch size)
WORKLOADS = {
    "seed MLP": (lambda api: mlp(framework_of(api), 1000), (784,), 10, 10000, 10000),
    "seed CNN": (lambda api: seed_models.cnn(framework_of(api)), (28, 28, 1), 10, 10000, 32),
    **EVERYDAY_MODELS,
}


def workload_data(shape: tuple, classes: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs and targets: one-hot for `classes` > 1, binary labels (N, 1) for 1, x itself for 0."""
    rng = np.random.default_rng(0)
    x = rng.random((samples, *shape), dtype=np.float32)
    if classes == 0:
        return x, x
    labels = rng.integers(0, max(classes, 2), samples)
    y = labels.astype(np.float32)[:, None] if classes == 1 else np.eye(classes, dtype=np.float32)[labels]
    return x, y


def train_and_predict(framework: str, workload: str, quick: bool) -> float:
    """Import one framework, train the workload's model one epoch and predict; the process's peak
    resident memory (VmHWM) in MiB. Run by `peak_rss_mib` in a fresh process."""
    api = import_keras() if framework == "keras" else minidl
    build, shape, classes, samples, batch = WORKLOADS[workload]
    samples = min(samples, 512) if quick else samples
    x, y = workload_data(shape, classes, samples)
    model = build(api)
    model.fit(x, y, batch_size=min(batch, samples), epochs=1, verbose=0)
    model.predict(x, batch_size=256, verbose=0)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from a (large) parent across fork and exec
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def peak_rss_mib(framework: str, workload: str, quick: bool) -> float:
    """Peak resident memory of a fresh process that trains and predicts with the workload in `framework`
    (the framework's own imports included: TensorFlow's for Keras)."""
    return float(printed_by_new_python("workloads", f"train_and_predict({framework!r}, {workload!r}, {quick!r})"))


def printed_by_new_python(module: str, call: str, env: dict[str, str] | None = None) -> str:
    """The last line that `print(module.call)` writes in a new Python process started with the environment
    `env` (default: this one's), with benchmarks/ on its path: for a measurement that must start from a
    process's beginning (its peak memory, a setting read on import)."""
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import {module}; print({module}.{call})"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _run_group(group, args) -> dict:
    results: dict = {}
    group(args, results)
    return results


def in_fresh_process(group, args) -> dict:
    """Run one group of benchmarks (its contenders interleaved) in a new Python process: what a process
    ran before changes TensorFlow's speed after it (here the full-batch MLP benchmark slows a later
    Keras CNN epoch from 7.9 s to 10.3 s, and not minidl's), and users run one model per process."""
    return call_in_fresh_process(_run_group, group, args)


def call_in_fresh_process(function, *args):
    """function(*args) in a new Python process (multiprocessing's spawn), its result sent back through a
    pipe. A plain Process, not a Pool: a Pool's three handler threads once left a run waiting forever
    inside a test process full of threads; here the parent only reads the pipe, and a child that dies
    without an answer is an error, not a hang."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_answer, args=(sender, function, args))
    child.start()
    sender.close()  # the child's end: the parent's recv sees EOF if the child dies
    try:
        ok, value = receiver.recv()
    except EOFError:
        child.join()
        raise RuntimeError(
            f"the benchmark process for {function.__name__} ended without an answer (exit code {child.exitcode})"
        ) from None
    finally:
        receiver.close()
    child.join()
    if not ok:
        raise RuntimeError(f"the benchmark process for {function.__name__} failed:\n{value}")
    return value


def _answer(sender, function, args) -> None:
    """In the child: send (True, function(*args)), or (False, the traceback)."""
    import traceback

    try:
        answer = (True, function(*args))
    except BaseException:
        answer = (False, traceback.format_exc())
    sender.send(answer)
    sender.close()
