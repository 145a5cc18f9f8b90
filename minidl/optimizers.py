"""Optimisers: they read each parameter's gradient and update the parameter in place.

Layers compute gradients (`backward`); optimisers alone change parameters. Per-parameter state
(velocities, moments) lives in `self.slots[slot_name][param_key]`, so it can be saved and restored
(`get_state` / `set_state`) to resume training exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from .parallel import blockwise
from .registry import Registry


def update_blockwise(step: Callable[..., None], *arrays: np.ndarray) -> None:
    """Run an element-wise update `step(param, grad, *slots)` over the flattened arrays, block by block
    in cache and on every core (see minidl.parallel): about one pass over each array in memory instead of
    one per arithmetic operation, with bit-identical results."""
    if all(a.flags.c_contiguous for a in arrays):
        arrays = tuple(a.reshape(-1) for a in arrays)  # views: the step's in-place writes land
    blockwise(step, *arrays)


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and bool(np.isfinite(value))
    )


def _check_positive(owner: str, name: str, value: float) -> float:
    if not (_is_number(value) and value > 0):
        raise ValueError(f"{owner}: {name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_fraction(owner: str, name: str, value: float) -> float:
    if not (_is_number(value) and 0 <= value < 1):
        raise ValueError(f"{owner}: {name} must be a number in [0, 1), got {value!r}")
    return float(value)


class Optimizer:
    """Base class: subclasses implement `update(key, param, grad)` (in place) using `self.slot(...)`."""

    def __init__(self, learning_rate: float):
        self.learning_rate = _check_positive(type(self).__name__, "learning_rate", learning_rate)
        self.iterations = 0  # number of steps taken, as Keras's optimizer.iterations
        self.slots: dict[str, dict[str, np.ndarray]] = {}

    def apply_gradients(self, params_and_grads: Iterable[tuple[str, np.ndarray, np.ndarray]]) -> None:
        """One step: `update` every (key, param, grad), then count the step."""
        for key, param, grad in params_and_grads:
            self.update(key, param, grad)
        self.iterations += 1

    def update(self, key: str, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    def slot(self, slot_name: str, key: str, like: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """The state array `slot_name` of parameter `key`, created full of `fill` on first use."""
        per_param = self.slots.setdefault(slot_name, {})
        if key not in per_param:
            per_param[key] = np.full_like(like, fill)
        return per_param[key]

    def get_state(self) -> dict[str, np.ndarray]:
        state = {"iterations": np.array(self.iterations)}
        for slot_name, per_param in self.slots.items():
            for key, value in per_param.items():
                state[f"{slot_name}:{key}"] = value.copy()
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.iterations = int(state["iterations"])
        self.slots = {}
        for name, value in state.items():
            if name != "iterations":
                slot_name, key = name.split(":", 1)
                self.slots.setdefault(slot_name, {})[key] = np.array(value)


class SGD(Optimizer):
    """Gradient descent with optional momentum, written with a velocity v:

        v <- momentum * v + learning_rate * grad;    param <- param - v

    With initial_velocity = 0 (the default) this is exactly Keras's SGD (its m = -v); a nonzero
    `initial_velocity` starts every v at that value, as some textbook implementations do.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, initial_velocity: float = 0.0):
        super().__init__(learning_rate)
        self.momentum = _check_fraction("SGD", "momentum", momentum)
        if not _is_number(initial_velocity):
            raise ValueError(f"SGD: initial_velocity must be a finite number, got {initial_velocity!r}")
        self.initial_velocity = float(initial_velocity)

    def update(self, key, param, grad):
        lr, momentum = self.learning_rate, self.momentum
        if momentum == 0 and self.initial_velocity == 0:

            def step(p, g):
                p -= lr * g

            update_blockwise(step, param, grad)
            return

        def step_with_momentum(p, g, v):
            v *= momentum
            v += lr * g
            p -= v

        update_blockwise(step_with_momentum, param, grad, self.slot("velocity", key, param, fill=self.initial_velocity))


class Adam(Optimizer):
    """Adam with Keras's exact update (epsilon on the uncorrected sqrt(v)):

    m <- m + (1 - beta_1) (grad - m);      v <- v + (1 - beta_2) (grad^2 - v)
    alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    param <- param - alpha * m / (sqrt(v) + epsilon)
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _check_fraction("Adam", "beta_1", beta_1)
        self.beta_2 = _check_fraction("Adam", "beta_2", beta_2)
        self.epsilon = _check_positive("Adam", "epsilon", epsilon)

    def update(self, key, param, grad):
        # As Keras: beta^t in the parameter's dtype, from the betas rounded to float32 (Keras turns the
        # Python floats into float32 tensors first). Scalars of the parameter's dtype also keep float32
        # arrays float32 (a float64 scalar would upcast them).
        dtype = param.dtype.type
        t = dtype(self.iterations + 1)
        beta_1_power = dtype(np.float32(self.beta_1)) ** t
        beta_2_power = dtype(np.float32(self.beta_2)) ** t
        alpha = dtype(self.learning_rate) * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        one_minus_beta_1, one_minus_beta_2, epsilon = 1 - self.beta_1, 1 - self.beta_2, self.epsilon

        def step(p, g, m, v):  # Keras's operations in Keras's order, on one block
            update = np.subtract(g, m)
            update *= one_minus_beta_1
            m += update  # m += (1 - beta_1) (g - m)
            np.square(g, out=update)
            update -= v
            update *= one_minus_beta_2
            v += update  # v += (1 - beta_2) (g^2 - v)
            denominator = np.sqrt(v)
            denominator += epsilon
            np.multiply(m, alpha, out=update)
            update /= denominator
            p -= update  # p -= alpha m / (sqrt(v) + epsilon)

        update_blockwise(step, param, grad, self.slot("m", key, param), self.slot("v", key, param))


OPTIMIZERS: Registry[Optimizer] = Registry("optimizer", Optimizer, case_sensitive=False)
OPTIMIZERS.register(SGD)
OPTIMIZERS.register(Adam)


def get(identifier: str | Optimizer) -> Optimizer:
    return OPTIMIZERS.get(identifier)
