"""Accuracies, per sample as Keras computes them (then averaged over every sample seen):

accuracy                    [y == p]  (predictions that are exactly the targets)
binary_accuracy             mean_k [y_k == (p_k > threshold)]
categorical_accuracy        [argmax y == argmax p]
sparse_categorical_accuracy [y == argmax p]
top_k (sparse_)categorical  the target class is among the k highest predictions (ties count as in,
                            as TensorFlow's in_top_k: fewer than k classes score strictly higher)
"""

from __future__ import annotations

import numpy as np

from .base import MeanMetricWrapper


def accuracy(y_true, y_pred) -> np.ndarray:
    return (np.asarray(y_true) == np.asarray(y_pred)).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    return np.mean(np.asarray(y_true) == (np.asarray(y_pred) > threshold), axis=-1)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def _labels(y_true, y_pred) -> np.ndarray:
    y_true = np.asarray(y_true)
    if y_true.ndim == np.ndim(y_pred) and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return y_true.astype(np.intp)


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    return (_labels(y_true, y_pred) == np.argmax(y_pred, axis=-1)).astype(np.float64)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    target_score = np.take_along_axis(y_pred, _labels(y_true, y_pred)[..., None], axis=-1)
    return (np.sum(y_pred > target_score, axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> np.ndarray:
    return sparse_top_k_categorical_accuracy(np.argmax(y_true, axis=-1), y_pred, k)


class Accuracy(MeanMetricWrapper):
    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    direction = "up"

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    direction = "up"

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    direction = "up"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    direction = "up"

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    direction = "up"

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
