"""Models: `Model` (what every model shares; `Model(inputs, outputs)` makes a `Functional`) and `Sequential`."""

from ..training import NonFiniteLossError
from .base import Model
from .functional import Functional
from .sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "NonFiniteLossError"]
