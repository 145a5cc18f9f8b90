"""`model.summary()`: a table of the layers, their output shapes and parameter counts, as Keras prints it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .shapes import format_shape


def human_bytes(n: float) -> str:
    """1536 -> "1.50 KB" (Keras's units: powers of 1024)."""
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def print_summary(model, print_fn: Callable[[str], object] = print) -> None:
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: give it an Input or call build()")
    rows = [
        (f"{layer.name} ({type(layer).__name__})", format_shape(layer.output_shape), f"{layer.count_params():,}")
        for layer in model.layers
    ]
    widths = [max(32, *(len(r[0]) + 2 for r in rows)), 26, 12]

    def line(cells) -> str:
        return "".join(str(c).ljust(w) for c, w in zip(cells, widths))

    total = model.count_params()
    trainable = sum(p.size for layer in model.layers if layer.trainable for p in layer.params.values())
    itemsize = np.dtype(model.compute_dtype).itemsize
    rule, double_rule = "_" * sum(widths), "=" * sum(widths)
    print_fn(f'Model: "{model.name}"')
    print_fn(rule)
    print_fn(line(("Layer (type)", "Output Shape", "Param #")))
    print_fn(double_rule)
    for i, row in enumerate(rows):
        print_fn(line(row))
        print_fn(rule if i < len(rows) - 1 else double_rule)
    for label, count in (("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)):
        print_fn(f"{label} params: {count:,} ({human_bytes(count * itemsize)})")
