"""Models: `Sequential` (a stack of layers) on the shared `BaseModel`."""

from ..training import NonFiniteLossError
from .base import BaseModel
from .functional import Functional, Model
from .sequential import Sequential

__all__ = ["BaseModel", "Functional", "Model", "Sequential", "NonFiniteLossError"]
