"""Losses with Keras's names, arguments and formulas: classes (`CategoricalCrossentropy(from_logits=True)`),
names and aliases (`"mse"`), and functions (`minidl.losses.mean_squared_error(y_true, y_pred)`, per sample).
A loss is a `Loss` subclass (values and their gradient) or a plain NumPy function of (y_true, y_pred)
returning per-sample losses (`FunctionLoss`: gradient by central differences)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..registry import Registry
from .base import EPSILON, FunctionLoss, Loss, match_ranks
from .crossentropy import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from .hinge import CategoricalHinge, Hinge, SquaredHinge
from .regression import (
    CosineSimilarity,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
)

__all__ = [
    "EPSILON",
    "Loss",
    "FunctionLoss",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "LogCosh",
    "KLDivergence",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "CosineSimilarity",
    "get",
    "LOSSES",
]

LOSSES: Registry[Loss] = Registry("loss", Loss)
for _loss, _aliases in (
    (CategoricalCrossentropy, ()),
    (SparseCategoricalCrossentropy, ()),
    (BinaryCrossentropy, ()),
    (MeanSquaredError, ("mse", "MSE")),
    (MeanAbsoluteError, ("mae", "MAE")),
    (Huber, ("huber", "huber_loss")),
    (LogCosh, ("logcosh", "log_cosh")),
    (KLDivergence, ("kld", "KLD", "kl_divergence", "kullback_leibler_divergence")),
    (Hinge, ()),
    (SquaredHinge, ()),
    (CategoricalHinge, ()),
    (MeanAbsolutePercentageError, ("mape", "MAPE")),
    (MeanSquaredLogarithmicError, ("msle", "MSLE")),
    (Poisson, ()),
    (CosineSimilarity, ()),
):
    LOSSES.register(_loss, aliases=_aliases)


def get(identifier: str | Loss | Callable) -> Loss:
    """A loss from a name, a Loss instance, or a function f(y_true, y_pred) -> per-sample losses."""
    if callable(identifier) and not isinstance(identifier, (Loss, type)):
        per_sample = _FUNCTIONS.get(identifier)
        return per_sample() if per_sample is not None else FunctionLoss(identifier)
    return LOSSES.get(identifier)


def _per_sample(loss_class: type[Loss], **fixed) -> Callable[..., np.ndarray]:
    def function(y_true, y_pred, **kwargs):
        y_true, y_pred = match_ranks(np.asarray(y_true), np.asarray(y_pred))
        return loss_class(**fixed, **kwargs).values(y_true, y_pred)

    return function


# Keras's functions: per-sample losses of one batch
categorical_crossentropy = _per_sample(CategoricalCrossentropy)
sparse_categorical_crossentropy = _per_sample(SparseCategoricalCrossentropy)
binary_crossentropy = _per_sample(BinaryCrossentropy)
mean_squared_error = mse = _per_sample(MeanSquaredError)
mean_absolute_error = mae = _per_sample(MeanAbsoluteError)
huber = _per_sample(Huber)
log_cosh = logcosh = _per_sample(LogCosh)
kl_divergence = kld = _per_sample(KLDivergence)
hinge = _per_sample(Hinge)
squared_hinge = _per_sample(SquaredHinge)
categorical_hinge = _per_sample(CategoricalHinge)
mean_absolute_percentage_error = mape = _per_sample(MeanAbsolutePercentageError)
mean_squared_logarithmic_error = msle = _per_sample(MeanSquaredLogarithmicError)
poisson = _per_sample(Poisson)
cosine_similarity = _per_sample(CosineSimilarity)

_FUNCTIONS: dict[Callable, Callable[[], Loss]] = {
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    huber: Huber,
    log_cosh: LogCosh,
    kl_divergence: KLDivergence,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    poisson: Poisson,
    cosine_similarity: CosineSimilarity,
}
