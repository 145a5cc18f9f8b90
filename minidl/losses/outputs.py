"""The loss of a model with several outputs, as Keras's compile builds it from a list or dict of losses.

Output k has its own loss L_k (or none: that output is not trained), weighted by w_k (`loss_weights`,
default 1):

    L = sum_k w_k L_k(y_k, y_pred_k)            dL/dy_pred_k = w_k dL_k/dy_pred_k

Each L_k is an ordinary `Loss` (reduction, sample weights, its fused logits gradient). The logs show L as
"loss" and, when two or more outputs have a loss, each unweighted L_k as "<output name>_loss", as Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .base import Loss


class OutputLosses:
    """One loss per output (None for an output without one), weighted and summed."""

    def __init__(self, losses: Sequence[Loss | None], weights: Sequence[float], names: Sequence[str]):
        self.losses, self.weights, self.names = list(losses), [float(w) for w in weights], list(names)
        self.name = "loss"
        self._values: dict[str, float] = {}

    def forward(self, y_true, y_pred: list[np.ndarray], sample_weight: np.ndarray | None = None, mask=None) -> float:
        """L for one batch (y_true: the targets' `Arrays`), keeping each output's batch for its gradient;
        `mask`: the outputs' masks (a list, None where one has none), if any."""
        self._values = {}
        total = 0.0
        masks = mask or [None] * len(self.losses)
        for name, loss, weight, target, output, output_mask in zip(
            self.names, self.losses, self.weights, y_true.arrays, y_pred, masks
        ):
            if loss is not None:
                value = loss.forward(target, output, sample_weight, output_mask)
                self._values[f"{name}_loss"] = value
                total += weight * value
        return total

    def output_values(self) -> dict[str, float]:
        """The last batch's L_k by "<name>_loss", logged when two or more outputs have a loss."""
        return self._values if len(self._values) > 1 else {}

    def gradient(self, per_output: Sequence[Callable[[], np.ndarray] | None]) -> list[np.ndarray | None]:
        """dL/dy_pred_k (or dL/dz_k, where `per_output[k]` is a loss's fused logits gradient) for the last
        batch; None for an output without a loss."""
        grads: list[np.ndarray | None] = []
        for weight, gradient in zip(self.weights, per_output):
            grad = None if gradient is None else gradient()
            if grad is not None and weight != 1.0:
                grad = grad * grad.dtype.type(weight)
            grads.append(grad)
        return grads
