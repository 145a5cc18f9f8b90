"""How cost grows: an epoch of the seed MLP over batch sizes (1 to full batch) and hidden units (100 to
4000), and of the keras.io convnet over batch sizes, for minidl, Keras and the matrix-product floor,
drawn on log-log axes. Run by `python benchmarks/run.py --scaling`; same method as the main table (each
group in a fresh process, contenders interleaved, best of --repeats after a warm-up)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
from workloads import data, fit_epoch, import_keras, in_fresh_process, keras_io_convnet, mlp, mlp_floor, timings

import minidl

BATCHES = (1, 8, 32, 128, 1024)
HIDDEN_UNITS = (100, 250, 500, 1000, 2000, 4000)
MLP_SAMPLES, CONVNET_SAMPLES = 4096, 1024
CONTENDERS = ("minidl", "keras", "floor")


def sizes(args) -> dict:
    if args.quick:
        return {"mlp_samples": 256, "convnet_samples": 64, "batches": (1, 8, 32), "hidden": (100, 200)}
    return {"mlp_samples": MLP_SAMPLES, "convnet_samples": CONVNET_SAMPLES, "batches": BATCHES, "hidden": HIDDEN_UNITS}


def epoch_floor(step, samples: int, batch: int):
    """An epoch of `step` (the matrix products of one training step at this batch size)."""
    steps = -(-samples // batch)

    def epoch():
        for _ in range(steps):
            step()

    return epoch


def convnet_floor_step(batch: int):
    """The matrix products of one keras.io-convnet training step: each layer's forward product (im2col
    form), its kernel gradient and, after the first layer, its input gradient."""
    rng = np.random.default_rng(0)
    products = []
    for rows, inner, outer, input_gradient in ((26 * 26, 9, 32, False), (11 * 11, 288, 64, True), (1, 1600, 10, True)):
        cols = rng.random((batch * rows, inner), dtype=np.float32)
        kernel = rng.random((inner, outer), dtype=np.float32)
        grad = rng.random((batch * rows, outer), dtype=np.float32)
        products.append((cols, kernel, grad, input_gradient))

    def step():
        for cols, kernel, grad, input_gradient in products:
            _ = cols @ kernel
            _ = cols.T @ grad
            if input_gradient:
                _ = grad @ kernel.T

    return step


def mlp_group(args, results: dict) -> None:
    """The MLP (H=1000) over batch sizes, then at full batch over hidden units."""
    size = sizes(args)
    n = size["mlp_samples"]
    x, y = data(n, (784,))
    for batch in (*size["batches"], n):
        models = {"minidl": mlp("minidl", 1000), "keras": mlp("keras", 1000)}
        floor = epoch_floor(mlp_floor(x[:batch], y[:batch], 1000), n, batch)
        contenders = {name: fit_epoch(m, x, y, batch) for name, m in models.items()}
        results[f"mlp batch {batch}"] = timings({**contenders, "floor": floor}, args.repeats)
    for hidden in size["hidden"]:
        models = {"minidl": mlp("minidl", hidden), "keras": mlp("keras", hidden)}
        contenders = {name: fit_epoch(m, x, y, n) for name, m in models.items()}
        results[f"mlp hidden {hidden}"] = timings({**contenders, "floor": mlp_floor(x, y, hidden)}, args.repeats)


def convnet_group(args, results: dict) -> None:
    """The keras.io convnet over batch sizes."""
    keras, size = import_keras(), sizes(args)
    n = size["convnet_samples"]
    x, y = data(n, (28, 28, 1))
    for batch in size["batches"]:
        models = {"minidl": keras_io_convnet(minidl), "keras": keras_io_convnet(keras)}
        contenders = {name: fit_epoch(m, x, y, batch) for name, m in models.items()}
        floor = epoch_floor(convnet_floor_step(min(batch, n)), n, batch)
        results[f"convnet batch {batch}"] = timings({**contenders, "floor": floor}, args.repeats)


def series(results: dict, prefix: str) -> tuple[list[int], dict[str, list[float]]]:
    keys = [k for k in results if k.startswith(prefix)]
    xs = [int(k.rsplit(" ", 1)[1]) for k in keys]
    return xs, {c: [results[k][c]["best"] for k in keys] for c in CONTENDERS}


def plot(results: dict, path: Path, samples: dict) -> None:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("mlp batch ", f"MLP (H=1000), epoch of {samples['mlp_samples']} samples", "batch size"),
        ("convnet batch ", f"keras.io convnet, epoch of {samples['convnet_samples']} samples", "batch size"),
        ("mlp hidden ", f"MLP, full batch of {samples['mlp_samples']}", "hidden units"),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    styles = {"minidl": ("tab:blue", "o"), "keras": ("tab:orange", "s"), "floor": ("tab:gray", "^")}
    for ax, (prefix, title, xlabel) in zip(axes, panels):
        xs, ys = series(results, prefix)
        for contender, values in ys.items():
            color, marker = styles[contender]
            label = {"keras": "Keras", "floor": "floor (matrix products)"}.get(contender, contender)
            ax.loglog(xs, values, marker=marker, color=color, label=label)
        ax.set(title=title, xlabel=xlabel, ylabel="seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def table(results: dict) -> str:
    lines = [
        "| workload | minidl (s) | Keras (s) | floor (s) | minidl / Keras | minidl / floor |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in results.items():
        best = {c: row[c]["best"] for c in CONTENDERS}
        lines.append(
            f"| {key} | {best['minidl']:.4g} | {best['keras']:.4g} | {best['floor']:.4g} | "
            f"{best['minidl'] / best['keras']:.2f} | {best['minidl'] / best['floor']:.2f} |"
        )
    return "\n".join(lines)


def main(args, out: Path, header: str) -> dict:
    """Both groups, each in a fresh process; scaling.md, scaling.json and scaling.png in `out`."""
    results: dict = {}
    for group in (mlp_group, convnet_group):
        results.update(in_fresh_process(group, args))
    text = f"{header}\n\n{table(results)}\n\n![how cost grows](scaling.png)\n"
    print(text)
    (out / "scaling.md").write_text(text)
    (out / "scaling.json").write_text(json.dumps(results, indent=1))
    plot(results, out / "scaling.png", sizes(args))
    return results
