"""Regression metrics: means over every value seen of the squared or absolute error (and the root)."""

from __future__ import annotations

import numpy as np

from ..losses.base import match_ranks
from .base import Average, MeanMetricWrapper


def mean_squared_error(y_true, y_pred) -> np.ndarray:
    return np.mean(np.square(np.asarray(y_pred, np.float64) - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred) -> np.ndarray:
    return np.mean(np.abs(np.asarray(y_pred, np.float64) - y_true), axis=-1)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class RootMeanSquaredError(Average):
    """sqrt of the mean squared error over every value seen (not the mean of the batches' roots)."""

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = match_ranks(np.asarray(y_true), np.asarray(y_pred))
        self.accumulate(np.square(np.asarray(y_pred, np.float64) - y_true), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))
