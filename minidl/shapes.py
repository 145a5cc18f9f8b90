"""Shapes as Keras writes them: a tuple with the batch axis first, None where the size is not fixed."""

from __future__ import annotations

from collections.abc import Sequence

Shape = tuple[int | None, ...]  # e.g. (None, 28, 28, 1)


def format_shape(shape: Sequence) -> str:
    """(None, 784) -> "(None, 784)", (8,) -> "(8,)": Python's tuple notation, for messages; a list of
    shapes (a layer's several outputs) as Keras prints it, "[(None, 8), (None, 8)]"."""
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
