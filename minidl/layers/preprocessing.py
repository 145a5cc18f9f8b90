"""Normalization: features standardised by statistics learned from the data (Keras's `adapt`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..backend import epsilon
from .base import Layer


class Normalization(Layer):
    """y = (x - mean) / max(sqrt(variance), epsilon), per feature along `axis` (invert=True: the inverse,
    y = mean + x max(sqrt(variance), epsilon)). mean and variance come from `adapt(data)` or are given.

    Shapes: x (N, ..., C) -> y, same shape; mean, variance (C,) for axis=-1 (one entry per position of the
    kept axes); count (), an integer Keras 3 keeps at 0 (here for its files). None of them is trained.
    Backward: dL/dx = dL/dy / max(sqrt(variance), epsilon)   (invert: times it).
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, axis: int | Sequence[int] | None = -1, mean=None, variance=None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.axis = (axis,) if isinstance(axis, int) else tuple(axis or ())
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization '{self.name}': give both mean and variance, or neither (then adapt)")
        self.mean, self.variance, self.invert = mean, variance, bool(invert)

    def build(self, input_shape):
        rank = len(input_shape)
        self.kept = tuple(sorted(a % rank for a in self.axis))
        if any(input_shape[a] is None for a in self.kept) or 0 in self.kept:
            raise ValueError(
                f"Normalization '{self.name}': axis {self.axis} must name known feature axes of {input_shape}"
            )
        shape = tuple(input_shape[a] for a in self.kept)
        self.add_weight(shape, "zeros", trainable=False, name="mean")
        self.add_weight(shape, "ones", trainable=False, name="variance")
        self.state["count"] = np.zeros((), np.int64)  # Keras's third variable, an integer
        self._weight_names.append("count")
        self.broadcast_shape = tuple(input_shape[a] if a in self.kept else 1 for a in range(1, rank))
        if self.mean is not None:
            self.state["mean"][...] = np.broadcast_to(np.asarray(self.mean, dtype=np.float64), shape)
            self.state["variance"][...] = np.broadcast_to(np.asarray(self.variance, dtype=np.float64), shape)

    def adapt(self, data, batch_size=None, steps=None) -> None:
        """Learn mean and variance (population, as Keras) of each feature over the samples of `data`."""
        data = np.asarray(data, dtype=np.float64)
        if not self.built:
            self.build_for((None, *data.shape[1:]))
        reduced = tuple(a for a in range(data.ndim) if a not in self.kept)
        self.state["mean"][...] = data.mean(axis=reduced).reshape(self.state["mean"].shape)
        self.state["variance"][...] = data.var(axis=reduced).reshape(self.state["variance"].shape)

    def _scale(self, dtype) -> tuple[np.ndarray, np.ndarray]:
        mean = self.state["mean"].reshape(self.broadcast_shape).astype(dtype, copy=False)
        std = np.maximum(np.sqrt(self.state["variance"]), epsilon()).reshape(self.broadcast_shape).astype(dtype)
        return mean, std

    def forward(self, x, training=False):
        mean, std = self._scale(x.dtype)
        return mean + x * std if self.invert else (x - mean) / std

    def backward(self, grad_output):
        _, std = self._scale(grad_output.dtype)
        return grad_output * std if self.invert else grad_output / std

    def get_config(self):
        config = super().get_config()
        for key in ("mean", "variance"):
            value = getattr(self, key)
            config[key] = None if value is None else np.asarray(value).tolist()
        return {**config, "axis": list(self.axis)}
