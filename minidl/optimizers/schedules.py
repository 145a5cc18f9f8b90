"""Learning-rate schedules, Keras's formulas: `schedule(step)` is the rate at optimiser step `step`
(0 for the first update). An optimiser given a schedule evaluates it at its `iterations` every step."""

from __future__ import annotations

import math
from collections.abc import Sequence


class LearningRateSchedule:
    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}


class ExponentialDecay(LearningRateSchedule):
    """initial_learning_rate * decay_rate ^ (step / decay_steps), the exponent floored if staircase."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ):
        if decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}")
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(p) if self.staircase else p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[i] for boundaries[i - 1] < step <= boundaries[i] (values[0] up to boundaries[0] included)."""

    def __init__(self, boundaries: Sequence[int], values: Sequence[float], name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={list(boundaries)} of length {len(boundaries)}, and values={list(values)} "
                f"of length {len(values)}."
            )
        self.boundaries, self.values, self.name = list(boundaries), list(values), name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps), the quotient floored if staircase."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str = "InverseTimeDecay",
    ):
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(p) if self.staircase else p))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) (1 - step / decay_steps)^power + end, step capped at decay_steps; with cycle, decay_steps
    grows to the next multiple of itself at or above step (at least decay_steps)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name

    def __call__(self, step):
        decay_steps: float = self.decay_steps
        if self.cycle:
            multiplier = 1.0 if step == 0 else math.ceil(step / self.decay_steps)
            decay_steps = self.decay_steps * multiplier
        else:
            step = min(step, self.decay_steps)
        fraction = step / decay_steps
        return (self.initial_learning_rate - self.end_learning_rate) * (
            1 - fraction
        ) ** self.power + self.end_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class CosineDecay(LearningRateSchedule):
    """Keras's CosineDecay with optional linear warm-up: from initial_learning_rate up to warmup_target over
    warmup_steps, then target ((1 - alpha) (1 + cos(pi step' / decay_steps)) / 2 + alpha), step' the steps
    after the warm-up, capped at decay_steps (target = warmup_target, or initial_learning_rate without one)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ):
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def __call__(self, step):
        if self.warmup_target is None:
            target = self.initial_learning_rate
        else:
            if step < self.warmup_steps:
                return (self.warmup_target - self.initial_learning_rate) * (
                    step / self.warmup_steps
                ) + self.initial_learning_rate
            target = self.warmup_target
        fraction = (
            min(step - self.warmup_steps if self.warmup_target is not None else step, self.decay_steps)
            / self.decay_steps
        )
        return target * ((1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): period i lasts first_decay_steps t_mul^i steps and starts at
    initial_learning_rate m_mul^i; within it, (1 - alpha) (1 + cos(pi f)) / 2 + alpha of that start."""

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ):
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restarts = math.floor(fraction)
            fraction -= restarts
        else:
            restarts = math.floor(math.log(1 - fraction * (1 - self.t_mul)) / math.log(self.t_mul))
            sum_r = (1 - self.t_mul**restarts) / (1 - self.t_mul)
            fraction = (fraction - sum_r) / self.t_mul**restarts
        m_fac = self.m_mul**restarts
        cosine = 0.5 * m_fac * (1 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


def schedule_from_config(serialized: dict) -> LearningRateSchedule:
    """The schedule of a Keras config {"class_name": "ExponentialDecay", "config": {...}, ...}."""
    schedules = {cls.__name__: cls for cls in LearningRateSchedule.__subclasses__()}
    cls = schedules.get(str(serialized.get("class_name")))
    if cls is None:
        raise ValueError(
            f"Unknown learning-rate schedule {serialized.get('class_name')!r}; minidl has {sorted(schedules)}"
        )
    return cls(**serialized.get("config", {}))
