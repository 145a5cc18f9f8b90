"""Regression losses and the KL divergence, per sample a mean (or sum) over the last axis of K values.

With e = y_pred - y_true:
  MeanSquaredError    l = mean e^2                                   dl/dp = 2 e / K
  MeanAbsoluteError   l = mean |e|                                   dl/dp = sign(e) / K
  Huber(delta)        l = mean (e^2 / 2 if |e| <= delta else delta |e| - delta^2 / 2)
                                                                     dl/dp = clip(e, -delta, delta) / K
  LogCosh             l = mean log cosh e = mean (e + softplus(-2 e) - log 2)    dl/dp = tanh(e) / K
  KLDivergence        l = sum t log(t / q), t = clip(y, eps, 1), q = clip(p, eps, 1)
                                                                     dl/dp = -t / q where p is not clipped
  MeanAbsolutePercentageError  l = 100 mean |e| / max(|t|, eps)      dl/dp = 100 sign(e) / (K max(|t|, eps))
  MeanSquaredLogarithmicError  l = mean d^2, d = log(max(p, eps) + 1) - log(max(t, eps) + 1)
                                                                     dl/dp = 2 d / (K (p + 1)) where p > eps
  Poisson             l = mean (p - t log(p + eps))                  dl/dp = (1 - t / (p + eps)) / K
  CosineSimilarity    l = -sum t^ p^, x^ = x min(1 / |x|, 1 / eps)   dl/dp = -s (t^ - p^ (t^ . p^)), s = the
                                                                     scale of p^ (-s t^ where it is clipped)
(t = y_true, p = y_pred, eps = 1e-7, Keras's epsilon.)
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


class MeanAbsolutePercentageError(Loss):
    def __init__(self, name: str = "mean_absolute_percentage_error", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        return np.abs((t - y_pred) / np.maximum(np.abs(t), y_pred.dtype.type(EPSILON))).mean(axis=-1) * 100

    def values_gradient(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        scale = y_pred.dtype.type(100 / y_pred.shape[-1])
        return np.sign(y_pred - t) / np.maximum(np.abs(t), y_pred.dtype.type(EPSILON)) * scale


class MeanSquaredLogarithmicError(Loss):
    def __init__(self, name: str = "mean_squared_logarithmic_error", **kwargs):
        super().__init__(name=name, **kwargs)

    @staticmethod
    def _log1p_clipped(x: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(x, x.dtype.type(EPSILON)) + 1)

    def values(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        return np.square(self._log1p_clipped(y_pred) - self._log1p_clipped(t)).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        difference = self._log1p_clipped(y_pred) - self._log1p_clipped(t)
        slope = np.where(y_pred > EPSILON, 1 / (np.maximum(y_pred, y_pred.dtype.type(EPSILON)) + 1), 0)
        return (2 * difference * slope / y_pred.shape[-1]).astype(y_pred.dtype, copy=False)


class Poisson(Loss):
    def __init__(self, name: str = "poisson", **kwargs):
        super().__init__(name=name, **kwargs)

    def values(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        return (y_pred - t * np.log(y_pred + y_pred.dtype.type(EPSILON))).mean(axis=-1)

    def values_gradient(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        return (1 - t / (y_pred + y_pred.dtype.type(EPSILON))) / y_pred.dtype.type(y_pred.shape[-1])


def unit_scale(x: np.ndarray) -> np.ndarray:
    """Keras's L2 normalisation factor over the last axis: min(1 / |x|, 1 / eps), keeping the axis."""
    with np.errstate(divide="ignore"):
        return np.minimum(1 / np.sqrt(np.sum(np.square(x), axis=-1, keepdims=True)), x.dtype.type(1 / EPSILON))


class CosineSimilarity(Loss):
    def __init__(self, axis: int = -1, name: str = "cosine_similarity", **kwargs):
        super().__init__(name=name, **kwargs)
        if axis != -1:
            raise ValueError(f"CosineSimilarity: minidl compares along the last axis (axis=-1), got axis={axis!r}")
        self.axis = axis

    def values(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        return -np.sum(t * unit_scale(t) * y_pred * unit_scale(y_pred), axis=-1)

    def values_gradient(self, y_true, y_pred):
        t = y_true.astype(y_pred.dtype, copy=False)
        t_unit, scale = t * unit_scale(t), unit_scale(y_pred)
        p_unit = y_pred * scale
        along = np.where(scale == y_pred.dtype.type(1 / EPSILON), 0, np.sum(t_unit * p_unit, axis=-1, keepdims=True))
        return -scale * (t_unit - p_unit * along)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
