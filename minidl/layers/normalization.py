"""BatchNormalization: normalise each channel by batch statistics (training) or moving ones (inference)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import constraints, initializers, regularizers
from ..parallel import blockwise, in_chunks, per_position, per_position_rows, scratch
from ..shapes import format_shape
from .base import Layer

CHUNK_BYTES = 1 << 22  # the training passes go over x in chunks of samples of about this size (cache)


def set_scale_and_center(layer: Layer, options: dict[str, Any]) -> None:
    """A normalisation's gamma (scale) and beta (center) options: each one's initializer, regularizer and
    constraint (from `options`, which holds Keras's beta_... and gamma_... arguments)."""
    for weight in ("beta", "gamma"):
        setattr(layer, f"{weight}_initializer", options[f"{weight}_initializer"])
        setattr(layer, f"{weight}_regularizer", regularizers.get(options[f"{weight}_regularizer"]))
        setattr(layer, f"{weight}_constraint", constraints.get(options[f"{weight}_constraint"]))


def checked_axis_and_epsilon(owner: str, axis, epsilon) -> tuple[int, float]:
    """A normalisation's channel `axis` (an integer) and `epsilon` (finite, > 0), or a clear error."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{owner}: axis must be an integer, got {axis!r}")
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"{owner}: epsilon must be a finite number > 0, got {epsilon!r}")
    return int(axis), float(epsilon)


def feature_axis(layer: Layer, axis: int, input_shape) -> tuple[int, int]:
    """(`axis` as an index from 0, its size) for an input of `input_shape`: a feature axis (not the batch's)
    of known size, or an error naming the layer."""
    ndim = len(input_shape)
    if not -ndim <= axis < ndim or axis % ndim == 0:
        raise ValueError(
            f"Layer '{layer.name}': axis {axis} is not a feature axis of an input of shape {format_shape(input_shape)}"
        )
    channels = input_shape[axis]
    if channels is None:
        raise ValueError(
            f"Layer '{layer.name}': axis {axis} of the input must have a known size, got shape "
            f"{format_shape(input_shape)}"
        )
    return axis % ndim, channels


def add_scale_and_center(layer: Layer, shape: tuple, scale: bool, center: bool) -> None:
    """gamma then beta (Keras's order), those the layer uses, with their initializers, regularizers and
    constraints."""
    for weight, used in (("gamma", scale), ("beta", center)):
        if used:
            layer.add_weight(
                shape,
                initializers.get(getattr(layer, f"{weight}_initializer")),
                regularizer=getattr(layer, f"{weight}_regularizer"),
                constraint=getattr(layer, f"{weight}_constraint"),
                name=weight,
            )


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

    supports_masking = True  # passes its input's mask on (minidl.masking)

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
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"BatchNormalization '{self.name}'"
        self.axis, self.epsilon = checked_axis_and_epsilon(owner, axis, epsilon)
        if not (np.isfinite(momentum) and 0 <= momentum <= 1):
            raise ValueError(f"{owner}: momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.center, self.scale = bool(center), bool(scale)
        set_scale_and_center(self, locals())
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape):
        ndim = len(input_shape)
        axis, channels = feature_axis(self, self.axis, input_shape)
        self.reduction_axes = tuple(i for i in range(ndim) if i != axis)
        self.channels_last = axis == ndim - 1
        self.broadcast_shape = tuple(channels if i == axis else 1 for i in range(ndim))
        add_scale_and_center(self, (channels,), self.scale, self.center)
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
        """Sum over the reduced axes of `a` (some samples of x's shape, any layout), in float64, shaped to
        broadcast (keepdims). Channels last: a (1, H W) ones @ a per sample (BLAS, blocked sums: faster
        and more accurate than numpy's reduction, which adds the rows of a float32 one after another,
        benchmarks/README.md), then the samples' partial sums in float64. Otherwise a float64-accumulated
        reduction."""
        a = a.reshape(-1, *self.sample_shape)
        if self.channels_last and a.ndim > 2:
            a3 = a.reshape(a.shape[0], -1, a.shape[-1])
            total = np.matmul(np.ones((1, a3.shape[1]), dtype=a.dtype), a3).sum(axis=0, dtype=np.float64)
        else:
            total = a.sum(axis=self.reduction_axes, dtype=np.float64)
        return total.reshape(self.broadcast_shape)

    def _over_chunks(self, work: Callable[[slice], Any], rows: np.ndarray) -> list:
        """work(samples) on chunks of about CHUNK_BYTES of the (N, L) rows, on every core; their results in
        chunk order (so their sums are the same on any number of threads)."""
        per_chunk = max(1, CHUNK_BYTES // max(rows[:1].nbytes, 1))
        return in_chunks(lambda start, stop: work(slice(start, stop)), len(rows), per_chunk)

    def forward(self, x, training=False, mask=None):
        # Keras: a frozen layer (trainable=False) always runs in inference mode.
        self.training_mode = bool(training) and self.trainable
        if mask is not None and self.training_mode:  # inference uses the moving statistics: no mask needed
            raise NotImplementedError(
                f"BatchNormalization '{self.name}': minidl does not take the batch statistics over the unmasked "
                f"steps of a masked input (mask {np.shape(mask)}, input {x.shape}) as Keras does; put it before "
                "the layer that starts the mask, or use LayerNormalization"
            )
        self.sample_shape = x.shape[1:]
        rows = x.reshape(len(x), -1)  # (N, L): one row per sample; per-channel values via _per_position
        if not self.training_mode:
            return self._inference_forward(rows).reshape(x.shape)
        m = x.size // self.state["moving_mean"].size  # values per channel
        # Two passes over x, chunk by chunk, as tf.nn.moments: the mean, then the mean square of x - mean
        # (kept, the backward reads it); a third writes y = (x - mean) gamma / sqrt(var + eps) + beta.
        mean = np.sum(self._over_chunks(lambda n: self._channel_sum(rows[n]), rows), axis=0) / m
        mean_row = self._per_position(mean.astype(x.dtype))
        centred = self.scratch("centred", rows.shape, rows.dtype)

        def centre(n: slice) -> np.ndarray:
            np.subtract(rows[n], mean_row, out=centred[n])
            return self._channel_sum(np.square(centred[n], out=scratch("normalization", centred[n].shape, x.dtype)))

        var = np.sum(self._over_chunks(centre, rows), axis=0) / m
        moving_mean, moving_var = self.state["moving_mean"], self.state["moving_variance"]
        # In place (set_weights/save keep references); same operation order as Keras.
        moving_mean[...] = moving_mean * self.momentum + mean.reshape(-1).astype(x.dtype) * (1.0 - self.momentum)
        moving_var[...] = moving_var * self.momentum + var.reshape(-1).astype(x.dtype) * (1.0 - self.momentum)
        self.centred, self.inv_std = centred, (1.0 / np.sqrt(var + self.epsilon)).astype(x.dtype)
        gamma, beta = self._per_channel("gamma"), self._per_channel("beta")
        scale = self._per_position(self.inv_std if gamma is None else gamma * self.inv_std)
        shift = None if beta is None else self._per_position(beta)
        y = np.empty_like(rows)

        def normalise(n: slice) -> None:
            np.multiply(centred[n], scale, out=y[n])
            if shift is not None:
                y[n] += shift

        self._over_chunks(normalise, rows)
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

    def inference_map(self):
        scale_row, shift_row = (
            per_position_rows(a.reshape(self.broadcast_shape[1:])) for a in self.inference_scale_and_shift()
        )

        def normalise(x: np.ndarray) -> np.ndarray:  # _inference_forward's arithmetic, in place
            rows = x.reshape(len(x), -1)
            np.add(np.multiply(rows, scale_row(x.shape[1:]), out=rows), shift_row(x.shape[1:]), out=rows)
            return x

        return normalise

    def backward(self, grad_output):
        g = grad_output.reshape(len(grad_output), -1)
        gamma = self._per_channel("gamma")
        scale = self.inv_std if gamma is None else gamma * self.inv_std  # (1, ..., C)
        if not self.training_mode:
            dx_inference = self._inference_backward(g, scale)
            return None if dx_inference is None else dx_inference.reshape(grad_output.shape)
        centred, inv_std = self.centred, self.inv_std  # x_hat = centred inv_std

        # One pass for the sums of g and g x_hat, chunk by chunk; one more for dL/dx.
        def channel_sums(n: slice) -> tuple[np.ndarray, np.ndarray]:
            g_centred = np.multiply(g[n], centred[n], out=scratch("normalization", g[n].shape, g.dtype))
            return self._channel_sum(g[n]), self._channel_sum(g_centred)

        sums = self._over_chunks(channel_sums, g)
        sum_g = np.sum([a for a, _ in sums], axis=0)
        sum_g_xhat = np.sum([b for _, b in sums], axis=0) * inv_std
        self._store_gradients(sum_g, sum_g_xhat)
        if not self.need_input_grad:
            return None
        m = g.size // sum_g.size  # values per channel
        # dx = scale (g - sum_g / m - x_hat sum_g_xhat / m) = g a + centred b + c per channel
        a, b, c = (
            self._per_position(v.astype(g.dtype))
            for v in (scale, -scale * inv_std * sum_g_xhat / m, -scale * sum_g / m)
        )
        dx = np.empty_like(g)

        def input_gradient(n: slice) -> None:
            np.multiply(g[n], a, out=dx[n])
            dx[n] += np.multiply(centred[n], b, out=scratch("normalization", g[n].shape, g.dtype))
            dx[n] += c

        self._over_chunks(input_gradient, g)
        return dx.reshape(grad_output.shape)

    def _store_gradients(self, sum_g: np.ndarray, sum_g_xhat: np.ndarray) -> None:
        """dL/dgamma = sum g x_hat, dL/dbeta = sum g (the sums over the reduced axes)."""
        if self.scale:
            np.copyto(self.grad_buffer("gamma"), sum_g_xhat.reshape(-1))
        if self.center:
            np.copyto(self.grad_buffer("beta"), sum_g.reshape(-1))

    def _inference_backward(self, g: np.ndarray, scale: np.ndarray) -> np.ndarray | None:
        """After an inference-mode forward the layer is the affine map y = x s + t: dL/dx = g s."""
        x_hat = (self.input - self._per_position(self._statistic("moving_mean"))) * self._per_position(self.inv_std)
        self._store_gradients(self._channel_sum(g), self._channel_sum(g * x_hat))
        return (g * self._per_position(scale)) if self.need_input_grad else None
