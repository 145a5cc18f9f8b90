"""SGD: gradient descent, with momentum and Nesterov's variant."""

from __future__ import annotations

from ..arguments import check_fraction, is_number
from .base import Optimizer, keras_cast, update_blockwise


class SGD(Optimizer):
    """Gradient descent with optional momentum, written with a velocity v (Keras's m = -v):

        v <- momentum v + lr g;   param <- param - v                       (nesterov=False)
        v <- momentum v + lr g;   param <- param - (momentum v + lr g)     (nesterov=True)
        param <- param - lr g                                              (momentum 0)

    `initial_velocity` (minidl's, 0 as in Keras) starts every v at that value, as some textbooks do.
    """

    def __init__(
        self, learning_rate=0.01, momentum: float = 0.0, nesterov: bool = False, initial_velocity: float = 0.0, **kwargs
    ):
        super().__init__(learning_rate, **kwargs)
        self.momentum = check_fraction("SGD", "momentum", momentum)
        self.nesterov = bool(nesterov)
        if not is_number(initial_velocity):
            raise ValueError(f"SGD: initial_velocity must be a finite number, got {initial_velocity!r}")
        self.initial_velocity = float(initial_velocity)

    def update(self, key, param, grad, learning_rate):
        lr, momentum = param.dtype.type(learning_rate), keras_cast(self.momentum, param.dtype.type)
        if self.momentum == 0 and self.initial_velocity == 0:

            def step(p, g):
                p -= lr * g

            update_blockwise(step, param, grad)
            return
        nesterov = self.nesterov

        def step_with_momentum(p, g, v):
            v *= momentum
            v += lr * g
            p -= momentum * v + lr * g if nesterov else v

        update_blockwise(step_with_momentum, param, grad, self.slot("velocity", key, param, fill=self.initial_velocity))

    def keras_slots(self) -> list[tuple[str, ...]]:
        """Keras's variables after iterations and learning rate: one momentum per parameter (Keras's m,
        which is -v: see `keras_slot_signs`)."""
        return [("velocity",)] if self.momentum else []

    keras_slot_signs = {"velocity": -1.0}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
