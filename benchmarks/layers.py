"""Where a minidl step spends its time: each layer's forward and backward, and the optimiser's update.

    python benchmarks/layers.py                 # the seed CNN: training step at batch 32, predict at 256
    python benchmarks/layers.py --model mlp     # the seed MLP (H=1000), full batch of 10,000

Best of --repeats timings after a warm-up, on random data of the benchmark's sizes. Run it on a quiet
machine; it complements benchmarks/run.py (minidl against Keras), which times whole epochs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' harness (and its seed models)

import numpy as np  # noqa: E402

import harness  # noqa: E402,F401  (first: it sets OPENBLAS_THREAD_TIMEOUT before NumPy loads)
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


def layer_by_layer(model, x: np.ndarray) -> np.ndarray:
    """The inference pass without minidl.inference's reordering: each layer's forward in turn."""
    for layer in model.layers:
        x = layer.forward(x, training=False)
    return x


def profile(model, x: np.ndarray, y: np.ndarray, training: bool, repeats: int) -> list[tuple[str, float, float]]:
    """(layer, forward ms, backward ms) for each layer, then the loss and the optimiser's update; for
    inference, (step, ms, nan) for each step of predict's pass (minidl.inference: pooling moved ahead)."""
    if not training:
        rows, a = [], x
        for step in InferencePlan(model.layers).steps:
            out = step(a)  # each step timed on the output of the one before (in-place steps: on their own)
            rows.append(
                (
                    f"{step} {a.shape[1:]} -> {out.shape[1:]}",
                    best_ms(lambda step=step, a=a: step(a), repeats),
                    float("nan"),
                )
            )
            a = out
        rows.append(
            (" whole pass, these steps (predict)", best_ms(lambda: model.predict(x, len(x)), repeats), float("nan"))
        )
        rows.append(
            (" whole pass, the layers one by one", best_ms(lambda: layer_by_layer(model, x), repeats), float("nan"))
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
        rows.append((f"{layer.name} {inputs[i].shape[1:]} -> {inputs[i + 1].shape[1:]}", forward, backward))
    pairs = list(params_and_grads(model.layers))
    rows.append(("optimizer update", best_ms(lambda: model.optimizer.apply_gradients(pairs), repeats), float("nan")))
    rows.append(
        (
            "  its memory traffic alone (Adam: read 4, write 3 arrays)",
            best_ms(streaming_floor(pairs), repeats),
            float("nan"),
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
    "Conv1D(32, 3) on (784, 32)": lambda api: api.layers.Conv1D(32, 3),
    "MaxPooling1D(2) on (784, 32)": lambda api: api.layers.MaxPooling1D(2),
    "AveragePooling1D(2) on (784, 32)": lambda api: api.layers.AveragePooling1D(2),
    "GlobalAveragePooling1D on (784, 32)": lambda api: api.layers.GlobalAveragePooling1D(),
}


def against_keras(repeats: int, batch: int = 128) -> list[tuple[str, float, float]]:
    """(layer, minidl ms, Keras ms) for forward + backward in training mode, Keras's step a tf.function."""
    import tensorflow as tf

    import minidl

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
            return y, tape.gradient(y, tx, output_gradients=tu)  # y too: else TensorFlow prunes the forward

        def minidl_step(ours=ours, upstream=upstream, x=x):
            ours.forward(x, training=True)
            return ours.backward(upstream)

        timed = {}
        for _ in range(2):  # interleaved: each contender twice, best of `repeats` each time
            timed["minidl"] = min(timed.get("minidl", np.inf), best_ms(minidl_step, repeats))
            timed["keras"] = min(timed.get("keras", np.inf), best_ms(keras_step, repeats))
        rows.append((name, timed["minidl"], timed["keras"]))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("cnn", "mlp"), default="cnn")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--keras-layers", action="store_true", help="time the layers of KERAS_LAYERS against Keras")
    args = parser.parse_args(argv)
    if args.keras_layers:
        print(f"\nforward + backward, batch 128, 28x28x32 inputs (best of {args.repeats}, ms)")
        print(f"{'layer':32s} {'minidl':>9s} {'Keras':>9s} {'minidl/Keras':>13s}")
        for name, ours, theirs in against_keras(args.repeats):
            print(f"{name:32s} {ours:9.3f} {theirs:9.3f} {ours / theirs:13.2f}")
        return
    rng = np.random.default_rng(0)
    shape, model = ((28, 28, 1), seed_models.cnn("minidl")) if args.model == "cnn" else ((784,), seed_models.mlp(1000))
    sizes = {"training step": 32, "predict": 256} if args.model == "cnn" else {"training step": 10000, "predict": 1024}
    for title, n in sizes.items():
        x = rng.random((n, *shape), dtype=np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
        rows = profile(model, x, y, training=title == "training step", repeats=args.repeats)
        print(f"\n{args.model} {title}, batch {n} (best of {args.repeats}, ms)")
        print(f"{'layer':58s} {'forward':>9s} {'backward':>9s}")
        for name, forward, backward in rows:
            print(f"{name:58s} {forward:9.3f} {backward:9.3f}")
        total = sum(v for name, f, b in rows if not name.startswith(" ") for v in (f, b) if v == v)
        print(f"{'sum':58s} {total:9.3f}")


if __name__ == "__main__":
    main()
