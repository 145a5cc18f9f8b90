"""The Optimizer: it reads each parameter's gradient and updates the parameter in place.

Layers compute gradients (`backward`); optimisers alone change parameters. One step, as Keras's
`apply_gradients`: clip the gradients (clipnorm per tensor, or global_clipnorm over all, or clipvalue),
decay the weights (param -= param * weight_decay * learning_rate), then each subclass's `update`, then
count the step. Per-parameter state (velocities, moments) lives in `self.slots[slot_name][param_key]`,
so it can be saved and restored (`get_state` / `set_state`) to resume training exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..arguments import check_optional_positive, check_positive, is_number
from ..parallel import blockwise
from ..registry import snake_case
from ..serializable import constructor_arguments, keras_object, supported_arguments
from .schedules import LearningRateSchedule, schedule_from_config

ParamsAndGrads = Iterable[tuple[str, np.ndarray, np.ndarray]]


def update_blockwise(step: Callable[..., None], *arrays: np.ndarray) -> None:
    """Run an element-wise update `step(param, grad, *slots)` over the flattened arrays, block by block
    in cache and on every core (see minidl.parallel): about one pass over each array in memory instead of
    one per arithmetic operation, with bit-identical results."""
    if all(a.flags.c_contiguous for a in arrays):
        arrays = tuple(a.reshape(-1) for a in arrays)  # views: the step's in-place writes land
    blockwise(step, *arrays)


def keras_cast(value: float, dtype) -> Any:
    """Keras's ops.cast(python float, dtype): the float becomes a float32 tensor first, then dtype (so in
    float64 Keras uses e.g. SGD's momentum and Adam's betas rounded to float32)."""
    return dtype(np.float32(value))


class Optimizer:
    """Base class: subclasses implement `update(key, param, grad, learning_rate)` (in place) with `self.slot`.

    `learning_rate`: a float, a `schedules.LearningRateSchedule` (evaluated at `iterations`) or a callable
    of no arguments; reading `optimizer.learning_rate` gives the rate of the next step, assigning it sets a
    new one (as Keras's ReduceLROnPlateau does)."""

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ):
        owner = type(self).__name__
        self.learning_rate = learning_rate
        if weight_decay is not None and not (is_number(weight_decay) and weight_decay >= 0):
            raise ValueError(f"{owner}: weight_decay must be a finite number >= 0, got {weight_decay!r}")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.clipnorm = check_optional_positive(owner, "clipnorm", clipnorm)
        self.clipvalue = check_optional_positive(owner, "clipvalue", clipvalue)
        self.global_clipnorm = check_optional_positive(owner, "global_clipnorm", global_clipnorm)
        self.name = name or snake_case(owner)  # as Keras: rm_sprop, adam_w
        self.iterations = 0  # number of steps taken, as Keras's optimizer.iterations
        self.slots: dict[str, dict[str, np.ndarray]] = {}
        self._no_decay_names: list[str] = []

    # ------------------------------------------------------------------ the learning rate
    @property
    def learning_rate(self) -> float:
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            return float(rate(self.iterations))
        return float(rate()) if callable(rate) else rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, type)):
            self._learning_rate = value
        else:
            self._learning_rate = check_positive(type(self).__name__, "learning_rate", value)

    def current_learning_rate(self) -> float:
        """The rate of this step, checked: a schedule or callable that went wrong stops here, not in the weights."""
        rate = self.learning_rate
        if not is_number(rate) or rate < 0:
            raise ValueError(
                f"{type(self).__name__}: the learning rate of step {self.iterations} is {rate!r}; "
                f"it must be a finite number >= 0 (weights left as they were)"
            )
        return float(rate)

    def exclude_from_weight_decay(self, var_names: Iterable[str] | None = None) -> None:
        """Parameters whose name contains one of `var_names` (e.g. "bias") get no weight decay (Keras's API)."""
        self._no_decay_names = list(var_names or [])

    # ------------------------------------------------------------------ one step
    def apply_gradients(self, params_and_grads: ParamsAndGrads) -> None:
        """One step: clip, decay the weights, `update` every (key, param, grad), then count the step."""
        learning_rate = self.current_learning_rate()
        triples = list(params_and_grads)
        grads = self._clipped([grad for _, _, grad in triples])
        for (key, param, _), grad in zip(triples, grads):
            if self.weight_decay and not any(name in key for name in self._no_decay_names):
                decay = param * keras_cast(self.weight_decay, param.dtype.type)  # Keras's order: (param wd) lr
                decay *= param.dtype.type(learning_rate)
                param -= decay
            self.update(key, param, grad, learning_rate)
        self.iterations += 1

    def _clipped(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """Keras's _clip_gradients: each g scaled by clipnorm / max(|g|, clipnorm), or all by global_clipnorm /
        max(global norm, global_clipnorm), or each value clipped to [-clipvalue, clipvalue]."""
        if self.clipnorm:
            norms = [np.sqrt(np.sum(np.square(g, dtype=np.float64))) for g in grads]  # tf.clip_by_norm's order:
            return [
                g * g.dtype.type(self.clipnorm) / g.dtype.type(max(norm, self.clipnorm))  # (g c) / max(|g|, c)
                for g, norm in zip(grads, norms)
            ]
        if self.global_clipnorm:
            norm = float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads)))
            scale = self.global_clipnorm * min(1.0 / norm if norm else np.inf, 1.0 / self.global_clipnorm)
            return [g * g.dtype.type(scale) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def update(self, key: str, param: np.ndarray, grad: np.ndarray, learning_rate: float) -> None:
        raise NotImplementedError

    # Keras's optimizer variables (its files): [iterations, learning_rate (unless a schedule), then each group
    # of `keras_slots()` in turn, the group's slots interleaved per trainable parameter], each slot times
    # its sign in `keras_slot_signs` (where minidl keeps the negative of Keras's variable).
    keras_slot_signs: dict[str, float] = {}

    def keras_slots(self) -> list[tuple[str, ...]]:
        return []

    # ------------------------------------------------------------------ state
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

    def get_config(self) -> dict:
        """Keras's config (a schedule as Keras writes one; a callable as the rate it gives now)."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = keras_object(rate)
        return {
            "name": self.name,
            "learning_rate": rate if isinstance(rate, (int, float, dict)) else self.learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }

    @classmethod
    def from_config(cls, config: dict) -> Optimizer:
        """The optimiser of a Keras config (a schedule's config as the schedule)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedule_from_config(config["learning_rate"])
        return cls(**supported_arguments(cls.__name__, config, set(constructor_arguments(cls, stop=object))))
