"""Optimisers that scale each parameter's step by its gradients' history: RMSprop, Adagrad, Adadelta
(Keras's formulas and operation order; eps = epsilon, lr = learning rate, g = gradient)."""

from __future__ import annotations

import numpy as np

from ..arguments import check_fraction, check_positive
from .base import Optimizer, keras_cast, update_blockwise


class RMSprop(Optimizer):
    """v <- rho v + (1 - rho) g^2;  centered: a <- rho a + (1 - rho) g, d = v - a^2 + eps, else d = v + eps;
    step = lr g / sqrt(d);  momentum: m <- momentum m + step, param -= m;  else param -= step."""

    def __init__(
        self,
        learning_rate=0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho = check_fraction("RMSprop", "rho", rho)
        self.momentum = check_fraction("RMSprop", "momentum", momentum)
        self.epsilon = check_positive("RMSprop", "epsilon", epsilon)
        self.centered = bool(centered)

    def update(self, key, param, grad, learning_rate):
        dtype = param.dtype.type
        rho, lr, epsilon, momentum = dtype(self.rho), dtype(learning_rate), dtype(self.epsilon), dtype(self.momentum)
        one_minus_rho = dtype(1 - self.rho)  # rounded once from the exact 1 - rho, as Keras
        velocity = self.slot("velocity", key, param)
        velocity[...] = rho * velocity + one_minus_rho * np.square(grad)
        if self.centered:
            average = self.slot("average_gradient", key, param)
            average[...] = rho * average + one_minus_rho * grad
            denominator = velocity - np.square(average) + epsilon
        else:
            denominator = velocity + epsilon
        increment = lr * grad / np.sqrt(denominator)
        if self.momentum > 0:
            moment = self.slot("momentum", key, param)
            moment[...] = momentum * moment + increment
            param -= moment
        else:
            param -= increment

    def keras_slots(self) -> list[tuple[str, ...]]:
        """Keras's variables after iterations and learning rate: all velocities, then all momentums (if
        momentum), then all average gradients (if centered)."""
        groups: list[tuple[str, ...]] = [("velocity",)]
        return groups + [("momentum",)] * (self.momentum > 0) + [("average_gradient",)] * self.centered

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adagrad(Optimizer):
    """a <- a + g^2 (a starts at initial_accumulator_value);  param -= lr g / sqrt(a + eps)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not initial_accumulator_value >= 0:
            raise ValueError(f"Adagrad: initial_accumulator_value must be >= 0, got {initial_accumulator_value!r}")
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = check_positive("Adagrad", "epsilon", epsilon)

    def update(self, key, param, grad, learning_rate):
        dtype = param.dtype.type
        lr, epsilon = dtype(learning_rate), dtype(self.epsilon)

        def step(p, g, a):
            a += np.square(g)
            p -= lr * g / np.sqrt(a + epsilon)

        start = keras_cast(self.initial_accumulator_value, dtype)  # Keras's Constant initializer: float32 first
        update_blockwise(step, param, grad, self.slot("accumulator", key, param, fill=start))

    def keras_slots(self) -> list[tuple[str, ...]]:
        return [("accumulator",)]

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    """a <- rho a + (1 - rho) g^2;  delta = -sqrt(d + eps) g / sqrt(a + eps);  d <- rho d + (1 - rho) delta^2;
    param += lr delta  (a, d start at 0)."""

    def __init__(self, learning_rate=0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = check_fraction("Adadelta", "rho", rho)
        self.epsilon = check_positive("Adadelta", "epsilon", epsilon)

    def update(self, key, param, grad, learning_rate):
        dtype = param.dtype.type
        rho, lr, epsilon = dtype(self.rho), dtype(learning_rate), dtype(self.epsilon)
        one_minus_rho = dtype(1 - self.rho)

        def step(p, g, a, d):
            a[...] = rho * a + one_minus_rho * np.square(g)
            delta = -(np.sqrt(d + epsilon) * g / np.sqrt(a + epsilon))
            d[...] = rho * d + one_minus_rho * np.square(delta)
            p += lr * delta

        update_blockwise(
            step, param, grad, self.slot("accumulated_grad", key, param), self.slot("accumulated_delta_var", key, param)
        )

    def keras_slots(self) -> list[tuple[str, ...]]:
        return [("accumulated_grad", "accumulated_delta_var")]  # interleaved per parameter, as Keras builds them

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
