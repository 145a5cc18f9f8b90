"""Where a minidl step spends its time: each layer's forward and backward, and the optimiser's update.

    python benchmarks/layers.py                 # the seed CNN: training step at batch 32, predict at 256
    python benchmarks/layers.py --model mlp     # the seed MLP (H=1000), full batch of 10,000
    python benchmarks/layers.py --model convnet # keras.io's MNIST convnet: training at batch 128
    python benchmarks/layers.py --model allconv # the all-convolutional net (BN, stride 2, GAP): batch 128
    python benchmarks/layers.py --model separable # the separable convnet (depthwise convolutions): batch 128
    python benchmarks/layers.py --conv-throughput  # GFLOP/s of the everyday convolutions: minidl, oneDNN, BLAS

Best of --repeats timings after a warm-up, on random data of the benchmark's sizes. Run it on a quiet
machine; it complements benchmarks/run.py (minidl against Keras), which times whole epochs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy loads OpenBLAS: see experiments/harness
sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' harness (and its seed models)

import numpy as np  # noqa: E402
from workloads import all_conv_net, keras_io_convnet, separable_convnet  # noqa: E402  (benchmarks/workloads.py)

import harness  # noqa: E402,F401
import minidl  # noqa: E402
from harness import seed_models  # noqa: E402
from minidl.inference import InferencePlan  # noqa: E402
from minidl.parallel import blockwise  # noqa: E402
from minidl.training import link_loss, params_and_grads  # noqa: E402


def best_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * min(times)


def streaming_floor(params_and_grads) -> Callable[[], object]:
    """What the Adam update would cost if it were bound by memory: a kernel that reads param, grad, m, v
    and writes param, m, v once each (the same blocks and threads, no arithmetic but three adds)."""
    arrays = [[a.copy().reshape(-1) for a in (param, grad, param, param)] for _, param, grad in params_and_grads]

    def kernel(p, g, m, v):
        np.add(m, g, out=m)
        np.add(v, g, out=v)
        np.add(p, m, out=p)

    return lambda: [blockwise(kernel, *group) for group in arrays]


def machine_peaks(repeats: int) -> tuple[float, float]:
    """The machine's measured peaks on all its BLAS threads: float32 matrix-product FLOP/s (a 2048^3
    product) and element-wise memory bandwidth in bytes/s (c = a + b on 64 MB arrays: read 2, write 1)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((2048, 2048), dtype=np.float32), rng.random((2048, 2048), dtype=np.float32)
    flops = 2 * 2048**3 / (best_ms(lambda: a @ b, repeats) / 1e3)
    x, y = rng.random(16 * 2**20, dtype=np.float32), rng.random(16 * 2**20, dtype=np.float32)
    out = np.empty_like(x)
    add = lambda a, b, c: np.add(a, b, out=c)  # noqa: E731
    bandwidth = 3 * x.nbytes / (best_ms(lambda: blockwise(add, x, y, out), repeats) / 1e3)
    return flops, bandwidth


def floor_ms(layer, x_shape: tuple, y_shape: tuple, backward: bool, peaks: tuple[float, float]) -> float:
    """What a layer's forward (or backward) cannot go below on this machine: its matrix products at the
    peak FLOP/s, or, if longer, reading its input and writing its output once at the peak bandwidth
    (backward: read dL/dy and the input, write dL/dx). The larger of the two (a roofline)."""
    flops_per_second, bytes_per_second = peaks
    size_in, size_out = int(np.prod(x_shape)), int(np.prod(y_shape))
    products = 0
    if "kernel" in layer.params:  # Dense, Conv2D: 2 N (outputs) (window) per product
        window = int(np.prod(layer.params["kernel"].shape[:-1]))
        products = 2 * size_out * window * ((2 if layer.need_input_grad else 1) if backward else 1)
    traffic = 4 * ((size_out + 2 * size_in) if backward else (size_in + size_out))
    return 1e3 * max(products / flops_per_second, traffic / bytes_per_second)


def layer_by_layer(model, x: np.ndarray) -> np.ndarray:
    """The inference pass without minidl.inference's reordering: each layer's forward in turn."""
    for layer in model.layers:
        x = layer.forward(x, training=False)
    return x


def profile(
    model, x: np.ndarray, y: np.ndarray, training: bool, repeats: int, peaks: tuple[float, float]
) -> list[tuple[str, float, float, float, float]]:
    """(layer, forward ms, its floor, backward ms, its floor) for each layer, then the optimiser's update
    beside its memory traffic; for inference, (step, ms, nan, nan, nan) for each step of predict's pass
    (minidl.inference: pooling moved ahead)."""
    nan = float("nan")
    if not training:
        rows, a = [], x
        for step in InferencePlan(model.layers).steps:
            out = step(a)  # each step timed on the output of the one before (in-place steps: on their own)
            timed = best_ms(lambda step=step, a=a: step(a), repeats)
            rows.append((f"{step} {a.shape[1:]} -> {out.shape[1:]}", timed, nan, nan, nan))
            a = out
        rows.append(
            (
                " whole pass, these steps (predict)",
                best_ms(lambda: model.predict(x, len(x), verbose=0), repeats),
                nan,
                nan,
                nan,
            )
        )
        rows.append(
            (" whole pass, the layers one by one", best_ms(lambda: layer_by_layer(model, x), repeats), nan, nan, nan)
        )
        return rows
    rows = []
    inputs = [x]
    for layer in model.layers:  # each layer timed on the input the previous one produced
        inputs.append(layer.forward(inputs[-1], training=True))
    grads = [None] * len(inputs)
    loss_gradient = link_loss(model)  # the fused softmax/cross-entropy gradient, as in fit
    model.loss.forward(y, inputs[-1])
    grads[-1] = loss_gradient()
    for i in range(len(model.layers) - 1, -1, -1):
        grads[i] = model.layers[i].backward(grads[i + 1])
    for i, layer in enumerate(model.layers):
        forward = best_ms(lambda layer=layer, i=i: layer.forward(inputs[i], training=True), repeats)
        layer.forward(inputs[i], training=True)  # backward reads what this forward kept
        backward = best_ms(lambda layer=layer, i=i: layer.backward(grads[i + 1]), repeats)
        shapes = (inputs[i].shape, inputs[i + 1].shape)
        floors = [floor_ms(layer, *shapes, backward, peaks) for backward in (False, True)]
        rows.append((f"{layer.name} {shapes[0][1:]} -> {shapes[1][1:]}", forward, floors[0], backward, floors[1]))
    pairs = list(params_and_grads(model.layers))
    update = best_ms(lambda: model.optimizer.apply_gradients(pairs), repeats)
    arrays = (
        7 if isinstance(model.optimizer, minidl.optimizers.Adam) else 5
    )  # Adam: read 4, write 3; SGD+momentum: read 3, write 2
    update_floor = 1e3 * arrays * sum(p.nbytes for _, p, _ in pairs) / peaks[1]
    rows.append(("optimizer update (floor: its arrays once at peak bandwidth)", update, update_floor, nan, nan))
    rows.append(
        (
            "  its memory traffic, as a kernel (Adam-like: read 4, write 3)",
            best_ms(streaming_floor(pairs), repeats),
            nan,
            nan,
            nan,
        )
    )
    return rows


# The layers timed one by one against Keras's same layer (forward + backward, batch 128, 28x28x32 inputs)
KERAS_LAYERS = {
    "AveragePooling2D(2)": lambda api: api.layers.AveragePooling2D(2),
    "GlobalAveragePooling2D": lambda api: api.layers.GlobalAveragePooling2D(),
    "GlobalMaxPooling2D": lambda api: api.layers.GlobalMaxPooling2D(),
    "Reshape((784, 32))": lambda api: api.layers.Reshape((784, 32)),
    "Permute((3, 1, 2))": lambda api: api.layers.Permute((3, 1, 2)),
    "ZeroPadding2D(1)": lambda api: api.layers.ZeroPadding2D(1),
    "Cropping2D(2)": lambda api: api.layers.Cropping2D(2),
    "UpSampling2D(2)": lambda api: api.layers.UpSampling2D(2),
    "LayerNormalization": lambda api: api.layers.LayerNormalization(),
    "GaussianNoise(0.1)": lambda api: api.layers.GaussianNoise(0.1),
    "SpatialDropout2D(0.2)": lambda api: api.layers.SpatialDropout2D(0.2),
    "Conv2D(32, 3, dilation_rate=2)": lambda api: api.layers.Conv2D(32, 3, dilation_rate=2),
    "Conv2D(32, 3, padding='same')": lambda api: api.layers.Conv2D(32, 3, padding="same"),
    "Conv2D(64, 3)": lambda api: api.layers.Conv2D(64, 3),
    "Conv2D(64, 3, strides=2, padding='same')": lambda api: api.layers.Conv2D(64, 3, strides=2, padding="same"),
    "Conv2D(1, 3, padding='same')": lambda api: api.layers.Conv2D(1, 3, padding="same"),
    "Conv2DTranspose(32, 3, strides=2, padding='same')": lambda api: api.layers.Conv2DTranspose(
        32, 3, strides=2, padding="same"
    ),
    "DepthwiseConv2D(3, padding='same')": lambda api: api.layers.DepthwiseConv2D(3, padding="same"),
    "SeparableConv2D(64, 3, padding='same')": lambda api: api.layers.SeparableConv2D(64, 3, padding="same"),
    "BatchNormalization": lambda api: api.layers.BatchNormalization(),
    "ReLU": lambda api: api.layers.ReLU(),
    "MaxPooling2D(2)": lambda api: api.layers.MaxPooling2D(2),
    "Conv1D(32, 3) on (784, 32)": lambda api: api.layers.Conv1D(32, 3),
    "MaxPooling1D(2) on (784, 32)": lambda api: api.layers.MaxPooling1D(2),
    "AveragePooling1D(2) on (784, 32)": lambda api: api.layers.AveragePooling1D(2),
    "GlobalAveragePooling1D on (784, 32)": lambda api: api.layers.GlobalAveragePooling1D(),
}


def against_keras(repeats: int, batch: int = 128) -> list[tuple[str, float, float]]:
    """(layer, minidl ms, Keras ms) for forward + backward in training mode (the input's gradient and the
    weights'), Keras's step a tf.function."""
    import tensorflow as tf

    keras = harness.import_keras()
    images = np.random.default_rng(0).random((batch, 28, 28, 32), dtype=np.float32)
    rows = []
    for name, make in KERAS_LAYERS.items():
        x = images.reshape(batch, 784, 32) if "on (784, 32)" in name else images  # the 1-D layers: 784 steps
        ours, theirs = make(minidl), make(keras)
        ours.build_for((None, *x.shape[1:]))
        theirs.build((None, *x.shape[1:]))
        if ours.weights:
            theirs.set_weights(ours.get_weights())
        ours.need_input_grad = True
        upstream = np.ones(ours.compute_output_shape(x.shape), dtype=np.float32)
        tx, tu = tf.constant(x), tf.constant(upstream)

        @tf.function
        def keras_step(theirs=theirs, tx=tx, tu=tu):
            with tf.GradientTape() as tape:
                tape.watch(tx)
                y = theirs(tx, training=True)
            # y too: else TensorFlow prunes the forward; and the weights' gradients, as minidl's backward
            return y, tape.gradient(y, [tx, *theirs.trainable_variables], output_gradients=tu)

        def minidl_step(ours=ours, upstream=upstream, x=x):
            ours.forward(x, training=True)
            return ours.backward(upstream)

        timed = {}
        for _ in range(2):  # interleaved: each contender twice, best of `repeats` each time
            timed["minidl"] = min(timed.get("minidl", np.inf), best_ms(minidl_step, repeats))
            timed["keras"] = min(timed.get("keras", np.inf), best_ms(keras_step, repeats))
        rows.append((name, timed["minidl"], timed["keras"]))
    return rows


# (input height = width, input channels, filters, stride, padding): the everyday models' 3x3 convolutions
CONV_SHAPES = [(28, 32, 32, 1, "same"), (28, 32, 64, 2, "same"), (14, 64, 64, 1, "same"), (13, 32, 64, 1, "valid")]


def conv_throughput(repeats: int, batch: int = 256) -> list[tuple[str, list[float]]]:
    """GFLOP/s of the inference forward of each of CONV_SHAPES at `batch`: minidl's Conv2D (im2col chunks on
    the cores), TensorFlow's tf.nn.conv2d (oneDNN's direct convolution), and OpenBLAS's float32 product
    of the same sizes as minidl's, (batch Ho Wo, 9 C) @ (9 C, F) on prebuilt columns: on both BLAS
    threads over the whole batch, on one thread over one chunk of about CHUNK_COLS_BYTES (in cache), and
    in minidl's chunks shared between the cores (minidl's forward without its padding and im2col)."""
    rng = np.random.default_rng(0)
    rows = []
    for size, channels, filters, stride, padding in CONV_SHAPES:
        layer = minidl.layers.Conv2D(filters, 3, strides=stride, padding=padding)
        layer.build_for((None, size, size, channels))
        x = rng.random((batch, size, size, channels), dtype=np.float32)
        name = f"{size}x{size}x{channels} -> {filters}, stride {stride}, {padding}"
        rows.append((name, _conv_rates(layer, x, repeats)))
    return rows


def _conv_rates(layer, x: np.ndarray, repeats: int) -> list[float]:
    import tensorflow as tf

    batch, size, _, channels = x.shape
    out_hw = layer._output_hw(size, size)
    flops = 2 * batch * out_hw[0] * out_hw[1] * 9 * channels * layer.filters
    tx, tk = tf.constant(x), tf.constant(layer.params["kernel"])
    strides, padding = layer.strides, layer.padding.upper()
    tf_conv = tf.function(lambda: tf.nn.conv2d(tx, tk, strides, padding))
    cols, kernel = layer._im2col(layer._pad(x), out_hw), layer.params["kernel"].reshape(-1, layer.filters)
    per_chunk = minidl.parallel.balanced_chunk(batch, layer._samples_per_chunk(out_hw, channels, x.itemsize))
    pixels = out_hw[0] * out_hw[1]
    chunk = cols[: per_chunk * pixels]
    with minidl.parallel.one_blas_thread():
        one_core_ms = best_ms(lambda: chunk @ kernel, repeats * 5) * len(cols) / len(chunk)
    z = np.empty((len(cols), layer.filters), np.float32)

    def multiply(start: int, stop: int) -> None:
        np.matmul(cols[start * pixels : stop * pixels], kernel, out=z[start * pixels : stop * pixels])

    def chunked_products() -> None:
        minidl.parallel.in_chunks(multiply, batch, per_chunk)

    timed = [
        best_ms(fn, repeats)
        for fn in (lambda: layer.linear_inference(x), tf_conv, lambda: cols @ kernel, chunked_products)
    ]
    return [flops / ms / 1e6 for ms in (*timed[:3], one_core_ms, timed[3])]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("cnn", "mlp", "convnet", "allconv", "separable"), default="cnn")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keras-layers", action="store_true", help="time the layers of KERAS_LAYERS against Keras")
    parser.add_argument("--conv-throughput", action="store_true", help="GFLOP/s of convolutions: minidl, oneDNN, BLAS")
    args = parser.parse_args(argv)
    if args.conv_throughput:
        print(f"\nconvolution forward, batch 256, GFLOP/s (best of {args.repeats})")
        headers = ("minidl", "oneDNN", "BLAS 2 cores", "BLAS 1 core x 2", "BLAS chunks")
        print(f"{'3x3 convolution':40s}" + "".join(f" {h:>15s}" for h in headers))
        for name, rates in conv_throughput(args.repeats):
            print(f"{name:40s}" + "".join(f" {rate:15.0f}" for rate in rates))
        return
    if args.keras_layers:
        print(f"\nforward + backward, batch 128, 28x28x32 inputs (best of {args.repeats}, ms)")
        print(f"{'layer':32s} {'minidl':>9s} {'Keras':>9s} {'minidl/Keras':>13s}")
        for name, ours, theirs in against_keras(args.repeats):
            print(f"{name:32s} {ours:9.3f} {theirs:9.3f} {ours / theirs:13.2f}")
        return
    peaks = machine_peaks(args.repeats)
    print(f"machine peaks: {peaks[0] / 1e9:.1f} GFLOP/s (float32 2048^3 product), {peaks[1] / 1e9:.1f} GB/s (a + b)")
    rng = np.random.default_rng(0)
    model, shape = {
        "cnn": lambda: (seed_models.cnn("minidl"), (28, 28, 1)),
        "mlp": lambda: (seed_models.mlp(1000), (784,)),
        "convnet": lambda: (keras_io_convnet(minidl), (28, 28, 1)),
        "allconv": lambda: (all_conv_net(minidl), (28, 28, 1)),
        "separable": lambda: (separable_convnet(minidl), (28, 28, 1)),
    }[args.model]()
    sizes = {
        "cnn": (32, 256),
        "mlp": (10000, 1024),
        "convnet": (128, 256),
        "allconv": (128, 256),
        "separable": (128, 256),
    }[args.model]
    for title, n in zip(("training step", "predict"), sizes):
        x = rng.random((n, *shape), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
        rows = profile(model, x, y, training=title == "training step", repeats=args.repeats, peaks=peaks)
        print(f"\n{args.model} {title}, batch {n} (best of {args.repeats}, ms; floor: see floor_ms)")
        print(f"{'layer':62s} {'forward':>9s} {'floor':>7s} {'backward':>9s} {'floor':>7s}")
        for name, forward, forward_floor, backward, backward_floor in rows:
            print(f"{name:62s} {forward:9.3f} {forward_floor:7.3f} {backward:9.3f} {backward_floor:7.3f}")
        counted = [row for row in rows if not row[0].startswith(" ")]
        total, floor = (sum(v for row in counted for v in row[i::2][:2] if v == v) for i in (1, 2))
        ratio = f" (ratio to the floor: {total / floor:.2f})" if floor else ""
        print(f"{'sum' + ratio:62s} {total:9.3f} {floor:7.3f}")


if __name__ == "__main__":
    main()
