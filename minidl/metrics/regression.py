"""Regression metrics: means over every value seen of the squared or absolute error (and the root), and of
the regression losses' per-sample values (in float64)."""

from __future__ import annotations

import numpy as np

from .. import losses
from ..losses.base import match_ranks
from .base import Average, MeanMetricWrapper, check_last_axis


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


def _loss_values(loss: type[losses.Loss], sign: float = 1.0):
    """The metric function of a loss: its per-sample values in float64 (times sign)."""

    def function(y_true, y_pred) -> np.ndarray:
        y_pred = np.asarray(y_pred, np.float64)
        return sign * loss().values(np.asarray(y_true, np.float64), y_pred)

    function.__name__ = loss().name
    return function


mean_absolute_percentage_error = _loss_values(losses.MeanAbsolutePercentageError)
mean_squared_logarithmic_error = _loss_values(losses.MeanSquaredLogarithmicError)
poisson = _loss_values(losses.Poisson)
cosine_similarity = _loss_values(losses.CosineSimilarity, sign=-1.0)  # the similarity itself, as Keras's metric


class MeanAbsolutePercentageError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    def __init__(self, name: str = "poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """The mean over samples of t^ . p^ (both normalised along the last axis, Keras's epsilon)."""

    def __init__(self, name: str = "cosine_similarity", dtype=None, axis: int = -1):
        check_last_axis("CosineSimilarity", axis)
        super().__init__(cosine_similarity, name=name, dtype=dtype)
        self.axis = axis
