"""BatchNormalization: normalise each channel by batch statistics (training) or moving ones (inference)."""

from __future__ import annotations

import numpy as np

from ..parallel import blockwise, per_position
from ..shapes import format_shape
from .base import Layer


class BatchNormalization(Layer):
    """Keras's BatchNormalization over the channel axis `axis` (the last one by default).

    Shapes: x (N, ..., C, ...) -> y of the same shape; gamma, beta, moving_mean, moving_variance (C,).
    Statistics are taken over every axis but `axis` ("the reduced axes", m values per channel:
    m = N H W for a conv output (N, H, W, C), m = N for a Dense output (N, C)).

    Training (`training=True`, layer trainable):
        mean = (1/m) sum x,   var = (1/m) sum (x - mean)^2          (biased, as tf.nn.moments)
        x_hat = (x - mean) / sqrt(var + epsilon),   y = gamma x_hat + beta
        moving_mean     <- moving_mean * momentum     + mean * (1 - momentum)
        moving_variance <- moving_variance * momentum + var  * (1 - momentum)   (the biased var, as Keras)
    Inference: the same with mean, var = moving_mean, moving_variance (nothing is updated).

    Backward, g = dL/dy, sums and means over the reduced axes:
        dL/dbeta  = sum g,     dL/dgamma = sum g x_hat
        training:  dL/dx = gamma / sqrt(var + eps) * (g - mean(g) - x_hat mean(g x_hat))
                   (mean and var depend on x: the two subtracted terms are their contribution)
        inference: dL/dx = gamma / sqrt(moving_variance + eps) * g     (an affine map)

    Weights in Keras's order: gamma, beta (trainable, `params`; absent when scale/center is False),
    moving_mean, moving_variance (non-trainable, `state`).
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"BatchNormalization '{self.name}'"
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{owner}: axis must be an integer, got {axis!r}")
        if not (np.isfinite(momentum) and 0 <= momentum <= 1):
            raise ValueError(f"{owner}: momentum must be in [0, 1], got {momentum!r}")
        if not (np.isfinite(epsilon) and epsilon > 0):
            raise ValueError(f"{owner}: epsilon must be a finite number > 0, got {epsilon!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(
                f"Layer '{self.name}': axis {self.axis} is not a feature axis of an input "
                f"of shape {format_shape(input_shape)}"
            )
        axis = self.axis % ndim
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}': axis {self.axis} of the input must have a known "
                f"size, got shape {format_shape(input_shape)}"
            )
        self.reduction_axes = tuple(i for i in range(ndim) if i != axis)
        self.channels_last = axis == ndim - 1
        self.broadcast_shape = tuple(channels if i == axis else 1 for i in range(ndim))
        if self.scale:
            self.add_weight((channels,), self.gamma_initializer, name="gamma")
        if self.center:
            self.add_weight((channels,), self.beta_initializer, name="beta")
        self.add_weight((channels,), self.moving_mean_initializer, trainable=False, name="moving_mean")
        self.add_weight((channels,), self.moving_variance_initializer, trainable=False, name="moving_variance")

    def _per_channel(self, name: str) -> np.ndarray | None:
        """A (C,) weight reshaped to broadcast against x, e.g. (1, 1, 1, C)."""
        store = self.params if name in self.params else self.state
        return store[name].reshape(self.broadcast_shape) if name in store else None

    def _per_position(self, per_channel: np.ndarray) -> np.ndarray:
        """A per-channel array as an (L,) row to combine with x.reshape(N, L) (see parallel.per_position)."""
        return per_position(per_channel.reshape(self.broadcast_shape[1:]), self.sample_shape)

    def _channel_sum(self, a: np.ndarray) -> np.ndarray:
        """Sum over the reduced axes of `a` (x's size, any shape), shaped to broadcast (keepdims), in a's
        dtype but accurate: numpy adds the m = N H W rows of a float32 (N, H, W, C) one after another
        (error ~m * 6e-8). Channels last: a (1, H W) ones @ a per sample (BLAS, blocked sums: faster and
        more accurate than numpy's reduction, benchmarks/README.md), then the N partial sums in float64.
        Otherwise a float64-accumulated reduction. Only (C,)-sized arrays are float64."""
        a = a.reshape(-1, *self.sample_shape)
        if self.channels_last and a.ndim > 2:
            a3 = a.reshape(a.shape[0], -1, a.shape[-1])
            partial = np.matmul(np.ones((1, a3.shape[1]), dtype=a.dtype), a3)  # (N, 1, C)
            total = partial.sum(axis=0, dtype=np.float64)
        else:
            total = a.sum(axis=self.reduction_axes, dtype=np.float64)
        return total.reshape(self.broadcast_shape).astype(a.dtype)

    def forward(self, x, training=False):
        # Keras: a frozen layer (trainable=False) always runs in inference mode.
        self.training_mode = bool(training) and self.trainable
        self.sample_shape = x.shape[1:]
        rows = x.reshape(len(x), -1)  # (N, L): one row per sample; per-channel values via _per_position
        if not self.training_mode:
            return self._inference_forward(rows).reshape(x.shape)
        m = x.size // self.state["moving_mean"].size  # values per channel
        mean = self._channel_sum(x) / m
        # x_hat lives in a kept array (backward reads it); y is fresh (the next layer keeps it) and first
        # holds the squares for the variance.
        centred = np.subtract(rows, self._per_position(mean), out=self.scratch("x_hat", rows.shape, rows.dtype))
        y = np.empty_like(rows)
        var = self._channel_sum(np.square(centred, out=y)) / m
        moving_mean, moving_var = self.state["moving_mean"], self.state["moving_variance"]
        # In place (set_weights/save keep references); same operation order as Keras.
        moving_mean[...] = moving_mean * self.momentum + mean.reshape(-1) * (1.0 - self.momentum)
        moving_var[...] = moving_var * self.momentum + var.reshape(-1) * (1.0 - self.momentum)
        self.inv_std = 1.0 / np.sqrt(var + self.epsilon)  # (1, ..., C): python floats keep float32
        self.x_hat = centred
        self.x_hat *= self._per_position(self.inv_std)  # normalise in place
        gamma, beta = self._per_channel("gamma"), self._per_channel("beta")
        if gamma is not None:
            np.multiply(self.x_hat, self._per_position(gamma), out=y)
        else:
            np.copyto(y, self.x_hat)
        if beta is not None:
            y += self._per_position(beta)
        return y.reshape(x.shape)

    def _statistic(self, name: str) -> np.ndarray:
        """moving_mean or moving_variance, shaped to broadcast against x."""
        return self.state[name].reshape(self.broadcast_shape)

    def _moving_inv_std(self) -> np.ndarray:
        return 1.0 / np.sqrt(self._statistic("moving_variance") + self.epsilon)

    def inference_scale_and_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """Inference as y = x s + t per channel (shaped to broadcast against x): s = gamma /
        sqrt(moving_variance + epsilon), t = beta - moving_mean s, the folded form of
        tf.nn.batch_normalization."""
        inv_std = self._moving_inv_std()
        gamma, beta = self._per_channel("gamma"), self._per_channel("beta")
        scale = inv_std if gamma is None else gamma * inv_std
        shift = -self._statistic("moving_mean") * scale
        if beta is not None:
            shift += beta
        return scale, shift

    def _inference_forward(self, rows: np.ndarray) -> np.ndarray:
        """y = x s + t in one pass over x (block by block, on every core). x_hat is rebuilt by backward
        only if it is called."""
        self.input, self.inv_std = rows, self._moving_inv_std()  # what an inference-mode backward reads
        scale, shift = (self._per_position(a) for a in self.inference_scale_and_shift())
        y = np.empty_like(rows)
        blockwise(
            lambda x_block, y_block: np.add(np.multiply(x_block, scale, out=y_block), shift, out=y_block), rows, y
        )
        return y

    def backward(self, grad_output):
        g = grad_output.reshape(len(grad_output), -1)
        x_hat = (
            self.x_hat
            if self.training_mode
            else (self.input - self._per_position(self._statistic("moving_mean"))) * self._per_position(self.inv_std)
        )
        sum_g = self._channel_sum(g)
        g_xhat = g * x_hat
        sum_g_xhat = self._channel_sum(g_xhat)
        if self.scale:
            np.copyto(self.grad_buffer("gamma"), sum_g_xhat.reshape(-1))
        if self.center:
            np.copyto(self.grad_buffer("beta"), sum_g.reshape(-1))
        if not self.need_input_grad:
            return None
        gamma = self._per_channel("gamma")
        scale = self.inv_std if gamma is None else gamma * self.inv_std  # (1, ..., C)
        if not self.training_mode:
            return (g * self._per_position(scale)).reshape(grad_output.shape)
        m = g.size // sum_g.size  # values per channel
        # dx = scale * (g - sum_g / m - x_hat * sum_g_xhat / m), in one buffer (g * x_hat's, reused)
        dx = np.multiply(x_hat, self._per_position(sum_g_xhat / m), out=g_xhat)
        np.subtract(g, dx, out=dx)
        dx -= self._per_position(sum_g / m)
        dx *= self._per_position(scale)
        return dx.reshape(grad_output.shape)
