"""Optimisers with Keras's names, arguments and updates; `schedules` for learning rates that change."""

from __future__ import annotations

from ..registry import Registry
from . import schedules
from .adam import Adam, Adamax, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .base import Optimizer, update_blockwise
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "schedules",
    "get",
    "update_blockwise",
    "OPTIMIZERS",
]

OPTIMIZERS: Registry[Optimizer] = Registry("optimizer", Optimizer, case_sensitive=False)
for _optimizer in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam):
    OPTIMIZERS.register(_optimizer, names=(_optimizer.__name__.lower(),))


def get(identifier: str | Optimizer) -> Optimizer:
    return OPTIMIZERS.get(identifier)
