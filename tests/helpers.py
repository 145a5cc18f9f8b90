"""Small helpers shared by several test modules."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import minidl
from minidl import callbacks
from minidl.layers import Layer
from minidl.optimizers import Optimizer

MINIDL_DIR = Path(minidl.__file__).resolve().parent
COMPUTING_METHODS = ("forward", "backward", "linear", "activate", "update", "apply_gradients")


class WeightsPerEpoch(callbacks.Callback):
    """Records a copy of the model's weights at the end of every epoch: weights[epoch]."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()


def _subclasses(cls: type) -> Iterator[type]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


@contextlib.contextmanager
def computations() -> Iterator[list[str]]:
    """Records every call of a layer's forward/backward (or its linear/activate halves) and of an
    optimiser's update while the block runs: `with computations() as calls: ...`, then e.g. `not calls`
    (a rejected call computed nothing)."""
    calls: list[str] = []

    def counted(method, label):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            calls.append(label)
            return method(*args, **kwargs)

        return wrapper

    originals = [
        (cls, name, vars(cls)[name])
        for base in (Layer, Optimizer)
        for cls in set(_subclasses(base))
        for name in COMPUTING_METHODS
        if name in vars(cls)
    ]
    try:
        for cls, name, method in originals:
            setattr(cls, name, counted(method, f"{cls.__name__}.{name}"))
        yield calls
    finally:
        for cls, name, method in originals:
            setattr(cls, name, method)


def assert_raised_by_a_check(excinfo, calls: list[str]) -> None:
    """The error comes from minidl's own checks, before any computation: raised in minidl's code (not in
    NumPy's) while no forward, backward or update had run (`calls` from `computations()`)."""
    entry = excinfo.traceback[-1]
    path = Path(str(entry.path)).resolve()
    assert MINIDL_DIR in path.parents, f"raised outside minidl, in {path}:{entry.lineno}: {excinfo.value!r}"
    assert not calls, f"raised after computing ({', '.join(dict.fromkeys(calls))}): {excinfo.value!r}"


# ------------------------------------------------------------------------------------------ float32 rounding
FLOAT32_UNIT_ROUNDOFF = 2.0**-24


def sum_error(terms: int, lam: float = 6.0) -> float:
    """Relative bound on the rounding error of a float32 sum (or dot product) of `terms` terms, in any
    order, relative to the sum of the terms' absolute values: Higham and Mary's probabilistic bound
    lam * sqrt(n) * u (SIAM J. Sci. Comput. 41(5), 2019), which holds with probability at least
    1 - 2 exp(-lam^2 / 2) (1 - 3e-8 for lam = 6) when the roundings are independent. The worst case, n u,
    is never approached by real sums; this one is the same on every CPU and BLAS kernel, since it does
    not depend on the summation order."""
    return lam * np.sqrt(terms) * FLOAT32_UNIT_ROUNDOFF + terms * FLOAT32_UNIT_ROUNDOFF**2


def mlp_forward_error_bound(model, x: np.ndarray) -> np.ndarray:
    """Per output value, a bound on |float32 forward pass - exact forward pass| for a Sequential of Dense
    layers (with relu, softmax or no activation) and ReLU/Softmax layers, propagated in float64, with the
    probabilistic model of `sum_error` (independent roundings add in quadrature through a product):
        Dense:   e_z = sqrt(e_x^2 W^2) + sum_error(K + 1) (|x| |W| + |b|)    (K inputs, then the bias)
        ReLU:    e_y = e_x                                             (1-Lipschitz)
        Softmax: e_p = p (e_z + sum_j p_j e_z_j) + 4 u p               (its Jacobian p_i (delta_ij - p_j))
    Two float32 computations of the same model (two BLAS blockings, or two frameworks) then differ by at
    most twice this."""
    from minidl.layers import Dense, ReLU, Softmax

    a = np.asarray(x, np.float64)
    error = np.zeros_like(a)

    def softmax(z, e):
        p = np.exp(z - z.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        return p, p * (e + (p * e).sum(axis=-1, keepdims=True)) + 4 * FLOAT32_UNIT_ROUNDOFF * p

    def activation(name, z, e):
        if name == "relu":
            return np.maximum(z, 0), e
        if name == "softmax":
            return softmax(z, e)
        return z, e

    for layer in model.layers:
        if isinstance(layer, Dense):
            kernel = layer.get_weights()[0].astype(np.float64)
            bias = layer.get_weights()[1].astype(np.float64) if layer.use_bias else np.zeros(kernel.shape[1])
            magnitude = np.abs(a) @ np.abs(kernel) + np.abs(bias)
            propagated = np.sqrt(error**2 @ kernel**2)
            a, error = a @ kernel + bias, propagated + sum_error(kernel.shape[0] + 1) * magnitude
            name = None if layer.activation is None else type(layer.activation).__name__.lower()
            a, error = activation(name, a, error)
        elif isinstance(layer, (ReLU, Softmax)):
            a, error = activation(type(layer).__name__.lower(), a, error)
        else:
            raise TypeError(f"mlp_forward_error_bound: no rule for {type(layer).__name__}")
    return error


def assert_steps_equal_keras(ours, theirs, x, y, loss_rel=1e-9, rtol=1e-8, atol=1e-10, steps=3) -> None:
    """Two compiled models with the same weights, minidl's and Keras's: `steps` train_on_batch steps give
    the same losses (within loss_rel), and leave the same weights (within rtol, atol)."""
    for _ in range(steps):
        assert ours.train_on_batch(x, y) == pytest.approx(float(theirs.train_on_batch(x, y)), rel=loss_rel)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
