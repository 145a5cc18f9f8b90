"""Activation functions, as `keras.activations` has them: `minidl.activations.sigmoid(x)` on an array.

Each element-wise activation is an `ElementwiseActivation`: `f(x)` and its derivative `derivative(x, y)`
(from x or from y = f(x), whichever is cheaper), so that `layers.Activation` can run it forward and
backward: dL/dx = dL/dy * f'(x). Forms are the numerically stable ones (no overflow for large |x|), in
the input's dtype. Softmax, which mixes values along an axis, is `minidl.layers.Softmax`; the function
`softmax(x, axis)` here computes it.
"""

from __future__ import annotations

import math

import numpy as np

SELU_ALPHA = 1.6732632423543772848170429916717  # Klambauer et al.'s constants, as TensorFlow's
SELU_SCALE = 1.0507009873554804934193349852946


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, to float64 precision, element-wise (NumPy has none):
    erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)), a series of positive terms
    (no cancellation), summed until the terms no longer count; erf(x) = +-1 in float64 for |x| >= 6."""
    t = np.clip(np.asarray(x, dtype=np.float64), -6.0, 6.0)
    term = t.copy()
    total = t.copy()
    two_t2 = 2.0 * t * t
    n = 0
    while True:
        n += 1
        term *= two_t2 / (2 * n + 1)
        total += term
        if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
            break
    return (2.0 / math.sqrt(math.pi)) * np.exp(-t * t) * total


class ElementwiseActivation:
    """y = f(x) value by value; `derivative(x, y)` = f'(x)."""

    name = "activation"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}


class Linear(ElementwiseActivation):
    """y = x;  f' = 1."""

    name = "linear"

    def __call__(self, x):
        return x

    def derivative(self, x, y):
        return np.ones_like(x)


class Relu(ElementwiseActivation):
    """Keras's relu(x, negative_slope, max_value, threshold):
    y = min(x, max_value) for x > threshold (and >= 0), y = negative_slope (x - threshold) for x <= threshold;
    f' = 1 where threshold < x < max_value (and x > 0), negative_slope where x < threshold, else 0."""

    name = "relu"

    def __init__(self, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
        self.negative_slope, self.max_value, self.threshold = negative_slope, max_value, threshold

    def __call__(self, x):
        above = x > self.threshold
        y = np.where(above, x, 0).astype(x.dtype, copy=False)
        y = np.clip(y, 0, self.max_value) if self.max_value is not None else np.maximum(y, 0)
        if self.negative_slope:
            y = y - x.dtype.type(self.negative_slope) * np.maximum(self.threshold - x, 0)
        return y.astype(x.dtype, copy=False)

    def derivative(self, x, y):
        inside = (x > self.threshold) & (x > 0)
        if self.max_value is not None:
            inside &= x < self.max_value
        slope = np.where(x < self.threshold, self.negative_slope, 0.0)
        return np.where(inside, 1.0, slope).astype(x.dtype, copy=False)

    def get_config(self):
        return {"negative_slope": self.negative_slope, "max_value": self.max_value, "threshold": self.threshold}


class LeakyRelu(ElementwiseActivation):
    """y = x for x >= 0, negative_slope x below (TensorFlow's max(negative_slope x, x));
    f' = 1 for x > 0, negative_slope otherwise."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.2):
        self.negative_slope = negative_slope

    def __call__(self, x):
        return np.where(x >= 0, x, x * x.dtype.type(self.negative_slope))

    def derivative(self, x, y):
        return np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype, copy=False)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class Relu6(ElementwiseActivation):
    """y = min(max(x, 0), 6);  f' = 1 for 0 < x < 6, else 0."""

    name = "relu6"

    def __call__(self, x):
        return np.clip(x, 0, 6).astype(x.dtype, copy=False)

    def derivative(self, x, y):
        return ((x > 0) & (x < 6)).astype(x.dtype)


class Sigmoid(ElementwiseActivation):
    """y = 1 / (1 + exp(-x)), as exp(-|x|) / (1 + exp(-|x|)) for x < 0 (no overflow);  f' = y (1 - y)."""

    name = "sigmoid"

    def __call__(self, x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def derivative(self, x, y):
        return y * (1 - y)


class Tanh(ElementwiseActivation):
    """y = tanh(x);  f' = 1 - y^2."""

    name = "tanh"

    def __call__(self, x):
        return np.tanh(x)

    def derivative(self, x, y):
        return 1 - y * y


class Elu(ElementwiseActivation):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise;  f' = 1 for x > 0, alpha exp(x) = y + alpha otherwise."""

    name = "elu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def __call__(self, x):
        return np.where(x > 0, x, x.dtype.type(self.alpha) * np.expm1(np.minimum(x, 0)))

    def derivative(self, x, y):
        return np.where(x > 0, 1, y + x.dtype.type(self.alpha)).astype(x.dtype, copy=False)

    def get_config(self):
        return {"alpha": self.alpha}


class Selu(ElementwiseActivation):
    """y = scale x for x > 0, scale alpha (exp(x) - 1) otherwise (alpha, scale: SELU_ALPHA, SELU_SCALE);
    f' = scale for x > 0, y + scale alpha otherwise."""

    name = "selu"

    def __call__(self, x):
        scale, alpha = x.dtype.type(SELU_SCALE), x.dtype.type(SELU_ALPHA)
        return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    def derivative(self, x, y):
        scale, alpha = x.dtype.type(SELU_SCALE), x.dtype.type(SELU_ALPHA)
        return np.where(x > 0, scale, y + scale * alpha).astype(x.dtype, copy=False)


class Gelu(ElementwiseActivation):
    """Exact: y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2;  f' = Phi(x) + x phi(x), phi the normal density.
    approximate=True: y = x (1 + tanh(c (x + 0.044715 x^3))) / 2, c = sqrt(2 / pi);
    f' = (1 + t) / 2 + x (1 - t^2) c (1 + 3 0.044715 x^2) / 2, t = tanh(c (x + 0.044715 x^3))."""

    name = "gelu"
    C = math.sqrt(2 / math.pi)

    def __init__(self, approximate: bool = False):
        self.approximate = approximate

    def __call__(self, x):
        if self.approximate:
            t = np.tanh(self.C * (x + 0.044715 * x**3))
            return (0.5 * x * (1 + t)).astype(x.dtype, copy=False)
        return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)

    def derivative(self, x, y):
        if self.approximate:
            t = np.tanh(self.C * (x + 0.044715 * x**3))
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * self.C * (1 + 3 * 0.044715 * x * x)
        else:
            d = 0.5 * (1 + erf(x / math.sqrt(2))) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return d.astype(x.dtype, copy=False)

    def get_config(self):
        return {"approximate": self.approximate}


class Softplus(ElementwiseActivation):
    """y = log(1 + exp(x)), as max(x, 0) + log1p(exp(-|x|));  f' = sigmoid(x)."""

    name = "softplus"

    def __call__(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def derivative(self, x, y):
        return SIGMOID(x)


class Softsign(ElementwiseActivation):
    """y = x / (1 + |x|);  f' = 1 / (1 + |x|)^2."""

    name = "softsign"

    def __call__(self, x):
        return x / (1 + np.abs(x))

    def derivative(self, x, y):
        return 1 / (1 + np.abs(x)) ** 2


class Silu(ElementwiseActivation):
    """y = x sigmoid(x) (swish);  f' = s + x s (1 - s), s = sigmoid(x)."""

    name = "silu"

    def __call__(self, x):
        return x * SIGMOID(x)

    def derivative(self, x, y):
        s = SIGMOID(x)
        return s * (1 + x * (1 - s))


class HardSigmoid(ElementwiseActivation):
    """y = relu6(x + 3) / 6;  f' = 1/6 for -3 < x < 3, else 0."""

    name = "hard_sigmoid"

    def __call__(self, x):
        return (np.clip(x + 3, 0, 6) / 6).astype(x.dtype, copy=False)

    def derivative(self, x, y):
        return np.where((x > -3) & (x < 3), 1 / 6, 0.0).astype(x.dtype, copy=False)


class Exponential(ElementwiseActivation):
    """y = exp(x);  f' = y."""

    name = "exponential"

    def __call__(self, x):
        return np.exp(x)

    def derivative(self, x, y):
        return y


class Mish(ElementwiseActivation):
    """y = x tanh(softplus(x));  f' = t + x s (1 - t^2), t = tanh(softplus(x)), s = sigmoid(x)."""

    name = "mish"

    def __call__(self, x):
        return x * np.tanh(SOFTPLUS(x))

    def derivative(self, x, y):
        t = np.tanh(SOFTPLUS(x))
        return t + x * SIGMOID(x) * (1 - t * t)


class HardSilu(ElementwiseActivation):
    """y = x hard_sigmoid(x) (hard swish);  f' = h + x / 6 for -3 < x < 3 (h = hard_sigmoid(x)), else h."""

    name = "hard_silu"

    def __call__(self, x):
        return x * HARD_SIGMOID(x)

    def derivative(self, x, y):
        return HARD_SIGMOID(x) + x * HARD_SIGMOID.derivative(x, y)


class Celu(ElementwiseActivation):
    """y = x for x > 0, alpha (exp(x / alpha) - 1) otherwise;  f' = 1 for x > 0, exp(x / alpha) otherwise."""

    name = "celu"

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def __call__(self, x):
        alpha = x.dtype.type(self.alpha)
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha))

    def derivative(self, x, y):
        return np.where(x > 0, 1, np.exp(np.minimum(x, 0) / x.dtype.type(self.alpha))).astype(x.dtype, copy=False)

    def get_config(self):
        return {"alpha": self.alpha}


class HardTanh(ElementwiseActivation):
    """y = clip(x, -1, 1);  f' = 1 for -1 < x < 1, else 0."""

    name = "hard_tanh"

    def __call__(self, x):
        return np.clip(x, -1, 1).astype(x.dtype, copy=False)

    def derivative(self, x, y):
        return ((x > -1) & (x < 1)).astype(x.dtype)


class LogSigmoid(ElementwiseActivation):
    """y = log(sigmoid(x)) = -softplus(-x);  f' = sigmoid(-x)."""

    name = "log_sigmoid"

    def __call__(self, x):
        return -SOFTPLUS(-x)

    def derivative(self, x, y):
        return SIGMOID(-x)


class TanhShrink(ElementwiseActivation):
    """y = x - tanh(x);  f' = tanh(x)^2."""

    name = "tanh_shrink"

    def __call__(self, x):
        return x - np.tanh(x)

    def derivative(self, x, y):
        return np.square(np.tanh(x))


class Squareplus(ElementwiseActivation):
    """y = (x + sqrt(x^2 + b)) / 2;  f' = (1 + x / sqrt(x^2 + b)) / 2."""

    name = "squareplus"

    def __init__(self, b: float = 4.0):
        self.b = b

    def __call__(self, x):
        return (x + np.sqrt(x * x + x.dtype.type(self.b))) / 2

    def derivative(self, x, y):
        return (1 + x / np.sqrt(x * x + x.dtype.type(self.b))) / 2

    def get_config(self):
        return {"b": self.b}


SIGMOID, SOFTPLUS, HARD_SIGMOID = Sigmoid(), Softplus(), HardSigmoid()
ELEMENTWISE: dict[str, type[ElementwiseActivation]] = {
    cls.name: cls
    for cls in (
        Linear,
        Relu,
        LeakyRelu,
        Relu6,
        Sigmoid,
        Tanh,
        Elu,
        Selu,
        Gelu,
        Softplus,
        Softsign,
        Silu,
        HardSigmoid,
        Exponential,
        Mish,
        HardSilu,
        Celu,
        HardTanh,
        LogSigmoid,
        TanhShrink,
        Squareplus,
    )
}
ELEMENTWISE["swish"] = Silu  # Keras's aliases
ELEMENTWISE["hard_swish"] = HardSilu


# ------------------------------------------------------------------ Keras's functions
def linear(x):
    return np.asarray(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    return Relu(negative_slope, max_value, threshold)(np.asarray(x))


def leaky_relu(x, negative_slope=0.2):
    return LeakyRelu(negative_slope)(np.asarray(x))


def relu6(x):
    return Relu6()(np.asarray(x))


def sigmoid(x):
    return SIGMOID(np.asarray(x))


def tanh(x):
    return np.tanh(x)


def elu(x, alpha=1.0):
    return Elu(alpha)(np.asarray(x))


def selu(x):
    return Selu()(np.asarray(x))


def gelu(x, approximate=False):
    return Gelu(approximate)(np.asarray(x))


def softplus(x):
    return Softplus()(np.asarray(x))


def softsign(x):
    return Softsign()(np.asarray(x))


def silu(x):
    return Silu()(np.asarray(x))


swish = silu


def hard_sigmoid(x):
    return HardSigmoid()(np.asarray(x))


def exponential(x):
    return np.exp(x)


def mish(x):
    return Mish()(np.asarray(x))


def hard_silu(x):
    return HardSilu()(np.asarray(x))


hard_swish = hard_silu


def celu(x, alpha=1.0):
    return Celu(alpha)(np.asarray(x))


def hard_tanh(x):
    return HardTanh()(np.asarray(x))


def log_sigmoid(x):
    return LogSigmoid()(np.asarray(x))


def tanh_shrink(x):
    return TanhShrink()(np.asarray(x))


def squareplus(x, b=4.0):
    return Squareplus(b)(np.asarray(x))


def softmax(x, axis=-1):
    """exp(x - max x) / sum exp(x - max x) along `axis`."""
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """x - max x - log sum exp(x - max x) along `axis`: log(softmax(x)) without its underflow."""
    x = np.asarray(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value (Keras's)."""
    x = np.asarray(x)
    return np.where(x > threshold, x, np.asarray(default_value, dtype=x.dtype))


def get(identifier):
    """keras.activations.get: the function of a name ("relu"), None as linear, a callable as itself."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str) or identifier not in KERAS_FUNCTIONS:
        raise ValueError(f"Could not interpret activation function identifier: {identifier!r}")
    return globals()[identifier]


def serialize(activation) -> str:
    """keras.activations.serialize of one of these functions: its name."""
    name = getattr(activation, "__name__", None)
    if name not in KERAS_FUNCTIONS or globals()[name] is not activation:
        raise ValueError(f"activations.serialize: {activation!r} is not one of minidl's activation functions")
    return name


def deserialize(config, custom_objects=None):
    """keras.activations.deserialize: the function of a name (or of Keras's {"config": name} form)."""
    name = config.get("config") if isinstance(config, dict) else config
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)


KERAS_FUNCTIONS = {
    *(name for name in ELEMENTWISE),
    "softmax",
    "log_softmax",
    "threshold",
}
