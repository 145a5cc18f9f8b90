"""LayerNormalization: each sample normalised over its feature axes (Keras's semantics)."""

from __future__ import annotations

import numpy as np

from .. import initializers
from ..shapes import format_shape
from .base import Layer


class LayerNormalization(Layer):
    """Over the axes `axis` of each sample (the last by default), D values:
        mean = (1/D) sum x,  var = (1/D) sum (x - mean)^2,  x_hat = (x - mean) / sqrt(var + epsilon),
        y = gamma x_hat + beta   (gamma, beta of the normalised axes' shape).
    Backward, g = dL/dy, h = g gamma, means over the normalised axes:
        dL/dgamma = sum over the other axes of g x_hat,  dL/dbeta = sum over the other axes of g,
        dL/dx = (h - mean(h) - x_hat mean(h x_hat)) / sqrt(var + epsilon)
    """

    def __init__(
        self,
        axis=-1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer

    def build(self, input_shape):
        ndim = len(input_shape)
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        if any(not -ndim <= a < ndim or a % ndim == 0 for a in axes):
            raise ValueError(
                f"Axis {self.axis} is out of bounds for input shape {format_shape(input_shape)}. "
                f"Received: axis={self.axis}"
            )
        self.axes = tuple(sorted(a % ndim for a in axes))
        shape = tuple(input_shape[a] for a in self.axes)
        self.broadcast = tuple(input_shape[a] if a in self.axes else 1 for a in range(1, ndim))
        if self.scale:
            self.add_weight(shape, initializers.get(self.gamma_initializer), name="gamma")
        if self.center:
            self.add_weight(shape, initializers.get(self.beta_initializer), name="beta")

    def _parameter(self, name: str):
        return self.params[name].reshape(self.broadcast) if name in self.params else None

    @property
    def trailing(self) -> bool:
        """The normalised axes are the last ones (the usual case)."""
        return self.axes == tuple(range(len(self.broadcast) + 1 - len(self.axes), len(self.broadcast) + 1))

    def _mean(self, a: np.ndarray) -> np.ndarray:
        """The mean over the normalised axes, keepdims: for trailing axes a matrix-vector product of the
        (M, D) rows, much faster than NumPy's reduction over short rows."""
        if not self.trailing:
            return a.mean(axis=self.axes, keepdims=True)
        kept = tuple(1 if i in self.axes else d for i, d in enumerate(a.shape))
        rows = a.reshape(int(np.prod(kept)), -1)
        return (rows @ np.full(rows.shape[1], 1.0 / rows.shape[1], dtype=a.dtype)).reshape(kept)

    def forward(self, x, training=False):
        centred = x - self._mean(x)
        self.inv_std = 1.0 / np.sqrt(self._mean(np.square(centred)) + x.dtype.type(self.epsilon))
        self.x_hat = centred * self.inv_std
        gamma, beta = self._parameter("gamma"), self._parameter("beta")
        y = self.x_hat if gamma is None else self.x_hat * gamma
        return y if beta is None else y + beta

    def _sum_over_others(self, a: np.ndarray) -> np.ndarray:
        """The sum over the axes that are not normalised, in a weight's shape (for trailing axes, a row of
        ones times the (M, D) rows: BLAS, faster than NumPy's reduction over the leading axes)."""
        shape = self.params["gamma" if "gamma" in self.params else "beta"].shape
        if self.trailing:
            rows = a.reshape(-1, int(np.prod(shape)))
            return (np.ones(rows.shape[0], dtype=a.dtype) @ rows).reshape(shape)
        return a.sum(axis=tuple(i for i in range(a.ndim) if i not in self.axes)).reshape(shape)

    def backward(self, grad_output):
        g_xhat = grad_output * self.x_hat
        if self.scale:
            np.copyto(self.grad_buffer("gamma"), self._sum_over_others(g_xhat))
        if self.center:
            np.copyto(self.grad_buffer("beta"), self._sum_over_others(grad_output))
        if not self.need_input_grad:
            return None
        gamma = self._parameter("gamma")
        h = grad_output if gamma is None else grad_output * gamma
        h_xhat = g_xhat if gamma is None else g_xhat * gamma
        return (h - self._mean(h) - self.x_hat * self._mean(h_xhat)) * self.inv_std
