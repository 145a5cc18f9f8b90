"""Losses: `forward(y_true, y_pred)` returns the batch's mean loss, `backward()` its gradient.

The gradient is with respect to y_pred, or, once `fuse_with_softmax()` was called (the model does it
when its output is a Softmax), with respect to the softmax's input: (p - y) / N.
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]


class Loss:
    name = "loss"
    expects_integer_labels = False

    def __init__(self):
        self.fused = False

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return self.forward(y_true, y_pred)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def fuse_with_softmax(self) -> bool:
        """Return the softmax-input gradient from now on, if this loss can (cross-entropies can)."""
        return False


class CategoricalCrossentropy(Loss):
    """L = -(1/N) sum_n sum_k y[n,k] log(clip(p[n,k], 1e-7, 1 - 1e-7)).   y, p: (N, K) one-hot / probabilities.

    dL/dp = -y / (N p) where p is inside the clip range (0 where clipped);
    fused with a softmax p = softmax(z): dL/dz = (p - y) / N   (for rows of y that sum to 1).
    """

    name = "categorical_crossentropy"

    def forward(self, y_true, y_pred):
        self.y_true, self.y_pred = y_true, y_pred
        clipped = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return float(-np.einsum("nk,nk->", y_true, np.log(clipped), dtype=np.float64) / len(y_pred))

    def backward(self):
        y, p = self.y_true, self.y_pred
        n = len(p)
        if self.fused:
            return (p - y) * np.asarray(1.0 / n, dtype=p.dtype)
        inside = (p >= EPSILON) & (p <= 1 - EPSILON)
        return np.where(inside, -y / (n * np.clip(p, EPSILON, 1 - EPSILON)), 0).astype(p.dtype, copy=False)

    def fuse_with_softmax(self):
        self.fused = True
        return True


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer labels y (N,) in 0..K-1 instead of one-hot rows."""

    name = "sparse_categorical_crossentropy"
    expects_integer_labels = True

    def forward(self, y_true, y_pred):
        self.y_true, self.y_pred = y_true, y_pred
        picked = y_pred[np.arange(len(y_pred)), y_true]
        return float(-np.log(np.clip(picked, EPSILON, 1 - EPSILON)).astype(np.float64).mean())

    def backward(self):
        y, p = self.y_true, self.y_pred
        n, rows = len(p), np.arange(len(p))
        if self.fused:
            grad = p.copy()
            grad[rows, y] -= 1
            grad *= np.asarray(1.0 / n, dtype=p.dtype)
            return grad
        grad = np.zeros_like(p)
        picked = p[rows, y]
        inside = (picked >= EPSILON) & (picked <= 1 - EPSILON)
        grad[rows, y] = np.where(inside, -1.0 / (n * np.clip(picked, EPSILON, 1 - EPSILON)), 0)
        return grad


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(identifier: str | Loss) -> Loss:
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    raise ValueError(f"Unknown loss {identifier!r}; known: {sorted(_BY_NAME)} or a Loss instance")
