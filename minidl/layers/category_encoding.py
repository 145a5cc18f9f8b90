"""CategoryEncoding: integer category indices as one-hot, multi-hot or count vectors (Keras's layer)."""

from __future__ import annotations

import numpy as np

from .base import Layer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


class CategoryEncoding(Layer):
    """Keras's CategoryEncoding over num_tokens categories 0 ... T-1.

    Shapes, as Keras (and TensorFlow's bincount and one_hot, whose rules for stray indices it keeps):
        "one_hot":     x (N,) or (N, 1) -> (N, T); (N, k) -> (N, k, T). An index outside 0 ... T-1 gives
                       a row of zeros.
        "multi_hot":   x (N, k) -> (N, T): 1 where an index occurs in the row; a 1-D x is ONE sample:
                       (k,) -> (T,). Indices >= T are left out.
        "count":       as multi_hot, how often each index occurs (times `count_weights`, x's shape, if
                       given).
    Backward: the output is piecewise constant in x, so dL/dx = 0 (x is normally integer data, the
    model's input, whose gradient nobody asks for).
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False, **kwargs):
        super().__init__(**kwargs)
        owner = f"CategoryEncoding '{self.name}'"
        output_mode = "multi_hot" if output_mode == "binary" else output_mode
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{owner}: Unknown arg for output_mode: {output_mode!r}; one of {OUTPUT_MODES}")
        if num_tokens is None or isinstance(num_tokens, bool) or not isinstance(num_tokens, int) or num_tokens < 1:
            raise ValueError(f"{owner}: num_tokens must be an integer >= 1, got {num_tokens!r}")
        if sparse:
            raise ValueError(f"{owner}: minidl's outputs are dense NumPy arrays: sparse must be False")
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, False

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "one_hot" and (len(input_shape) == 1 or input_shape[-1] != 1):
            return (*input_shape, self.num_tokens)
        return (*input_shape[:-1], self.num_tokens)

    def check_input_shape(self, shape) -> None:
        pass  # a 1-D input is one sample for multi_hot and count (Keras's rule)

    def __call__(self, x, training: bool | None = None, count_weights=None):
        if count_weights is None:
            return super().__call__(x, training)
        return self.forward(self.prepared(x), bool(training), count_weights)  # (on arrays: Keras's eager call)

    def forward(self, x, training: bool = False, count_weights=None) -> np.ndarray:
        self.input_shape_seen = np.shape(x)
        indices = np.asarray(x)
        if indices.dtype.kind == "f":
            indices = indices.astype(np.int64)  # float inputs hold whole numbers (a float32 model's cast)
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(
                f"CategoryEncoding '{self.name}': `count_weights` is not used when `output_mode` is not 'count'"
            )
        if self.output_mode != "one_hot" and (indices < 0).any():
            raise ValueError(
                f"CategoryEncoding '{self.name}': the indices must be >= 0, got {int(indices.min())} "
                f"(input of shape {indices.shape})"
            )
        weights = None if count_weights is None else np.asarray(count_weights, dtype=self.dtype)
        return encode_categories(indices, self.output_mode, self.num_tokens, self.dtype, weights)

    def backward(self, grad_output):
        return np.zeros(self.input_shape_seen, dtype=grad_output.dtype)


def count_rows(indices: np.ndarray, rows: np.ndarray, n_rows: int, depth: int, dtype, weights=None) -> np.ndarray:
    """(n_rows, depth): out[r, i] = how often index i occurs with row r (or the sum of its `weights`), the
    indices outside 0 ... depth-1 left out (TensorFlow's bincount drops the larger ones). indices, rows
    and weights are flat arrays of the same length."""
    out = np.zeros((n_rows, depth), dtype=dtype)
    kept = (indices >= 0) & (indices < depth)
    np.add.at(out, (rows[kept], indices[kept]), 1 if weights is None else weights[kept])
    return out


def encode_categories(indices: np.ndarray, output_mode: str, depth: int, dtype, weights=None) -> np.ndarray:
    """Keras's encode_categorical_inputs, dense: indices (..., k) as one-hot (..., k, depth) (a last axis of
    1 dropped; an index outside 0 ... depth-1 gives zeros), or multi-hot / counts over the last axis
    (..., depth) (a 1-D input is one row); `weights` (indices' shape) for the counts."""
    if output_mode == "one_hot":
        if indices.ndim > 1 and indices.shape[-1] == 1:
            indices = indices[..., 0]
        out = np.zeros((*indices.shape, depth), dtype=dtype)
        inside = (indices >= 0) & (indices < depth)
        np.put_along_axis(out, np.where(inside, indices, 0)[..., None], inside[..., None].astype(out.dtype), -1)
        return out
    table = indices.reshape(-1, indices.shape[-1]) if indices.ndim else indices.reshape(1, 1)
    rows = np.repeat(np.arange(len(table)), table.shape[1])
    flat_weights = None if weights is None else weights.reshape(-1)
    out = count_rows(table.reshape(-1), rows, len(table), depth, dtype, flat_weights)
    if output_mode == "multi_hot":
        np.minimum(out, 1, out=out)
    return out.reshape(*indices.shape[:-1], depth)
