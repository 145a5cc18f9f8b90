"""Models: `Sequential` (a stack of layers) on the shared `BaseModel`."""

from ..training import NonFiniteLossError
from .base import BaseModel
from .sequential import Sequential

__all__ = ["BaseModel", "Sequential", "NonFiniteLossError"]
