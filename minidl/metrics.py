"""Metrics: `metric(y_true, y_pred)` returns the batch's mean value; the model averages them over an
epoch weighted by batch size, as Keras's stateful metrics do."""

from __future__ import annotations

import numpy as np

from .registry import Registry


class Metric:
    name = "metric"

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise NotImplementedError


class CategoricalAccuracy(Metric):
    """Fraction of rows whose arg-max prediction is the arg-max of the one-hot target."""

    def __init__(self, name: str = "categorical_accuracy"):
        self.name = name

    def __call__(self, y_true, y_pred):
        return float(np.mean(y_pred.argmax(axis=-1) == y_true.argmax(axis=-1)))


class SparseCategoricalAccuracy(Metric):
    """Fraction of rows whose arg-max prediction equals the integer target."""

    def __init__(self, name: str = "sparse_categorical_accuracy"):
        self.name = name

    def __call__(self, y_true, y_pred):
        return float(np.mean(y_pred.argmax(axis=-1) == y_true.reshape(-1)))


METRICS: Registry[Metric] = Registry("metric", Metric)
METRICS.register(lambda: CategoricalAccuracy("accuracy"), names=("accuracy", "acc"))  # get() decides by the loss
METRICS.register(CategoricalAccuracy)
METRICS.register(SparseCategoricalAccuracy)


def get(identifier: str | Metric, loss=None) -> Metric:
    """ "accuracy"/"acc" picks the accuracy that fits the loss's labels, named "accuracy" as in Keras."""
    if identifier in ("accuracy", "acc"):
        sparse = getattr(loss, "expects_integer_labels", False)
        return SparseCategoricalAccuracy("accuracy") if sparse else CategoricalAccuracy("accuracy")
    return METRICS.get(identifier)
