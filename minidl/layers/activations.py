"""Activation layers. Each can stand alone (`layers.ReLU()`, `layers.Activation("tanh")`) or inside a layer
(`Dense(10, activation="sigmoid")`). The element-wise maths lives in `minidl.activations`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import activations as functions
from .. import constraints, initializers, regularizers
from ..parallel import BLOCK, blockwise
from ..registry import Registry
from .base import Layer, own_inference_map


def activation_name(layer: Layer | None) -> str:
    """The Keras name of an activation as `get` makes it ("relu", "sigmoid", ...; "linear" for None)."""
    if layer is None or type(layer) is Linear:
        return "linear"
    if type(layer) is ReLU and layer.function is None:
        return "relu"
    if type(layer) is Softmax and layer.axis == -1:
        return "softmax"
    if type(layer) is ElementwiseActivationLayer:
        return layer.function.name
    raise ValueError(f"the activation layer {layer!r} has no Keras name: use it as a layer of its own")


_ZEROS: dict[np.dtype, np.ndarray] = {}  # a block of zeros per dtype, read-only, for relu


def relu(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out = max(x, 0) (out may be x), in blocks of BLOCK values, each against as many zeros, on every core
    for large arrays: NumPy's maximum of two arrays is about 3x faster than against the scalar 0, which
    takes its slow path (benchmarks/README.md). The same values (NaN stays NaN, -0 gives 0)."""
    if not (x.flags.c_contiguous and out.flags.c_contiguous):
        return np.maximum(x, 0, out=out)
    zeros = _ZEROS.get(x.dtype)
    if zeros is None:
        zeros = _ZEROS[x.dtype] = np.zeros(BLOCK, x.dtype)
        zeros.flags.writeable = False
    blockwise(
        lambda x_block, out_block: np.maximum(x_block, zeros[: len(x_block)], out=out_block),
        x.reshape(-1),
        out.reshape(-1),
    )
    return out


class ElementwiseActivationLayer(Layer):
    """y = f(x) value by value, for an `activations.ElementwiseActivation` f.

    Backward: dL/dx = dL/dy * f'(x) (f' from x and y, kept from forward).   Shapes: any, unchanged.
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    fused_with_loss = False  # set by the training loop: a sigmoid's input gradient came from the loss
    not_in_config = ("function",)  # made by the subclass from its own arguments

    def __init__(self, function: functions.ElementwiseActivation, **kwargs):
        super().__init__(**kwargs)
        self.function = function

    @property
    def fusable_as(self) -> str | None:
        """ "sigmoid" for a sigmoid: a binary cross-entropy can give its input gradient (see losses.base)."""
        return "sigmoid" if isinstance(self.function, functions.Sigmoid) else None

    def forward(self, x, training=False):
        self.input, self.output = x, self.function(x)
        return self.output

    def inference_map(self):
        return self.function

    def backward(self, grad_output):
        if self.fused_with_loss:
            return grad_output
        return grad_output * self.function.derivative(self.input, self.output)


class ReLU(Layer):
    """y = max(x, 0), or with Keras's arguments y = min(x, max_value) above `threshold` and
    negative_slope (x - threshold) below it (`activations.Relu`).

    Backward: dL/dx = dL/dy * [y > 0] (default arguments), dL/dy * f'(x) otherwise.   Shapes: any, unchanged.

    `overwrite_input`: set by a layer that owns its activation (Dense, Conv2D), whose pre-activation
    array nobody else reads: y is then written over x, saving an allocation and a pass over memory.
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    overwrite_input = False

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for argument, value in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if (value is None and argument != "max_value") or (value is not None and not value >= 0):
                raise ValueError(
                    f"{argument} of a ReLU layer cannot be None or a negative value. Received: {argument}={value}"
                )
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold
        plain = max_value is None and negative_slope == 0 and threshold == 0
        self.function = None if plain else functions.Relu(negative_slope, max_value, threshold)

    def forward(self, x, training=False):
        if self.function is not None:
            self.input, self.output = x, self.function(x)
            return self.output
        self.output = relu(x, x if self.overwrite_input else np.empty_like(x))
        return self.output

    def inference_map(self):
        return self.function if self.function is not None else lambda x: relu(x, x)

    def backward(self, grad_output):
        if self.function is not None:
            return grad_output * self.function.derivative(self.input, self.output)
        grad_input = np.empty_like(grad_output)
        blockwise(lambda g, y, dx: np.multiply(g, y > 0, out=dx), grad_output, self.output, grad_input)
        return grad_input


class LeakyReLU(ElementwiseActivationLayer):
    """y = x for x >= 0, negative_slope x below (Keras's layer default 0.3);  dL/dx = dL/dy * (1 or slope)."""

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if negative_slope is None or not negative_slope >= 0:
            raise ValueError(
                f"The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                f"Expected a float. Received: negative_slope={negative_slope}"
            )
        super().__init__(functions.LeakyRelu(negative_slope), **kwargs)
        self.negative_slope = negative_slope


class ELU(ElementwiseActivationLayer):
    """y = x for x > 0, alpha (exp(x) - 1) below;  dL/dx = dL/dy * (1 or y + alpha)."""

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(functions.Elu(alpha), **kwargs)
        self.alpha = alpha


class PReLU(Layer):
    """y = max(x, 0) + alpha min(x, 0), with a trainable alpha per input value (Keras's layout: shape
    x.shape[1:], size 1 along `shared_axes`, e.g. shared_axes=[1, 2] for one alpha per image channel).

    Backward:  dL/dalpha = sum over the batch (and shared axes) of dL/dy * min(x, 0)
               dL/dx     = dL/dy * (1 if x > 0 else alpha)
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(
        self,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        shared_axes: int | Sequence[int] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer, self.alpha_constraint = alpha_initializer, constraints.get(alpha_constraint)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.shared_axes = (
            None if shared_axes is None else ([shared_axes] if isinstance(shared_axes, int) else list(shared_axes))
        )

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis < len(input_shape):
                raise ValueError(
                    f"PReLU '{self.name}': shared axis {axis} is not an axis of an input of "
                    f"shape {input_shape} (axis 0 is the batch)"
                )
            shape[axis - 1] = 1
        self.add_weight(
            shape,
            initializers.get(self.alpha_initializer),
            regularizer=self.alpha_regularizer,
            constraint=self.alpha_constraint,
            name="alpha",
        )

    def forward(self, x, training=False):
        self.input = x
        return np.maximum(x, 0) + self.params["alpha"] * np.minimum(x, 0)

    def backward(self, grad_output):
        x, alpha = self.input, self.params["alpha"]
        negative = np.minimum(x, 0) * grad_output
        reduce = (0, *(i for i in range(1, x.ndim) if alpha.shape[i - 1] == 1 and x.shape[i] != 1))
        np.copyto(self.grad_buffer("alpha"), negative.sum(axis=reduce, keepdims=True).reshape(alpha.shape))
        return grad_output * np.where(x > 0, 1, alpha).astype(x.dtype, copy=False)


class Softmax(Layer):
    """p = exp(x - max x) / sum exp(x - max x) along `axis` (the last by default).   Shapes: any, unchanged.

    Backward (Jacobian-vector product): dL/dx = p * (g - sum_k g_k p_k), with g = dL/dp.

    When a model ends in a Softmax over its last axis and its loss is a categorical cross-entropy, the loss
    gives dL/dx = (p - y) / N directly (numerically stable, no K x K Jacobian; as Keras computes such a loss
    from the logits); the training loop then sets `fused_with_loss` and this backward passes it through.
    """

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.fused_with_loss = False
        self.fusable_as: str | None = "softmax" if axis == -1 else None

    def build(self, input_shape):
        self.fusable_as = "softmax" if self.axis in (-1, len(input_shape) - 1) else None

    def forward(self, x, training=False):
        shifted = x - x.max(axis=self.axis, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=self.axis, keepdims=True)
        self.output = shifted
        return shifted

    def backward(self, grad_output):
        if self.fused_with_loss:
            return grad_output
        p = self.output
        return p * (grad_output - (grad_output * p).sum(axis=self.axis, keepdims=True))


class Linear(Layer):
    """y = x (Keras's activation=None / "linear")."""

    def forward(self, x, training=False):
        return x

    def inference_map(self):
        return lambda x: x

    def backward(self, grad_output):
        return grad_output


class Activation(Layer):
    """Keras's Activation layer: applies the named (or given) activation, e.g. Activation("tanh").
    Forward and backward are the activation's own (see `get`)."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = get(activation) or Linear()

    def forward(self, x, training=False):
        return self.activation.forward(x, training)

    def inference_map(self):
        return own_inference_map(self.activation)

    def backward(self, grad_output):
        return self.activation.backward(grad_output)

    def get_config(self):
        return {**super().get_config(), "activation": activation_name(self.activation)}

    @property
    def output_activation(self) -> Layer:
        return self.activation


def _elementwise(name: str):
    return lambda: ElementwiseActivationLayer(functions.ELEMENTWISE[name]())


ACTIVATIONS: Registry[Layer] = Registry("activation", Layer)
ACTIVATIONS.register(ReLU, names=("relu",))
ACTIVATIONS.register(Softmax, names=("softmax",))
for _name in functions.ELEMENTWISE:
    if _name not in ("relu", "linear"):
        ACTIVATIONS.register(_elementwise(_name), names=(_name,))


def get(identifier, owns_input: bool = False) -> Layer | None:
    """An activation layer from a name ("relu", "sigmoid", "tanh", ..., "linear"/None), one of
    `minidl.activations`' functions, or a Layer instance. None means linear. `owns_input`: for a layer
    that applies it to its own fresh pre-activation array, which a ReLU made here may then overwrite."""
    if identifier is None or identifier == "linear" or identifier is functions.linear:
        return None
    if (
        callable(identifier)
        and not isinstance(identifier, Layer)
        and getattr(identifier, "__module__", None) == functions.__name__
    ):
        identifier = identifier.__name__  # minidl.activations.sigmoid -> "sigmoid"
    activation = ACTIVATIONS.get(identifier)
    if owns_input and isinstance(identifier, str) and isinstance(activation, ReLU):
        activation.overwrite_input = True
    return activation
