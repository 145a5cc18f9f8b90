"""`model.summary()`: Keras 3's table of the layers, their output shapes and parameter counts (the same
columns, box drawing, wrapping and totals; plain Python, no rich)."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable, Sequence

import numpy as np

from .shapes import format_shape


def human_bytes(n: float) -> str:
    """1536 -> "1.50 KB" (Keras's units: powers of 1024)."""
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"


def column_widths(line_length: int, positions: Sequence[float]) -> list[int]:
    """Each column's width between the borders: `positions` are the columns' right edges, as fractions of
    the line (Keras's relative form) or as absolute character positions."""
    usable = line_length - len(positions) - 1  # the vertical borders
    if positions[-1] > 1:  # absolute positions: the same proportions of the line
        positions = [p / positions[-1] for p in positions]
    edges = [round(p * usable) for p in positions]
    return [right - left for left, right in zip([0, *edges[:-1]], edges)]


def table(rows: Sequence[tuple[str, ...]], widths: list[int], right_aligned: set[int]) -> list[str]:
    """A box-drawn table; the first row is the header; cells wrap at spaces within their column."""

    def border(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * w for w in widths) + right

    def cells(row: tuple[str, ...], edge: str) -> list[str]:
        wrapped = [textwrap.wrap(cell, max(w - 2, 1)) or [""] for cell, w in zip(row, widths)]
        lines = []
        for k in range(max(len(w) for w in wrapped)):
            parts = []
            for i, (pieces, w) in enumerate(zip(wrapped, widths)):
                text = pieces[k] if k < len(pieces) else ""
                parts.append(" " + (text.rjust(w - 2) if i in right_aligned else text.ljust(w - 2)) + " ")
            lines.append(edge + edge.join(parts) + edge)
        return lines

    out = [border("┏", "━", "┳", "┓"), *cells(rows[0], "┃"), border("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows[1:]):
        if i:
            out.append(border("├", "─", "┼", "┤"))
        out += cells(row, "│")
    return out + [border("└", "─", "┴", "┘")]


def print_summary(
    model,
    line_length: int | None = None,
    positions: Sequence[float] | None = None,
    print_fn: Callable[[str], object] = print,
) -> None:
    if not model.built:
        raise ValueError(f"Model '{model.name}' is not built yet: give it an Input or call build()")
    connections = model.connections() if hasattr(model, "connections") else None  # a graph's "Connected to"
    default_length, default_positions = (88, [0.45, 0.80, 1.0]) if connections is None else (108, [0.3, 0.56, 0.74, 1])
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = column_widths(line_length, positions or default_positions)
    rows = [("Layer (type)", "Output Shape", "Param #") + (() if connections is None else ("Connected to",))] + [
        (f"{layer.name} ({type(layer).__name__})", format_shape(layer.output_shape), f"{layer.count_params():,}")
        + (() if connections is None else (connections[id(layer)],))
        for layer in model.layers
    ]
    total = model.count_params()
    trainable = sum(w.size for w in model.trainable_weights)
    itemsize = np.dtype(model.compute_dtype).itemsize
    lines = [f'Model: "{model.name}"', *table(rows, widths, right_aligned={2})]
    for label, count in (("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)):
        lines.append(f" {label} params: {count:,} ({human_bytes(count * itemsize)})")
    print_fn("\n".join(lines))
