"""Models: `Model` (what every model shares; `Model(inputs, outputs)` makes a `Functional`) and `Sequential`."""

from ..saving import load_model, model_from_json, save_model
from ..training import NonFiniteLossError
from .base import Model
from .cloning import clone_model
from .functional import Functional
from .sequential import Sequential

__all__ = [
    "Functional",
    "Model",
    "Sequential",
    "NonFiniteLossError",
    "clone_model",
    "load_model",
    "model_from_json",
    "save_model",
]
