"""The Loss: per-sample values as Keras computes them, their reduction, and the gradient of the reduced loss.

A loss subclass gives two things for one batch (y_true, y_pred of shape (N, ..., K)):

    values(y_true, y_pred)            the per-sample losses l, shape (N, ...) (Keras's `call`)
    values_gradient(y_true, y_pred)   dl/dy_pred, each sample's own, shape (N, ..., K)

and the base class does the rest, as Keras's `Loss.__call__`: with weights w (sample_weight, default 1),
    "sum_over_batch_size": L = sum(w l) / count(l)   (Keras's default: the count, not the weights' sum)
    "sum":                 L = sum(w l)
and dL/dy_pred = w / count * dl/dy_pred (or w * dl/dy_pred). An output with a mask m (minidl.masking)
weighs its values by m count / sum(m) as well, so that the mean is over the unmasked values (Keras's
apply_mask; `masked_weights`). A cross-entropy also gives
`logits_gradient()`: dL/dz for y_pred = softmax(z) or sigmoid(z) (`fuses_with`), which the training loop
asks for when the model ends in that activation (`minidl.training.link_loss`), as Keras computes such a
loss from the logits.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..registry import snake_case
from ..serializable import constructor_arguments, supported_arguments

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]
REDUCTIONS = ("sum_over_batch_size", "sum")


def match_ranks(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's squeeze_or_expand_to_same_rank: labels (N,) against predictions (N, 1) become (N, 1)."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return y_true[..., None], y_pred
    if y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1] == 1:
        return y_true[..., 0], y_pred
    return y_true, y_pred


def masked_weights(sample_weight, mask, reduction: str):
    """Keras's apply_mask: the sample weights with an output's mask m (N, ...) folded in, m count(m) / sum(m)
    for "sum_over_batch_size" (m itself for "sum", or for a metric), 0 for all where nothing is unmasked."""
    if mask is None:
        return sample_weight
    mask = np.asarray(mask, dtype=bool)
    weight = mask.astype(np.float64)
    if reduction == "sum_over_batch_size":
        valid = np.count_nonzero(mask)
        weight *= mask.size / valid if valid else 0.0
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        weight *= sample_weight.reshape(sample_weight.shape + (1,) * (weight.ndim - sample_weight.ndim))
    return weight


class Loss:
    """Base class of losses; see the module docstring for what a subclass implements."""

    expects_integer_labels = False  # sparse categorical cross-entropy: y_true holds class indices
    fuses_with: str | None = None  # "softmax" or "sigmoid": logits_gradient() exists for that activation

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {list(REDUCTIONS)}, got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype
        self._batch: tuple | None = None

    # ------------------------------------------------------------------ to override
    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement values(y_true, y_pred)")

    def values_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement values_gradient(y_true, y_pred)")

    def logits_values_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """d values / dz where y_pred = activation(z) (`fuses_with`), from y_pred."""
        raise NotImplementedError(f"{type(self).__name__} has no logits gradient")

    # ------------------------------------------------------------------ machinery
    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """The reduced loss of one batch, as keras.losses.Loss.__call__ (keeps nothing)."""
        y_true, y_pred = match_ranks(np.asarray(y_true), np.asarray(y_pred))
        return self._reduce(self.values(y_true, y_pred), sample_weight)

    def forward(
        self, y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None, mask=None
    ) -> float:
        """The reduced loss, keeping the batch for backward(); `mask`: the output's, if it has one."""
        y_true, y_pred = match_ranks(y_true, y_pred)
        sample_weight = masked_weights(sample_weight, mask, self.reduction)
        values = self.values(y_true, y_pred)
        self._batch = (y_true, y_pred, sample_weight, values.shape)
        return self._reduce(values, sample_weight)

    def backward(self) -> np.ndarray:
        """dL/dy_pred for the last forward's batch, in y_pred's shape and dtype."""
        y_true, y_pred, _, _ = self._saved()
        return self._scaled(self.values_gradient(y_true, y_pred))

    def logits_gradient(self) -> np.ndarray:
        """dL/dz for the last forward's batch, y_pred = activation(z) (`fuses_with`)."""
        y_true, y_pred, _, _ = self._saved()
        return self._scaled(self.logits_values_gradient(y_true, y_pred))

    def _saved(self) -> tuple:
        if self._batch is None:
            raise RuntimeError(f"{type(self).__name__}.backward() needs a forward() first")
        return self._batch

    def _weights(self, sample_weight, shape: tuple) -> np.ndarray | float:
        """Each value's weight in the reduced loss: w / count(l) (or w for "sum"), broadcast to l's shape."""
        count = int(np.prod(shape)) if self.reduction == "sum_over_batch_size" else 1
        if sample_weight is None:
            return 1.0 / max(count, 1)
        weight = np.asarray(sample_weight, dtype=np.float64)
        weight = weight.reshape(weight.shape + (1,) * (len(shape) - weight.ndim))
        return np.broadcast_to(weight, shape) / max(count, 1)

    def _reduce(self, values: np.ndarray, sample_weight) -> float:
        return float(np.sum(values * self._weights(sample_weight, values.shape), dtype=np.float64))

    def _scaled(self, per_value_gradient: np.ndarray) -> np.ndarray:
        _, y_pred, sample_weight, shape = self._saved()
        weights = self._weights(sample_weight, shape)
        if isinstance(weights, float):
            return per_value_gradient * y_pred.dtype.type(weights)
        return per_value_gradient * weights[..., None].astype(y_pred.dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict) -> Loss:
        return cls(**supported_arguments(cls.__name__, config, set(constructor_arguments(cls, stop=object))))


class FunctionLoss(Loss):
    """A plain function f(y_true, y_pred) -> per-sample losses, written with NumPy, as a Loss. Its gradient
    is taken by central differences in float64, one output column at a time: a sample's loss depends only
    on its own row, so K columns cost 2K calls of f per step (said once, in a warning)."""

    def __init__(
        self,
        function: Callable[[np.ndarray, np.ndarray], np.ndarray],
        name: str | None = None,
        epsilon: float = 1e-6,
        **kwargs,
    ):
        super().__init__(name=name or getattr(function, "__name__", "loss"), **kwargs)
        self.function = function
        self.epsilon = epsilon
        self._warned = False

    def values(self, y_true, y_pred):
        values = np.asarray(self.function(y_true, y_pred))
        if values.shape != y_pred.shape[:-1] and values.shape != y_pred.shape:
            raise ValueError(
                f"loss function '{self.name}' returned values of shape {values.shape} for "
                f"predictions of shape {y_pred.shape}; it must return one loss per sample, "
                f"shape {y_pred.shape[:-1]}"
            )
        return values.reshape(y_pred.shape[:-1]) if values.shape == y_pred.shape and y_pred.shape[-1] == 1 else values

    def values_gradient(self, y_true, y_pred):
        if not self._warned:
            warnings.warn(
                f"loss '{self.name}' is a plain function: minidl takes its gradient by central "
                f"differences ({2 * y_pred.shape[-1]} calls per step). Write a minidl.losses.Loss "
                f"subclass with values_gradient for speed.",
                stacklevel=4,
            )
            self._warned = True
        p = y_pred.astype(np.float64)
        grad = np.empty_like(p)
        for k in range(p.shape[-1]):
            step = self.epsilon * np.maximum(1.0, np.abs(p[..., k]))
            plus, minus = p.copy(), p.copy()
            plus[..., k] += step
            minus[..., k] -= step
            delta = np.asarray(self.function(y_true, plus), np.float64) - np.asarray(
                self.function(y_true, minus), np.float64
            )
            grad[..., k] = delta.reshape(p.shape[:-1]) / (2 * step)
        return grad.astype(y_pred.dtype)
