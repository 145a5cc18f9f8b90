"""The measurements behind minidl's implementation choices, each against the alternative it replaced.

    python benchmarks/choices.py [--repeats 7]

Each row: the choice, the alternative, their best times (ms) on the seed CNN's shapes, and the ratio.
The code comments that mention "benchmarks/README.md" point here; the README quotes a run's output.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy loads OpenBLAS: see experiments/harness
sys.path.insert(0, str(ROOT / "experiments"))  # the experiments' harness
import numpy as np
from layers import best_ms  # benchmarks/layers.py
from numpy.lib.stride_tricks import as_strided, sliding_window_view
from workloads import call_in_fresh_process, printed_by_new_python  # benchmarks/workloads.py

from minidl import parallel
from minidl.layers.activations import relu
from minidl.layers.conv import window_slices, zero_padded


def best_ms_and_faults(function, repeats: int) -> tuple[float, float]:
    """best_ms(function, repeats) after one untimed call, and the minor page faults per call of the calls
    best_ms makes (its warm-up and the repeats)."""
    import resource

    function()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    ms = best_ms(function, repeats)
    return ms, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / (repeats + 1)


def im2col_one_channel(repeats: int) -> list[tuple[str, float]]:
    """im2col of a batch of 32 28x28x1 images, 3x3 windows: strided copies per offset vs a sliding view."""
    xp = np.random.default_rng(0).random((32, 30, 30, 1), dtype=np.float32)

    def per_offset():
        cols = np.empty((32, 28, 28, 3, 3, 1), dtype=np.float32)
        for a in range(3):
            for b in range(3):
                cols[:, :, :, a, b, :] = xp[window_slices(a, b, (28, 28), (1, 1))]
        return cols

    def sliding():
        windows = sliding_window_view(xp, (3, 3), axis=(1, 2))
        return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3))

    return [
        ("im2col C=1: one strided copy per offset (minidl)", best_ms(per_offset, repeats)),
        ("im2col C=1: copy of a sliding_window_view", best_ms(sliding, repeats)),
    ]


def conv_weight_gradient(repeats: int) -> list[tuple[str, float]]:
    """dL/dkernel = cols^T G for 32 samples of 28x28 outputs, 9 inputs, 32 filters."""
    rng = np.random.default_rng(0)
    cols, g = rng.random((32 * 784, 9), dtype=np.float32), rng.random((32 * 784, 32), dtype=np.float32)
    cols3, g3 = cols.reshape(32, 784, 9), g.reshape(32, 784, 32)
    return [
        (
            "conv dkernel: 32 per-sample products, summed (minidl)",
            best_ms(lambda: np.matmul(cols3.transpose(0, 2, 1), g3).sum(axis=0, dtype=np.float64), repeats),
        ),
        ("conv dkernel: one product over N Ho Wo = 25088 rows", best_ms(lambda: cols.T @ g, repeats)),
    ]


def conv_weight_gradient_many_channels(repeats: int) -> list[tuple[str, float]]:
    """dL/dkernel for keras.io's MNIST convnet's second convolution: 128 samples of 11x11 outputs, 3x3x32
    windows (288 inputs), 64 filters."""
    rng = np.random.default_rng(0)
    cols, g = rng.random((128 * 121, 288), dtype=np.float32), rng.random((128 * 121, 64), dtype=np.float32)
    cols3, g3 = cols.reshape(128, 121, 288), g.reshape(128, 121, 64)
    return [
        ("conv dkernel, C=32: one product over N Ho Wo rows (minidl)", best_ms(lambda: cols.T @ g, repeats)),
        (
            "conv dkernel, C=32: 128 per-sample products, summed",
            best_ms(lambda: np.matmul(cols3.transpose(0, 2, 1), g3).sum(axis=0, dtype=np.float64), repeats),
        ),
    ]


def conv_input_gradient(repeats: int) -> list[tuple[str, float]]:
    """dL/dx of keras.io's second convolution (128 samples, 13x13x32 inputs, 3x3 kernel, 64 filters): col2im
    one kernel offset at a time, vs forming all of dL/dcols = G K^T first."""
    import minidl

    layer = minidl.layers.Conv2D(64, 3)
    layer.build_for((None, 13, 13, 32))
    rng = np.random.default_rng(0)
    g2d = rng.random((128 * 121, 64), dtype=np.float32)
    kernel = layer.params["kernel"].reshape(288, 64)
    layer.pads = layer._pads(13, 13)  # as its forward sets them

    def whole_dcols():
        dcols = (g2d @ kernel.T).reshape(128, 11, 11, 3, 3, 32)
        dxp = np.zeros((128, 13, 13, 32), dtype=np.float32)
        for a in range(3):
            for b in range(3):
                dxp[window_slices(a, b, (11, 11), (1, 1))] += dcols[:, :, :, a, b, :]
        return dxp

    return [
        (
            "conv dx, C=32: G K[a,b]^T per offset, added in cache (minidl)",
            best_ms(
                lambda: layer.add_input_gradient(g2d.reshape(128, 11, 11, 64), np.empty((128, 13, 13, 32), np.float32)),
                repeats,
            ),
        ),
        ("conv dx, C=32: all of G K^T, then 9 strided adds", best_ms(whole_dcols, repeats)),
    ]


def conv_input_gradient_valid(repeats: int) -> list[tuple[str, float]]:
    """The backward (dL/dkernel, dL/dbias, dL/dx) of keras.io's second convolution, "valid" (128 samples,
    13x13x32 -> 11x11x64): dL/dx by col2im (minidl), vs by the full correlation of g with the flipped kernel
    that "same" convolutions use (one product, but over the 13x13 input instead of the 11x11 output)."""
    import minidl

    layer = minidl.layers.Conv2D(64, 3)
    layer.build_for((None, 13, 13, 32))
    rng = np.random.default_rng(0)
    x, g = rng.random((128, 13, 13, 32), dtype=np.float32), rng.random((128, 11, 11, 64), dtype=np.float32)
    layer.linear(x)
    layer.need_input_grad = True
    rows = [("conv dx, valid, C=32: col2im (minidl)", False), ("conv dx, valid: the full correlation", True)]
    timed = []
    for name, correlates in rows:
        layer.correlates_input_gradient = lambda channels, correlates=correlates: correlates  # type: ignore[method-assign]
        timed.append((name, best_ms(lambda: layer.linear_backward(g), repeats)))
    return timed


def conv_multiplied_first(repeats: int) -> list[tuple[str, float]]:
    """A training step (forward, dL/dkernel, dL/dx) of a denoising autoencoder's output convolution, 3x3 "same"
    28x28x32 -> 1 at batch 128, both cores: each pixel times every offset's kernel first, then those products
    summed shifted (minidl, Conv2D.multiplies_first: 9 values per pixel), vs the im2col (288 values per pixel)."""
    import minidl

    layer = minidl.layers.Conv2D(1, 3, padding="same")
    layer.build_for((None, 28, 28, 32))
    rng = np.random.default_rng(0)
    x, g = rng.random((128, 28, 28, 32), dtype=np.float32), rng.random((128, 28, 28, 1), dtype=np.float32)
    layer.need_input_grad = True

    def step() -> None:
        layer.linear(x)
        layer.linear_backward(g)

    rows = [("conv 28x28x32 -> 1: the im2col", False), ("conv 28x28x32 -> 1: multiplied first (minidl)", True)]
    timed = []
    for name, first in rows:
        layer.multiplies_first = lambda channels, first=first: first  # type: ignore[method-assign]
        timed.append((name, best_ms(step, repeats)))
    return timed


def depthwise_by_rows_at(size: int, repeats: int) -> list[tuple[str, float]]:
    """A training step (forward, dL/dkernel, dL/dx) of DepthwiseConv2D(3, padding="same") on (128, size, size,
    32), both cores: each kernel offset's pass over whole padded rows of Wp C values (minidl, stride 1) vs
    over the strided view of the windows, C values at a time."""
    import minidl

    rng = np.random.default_rng(0)
    layer = minidl.layers.DepthwiseConv2D(3, padding="same")
    layer.build_for((None, size, size, 32))
    layer.need_input_grad = True
    x, g = rng.random((128, size, size, 32), dtype=np.float32), rng.random((128, size, size, 32), dtype=np.float32)

    def step() -> None:
        layer.linear(x)
        layer.linear_backward(g)

    timed = []
    for name, rows in (("strided windows", False), ("by rows (minidl)", True)):
        layer.by_rows = lambda rows=rows: rows  # type: ignore[method-assign]
        timed.append((f"depthwise {size}x{size}x32: {name}", best_ms(step, repeats)))
    return timed


def depthwise_by_rows(repeats: int) -> list[tuple[str, float]]:
    """depthwise_by_rows_at on 28x28x32 images."""
    return depthwise_by_rows_at(28, repeats)


def depthwise_by_rows_small(repeats: int) -> list[tuple[str, float]]:
    """depthwise_by_rows_at on 14x14x32 images (the separable convnet's)."""
    return depthwise_by_rows_at(14, repeats)


def pooling_keeps_places(repeats: int) -> list[tuple[str, float]]:
    """MaxPooling2D(2)'s training forward and backward on (128, 26, 26, 32) ReLU outputs: the forward
    keeps where each maximum came from and the backward routes by it, vs a
    forward of the maxima only and a backward that compares every window offset with the maximum (and
    passes each window's not yet routed gradient on, for ties): 4 x 3 strided passes."""
    import minidl

    layer = minidl.layers.MaxPooling2D(2)
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(128, 26, 26, 32)).astype(np.float32), 0)
    g = rng.random((128, 13, 13, 32), dtype=np.float32)
    offsets = [window_slices(a, b, (13, 13), (2, 2)) for a in range(2) for b in range(2)]

    def compare_in_backward():
        out = layer.forward(x)  # the maxima only
        dx, remaining = np.empty_like(x), g.copy()
        for k, idx in enumerate(offsets):
            routed = np.multiply(remaining, x[idx] == out, out=dx[idx])
            if k < len(offsets) - 1:
                remaining -= routed
        return dx

    def keep_places():
        layer.forward(x, training=True)
        return layer.backward(g)

    np.testing.assert_array_equal(keep_places(), compare_in_backward())
    return [
        ("max-pool train step: places kept in forward (minidl)", best_ms(keep_places, repeats)),
        ("max-pool train step: offsets compared in backward", best_ms(compare_in_backward, repeats)),
    ]


def pooling_in_one_step(repeats: int) -> list[tuple[str, float]]:
    """MaxPooling2D(2)'s training forward and backward on (128, 26, 26, 32) ReLU outputs, caches flushed
    before each step as in training: each window's four cells compared in one step, one place per window
    kept, vs two steps (the two columns of every row, then the two rows), a place kept per step and the
    gradient routed back through both (MaxPooling2D before commit d1368df; its _stages for wide stride-1
    windows)."""
    import minidl
    from minidl.layers.pooling import Stage

    layer = minidl.layers.MaxPooling2D(2)
    rng = np.random.default_rng(0)
    x = np.maximum(rng.normal(size=(128, 26, 26, 32)).astype(np.float32), 0)
    g = rng.random((128, 13, 13, 32), dtype=np.float32)
    flush = np.empty(8 << 20)  # 64 MB written between steps: a step's arrays come from memory, not cache
    columns = [window_slices(0, b, (26, 13), (1, 2)) for b in range(2)]
    rows = [window_slices(a, 0, (13, 13), (2, 1)) for a in range(2)]
    two_steps = [Stage(columns, (26, 13), True, True), Stage(rows, (13, 13), True, True)]

    def step():
        flush[::8] = 1.0
        layer.forward(x, training=True)
        return layer.backward(g)

    one_step = layer._stages
    one = step()
    layer._stages = lambda ho, wo: two_steps  # type: ignore[method-assign]
    np.testing.assert_array_equal(step(), one)
    one_ms = two_ms = np.inf
    for _ in range(3):  # interleaved: each way three times, best of `repeats` each time
        layer._stages = one_step  # type: ignore[method-assign]
        one_ms = min(one_ms, best_ms(step, repeats))
        layer._stages = lambda ho, wo: two_steps  # type: ignore[method-assign]
        two_ms = min(two_ms, best_ms(step, repeats))
    flush_ms = best_ms(lambda: flush.__setitem__(np.s_[::8], 1.0), repeats)
    return [
        ("max-pool train step: window cells in one step (minidl)", one_ms - flush_ms),
        ("max-pool train step: columns, then rows", two_ms - flush_ms),
    ]


def pooling_ahead_of_relu(repeats: int) -> list[tuple[str, float]]:
    """A training step (forward and backward) of keras.io's first convolution with its ReLU and the 2x2
    max-pooling after it (128 samples, 28x28x1 -> 26x26x32 -> 13x13x32), caches flushed before each step
    as in training: the pooling first and the ReLU on the pooled values (minidl.training_steps), vs the
    layers one by one (the ReLU on the convolution's whole output)."""
    import minidl
    from minidl.models import sequential
    from minidl.training_steps import training_steps, whole

    model = minidl.Sequential(
        [minidl.Input((28, 28, 1)), minidl.layers.Conv2D(32, 3, activation="relu"), minidl.layers.MaxPooling2D(2)]
    )
    rng = np.random.default_rng(0)
    x, g = rng.random((128, 28, 28, 1), dtype=np.float32), rng.normal(size=(128, 13, 13, 32)).astype(np.float32)
    flush = np.empty(8 << 20)  # 64 MB written between steps: a step's arrays come from memory, not cache
    ways = {"pooling first": training_steps, "one by one": lambda layers: [whole(layer) for layer in layers]}

    def step():
        flush[::8] = 1.0
        model.forward(x, training=True)
        model.backward(g)
        return model.layers[0].grads["kernel"].copy()

    results = {}
    for name, steps in ways.items():
        sequential.training_steps = steps
        results[name] = step()
    np.testing.assert_array_equal(*results.values())
    times = dict.fromkeys(ways, np.inf)
    try:
        for _ in range(3):  # interleaved: each way three times, best of `repeats` each time
            for name, steps in ways.items():
                sequential.training_steps = steps
                times[name] = min(times[name], best_ms(step, repeats))
    finally:
        sequential.training_steps = training_steps
    flush_ms = best_ms(lambda: flush.__setitem__(np.s_[::8], 1.0), repeats)
    return [
        ("conv + ReLU + max-pool train step: pooling first (minidl)", times["pooling first"] - flush_ms),
        ("conv + ReLU + max-pool train step: layers one by one", times["one by one"] - flush_ms),
    ]


def pooling_backward_threads(repeats: int) -> list[tuple[str, float]]:
    """MaxPooling2D(2)'s backward on (128, 26, 26, 32) ReLU outputs: samples split between the threads, vs
    the whole batch in one thread."""
    import minidl

    layer = minidl.layers.MaxPooling2D(2)
    rng = np.random.default_rng(0)
    layer.forward(np.maximum(rng.normal(size=(128, 26, 26, 32)).astype(np.float32), 0), training=True)
    g = rng.random((128, 13, 13, 32), dtype=np.float32)
    threads = parallel.get_num_threads()
    split = best_ms(lambda: layer.backward(g), repeats)
    parallel.set_num_threads(1)
    try:
        one = best_ms(lambda: layer.backward(g), repeats)
    finally:
        parallel.set_num_threads(threads)
    return [(f"max-pool backward: samples on {threads} threads (minidl)", split), ("max-pool backward: 1 thread", one)]


def conv_training_step(batch: int):
    """A training step (forward and backward, with dL/dx) of a 3x3 "same" convolution 28x28x32 -> 32, the
    residual CNN's, on `batch` random samples."""
    import minidl

    layer = minidl.layers.Conv2D(32, 3, padding="same")
    layer.build_for((None, 28, 28, 32))
    layer.need_input_grad = True
    rng = np.random.default_rng(0)
    x, g = rng.random((batch, 28, 28, 32), dtype=np.float32), rng.random((batch, 28, 28, 32), dtype=np.float32)

    def step():
        layer.forward(x, training=True)
        layer.backward(g)

    return step


def training_conv_chunks(repeats: int) -> list[tuple[str, float]]:
    """A training step (forward and backward) of a 3x3 "same" convolution at batch 128 (28x28x32 -> 32, the
    residual CNN's): in chunks of samples of about CHUNK_COLS_BYTES of im2col shared between the threads,
    each chunk's products on one BLAS thread, vs chunks of a quarter of that size (which fit a core's
    L2 on this kind of machine, but are handed to the threads four times as often) and vs the whole
    batch as one chunk (one 115 MB im2col, three products each on every BLAS thread)."""
    from minidl.layers import conv

    step = conv_training_step(128)

    chunk_bytes = conv.CHUNK_COLS_BYTES
    rows = [(f"train conv, C=32: ~{chunk_bytes >> 20} MiB im2col chunks on the threads (minidl)", chunk_bytes)]
    rows += [(f"train conv: ~{chunk_bytes >> 22} MiB chunks", chunk_bytes // 4), ("train conv: whole batch", 1 << 40)]
    timed = []
    try:
        for name, size in rows:
            conv.CHUNK_COLS_BYTES = size
            timed.append((name, best_ms(step, repeats)))
    finally:
        conv.CHUNK_COLS_BYTES = chunk_bytes
    return timed


def conv_scratch_buffers(repeats: int) -> list[tuple[str, float]]:
    """A training step of the residual CNN's 3x3 "same" convolution at its batch of 32 (28x28x32 -> 32):
    each chunk's padded input and im2col written into the thread's reused scratch buffers, vs into arrays
    allocated for each chunk (which glibc's per-thread arenas give back to the kernel when freed, so every
    chunk takes page faults again; the minor faults per step are in the row's name). In a fresh process:
    glibc raises its thresholds after the process frees larger arrays, which hides the faults until its
    next trim, so the alternative's cost depends on the process's history (main runs this group alone)."""
    from minidl.layers import conv

    step = conv_training_step(32)
    scratch, timed = conv.scratch, []
    try:
        for name, buffers in (("reused scratch buffers (minidl)", scratch), ("allocated per chunk", None)):
            conv.scratch = buffers or (lambda _name, shape, dtype: np.empty(shape, dtype))
            ms, faults = best_ms_and_faults(step, repeats)
            timed.append((f"train conv, batch 32: {name}, {faults:.0f} faults", ms))
    finally:
        conv.scratch = scratch
    return timed


def inference_fused_chunks(repeats: int) -> list[tuple[str, float]]:
    """Predict's pass of a 3x3 "same" convolution with ReLU, BatchNormalization and 2x2 max-pooling at batch
    256 (28x28x32 -> 32): the pooling, bias, ReLU and BatchNormalization run on each chunk of the
    convolution's samples while it is in cache (`InferencePlan.runs`), vs the same steps one by one on
    the whole batch (`InferencePlan.steps`, each pass over the convolution's 25 MB output)."""
    import minidl
    from minidl import layers
    from minidl.inference import InferencePlan

    model = minidl.Sequential(
        [
            layers.Input((28, 28, 32)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
        ]
    )
    x = np.random.default_rng(0).random((256, 28, 28, 32), dtype=np.float32)
    model.predict(x[:1], verbose=0)  # builds the layers
    plan = InferencePlan(model.layers)

    def one_by_one():
        y = x
        for step in plan.steps:
            y = step(y)

    return [
        ("predict conv+ReLU+BN+pool: maps in the conv's chunks (minidl)", best_ms(lambda: plan(x), repeats)),
        ("predict conv+ReLU+BN+pool: step by step on the batch", best_ms(one_by_one, repeats)),
    ]


def few_channel_chunks(repeats: int) -> list[tuple[str, float]]:
    """Predict's pass of the seed CNN's convolution (28x28x1 -> 32, 3x3, ReLU) and 2x2 pooling at batch 256:
    chunks of samples sized by their output (32 values per pixel, more than the im2col's 9), vs by
    their im2col alone (2 chunks of 128 samples, each writing an 11 MB output)."""
    import minidl
    from minidl import layers
    from minidl.inference import InferencePlan
    from minidl.layers import conv

    model = minidl.Sequential(
        [layers.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D()]
    )
    x = np.random.default_rng(0).random((256, 28, 28, 1), dtype=np.float32)
    model.predict(x[:1], verbose=0)  # builds the layers
    plan = InferencePlan(model.layers)
    chunk_bytes = conv.CHUNK_COLS_BYTES
    timed = [("predict 28x28x1 -> 32 conv+pool: chunks by output (minidl)", best_ms(lambda: plan(x), repeats))]
    try:
        conv.CHUNK_COLS_BYTES = chunk_bytes * 32 // 9  # the same samples per chunk as by the im2col alone
        timed.append(("predict 28x28x1 -> 32 conv+pool: chunks by im2col", best_ms(lambda: plan(x), repeats)))
    finally:
        conv.CHUNK_COLS_BYTES = chunk_bytes
    return timed


def winograd_forward(n: int, size: int, c: int, f: int, padding: str, repeats: int) -> list[tuple[str, float]]:
    """A 3x3 stride-1 convolution's forward (predict) on n samples (size x size x c -> f), both cores:
    im2col and one product per chunk of samples (`Conv2D.linear_inference`), vs Winograd's F(2x2, 3x3)
    on the same chunks and threads, which needs 16 products of (tiles, C) @ (C, F) instead of one of
    (pixels, 9 C) @ (9 C, F), 2.25x fewer multiplications, but transforms each 4x4 input tile and each
    4x4 tile of products in NumPy's passes over the chunk."""
    from minidl.layers.conv import Conv2D

    x = np.random.default_rng(0).standard_normal((n, size, size, c), dtype=np.float32)
    conv = Conv2D(f, 3, padding=padding)
    conv.build(x.shape)
    np.testing.assert_allclose(winograd_convolve(conv, x), conv.linear_inference(x), rtol=1e-4, atol=1e-4)
    shape = f"{size}x{size}x{c} -> {f} {padding}"
    return [
        (f"conv forward {shape}: im2col + product (minidl)", best_ms(lambda: conv.linear_inference(x), repeats)),
        (f"conv forward {shape}: Winograd F(2x2, 3x3)", best_ms(lambda: winograd_convolve(conv, x), repeats)),
    ]


def winograd_keras_io(repeats: int) -> list[tuple[str, float]]:
    """winograd_forward on keras.io's second convolution, 13x13x32 -> 64 "valid", batch 256."""
    return winograd_forward(256, 13, 32, 64, "valid", repeats)


def winograd_all_conv(repeats: int) -> list[tuple[str, float]]:
    """winograd_forward on the all-conv net's last convolution, 14x14x64 -> 64 "same", batch 256."""
    return winograd_forward(256, 14, 64, 64, "same", repeats)


def winograd_residual(repeats: int) -> list[tuple[str, float]]:
    """winograd_forward on the residual CNN's convolutions, 28x28x32 -> 32 "same", batch 256."""
    return winograd_forward(256, 28, 32, 32, "same", repeats)


WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)  # kernel transform


def winograd_input_transform(d: list[np.ndarray], out: np.ndarray) -> None:
    """out[0..3] <- B^T applied to the four rows (or columns) d[0..3] of the tiles: d0 - d2, d1 + d2,
    d2 - d1, d1 - d3."""
    np.subtract(d[0], d[2], out=out[0])
    np.add(d[1], d[2], out=out[1])
    np.subtract(d[2], d[1], out=out[2])
    np.subtract(d[1], d[3], out=out[3])


def winograd_output_transform(m: np.ndarray, out: np.ndarray) -> None:
    """out[0..1] <- A^T applied to the four rows (or columns) m[0..3] of the product tiles: m0 + m1 + m2,
    m1 - m2 - m3."""
    np.add(m[0], m[1], out=out[0])
    out[0] += m[2]
    np.subtract(m[1], m[2], out=out[1])
    out[1] -= m[3]


def winograd_convolve(conv, x: np.ndarray) -> np.ndarray:
    """conv(x) without bias, 3x3 stride 1, by Winograd's F(2x2, 3x3) tiles, in Conv2D's chunks of samples
    on minidl's threads (`parallel.in_chunks`): each chunk zero-padded (and by one more row and column
    for an odd output size), its 4x4 tiles at stride 2 transformed, B^T d B, multiplied position by
    position by the transformed kernel U = G k G^T (16 products over the channels), and each 4x4 tile of
    products transformed back, A^T m A, to 2x2 output pixels (Lavin and Gray, 2016)."""
    n, h, w, c = x.shape
    ho, wo = conv._output_hw(h, w)
    th, tw, f = -(-ho // 2), -(-wo // 2), conv.filters
    kernel = conv.params["kernel"]
    u = (np.kron(WINOGRAD_G, WINOGRAD_G) @ kernel.reshape(9, c * f)).reshape(16, c, f)
    top, bottom, left, right = conv._pads(h, w)
    out = np.empty((n, ho, wo, f), np.float32)

    def chunk(start: int, stop: int) -> None:
        m = stop - start
        xp = zero_padded(x[start:stop], (top, bottom + 2 * th - ho, left, right + 2 * tw - wo), "padded")
        s0, s1, s2, s3 = xp.strides
        d = as_strided(xp, (m, th, tw, 4, 4, c), (s0, 2 * s1, 2 * s2, s1, s2, s3), writeable=False)
        rows = parallel.scratch("winograd rows", (4, m, th, tw, 4, c), np.float32)
        winograd_input_transform([d[:, :, :, k] for k in range(4)], rows)  # B^T d
        v = parallel.scratch("winograd tiles", (4, 4, m, th, tw, c), np.float32)
        winograd_input_transform([rows[..., k, :] for k in range(4)], v.swapaxes(0, 1))  # (B^T d) B
        products = parallel.scratch("winograd products", (16, m * th * tw, f), np.float32)
        np.matmul(v.reshape(16, -1, c), u, out=products)
        p = products.reshape(4, 4, m, th, tw, f)
        a = parallel.scratch("winograd output rows", (2, 4, m, th, tw, f), np.float32)
        winograd_output_transform(p, a)  # A^T m
        y = parallel.scratch("winograd output", (m, th, 2, tw, 2, f), np.float32)
        winograd_output_transform(a.swapaxes(0, 1), y.transpose(4, 2, 0, 1, 3, 5))  # (A^T m) A
        out[start:stop] = y.reshape(m, 2 * th, 2 * tw, f)[:, :ho, :wo]

    parallel.in_chunks(chunk, n, conv._samples_per_chunk((ho, wo), c, x.itemsize))
    return out


def gradient_stats_overhead(repeats: int) -> list[tuple[str, float]]:
    """A seed-MLP epoch (H = 1000, 2000 samples in batches of 128, SGD with momentum) with the GradientStats
    callback on, against the same epoch without it: the price of watching backprop."""
    import minidl
    from harness import seed_models

    rng = np.random.default_rng(0)
    x, y = rng.random((2000, 784), dtype=np.float32), np.eye(10, dtype=np.float32)[rng.integers(0, 10, 2000)]
    watched, plain = seed_models.mlp(1000), seed_models.mlp(1000)
    stats = minidl.callbacks.GradientStats()
    return [
        (
            "seed MLP epoch with GradientStats on",
            best_ms(lambda: watched.fit(x, y, batch_size=128, verbose=0, callbacks=[stats]), repeats),
        ),
        ("seed MLP epoch without it", best_ms(lambda: plain.fit(x, y, batch_size=128, verbose=0), repeats)),
    ]


def channel_sums(repeats: int) -> list[tuple[str, float]]:
    """BatchNormalization's per-channel sum of a (32, 28, 28, 32) float32 batch."""
    a = np.random.default_rng(0).random((32, 28, 28, 32), dtype=np.float32)
    a3 = a.reshape(32, 784, 32)
    ones = np.ones((1, 784), dtype=np.float32)
    return [
        (
            "channel sum: (1, H W) ones @ a per sample (minidl)",
            best_ms(lambda: np.matmul(ones, a3).sum(axis=0, dtype=np.float64), repeats),
        ),
        ("channel sum: NumPy's reduction over (N, H, W)", best_ms(lambda: a.sum(axis=(0, 1, 2)), repeats)),
    ]


def per_position_layout(repeats: int) -> list[tuple[str, float]]:
    """Adding a per-channel (32,) bias to a (256, 28, 28, 32) batch in place."""
    x = np.random.default_rng(0).random((256, 28, 28, 32), dtype=np.float32)
    bias = np.ones(32, dtype=np.float32)
    row = parallel.per_position(bias, x.shape[1:])
    rows2d = x.reshape(256, -1)
    return [
        (
            "bias add: (N, L) rows + a per-position row (minidl)",
            best_ms(lambda: np.add(rows2d, row, out=rows2d), repeats),
        ),
        ("bias add: broadcasting (C,) over (N, H, W, C)", best_ms(lambda: np.add(x, bias, out=x), repeats)),
    ]


def global_max_by_halving(repeats: int) -> list[tuple[str, float]]:
    """GlobalMaxPooling2D's forward on (128, 28, 28, 32): the maximum over the 784 positions by halving
    (`global_pooling.max_over_positions`, on each thread's samples), vs NumPy's reduction over the axes."""
    from minidl.layers.global_pooling import max_over_positions

    x = np.random.default_rng(0).random((128, 28, 28, 32), dtype=np.float32)
    positions, out = x.reshape(128, -1, 32), np.empty((128, 32), np.float32)

    def halving():
        parallel.blockwise(max_over_positions, positions, out, block=None)
        return out

    np.testing.assert_array_equal(halving(), x.max(axis=(1, 2)))
    return [
        ("global max: halving on the threads (minidl)", best_ms(halving, repeats)),
        ("global max: NumPy's reduction over (H, W)", best_ms(lambda: x.max(axis=(1, 2)), repeats)),
    ]


def relu_against_zeros(repeats: int) -> list[tuple[str, float]]:
    """ReLU in place (as Conv2D applies it to its fresh output) on keras.io's first convolution output,
    (128, 26, 26, 32), both cores."""
    x = np.random.default_rng(0).standard_normal((128, 26, 26, 32), dtype=np.float32)
    return [
        ("ReLU in place: maximum against blocks of zeros (minidl)", best_ms(lambda: relu(x, x), repeats)),
        (
            "ReLU in place: maximum against the scalar 0",
            best_ms(lambda: parallel.blockwise(lambda a: np.maximum(a, 0, out=a), x, block=None), repeats),
        ),
    ]


def epochs_here(workload: str, samples: int, repeats: int) -> tuple[float, float]:
    """(best ms, minor page faults per step) of `repeats` minidl epochs of a workload of
    benchmarks/workloads.py on `samples` random samples, after a warm-up epoch, in this process."""
    from workloads import WORKLOADS, workload_data

    import minidl

    build, shape, classes, _, batch = WORKLOADS[workload]
    x, y = workload_data(shape, classes, samples)
    model = build(minidl)
    ms, faults_per_epoch = best_ms_and_faults(lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0), repeats)
    return ms, faults_per_epoch / -(-samples // batch)


def kept_freed_memory(workload: str, samples: int, repeats: int) -> list[tuple[str, float]]:
    """Training epochs of a workload, each in a fresh process: with malloc keeping freed memory
    (minidl.allocator, on import) vs glibc's defaults (MINIDL_KEEP_FREED_MEMORY=0); the minor page
    faults per step in the rows' names."""
    rows = []
    for name, setting in (("malloc keeps freed memory (minidl)", "1"), ("glibc's defaults", "0")):
        env = {**os.environ, "MINIDL_KEEP_FREED_MEMORY": setting}
        printed = printed_by_new_python("choices", f"epochs_here({workload!r}, {samples}, {repeats})", env)
        ms, faults = (float(v) for v in printed.strip("()").split(","))
        rows.append((f"{workload} epoch: {name}, {faults:.0f} faults/step", ms))
    return rows


def kept_freed_memory_seed_cnn(repeats: int) -> list[tuple[str, float]]:
    """The seed CNN, 1600 samples at batch 32 (see kept_freed_memory)."""
    return kept_freed_memory("seed CNN", 1600, repeats)


def kept_freed_memory_convnet(repeats: int) -> list[tuple[str, float]]:
    """keras.io's MNIST convnet, 1536 samples at batch 128 (see kept_freed_memory)."""
    return kept_freed_memory("keras.io MNIST convnet", 1536, repeats)


# Each group times minidl's choice (its row marked "(minidl)") and then the alternatives.
GROUPS = (
    im2col_one_channel,
    conv_weight_gradient,
    conv_weight_gradient_many_channels,
    conv_input_gradient,
    conv_input_gradient_valid,
    conv_multiplied_first,
    depthwise_by_rows,
    depthwise_by_rows_small,
    pooling_keeps_places,
    pooling_in_one_step,
    pooling_ahead_of_relu,
    pooling_backward_threads,
    training_conv_chunks,
    conv_scratch_buffers,
    inference_fused_chunks,
    few_channel_chunks,
    winograd_keras_io,
    winograd_all_conv,
    winograd_residual,
    gradient_stats_overhead,
    channel_sums,
    per_position_layout,
    relu_against_zeros,
    global_max_by_halving,
    kept_freed_memory_seed_cnn,
    kept_freed_memory_convnet,
)

FRESH_PROCESS = (conv_scratch_buffers,)  # groups whose alternative depends on what the process ran before


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", action="append", choices=[group.__name__ for group in GROUPS], help="run only these")
    args = parser.parse_args(argv)
    print(f"{'choice':58s} {'best ms':>9s} {'ratio':>7s}")
    for group in GROUPS:
        if args.only and group.__name__ not in args.only:
            continue
        rows = call_in_fresh_process(group, args.repeats) if group in FRESH_PROCESS else group(args.repeats)
        for name, ms in rows:
            print(f"{name:58s} {ms:9.3f} {ms / rows[-1][1]:7.2f}")


if __name__ == "__main__":
    main()
