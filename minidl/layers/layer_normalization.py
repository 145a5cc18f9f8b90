"""LayerNormalization: each sample normalised over its feature axes (Keras's semantics)."""

from __future__ import annotations

import numpy as np

from ..parallel import blockwise
from ..shapes import format_shape
from .base import Layer
from .normalization import add_scale_and_center, set_scale_and_center


class LayerNormalization(Layer):
    """Over the axes `axis` of each sample (the last by default), D values:
        mean = (1/D) sum x,  var = (1/D) sum (x - mean)^2,  x_hat = (x - mean) / sqrt(var + epsilon),
        y = gamma x_hat + beta   (gamma, beta of the normalised axes' shape).
    Backward, g = dL/dy, h = g gamma, means over the normalised axes:
        dL/dgamma = sum over the other axes of g x_hat,  dL/dbeta = sum over the other axes of g,
        dL/dx = (h - mean(h) - x_hat mean(h x_hat)) / sqrt(var + epsilon)
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(
        self,
        axis=-1,
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
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        set_scale_and_center(self, locals())

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
        self.size = int(np.prod(shape))  # D, the values normalised together
        self.broadcast = tuple(input_shape[a] if a in self.axes else 1 for a in range(1, ndim))
        add_scale_and_center(self, shape, self.scale, self.center)

    def _as_rows(self, a: np.ndarray) -> np.ndarray:
        """a as (M, D) rows of the D values normalised together (the normalised axes moved last if need be)."""
        moved = a if self.trailing else np.moveaxis(a, self.axes, range(a.ndim - len(self.axes), a.ndim))
        return np.ascontiguousarray(moved).reshape(-1, self.size)

    def _from_rows(self, rows: np.ndarray, shape: tuple) -> np.ndarray:
        if self.trailing:
            return rows.reshape(shape)
        moved_shape = [d for i, d in enumerate(shape) if i not in self.axes] + [shape[i] for i in self.axes]
        return np.moveaxis(rows.reshape(moved_shape), range(len(shape) - len(self.axes), len(shape)), self.axes)

    @property
    def trailing(self) -> bool:
        """The normalised axes are the last ones (the usual case)."""
        return self.axes == tuple(range(len(self.broadcast) + 1 - len(self.axes), len(self.broadcast) + 1))

    def _row_weight(self, name: str) -> np.ndarray | None:
        return self.params[name].reshape(-1) if name in self.params else None

    def forward(self, x, training=False):
        rows = self._as_rows(x)
        dtype, epsilon = rows.dtype.type, rows.dtype.type(self.epsilon)
        average = np.full(self.size, 1.0 / self.size, dtype=rows.dtype)
        gamma, beta = self._row_weight("gamma"), self._row_weight("beta")
        self.x_hat, self.inv_std, y = np.empty_like(rows), np.empty(len(rows), dtype=rows.dtype), np.empty_like(rows)

        def kernel(r, x_hat, inv_std, out):  # a block of rows in cache: each mean a matrix-vector product
            np.subtract(r, (r @ average)[:, None], out=x_hat)
            np.sqrt(np.square(x_hat, out=out) @ average + epsilon, out=inv_std)
            np.divide(dtype(1), inv_std, out=inv_std)
            x_hat *= inv_std[:, None]
            np.copyto(out, x_hat) if gamma is None else np.multiply(x_hat, gamma, out=out)
            if beta is not None:
                out += beta

        blockwise(kernel, rows, self.x_hat, self.inv_std, y)
        return self._from_rows(y, x.shape)

    def backward(self, grad_output):
        g = self._as_rows(grad_output)
        gamma = self._row_weight("gamma")
        scaled_average = (np.ones(self.size, g.dtype) if gamma is None else gamma) / g.dtype.type(self.size)
        dx = np.empty_like(g)
        partial_sums: list[tuple[np.ndarray, np.ndarray]] = []  # (sum g x_hat, sum g) of each block

        def kernel(g_block, x_hat, inv_std, out):
            g_xhat = np.multiply(g_block, x_hat, out=out)
            ones = np.ones(len(g_block), dtype=g_block.dtype)
            partial_sums.append((ones @ g_xhat, ones @ g_block))
            mean_h_xhat, mean_h = g_xhat @ scaled_average, g_block @ scaled_average  # h = g gamma
            np.copyto(out, g_block) if gamma is None else np.multiply(g_block, gamma, out=out)
            out -= mean_h[:, None]
            out -= x_hat * mean_h_xhat[:, None]
            out *= inv_std[:, None]

        blockwise(kernel, g, self.x_hat, self.inv_std, dx)
        shape = self.params["gamma" if self.scale else "beta"].shape if self.params else ()
        if self.scale:
            np.copyto(self.grad_buffer("gamma"), np.sum([p[0] for p in partial_sums], axis=0).reshape(shape))
        if self.center:
            np.copyto(self.grad_buffer("beta"), np.sum([p[1] for p in partial_sums], axis=0).reshape(shape))
        return self._from_rows(dx, grad_output.shape) if self.need_input_grad else None


class UnitNormalization(Layer):
    """Each sample scaled to unit L2 norm over the axes `axis` (Keras's, epsilon 1e-12):
        y = x s,  s = min(1 / sqrt(sum x^2), 1 / epsilon).
    Backward, g = dL/dy, sums over the normalised axes: dL/dx = s (g - y sum(g y)), or s g where s was
    clipped (a norm below epsilon).   No parameters."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    epsilon = 1e-12

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        if not axes or any(not -len(input_shape) < a < len(input_shape) or a % len(input_shape) == 0 for a in axes):
            raise ValueError(
                f"UnitNormalization '{self.name}': axis {self.axis!r} is not a feature axis of inputs of shape "
                f"{format_shape(input_shape)}"
            )
        self.axes = tuple(a % len(input_shape) for a in axes)

    def forward(self, x, training=False):
        squares = np.sum(np.square(x), axis=self.axes, keepdims=True)
        with np.errstate(divide="ignore"):
            self.scale = np.minimum(1 / np.sqrt(squares), x.dtype.type(1 / self.epsilon))
        self.clipped = self.scale == x.dtype.type(1 / self.epsilon)
        self.output = x * self.scale
        return self.output

    def backward(self, grad_output):
        along = np.sum(grad_output * self.output, axis=self.axes, keepdims=True)
        along = np.where(self.clipped, 0, along)
        return self.scale * (grad_output - self.output * along)
