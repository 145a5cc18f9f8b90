"""The losses as metrics (Keras's probabilistic and hinge metrics, LogCoshError): the mean, over every
sample seen, of a loss's per-sample values, the same function as the loss with the same options."""

from __future__ import annotations

from .. import losses
from .base import MeanMetricWrapper, check_last_axis


class BinaryCrossentropy(MeanMetricWrapper):
    def __init__(
        self, name: str = "binary_crossentropy", dtype=None, from_logits: bool = False, label_smoothing: float = 0.0
    ):
        super().__init__(
            losses.binary_crossentropy, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing
        )
        self.from_logits, self.label_smoothing = from_logits, label_smoothing


class CategoricalCrossentropy(MeanMetricWrapper):
    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype=None,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
    ):
        check_last_axis(type(self).__name__, axis)
        super().__init__(
            losses.categorical_crossentropy, name, dtype, from_logits=from_logits, label_smoothing=label_smoothing
        )
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype=None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ):
        check_last_axis(type(self).__name__, axis)
        if ignore_class is not None:
            raise ValueError(f"{type(self).__name__}: ignore_class is not supported by minidl, got {ignore_class!r}")
        super().__init__(losses.sparse_categorical_crossentropy, name, dtype, from_logits=from_logits)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis


class KLDivergence(MeanMetricWrapper):
    def __init__(self, name: str = "kl_divergence", dtype=None):
        super().__init__(losses.kl_divergence, name, dtype)


class Hinge(MeanMetricWrapper):
    def __init__(self, name: str = "hinge", dtype=None):
        super().__init__(losses.hinge, name, dtype)


class SquaredHinge(MeanMetricWrapper):
    def __init__(self, name: str = "squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name, dtype)


class CategoricalHinge(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name, dtype)


class LogCoshError(MeanMetricWrapper):
    def __init__(self, name: str = "logcosh", dtype=None):
        super().__init__(losses.log_cosh, name, dtype)
