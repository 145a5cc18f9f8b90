"""GroupNormalization: each sample's channels normalised in groups, over the group's channels and positions."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .normalization import add_scale_and_center, checked_axis_and_epsilon, feature_axis, set_scale_and_center


class GroupNormalization(Layer):
    """Keras's GroupNormalization: the C channels on `axis` split into G groups of Cg = C / G, and each
    sample's group normalised over its Cg channels at every position (M values), then scaled and shifted
    per channel. (groups=-1: a group per channel, instance normalisation; groups=1: the whole sample.)

    Shapes: x (N, ..., C, ...) -> y of the same shape; gamma, beta (C,). Below, x as (N, S, G, Cg) with the
    channel axis last and the S positions in one axis; means are over (S, Cg), per sample n and group g.
        mean = mean(x),   var = mean((x - mean)^2),   x_hat = (x - mean) / sqrt(var + epsilon)
        y = gamma x_hat + beta
    Backward, g = dL/dy, h = g gamma:
        dL/dgamma = sum_{n, s} g x_hat,   dL/dbeta = sum_{n, s} g           (per channel, (C,))
        dL/dx = (h - mean(h) - x_hat mean(h x_hat)) / sqrt(var + epsilon)
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"GroupNormalization '{self.name}'"
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or not (groups >= 1 or groups == -1):
            raise ValueError(f"{owner}: groups must be a positive integer or -1, got {groups!r}")
        self.axis, self.epsilon = checked_axis_and_epsilon(owner, axis, epsilon)
        self.groups = int(groups)
        self.center, self.scale = bool(center), bool(scale)
        set_scale_and_center(self, locals())

    def build(self, input_shape):
        self.channel_axis, channels = feature_axis(self, self.axis, input_shape)
        if self.groups == -1:
            self.groups = channels  # as Keras: the config then names the number
        if channels < self.groups or channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}': the {channels} channels of axis {self.axis} cannot be split into "
                f"{self.groups} groups of equal size"
            )
        add_scale_and_center(self, (channels,), self.scale, self.center)

    def _grouped(self, a: np.ndarray) -> np.ndarray:
        """a (N, ..., C, ...) as (N, S, G, Cg), the channel axis moved last (a copy only if it is not)."""
        moved = np.moveaxis(a, self.channel_axis, -1)
        return np.ascontiguousarray(moved).reshape(len(a), -1, self.groups, moved.shape[-1] // self.groups)

    def _ungrouped(self, a: np.ndarray, shape: tuple) -> np.ndarray:
        moved_shape = (*shape[: self.channel_axis], *shape[self.channel_axis + 1 :], shape[self.channel_axis])
        return np.moveaxis(a.reshape(moved_shape), -1, self.channel_axis)

    def _per_channel(self, name: str, x: np.ndarray) -> np.ndarray | None:
        return self.params[name].reshape(self.groups, -1).astype(x.dtype, copy=False) if name in self.params else None

    def forward(self, x, training=False):
        xg = self._grouped(x)
        dtype = xg.dtype.type
        mean = xg.mean(axis=(1, 3), keepdims=True, dtype=np.float64).astype(xg.dtype)
        centred = xg - mean
        var = np.square(centred).mean(axis=(1, 3), keepdims=True, dtype=np.float64).astype(xg.dtype)
        self.inv_std = dtype(1) / np.sqrt(var + dtype(self.epsilon))  # (N, 1, G, 1)
        self.x_hat = centred
        self.x_hat *= self.inv_std
        gamma, beta = self._per_channel("gamma", xg), self._per_channel("beta", xg)
        y = self.x_hat * gamma if gamma is not None else self.x_hat.copy()
        if beta is not None:
            y += beta
        return self._ungrouped(y, x.shape)

    def backward(self, grad_output):
        g = self._grouped(grad_output)
        x_hat, gamma = self.x_hat, self._per_channel("gamma", g)
        if self.scale:
            np.copyto(self.grad_buffer("gamma"), (g * x_hat).sum(axis=(0, 1), dtype=np.float64).reshape(-1))
        if self.center:
            np.copyto(self.grad_buffer("beta"), g.sum(axis=(0, 1), dtype=np.float64).reshape(-1))
        if not self.need_input_grad:
            return None
        h = g * gamma if gamma is not None else g
        mean_h = h.mean(axis=(1, 3), keepdims=True, dtype=np.float64).astype(g.dtype)
        mean_h_xhat = (h * x_hat).mean(axis=(1, 3), keepdims=True, dtype=np.float64).astype(g.dtype)
        dx = (h - mean_h - x_hat * mean_h_xhat) * self.inv_std
        return self._ungrouped(dx, grad_output.shape)
