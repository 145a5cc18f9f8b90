"""The Metric, with Keras's state: `update_state(y_true, y_pred, sample_weight)` adds a batch,
`result()` is the value over every batch since `reset_state()`. An epoch's precision is therefore the
precision of the epoch's predictions, not the mean of its batches' precisions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..losses.base import match_ranks
from ..registry import snake_case
from ..serializable import config_value, constructor_arguments, supported_arguments


class Metric:
    """Base class: subclasses keep their totals as attributes set in `reset_state`. `direction`: "up" if
    larger is better (callbacks' mode "auto" reads it, as Keras's _direction)."""

    direction = "down"

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self) -> float | np.ndarray:
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> float | np.ndarray:
        """This batch's value alone (the state is reset first), as calling a Keras metric on one batch."""
        self.reset_state()
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict:
        """Keras's config: name, dtype, and the constructor's arguments kept under their own names."""
        config = {"name": self.name, "dtype": self.dtype or "float32"}
        for argument in constructor_arguments(type(self), stop=object):
            value = getattr(self, argument, None)
            if argument not in config and not isinstance(value, np.ndarray):  # arrays: derived, not given
                config[argument] = config_value(value)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**supported_arguments(cls.__name__, config, set(constructor_arguments(cls, stop=object))))


def check_last_axis(owner: str, axis: int) -> None:
    """A metric's `axis`: minidl's compute along the last one."""
    if axis != -1:
        raise ValueError(f"{owner}: minidl computes it along the last axis (axis=-1), got axis={axis!r}")


def sample_weights(sample_weight, shape: tuple) -> np.ndarray:
    """Weights broadcast to per-sample values of `shape` (ones without sample_weight)."""
    if sample_weight is None:
        return np.ones(shape)
    weight = np.asarray(sample_weight, dtype=np.float64)
    return np.broadcast_to(weight.reshape(weight.shape + (1,) * (len(shape) - weight.ndim)), shape)


class Average(Metric):
    """A weighted mean sum(w v) / sum(w) of values added by `accumulate`."""

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def accumulate(self, values, sample_weight=None) -> None:
        values = np.asarray(values, dtype=np.float64)
        weights = sample_weights(sample_weight, values.shape)
        self.total += float(np.sum(values * weights))
        self.count += float(np.sum(weights))

    def result(self):
        return self.total / self.count if self.count else 0.0


class Mean(Average):
    """Keras's Mean: the weighted mean of the values given to update_state(values, sample_weight)."""

    def update_state(self, values, sample_weight=None):  # type: ignore[override]  # Keras's own signature
        self.accumulate(values, sample_weight)


class MeanMetricWrapper(Average):
    """A per-sample function f(y_true, y_pred) -> values (N,) averaged over every sample seen (Keras's
    MeanMetricWrapper); a plain function given as a metric becomes one, named after the function."""

    def __init__(self, fn: Callable[..., np.ndarray], name: str | None = None, dtype=None, **kwargs):
        self.fn, self.fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = match_ranks(np.asarray(y_true), np.asarray(y_pred))
        values = np.asarray(self.fn(y_true, y_pred, **self.fn_kwargs), dtype=np.float64)
        if sample_weight is not None and values.ndim > np.ndim(sample_weight):  # Keras: mean down to the weights
            values = values.mean(axis=tuple(range(np.ndim(sample_weight), values.ndim)))
        self.accumulate(values, sample_weight)
