"""What `keras.ops` is to a Keras user writing a loss, a metric or a layer, on NumPy arrays: the same
names and arguments (`ops.mean(x, axis=-1)`, `ops.clip(x, 0, 1)`, `ops.where(c, a, b)`, ...). minidl's
tensors are NumPy arrays, so most are NumPy's own functions; the few whose Keras signature differs from
NumPy's are defined here."""

from __future__ import annotations

import numpy as np

from . import activations

# The same as NumPy's: element-wise maths, reductions, comparisons, shapes
abs = np.abs
absolute, add, subtract, multiply, divide, negative, power = (
    np.absolute,
    np.add,
    np.subtract,
    np.multiply,
    np.divide,
    np.negative,
    np.power,
)
square, sqrt, exp, log, log1p, expm1, sign, floor, ceil, round = (
    np.square,
    np.sqrt,
    np.exp,
    np.log,
    np.log1p,
    np.expm1,
    np.sign,
    np.floor,
    np.ceil,
    np.round,
)
sin, cos, tanh, maximum, minimum, where = np.sin, np.cos, np.tanh, np.maximum, np.minimum, np.where
sum, mean, max, min, prod, std, var = np.sum, np.mean, np.max, np.min, np.prod, np.std, np.var
argmax, argmin, argsort, sort, cumsum, cumprod = np.argmax, np.argmin, np.argsort, np.sort, np.cumsum, np.cumprod
equal, not_equal, greater, greater_equal, less, less_equal = (
    np.equal,
    np.not_equal,
    np.greater,
    np.greater_equal,
    np.less,
    np.less_equal,
)
logical_and, logical_or, logical_not, isnan, isfinite = (
    np.logical_and,
    np.logical_or,
    np.logical_not,
    np.isnan,
    np.isfinite,
)
matmul, dot, einsum, transpose, reshape, concatenate, stack = (
    np.matmul,
    np.dot,
    np.einsum,
    np.transpose,
    np.reshape,
    np.concatenate,
    np.stack,
)
expand_dims, squeeze, tile, repeat, take, take_along_axis = (
    np.expand_dims,
    np.squeeze,
    np.tile,
    np.repeat,
    np.take,
    np.take_along_axis,
)
zeros, ones, zeros_like, ones_like, full, full_like, arange, eye = (
    np.zeros,
    np.ones,
    np.zeros_like,
    np.ones_like,
    np.full,
    np.full_like,
    np.arange,
    np.eye,
)
shape = np.shape

# The activations (see minidl.activations)
relu, sigmoid, softmax, softplus, gelu, silu, elu, selu = (
    activations.relu,
    activations.sigmoid,
    activations.softmax,
    activations.softplus,
    activations.gelu,
    activations.silu,
    activations.elu,
    activations.selu,
)


def clip(x, x_min, x_max):
    return np.clip(x, x_min, x_max)


def cast(x, dtype):
    return np.asarray(x).astype(dtype)


def convert_to_tensor(x, dtype=None):
    return np.asarray(x, dtype=dtype)


def convert_to_numpy(x):
    return np.asarray(x)


def one_hot(x, num_classes, dtype="float32"):
    return np.eye(num_classes, dtype=dtype)[np.asarray(x, dtype=np.intp)]


def logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    top = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x, axis=-1):
    return x - logsumexp(x, axis=axis, keepdims=True)


def norm(x, ord=None, axis=None, keepdims=False):
    return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
