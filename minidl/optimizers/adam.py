"""Adam and its family, Keras's exact updates (t = iterations + 1; eps on the uncorrected sqrt(v); where
Keras casts a Python float to a tensor first, the float32-rounded value is used, as there)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arguments import check_fraction, check_positive
from .base import Optimizer, keras_cast, update_blockwise


class Adam(Optimizer):
    """m <- m + (1 - beta_1) (g - m);   v <- v + (1 - beta_2) (g^2 - v);   (amsgrad: v_hat <- max(v_hat, v))
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t);   param <- param - alpha m / (sqrt(v or v_hat) + eps)"""

    def __init__(
        self,
        learning_rate=0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        owner = type(self).__name__
        self.beta_1 = check_fraction(owner, "beta_1", beta_1)
        self.beta_2 = check_fraction(owner, "beta_2", beta_2)
        self.epsilon = check_positive(owner, "epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def update(self, key, param, grad, learning_rate):
        # Scalars of the parameter's dtype keep float32 arrays float32 (a float64 scalar would upcast them).
        dtype = param.dtype.type
        t = dtype(self.iterations + 1)
        beta_1_power = keras_cast(self.beta_1, dtype) ** t
        beta_2_power = keras_cast(self.beta_2, dtype) ** t
        alpha = dtype(learning_rate) * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        one_minus_beta_1, one_minus_beta_2, epsilon = 1 - self.beta_1, 1 - self.beta_2, self.epsilon

        def step(p, g, m, v, *v_hat):  # Keras's operations in Keras's order, on one block
            update = np.subtract(g, m)
            update *= one_minus_beta_1
            m += update  # m += (1 - beta_1) (g - m)
            np.square(g, out=update)
            update -= v
            update *= one_minus_beta_2
            v += update  # v += (1 - beta_2) (g^2 - v)
            if v_hat:
                np.maximum(v_hat[0], v, out=v_hat[0])
            denominator = np.sqrt(v_hat[0] if v_hat else v)
            denominator += epsilon
            np.multiply(m, alpha, out=update)
            update /= denominator
            p -= update  # p -= alpha m / (sqrt(v) + epsilon)

        slots = [self.slot("m", key, param), self.slot("v", key, param)]
        if self.amsgrad:
            slots.append(self.slot("v_hat", key, param))
        update_blockwise(step, param, grad, *slots)

    def keras_slots(self) -> list[tuple[str, ...]]:
        """Keras's variables after iterations and learning rate: momentum and velocity interleaved per
        parameter, then all velocity_hats (amsgrad)."""
        return [("m", "v")] + [("v_hat",)] * self.amsgrad

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras's default weight_decay=0.004): param -= param wd lr first."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class Adamax(Optimizer):
    """m <- m + (1 - beta_1) (g - m);   u <- max(beta_2 u, |g|);   param -= lr m / ((1 - beta_1^t) (u + eps))."""

    def __init__(
        self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_fraction("Adamax", "beta_1", beta_1)
        self.beta_2 = check_fraction("Adamax", "beta_2", beta_2)
        self.epsilon = check_positive("Adamax", "epsilon", epsilon)

    def update(self, key, param, grad, learning_rate):
        dtype = param.dtype.type
        beta_1_power = keras_cast(self.beta_1, dtype) ** dtype(self.iterations + 1)
        lr, beta_2, epsilon, one_minus_beta_1 = dtype(learning_rate), dtype(self.beta_2), self.epsilon, 1 - self.beta_1
        m, u = self.slot("m", key, param), self.slot("u", key, param)
        m += (grad - m) * one_minus_beta_1
        np.maximum(beta_2 * u, np.abs(grad), out=u)
        param -= lr * m / ((1 - beta_1_power) * (u + epsilon))

    def keras_slots(self) -> list[tuple[str, ...]]:
        return [("m", "u")]

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat), Keras's schedule of momentum: with decay 0.96,
    u_t = beta_1 (1 - 0.5 decay^t), the running product P_t = prod_{s <= t} u_s,
    m_hat = u_{t+1} m / (1 - P_t u_{t+1}) + (1 - u_t) g / (1 - P_t),   v_hat = v / (1 - beta_2^t),
    param -= lr m_hat / (sqrt(v_hat) + eps)   (m, v as in Adam)."""

    def __init__(
        self, learning_rate=0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7, **kwargs
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = check_fraction("Nadam", "beta_1", beta_1)
        self.beta_2 = check_fraction("Nadam", "beta_2", beta_2)
        self.epsilon = check_positive("Nadam", "epsilon", epsilon)
        self.u_product: Any = None  # P_t, in the first parameter's dtype, as Keras

    def apply_gradients(self, params_and_grads):
        triples = list(params_and_grads)
        if triples:
            dtype = triples[0][1].dtype.type
            previous = dtype(1.0) if self.u_product is None else self.u_product
            t = dtype(self.iterations + 1)
            self.u_product = previous * self.beta_1 * (1.0 - 0.5 * np.power(dtype(0.96), t))
        super().apply_gradients(triples)

    def update(self, key, param, grad, learning_rate):
        dtype = param.dtype.type
        t, t_next = dtype(self.iterations + 1), dtype(self.iterations + 2)
        decay, beta_1, beta_2 = keras_cast(0.96, dtype), keras_cast(self.beta_1, dtype), keras_cast(self.beta_2, dtype)
        u_t = beta_1 * (1.0 - 0.5 * decay**t)
        u_t_next = beta_1 * (1.0 - 0.5 * decay**t_next)
        u_product = dtype(self.u_product)
        u_product_next = u_product * u_t_next
        beta_2_power = beta_2**t
        m, v = self.slot("m", key, param), self.slot("v", key, param)
        m += (grad - m) * (1 - beta_1)
        v += (np.square(grad) - v) * (1 - beta_2)
        m_hat = u_t_next * m / (1 - u_product_next) + (1 - u_t) * grad / (1 - u_product)
        v_hat = v / (1 - beta_2_power)
        param -= m_hat * dtype(learning_rate) / (np.sqrt(v_hat) + dtype(self.epsilon))

    def get_state(self):
        state = super().get_state()
        if self.u_product is not None:
            state["u_product"] = np.array(self.u_product)
        return state

    def set_state(self, state):
        state = dict(state)
        u_product = state.pop("u_product", None)
        super().set_state(state)
        self.u_product = None if u_product is None else np.asarray(u_product)[()]

    def keras_slots(self) -> list[tuple[str, ...]]:
        return [("m", "v")]  # then Keras's u_product (see minidl.saving.keras_format)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
