"""Cross-entropies, with Keras's clipping, rescaling, label smoothing and logits forms.

Per sample, with p = y_pred (probabilities) or z = y_pred (logits, from_logits=True), K classes:

  categorical   l = -sum_k y_k log clip(p_k / sum_j p_j)          (Keras rescales p to sum to 1)
                from logits: l = sum_k y_k (logsumexp(z) - z_k)
  sparse        l = -log(clip(p)_c / sum_j clip(p)_j), c the label  (clip first, as Keras)
                from logits: l = logsumexp(z) - z_c
  binary        l = mean_k -[y_k log clip(p_k) + (1 - y_k) log(1 - clip(p_k))]
                from logits: l = mean_k max(z_k, 0) - z_k y_k + log(1 + exp(-|z_k|))

Gradients (clip(x) passes no gradient where it clips):
  categorical   dl/dp_j = (a_j - sum_k a_k q_k) / S, q = p / S, S = sum p, a_k = -y_k / clip(q_k)
                logits:  dl/dz = softmax(z) sum_k y_k - y          (also when p = softmax(z) is fused)
  sparse        the same with y = one_hot(c) and the clip applied to p before rescaling
  binary        dl/dp = (clip(p) - y) / (clip(p) (1 - clip(p)) K);   logits: dl/dz = (sigmoid(z) - y) / K
"""

from __future__ import annotations

import numpy as np

from .. import activations
from .base import EPSILON, Loss


def _smoothed(y_true: np.ndarray, label_smoothing: float, classes: float) -> np.ndarray:
    """Keras: y (1 - s) + s / classes (classes = K for categorical, 2 for binary)."""
    return y_true * (1.0 - label_smoothing) + label_smoothing / classes if label_smoothing else y_true


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class CategoricalCrossentropy(Loss):
    """Keras's CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1): one-hot (or
    probability) targets y (N, K)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        name: str = "categorical_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if axis != -1:
            raise ValueError(f"{type(self).__name__}: only axis=-1 (the classes last) is supported, got {axis}")
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"{type(self).__name__}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.from_logits, self.label_smoothing, self.axis = bool(from_logits), float(label_smoothing), axis
        self.fuses_with = None if self.from_logits else "softmax"

    def targets(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return _smoothed(y_true.astype(y_pred.dtype, copy=False), self.label_smoothing, y_pred.shape[-1])

    def values(self, y_true, y_pred):
        y = self.targets(y_true, y_pred)
        if self.from_logits:
            return -(y * _log_softmax(y_pred)).sum(axis=-1)
        q = np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return -(y * np.log(q)).sum(axis=-1)

    def values_gradient(self, y_true, y_pred):
        if self.from_logits:
            return self.logits_values_gradient(y_true, activations.softmax(y_pred))
        y = self.targets(y_true, y_pred)
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        inside = (q >= EPSILON) & (q <= 1 - EPSILON)
        a = np.where(inside, -y / np.clip(q, EPSILON, 1 - EPSILON), 0)
        return ((a - (a * q).sum(axis=-1, keepdims=True)) / total).astype(y_pred.dtype, copy=False)

    def logits_values_gradient(self, y_true, y_pred):
        y = self.targets(y_true, y_pred)
        return y_pred * y.sum(axis=-1, keepdims=True) - y

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


class SparseCategoricalCrossentropy(Loss):
    """Keras's SparseCategoricalCrossentropy(from_logits=False): integer labels y (N,) in 0..K-1."""

    expects_integer_labels = True

    def __init__(self, from_logits: bool = False, name: str = "sparse_categorical_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.from_logits = bool(from_logits)
        self.fuses_with = None if self.from_logits else "softmax"

    @staticmethod
    def _picked(a: np.ndarray, labels: np.ndarray) -> np.ndarray:
        return np.take_along_axis(a, labels[..., None], axis=-1)[..., 0]

    def values(self, y_true, y_pred):
        labels = y_true.astype(np.intp)
        if self.from_logits:
            return -self._picked(_log_softmax(y_pred), labels)
        clipped = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return -np.log(self._picked(clipped, labels) / clipped.sum(axis=-1))

    def values_gradient(self, y_true, y_pred):
        if self.from_logits:
            return self.logits_values_gradient(y_true, activations.softmax(y_pred))
        labels = y_true.astype(np.intp)
        clipped = np.clip(y_pred, EPSILON, 1 - EPSILON)
        inside = (y_pred >= EPSILON) & (y_pred <= 1 - EPSILON)
        grad = np.broadcast_to(1 / clipped.sum(axis=-1, keepdims=True), y_pred.shape).copy()  # d log(sum c) / dp
        at_label = self._picked(grad, labels) - 1 / self._picked(clipped, labels)  # and -d log(c_label) / dp
        np.put_along_axis(grad, labels[..., None], at_label[..., None], axis=-1)
        return np.where(inside, grad, 0).astype(y_pred.dtype, copy=False)

    def logits_values_gradient(self, y_true, y_pred):
        grad = y_pred.copy()
        labels = y_true.astype(np.intp)[..., None]
        np.put_along_axis(grad, labels, np.take_along_axis(grad, labels, axis=-1) - 1, axis=-1)
        return grad

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


class BinaryCrossentropy(Loss):
    """Keras's BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1): targets in [0, 1] of
    the predictions' shape ((N,) labels against (N, 1) predictions are matched, as Keras does)."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        name: str = "binary_crossentropy",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if axis != -1:
            raise ValueError(f"BinaryCrossentropy: only axis=-1 is supported, got {axis}")
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"BinaryCrossentropy: label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.from_logits, self.label_smoothing, self.axis = bool(from_logits), float(label_smoothing), axis
        self.fuses_with = None if self.from_logits else "sigmoid"

    def targets(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return _smoothed(y_true.astype(y_pred.dtype, copy=False), self.label_smoothing, 2.0)

    def values(self, y_true, y_pred):
        y = self.targets(y_true, y_pred)
        if self.from_logits:
            z = y_pred
            return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        if self.from_logits:
            return self.logits_values_gradient(y_true, activations.sigmoid(y_pred))
        y = self.targets(y_true, y_pred)
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        inside = (y_pred >= EPSILON) & (y_pred <= 1 - EPSILON)
        grad = np.where(inside, (p - y) / (p * (1 - p)), 0) / y_pred.shape[-1]
        return grad.astype(y_pred.dtype, copy=False)

    def logits_values_gradient(self, y_true, y_pred):
        return (y_pred - self.targets(y_true, y_pred)) / y_pred.dtype.type(y_pred.shape[-1])

    def get_config(self):
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }
