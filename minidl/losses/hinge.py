"""Hinge losses (for targets in {-1, 1}; binary 0/1 targets are mapped to -1/1 first, as Keras does).

Hinge               l = mean max(1 - y p, 0)              dl/dp = -y [1 - y p > 0] / K
SquaredHinge        l = mean max(1 - y p, 0)^2            dl/dp = -2 y max(1 - y p, 0) / K
CategoricalHinge    l = max(n - q + 1, 0), q = sum y p, n = max (1 - y) p   (one-hot y)
                    dl/dp = [(1 - y) at the arg-max of (1 - y) p] - y, where l > 0
"""

from __future__ import annotations

import numpy as np

from .base import Loss


def hinge_labels(y_true: np.ndarray, dtype) -> np.ndarray:
    """Keras's convert_binary_labels_to_hinge: 0/1 labels become -1/1, other labels stay."""
    y = y_true.astype(dtype, copy=False)
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


class Hinge(Loss):
    def __init__(self, name: str = "hinge", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        return np.maximum(1 - hinge_labels(y_true, y_pred.dtype) * y_pred, 0).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        y = hinge_labels(y_true, y_pred.dtype)
        return np.where(1 - y * y_pred > 0, -y, 0).astype(y_pred.dtype) / y_pred.dtype.type(y_pred.shape[-1])


class SquaredHinge(Loss):
    def __init__(self, name: str = "squared_hinge", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        return np.square(np.maximum(1 - hinge_labels(y_true, y_pred.dtype) * y_pred, 0)).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        y = hinge_labels(y_true, y_pred.dtype)
        return -2 * y * np.maximum(1 - y * y_pred, 0) / y_pred.dtype.type(y_pred.shape[-1])


class CategoricalHinge(Loss):
    def __init__(self, name: str = "categorical_hinge", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        positive, negative = (y * y_pred).sum(axis=-1), ((1 - y) * y_pred).max(axis=-1)
        return np.maximum(negative - positive + 1, 0)

    def values_gradient(self, y_true, y_pred):
        y = y_true.astype(y_pred.dtype, copy=False)
        others = (1 - y) * y_pred
        active = (others.max(axis=-1) - (y * y_pred).sum(axis=-1) + 1 > 0)[..., None]
        at_max = np.zeros_like(y_pred)
        np.put_along_axis(at_max, others.argmax(axis=-1)[..., None], 1, axis=-1)
        return np.where(active, at_max * (1 - y) - y, 0).astype(y_pred.dtype, copy=False)
