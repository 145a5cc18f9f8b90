"""Confusion-matrix metrics, Keras's definitions: a prediction is positive when it is strictly above the
threshold (0.5 by default), a target when it is non-zero; values of every output are counted alike
(flattened), or one class's with `class_id`; the counts add up over every batch since `reset_state`.

  TruePositives, FalsePositives, TrueNegatives, FalseNegatives   the (weighted) counts
  Precision = TP / (TP + FP),  Recall = TP / (TP + FN)           (0 when the denominator is 0)
  AUC        counts at num_thresholds thresholds (-eps, 1/(n-1), ..., 1 + eps), then the area: ROC with
             the trapezoid rule over (FP rate, recall); PR with Davis and Goadrich's interpolation
  F1Score    per class, from the thresholded (or arg-max, threshold=None) predictions:
             2 P R / (P + R) with Keras's epsilons; average None (per class), "micro", "macro", "weighted"
"""

from __future__ import annotations

import numpy as np

from .base import Metric, sample_weights

EPSILON = 1e-7
NEG_INF = -1e10  # Keras's metrics_utils.NEG_INF


def _flat(y_true, y_pred, sample_weight, class_id: int | None):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == y_pred.ndim - 1:
        y_true = y_true[..., None]
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    weights = sample_weights(sample_weight, y_pred.shape)
    return (y_true != 0).reshape(-1), y_pred.reshape(-1), weights.reshape(-1)


def _top_k_only(y_pred: np.ndarray, k: int) -> np.ndarray:
    """Keras's top_k: predictions outside the k highest of each row become -inf (never positive)."""
    kth = -np.sort(-y_pred, axis=-1)[..., k - 1 : k]
    return np.where(y_pred >= kth, y_pred, NEG_INF)


class ConfusionCounts(Metric):
    """TP, FP, TN, FN at each of `thresholds` (arrays of one entry per threshold)."""

    not_in_config: tuple[str, ...] = ("default_threshold",)  # the subclass's own, not the user's

    def __init__(
        self,
        thresholds=None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype=None,
        default_threshold: float = 0.5,
    ):
        if thresholds is None and top_k is not None:
            default_threshold = NEG_INF  # Keras: with top_k, every prediction among the top k is positive
        values = [default_threshold] if thresholds is None else np.atleast_1d(thresholds).tolist()
        self.thresholds = np.array(values, dtype=np.float64)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.tp, self.fp, self.tn, self.fn = (np.zeros(len(self.thresholds)) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.top_k is not None:
            y_pred = _top_k_only(np.asarray(y_pred, dtype=np.float64), self.top_k)
        positive_target, y_pred, weights = _flat(y_true, y_pred, sample_weight, self.class_id)
        predicted = y_pred[None, :] > self.thresholds[:, None]  # (thresholds, values)
        self.tp += (predicted & positive_target) @ weights
        self.fp += (predicted & ~positive_target) @ weights
        self.fn += (~predicted & positive_target) @ weights
        self.tn += (~predicted & ~positive_target) @ weights

    def _value(self, counts: np.ndarray) -> float | np.ndarray:
        return float(counts[0]) if self.init_thresholds is None or np.ndim(self.init_thresholds) == 0 else counts


def _divide(a, b):
    return np.divide(a, b, out=np.zeros_like(np.asarray(a, dtype=np.float64)), where=np.asarray(b) != 0)


class TruePositives(ConfusionCounts):
    not_in_config = ("top_k", "class_id", "default_threshold")  # Keras's counts take thresholds only
    direction = "up"

    def result(self):
        return self._value(self.tp)


class FalsePositives(ConfusionCounts):
    not_in_config = ("top_k", "class_id", "default_threshold")  # Keras's counts take thresholds only

    def result(self):
        return self._value(self.fp)


class TrueNegatives(ConfusionCounts):
    not_in_config = ("top_k", "class_id", "default_threshold")  # Keras's counts take thresholds only
    direction = "up"

    def result(self):
        return self._value(self.tn)


class FalseNegatives(ConfusionCounts):
    not_in_config = ("top_k", "class_id", "default_threshold")  # Keras's counts take thresholds only

    def result(self):
        return self._value(self.fn)


class Precision(ConfusionCounts):
    direction = "up"

    def result(self):
        return self._value(_divide(self.tp, self.tp + self.fp))


class Recall(ConfusionCounts):
    direction = "up"

    def result(self):
        return self._value(_divide(self.tp, self.tp + self.fn))


class AUC(ConfusionCounts):
    """Keras's AUC(num_thresholds=200, curve="ROC", summation_method="interpolation"), one label."""

    direction = "up"

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype=None,
        thresholds=None,
        from_logits: bool = False,
    ):
        curve, summation_method = curve.upper(), summation_method.lower()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: ROC, PR')
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                f'Invalid `summation_method` argument value "{summation_method}". Expected one '
                f"of: interpolation, minoring, majoring"
            )
        if thresholds is None:
            if num_thresholds <= 1:
                raise ValueError(
                    f"Argument `num_thresholds` must be an integer > 1. Received: num_thresholds={num_thresholds}"
                )
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        else:
            inner = sorted(np.atleast_1d(thresholds).tolist())
        self.num_thresholds, self.curve, self.summation_method = len(inner) + 2, curve, summation_method
        self.from_logits = from_logits
        super().__init__(thresholds=[-EPSILON, *inner, 1 + EPSILON], name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-np.asarray(y_pred, dtype=np.float64)))
        super().update_state(y_true, y_pred, sample_weight)

    def result(self):
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc()
        recall = _divide(tp, tp + fn)
        x, y = (_divide(fp, fp + tn), recall) if self.curve == "ROC" else (recall, _divide(tp, tp + fp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def _interpolated_pr_auc(self) -> float:
        """Davis and Goadrich (2006): precision interpolated between thresholds, as Keras."""
        tp, fp, fn = self.tp, self.fp, self.fn
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = _divide(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return float(np.sum(increment))


class F1Score(Metric):
    """Keras's F1Score(average=None, threshold=None): per-class counts over (N, K) targets and predictions."""

    direction = "up"
    not_in_config = ("beta",)  # Keras's F1Score has beta 1 (FBetaScore is another class)

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype=None,
        beta: float = 1.0,
    ):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                f"Invalid `average` argument value. Expected one of: None, 'micro', 'macro', "
                f"'weighted'. Received: average={average}"
            )
        self.average, self.threshold, self.beta = average, threshold, beta
        super().__init__(name=name, dtype=dtype)

    def reset_state(self):
        self.tp = self.fp = self.fn = self.support = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(
                f"F1Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                f"shapes: y_pred.shape={y_pred.shape} and y_true.shape={y_true.shape}."
            )
        if self.threshold is None:
            predicted = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(np.float64)
        weights = np.ones((len(y_true), 1)) if sample_weight is None else np.asarray(sample_weight)[:, None]
        axis = None if self.average == "micro" else 0
        self.tp = self.tp + np.sum(predicted * y_true * weights, axis=axis)
        self.fp = self.fp + np.sum(predicted * (1 - y_true) * weights, axis=axis)
        self.fn = self.fn + np.sum((1 - predicted) * y_true * weights, axis=axis)
        self.support = self.support + np.sum(y_true * weights, axis=axis)

    def result(self):
        precision = self.tp / (self.tp + self.fp + EPSILON)
        recall = self.tp / (self.tp + self.fn + EPSILON)
        beta2 = self.beta**2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            return float(np.sum(score * self.support / (np.sum(self.support) + EPSILON)))
        if self.average is not None:
            return float(np.mean(score))
        return np.asarray(score)
