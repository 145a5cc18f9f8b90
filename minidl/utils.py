"""Small helpers shared by examples and experiments."""

from __future__ import annotations

import operator

import numpy as np

from .backend import clear_session, floatx
from .backend import set_seed as set_random_seed  # Keras's keras.utils.set_random_seed
from .py_dataset import PyDataset, Sequence
from .saving import (
    CustomObjectScope,
    custom_object_scope,
    deserialize_keras_object,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
    serialize_keras_object,
)

__all__ = [
    "to_categorical",
    "set_random_seed",
    "plot_model",
    "pad_sequences",
    "normalize",
    "clear_session",
    "PyDataset",
    "Sequence",
    "CustomObjectScope",
    "custom_object_scope",
    "deserialize_keras_object",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "serialize_keras_object",
]


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """keras.utils.normalize: x divided by its `order`-norm along `axis` (a zero norm leaves zeros)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


def plot_model(model, to_file: str = "model.png", show_shapes: bool = False, dpi: int = 200, **kwargs):
    """keras.utils.plot_model, drawn with matplotlib (no graphviz needed): the model's layers as boxes,
    with their output shapes and parameter counts if `show_shapes`, saved to `to_file`. Keras's other
    display options (rankdir, show_dtype, ...) are accepted and the drawing stays the same. Returns the
    figure (see minidl.plotting.plot_model)."""
    from .plotting import plot_model as draw

    figure = draw(model, show_shapes=show_shapes)
    figure.savefig(to_file, dpi=dpi)
    return figure


def to_categorical(y, num_classes: int | None = None, dtype=None) -> np.ndarray:
    """One-hot encode integer class labels, as `keras.utils.to_categorical`.

    y: labels of any shape S (a trailing axis of size 1, e.g. a column (N, 1), is dropped);
    num_classes: number of classes C (default: max(y) + 1); dtype: default `floatx()`.
    Returns an array of shape S + (C,) with a 1 at each label's index and 0 elsewhere.
    Raises ValueError unless every label is a whole number in 0..C-1.
    """
    y = np.asarray(y)
    if not (y.dtype == bool or np.issubdtype(y.dtype, np.number)) or np.issubdtype(y.dtype, np.complexfloating):
        raise ValueError(f"to_categorical: labels must be integers, got an array of dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        # Whole-valued floats (e.g. labels read from a CSV) are accepted, as in Keras; 0.5 or nan is not a class.
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ValueError(f"to_categorical: labels must be whole numbers, got {y[bad].flat[0]!r}")
    shape = y.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]  # a column of labels (N, 1) gives (N, C), not (N, 1, C)
    y = y.astype(np.int64).reshape(-1)

    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be non-negative, got {y.min()}")
    if num_classes is None:
        if y.size == 0:
            raise ValueError("to_categorical: cannot infer num_classes from empty labels; pass num_classes")
        num_classes = int(y.max()) + 1
    else:
        try:
            num_classes = operator.index(num_classes)  # accepts int and np.int64, rejects 10.0
        except TypeError:
            raise ValueError(f"to_categorical: num_classes must be an integer, got {num_classes!r}") from None
        if num_classes < 1:
            raise ValueError(f"to_categorical: num_classes must be positive, got {num_classes}")
        if y.size and y.max() >= num_classes:
            raise ValueError(
                f"to_categorical: label {y.max()} is out of range for num_classes={num_classes} "
                f"(labels must be < num_classes)"
            )

    out = np.zeros((y.size, num_classes), dtype=dtype or floatx())
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))


def pad_sequences(
    sequences,
    maxlen: int | None = None,
    dtype="int32",
    padding: str = "pre",
    truncating: str = "pre",
    value=0.0,
) -> np.ndarray:
    """keras.utils.pad_sequences: sequences of different lengths (each a list or array of values, or of
    equally shaped items) as one array (N, maxlen, ...), each shorter one filled with `value` before
    ("pre") or after ("post") its values, each longer one cut at its start ("pre") or end ("post");
    maxlen defaults to the longest."""
    for name, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {choice!r}")
    rows = [np.asarray(sequence) for sequence in sequences]
    item_shape = next((row.shape[1:] for row in rows if len(row)), ())
    if any(len(row) and row.shape[1:] != item_shape for row in rows):
        raise ValueError(f"pad_sequences: the items of every sequence must have one shape, the first has {item_shape}")
    if maxlen is None:
        maxlen = max((len(row) for row in rows), default=0)
    out = np.full((len(rows), maxlen, *item_shape), value, dtype=dtype)
    for i, row in enumerate(rows):  # one copy per sequence, as Keras's (their lengths differ)
        kept = (row[-maxlen:] if truncating == "pre" else row[:maxlen]) if maxlen else row[:0]
        if len(kept):
            if padding == "pre":
                out[i, maxlen - len(kept) :] = kept
            else:
                out[i, : len(kept)] = kept
    return out
