"""Merge layers: several tensors of one shape into one (or, Concatenate, joined along an axis). They take
a list of inputs; backward returns the list of their gradients."""

from __future__ import annotations

import numpy as np

from ..backend import epsilon
from ..shapes import format_shape
from .base import Layer


class Merge(Layer):
    """Base of the element-wise merges of k >= 2 inputs of one shape."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def build_for(self, input_shape):
        shapes = [tuple(s) for s in input_shape] if isinstance(input_shape, list) else None
        if not shapes or len(shapes) < 2:
            raise ValueError(
                f"A merge layer should be called on a list of at least 2 inputs. Layer '{self.name}' "
                f"got {input_shape!r}"
            )
        if self.built:
            return self.output_shape
        self.check_shapes(shapes)
        self.input_shape = shapes
        self.output_shape = self.compute_output_shape(shapes)
        self.built = True
        return self.output_shape

    def check_shapes(self, shapes: list[tuple]) -> None:
        if any(s[1:] != shapes[0][1:] for s in shapes):
            raise ValueError(
                f"Layer '{self.name}': Inputs have incompatible shapes. Received shapes "
                f"{' and '.join(format_shape(s) for s in shapes)}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def compute_mask(self, inputs, mask=None):
        """Keras's: a step holds data where any input's does (no mask if an input has none)."""
        if mask is None or any(m is None for m in mask):
            return None
        return np.logical_or.reduce([np.asarray(m, bool) for m in mask])

    def __call__(self, inputs, training: bool | None = None):
        if isinstance(inputs, (list, tuple)) and not any(hasattr(x, "node") for x in inputs):
            return self.forward([np.asarray(x) for x in inputs], bool(training))
        return super().__call__(inputs, training)


class Add(Merge):
    """y = sum_i x_i.   Backward: dL/dx_i = dL/dy."""

    def forward(self, inputs, training=False):
        self.count = len(inputs)
        out = inputs[0] + inputs[1]
        for x in inputs[2:]:
            out += x
        return out

    def backward(self, grad_output):
        return [grad_output] * self.count


class Subtract(Merge):
    """y = x_0 - x_1 (exactly two inputs).   Backward: dL/dx_0 = dL/dy, dL/dx_1 = -dL/dy."""

    def check_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: input_shape={shapes}")
        super().check_shapes(shapes)

    def forward(self, inputs, training=False):
        return inputs[0] - inputs[1]

    def backward(self, grad_output):
        return [grad_output, -grad_output]


class Multiply(Merge):
    """y = prod_i x_i.   Backward: dL/dx_i = dL/dy prod_{j != i} x_j."""

    def forward(self, inputs, training=False):
        self.inputs = inputs
        out = inputs[0] * inputs[1]
        for x in inputs[2:]:
            out *= x
        return out

    def backward(self, grad_output):
        grads = []
        for i in range(len(self.inputs)):
            grad = grad_output.copy()
            for j, x in enumerate(self.inputs):
                if j != i:
                    grad *= x
            grads.append(grad)
        return grads


class Average(Add):
    """y = (1/k) sum_i x_i.   Backward: dL/dx_i = dL/dy / k."""

    def forward(self, inputs, training=False):
        out = super().forward(inputs, training)
        out *= out.dtype.type(1.0 / len(inputs))
        return out

    def backward(self, grad_output):
        return [grad_output * grad_output.dtype.type(1.0 / self.count)] * self.count


class Maximum(Merge):
    """y = max_i x_i, value by value.   Backward: dL/dy to the first input holding the maximum (Keras
    folds the inputs pairwise, and TensorFlow's maximum gives ties to its first argument)."""

    minimum = False

    def forward(self, inputs, training=False):
        stacked = np.stack(inputs)
        self.winner = (np.argmin if self.minimum else np.argmax)(stacked, axis=0)
        self.count = len(inputs)
        return np.take_along_axis(stacked, self.winner[None], axis=0)[0]

    def backward(self, grad_output):
        return [np.where(self.winner == i, grad_output, 0).astype(grad_output.dtype) for i in range(self.count)]


class Minimum(Maximum):
    """y = min_i x_i, value by value.   Backward: dL/dy to the first input holding the minimum."""

    minimum = True


class Concatenate(Merge):
    """y = the inputs joined along `axis` (default -1).   Backward: dL/dy cut back into the inputs' sizes."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def check_shapes(self, shapes):
        axis = self.axis % len(shapes[0])
        if axis == 0 or any(
            len(s) != len(shapes[0]) or any(a != b for k, (a, b) in enumerate(zip(s, shapes[0])) if k not in (0, axis))
            for s in shapes
        ):
            raise ValueError(
                f"Layer '{self.name}': a `Concatenate` layer requires inputs with matching shapes "
                f"except for the concatenation axis. Received: input_shape="
                f"{[format_shape(s) for s in shapes]}"
            )

    def compute_output_shape(self, input_shape):
        axis = self.axis % len(input_shape[0])
        out = list(input_shape[0])
        out[axis] = sum(s[axis] for s in input_shape)
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        """Keras's: the masks joined as the inputs are (all True for an input without one, a mask
        broadcast over its last axis), then any() over the last axis."""
        if mask is None or all(m is None for m in mask):
            return None
        full = [
            np.ones(x.shape, bool)
            if m is None
            else np.broadcast_to(np.asarray(m, bool)[..., None], x.shape)
            if np.ndim(m) < x.ndim
            else np.asarray(m, bool)
            for x, m in zip(inputs, mask)
        ]
        return np.concatenate(full, axis=self.axis).any(axis=-1)

    def forward(self, inputs, training=False):
        self.sizes = [x.shape[self.axis] for x in inputs]
        return np.concatenate(inputs, axis=self.axis)

    def backward(self, grad_output):
        return np.split(grad_output, np.cumsum(self.sizes)[:-1], axis=self.axis)


class Dot(Merge):
    """The dot product of two inputs' samples along `axes` (one int for both, or a pair), Keras's batch_dot:
    x (b, *P, k) and y (b, k, *Q) (the contracted axes wherever they are) give y_out (b, *P, *Q), or (b, 1)
    when nothing is left. With normalize=True each input is first L2-normalized along its axis,
    x_hat = x min(1/||x||, 1/eps), which makes y_out the cosine similarity.

    Forward  (as matrices, per sample): out = X Y,   X (P, k), Y (k, Q).
    Backward: dL/dX = dL/dout Y^T,  dL/dY = X^T dL/dout;  through the normalization,
              dL/dx = (dL/dx_hat - x_hat sum_k(dL/dx_hat x_hat)) / ||x||  (dL/dx_hat / eps where clamped).
    """

    def __init__(self, axes, normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        pair = axes if isinstance(axes, (list, tuple)) else None
        if not isinstance(axes, int) and (pair is None or len(pair) != 2 or not all(isinstance(a, int) for a in pair)):
            raise ValueError(f"Dot: `axes` must be an int or a pair of ints. Received: axes={axes!r}")
        self.axes, self.normalize = axes, normalize

    def _pair(self, ranks: list[int]) -> tuple[int, int]:
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return axes[0] % ranks[0], axes[1] % ranks[1]

    def check_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: input_shape={shapes}")
        a, b = self._pair([len(s) for s in shapes])
        if a == 0 or b == 0 or shapes[0][a] != shapes[1][b]:
            raise ValueError(
                f"Layer '{self.name}': incompatible input shapes for axes={self.axes}: axis values "
                f"{shapes[0][a]} (at axis {a}) != {shapes[1][b]} (at axis {b}). Full input shapes: "
                f"{' and '.join(format_shape(s) for s in shapes)}"
            )

    def compute_output_shape(self, input_shape):
        a, b = self._pair([len(s) for s in input_shape])
        first, second = list(input_shape[0]), list(input_shape[1])
        first.pop(a)
        second.pop(b)
        out = first + second[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def compute_mask(self, inputs, mask=None):
        return None  # Keras's: a dot product has no steps left to mask

    def _normalized(self, x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        inverse_norm = np.minimum(1.0 / np.sqrt(np.sum(x * x, axis=axis, keepdims=True)), 1.0 / epsilon())
        return x * inverse_norm.astype(x.dtype), inverse_norm.astype(x.dtype)

    def forward(self, inputs, training=False):
        x, y = inputs
        self.axis_pair = a, b = self._pair([x.ndim, y.ndim])
        self.inverse_norms = None
        if self.normalize:
            (x, x_inverse), (y, y_inverse) = self._normalized(x, a), self._normalized(y, b)
            self.inverse_norms = (x_inverse, y_inverse)
        x_moved, y_moved = np.moveaxis(x, a, -1), np.moveaxis(y, b, 1)
        self.x_moved_shape, self.y_moved_shape = x_moved.shape, y_moved.shape
        k = x.shape[a]
        self.x_matrix = x_moved.reshape(len(x), -1, k)
        self.y_matrix = y_moved.reshape(len(y), k, -1)
        kept = x_moved.shape[1:-1] + y_moved.shape[2:]
        return (self.x_matrix @ self.y_matrix).reshape((len(x),) + (kept or (1,)))

    def backward(self, grad_output):
        batch = len(grad_output)
        grad = grad_output.reshape(batch, self.x_matrix.shape[1], self.y_matrix.shape[2])
        a, b = self.axis_pair
        grad_x = np.moveaxis((grad @ self.y_matrix.transpose(0, 2, 1)).reshape(self.x_moved_shape), -1, a)
        grad_y = np.moveaxis((self.x_matrix.transpose(0, 2, 1) @ grad).reshape(self.y_moved_shape), 1, b)
        if self.inverse_norms is None:
            return [grad_x, grad_y]
        x_hat = np.moveaxis(self.x_matrix.reshape(self.x_moved_shape), -1, a)
        y_hat = np.moveaxis(self.y_matrix.reshape(self.y_moved_shape), 1, b)
        return [
            self._through_normalization(grad_x, x_hat, self.inverse_norms[0], a),
            self._through_normalization(grad_y, y_hat, self.inverse_norms[1], b),
        ]

    @staticmethod
    def _through_normalization(grad, x_hat, inverse_norm, axis):
        clamped = inverse_norm >= inverse_norm.dtype.type(1.0 / epsilon())
        projected = grad - x_hat * np.sum(grad * x_hat, axis=axis, keepdims=True)
        return np.where(clamped, grad, projected) * inverse_norm


# Keras's functional forms: layers.add([x, y]) is layers.Add()([x, y])
def add(inputs, **kwargs):
    """Add()(inputs); keyword arguments go to the layer (e.g. name)."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize: bool = False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
