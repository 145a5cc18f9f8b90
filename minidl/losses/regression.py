"""Regression losses and the KL divergence, per sample a mean (or sum) over the last axis of K values.

With e = y_pred - y_true:
  MeanSquaredError    l = mean e^2                                   dl/dp = 2 e / K
  MeanAbsoluteError   l = mean |e|                                   dl/dp = sign(e) / K
  Huber(delta)        l = mean (e^2 / 2 if |e| <= delta else delta |e| - delta^2 / 2)
                                                                     dl/dp = clip(e, -delta, delta) / K
  LogCosh             l = mean log cosh e = mean (e + softplus(-2 e) - log 2)    dl/dp = tanh(e) / K
  KLDivergence        l = sum t log(t / q), t = clip(y, eps, 1), q = clip(p, eps, 1)
                                                                     dl/dp = -t / q where p is not clipped
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations
from .base import EPSILON, Loss


class MeanSquaredError(Loss):
    def __init__(self, name: str = "mean_squared_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        return np.square(y_pred - y_true.astype(y_pred.dtype, copy=False)).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        return (y_pred - y_true.astype(y_pred.dtype, copy=False)) * y_pred.dtype.type(2 / y_pred.shape[-1])


class MeanAbsoluteError(Loss):
    def __init__(self, name: str = "mean_absolute_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        return np.abs(y_pred - y_true.astype(y_pred.dtype, copy=False)).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        return np.sign(y_pred - y_true.astype(y_pred.dtype, copy=False)) / y_pred.dtype.type(y_pred.shape[-1])


class Huber(Loss):
    def __init__(self, delta: float = 1.0, name: str = "huber_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if not delta > 0:
            raise ValueError(f"Huber: delta must be > 0, got {delta!r}")
        self.delta = float(delta)

    def values(self, y_true, y_pred):
        error = y_pred - y_true.astype(y_pred.dtype, copy=False)
        absolute, delta = np.abs(error), y_pred.dtype.type(self.delta)
        return np.where(absolute <= delta, 0.5 * error * error, delta * absolute - 0.5 * delta * delta).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        error = y_pred - y_true.astype(y_pred.dtype, copy=False)
        return np.clip(error, -self.delta, self.delta).astype(y_pred.dtype) / y_pred.dtype.type(y_pred.shape[-1])

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class LogCosh(Loss):
    def __init__(self, name: str = "log_cosh", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        error = y_pred - y_true.astype(y_pred.dtype, copy=False)
        return (error + activations.softplus(-2 * error) - y_pred.dtype.type(math.log(2))).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        return np.tanh(y_pred - y_true.astype(y_pred.dtype, copy=False)) / y_pred.dtype.type(y_pred.shape[-1])


class KLDivergence(Loss):
    def __init__(self, name: str = "kl_divergence", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        t = np.clip(y_true.astype(y_pred.dtype, copy=False), EPSILON, 1)
        return (t * np.log(t / np.clip(y_pred, EPSILON, 1))).sum(axis=-1)

    def values_gradient(self, y_true, y_pred):
        t = np.clip(y_true.astype(y_pred.dtype, copy=False), EPSILON, 1)
        inside = (y_pred >= EPSILON) & (y_pred <= 1)
        return np.where(inside, -t / np.clip(y_pred, EPSILON, 1), 0).astype(y_pred.dtype, copy=False)
