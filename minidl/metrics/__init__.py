"""Metrics with Keras's names, state and formulas. A metric is a `Metric` (update_state / result /
reset_state), a name ("accuracy", "mse", "auc", ...) or a plain function f(y_true, y_pred) -> per-sample
values. "accuracy" (or "acc") is resolved as Keras resolves it, from the shapes of the targets and the
outputs: binary for one output, sparse categorical for integer labels, categorical otherwise; a metric
given by name is logged under that name (`metrics=["acc"]` logs "acc")."""

from __future__ import annotations

from collections.abc import Callable

from ..losses import (
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    hinge,
    kl_divergence,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from ..registry import Registry
from .accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from .base import Mean, MeanMetricWrapper, Metric
from .confusion import AUC, F1Score, FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives
from .loss_metrics import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    LogCoshError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from .regression import (
    CosineSimilarity,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    cosine_similarity,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
)

__all__ = [
    "Metric",
    "Mean",
    "MeanMetricWrapper",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "LogCoshError",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "kl_divergence",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "accuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "CosineSimilarity",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "Precision",
    "Recall",
    "AUC",
    "F1Score",
    "get",
    "resolve",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "cosine_similarity",
    "METRICS",
]

METRICS: Registry[Metric] = Registry("metric", Metric)
for _metric, _aliases in (
    (BinaryAccuracy, ()),
    (CategoricalAccuracy, ()),
    (SparseCategoricalAccuracy, ()),
    (TopKCategoricalAccuracy, ()),
    (SparseTopKCategoricalAccuracy, ()),
    (MeanSquaredError, ("mse", "MSE")),
    (MeanAbsoluteError, ("mae", "MAE")),
    (RootMeanSquaredError, ()),
    (MeanAbsolutePercentageError, ("mape", "MAPE")),
    (MeanSquaredLogarithmicError, ("msle", "MSLE")),
    (Poisson, ()),
    (CosineSimilarity, ()),
    (TruePositives, ()),
    (FalsePositives, ()),
    (TrueNegatives, ()),
    (FalseNegatives, ()),
    (Precision, ()),
    (Recall, ()),
    (AUC, ()),
    (F1Score, ()),
    (BinaryCrossentropy, ()),
    (CategoricalCrossentropy, ()),
    (SparseCategoricalCrossentropy, ()),
    (KLDivergence, ()),
    (Hinge, ()),
    (SquaredHinge, ()),
    (CategoricalHinge, ()),
    (LogCoshError, ("log_cosh_error",)),
):
    METRICS.register(_metric, aliases=_aliases)
METRICS.register(CategoricalAccuracy, names=("accuracy", "acc"))  # resolved by the data in `resolve`

_FUNCTIONS: dict[Callable, type[Metric]] = {
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    poisson: Poisson,
    cosine_similarity: CosineSimilarity,
    accuracy: Accuracy,
    binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    kl_divergence: KLDivergence,
    hinge: Hinge,
    squared_hinge: SquaredHinge,
    categorical_hinge: CategoricalHinge,
}


def check(identifier) -> None:
    """compile's check of one metric: a known name, a Metric, or a function (resolved later by the data)."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        return
    if callable(identifier) and not isinstance(identifier, (Metric, type)):
        return
    METRICS.get(identifier)


def resolve(identifier, y_true_shape: tuple, y_pred_shape: tuple) -> Metric:
    """The metric object for `identifier`, given the shapes of a batch of targets and outputs (Keras's
    compile_utils.get_metric); a name given as a string names the logs."""
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        binary = y_pred_shape[-1] == 1
        sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        kind = BinaryAccuracy if binary else SparseCategoricalAccuracy if sparse else CategoricalAccuracy
        return kind(name=identifier)
    if callable(identifier) and not isinstance(identifier, (Metric, type)):
        known = _FUNCTIONS.get(identifier)
        return known() if known is not None else MeanMetricWrapper(identifier)
    metric = METRICS.get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def get(identifier) -> Metric:
    """A metric from a name, a Metric or a function ("accuracy" as categorical accuracy: use `resolve` to
    let the data decide, as compile does)."""
    if callable(identifier) and not isinstance(identifier, (Metric, type)):
        return resolve(identifier, (), ())
    metric = METRICS.get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric
