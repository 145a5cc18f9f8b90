"""Losses: `forward(y_true, y_pred)` returns the batch's mean loss, `backward()` its gradient dL/dy_pred.

A cross-entropy also gives `softmax_input_gradient()`, dL/dz for y_pred = softmax(z): (p - y) / N. The
training loop asks for it when the model ends in a Softmax (`minidl.training.link_loss`); the loss itself
holds nothing about the model it is compiled into.
"""

from __future__ import annotations

import numpy as np

from .registry import Registry

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]


class Loss:
    name = "loss"
    expects_integer_labels = False
    fuses_with_softmax = False  # True: softmax_input_gradient() exists

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return self.forward(y_true, y_pred)

    def forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """dL/dy_pred for the last forward's arguments."""
        raise NotImplementedError

    def softmax_input_gradient(self) -> np.ndarray:
        """dL/dz where y_pred = softmax(z), for the last forward's arguments (cross-entropies only)."""
        raise NotImplementedError(f"{type(self).__name__} has no softmax-input gradient")


class CategoricalCrossentropy(Loss):
    """L = -(1/N) sum_n sum_k y[n,k] log(clip(p[n,k], 1e-7, 1 - 1e-7)).   y, p: (N, K) one-hot / probabilities.

    dL/dp = -y / (N p) where p is inside the clip range (0 where clipped);
    fused with a softmax p = softmax(z): dL/dz = (p - y) / N   (for rows of y that sum to 1).
    """

    name = "categorical_crossentropy"
    fuses_with_softmax = True

    def forward(self, y_true, y_pred):
        self.y_true, self.y_pred = y_true, y_pred
        clipped = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return float(-np.einsum("nk,nk->", y_true, np.log(clipped), dtype=np.float64) / len(y_pred))

    def backward(self):
        y, p = self.y_true, self.y_pred
        n = len(p)
        inside = (p >= EPSILON) & (p <= 1 - EPSILON)
        return np.where(inside, -y / (n * np.clip(p, EPSILON, 1 - EPSILON)), 0).astype(p.dtype, copy=False)

    def softmax_input_gradient(self):
        y, p = self.y_true, self.y_pred
        return (p - y) * np.asarray(1.0 / len(p), dtype=p.dtype)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer labels y (N,) in 0..K-1 instead of one-hot rows."""

    name = "sparse_categorical_crossentropy"
    expects_integer_labels = True

    def forward(self, y_true, y_pred):
        self.y_true, self.y_pred = y_true, y_pred
        picked = y_pred[np.arange(len(y_pred)), y_true]
        return float(-np.log(np.clip(picked, EPSILON, 1 - EPSILON)).astype(np.float64).mean())

    def softmax_input_gradient(self):
        y, p = self.y_true, self.y_pred
        grad = p.copy()
        grad[np.arange(len(p)), y] -= 1
        grad *= np.asarray(1.0 / len(p), dtype=p.dtype)
        return grad

    def backward(self):
        y, p = self.y_true, self.y_pred
        n, rows = len(p), np.arange(len(p))
        grad = np.zeros_like(p)
        picked = p[rows, y]
        inside = (picked >= EPSILON) & (picked <= 1 - EPSILON)
        grad[rows, y] = np.where(inside, -1.0 / (n * np.clip(picked, EPSILON, 1 - EPSILON)), 0)
        return grad


LOSSES: Registry[Loss] = Registry("loss", Loss)
LOSSES.register(CategoricalCrossentropy)
LOSSES.register(SparseCategoricalCrossentropy)


def get(identifier: str | Loss) -> Loss:
    return LOSSES.get(identifier)
