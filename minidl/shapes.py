"""Shapes as Keras writes them: a tuple with the batch axis first, None where the size is not fixed."""

from __future__ import annotations

from collections.abc import Sequence

Shape = tuple[int | None, ...]  # e.g. (None, 28, 28, 1)


def format_shape(shape: Sequence) -> str:
    """(None, 784) -> "(None, 784)", (8,) -> "(8,)": Python's tuple notation, for messages."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
