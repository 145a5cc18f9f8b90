"""minidl: a small deep-learning framework in NumPy, with Keras's API and every backward pass in sight."""

from . import (
    activations,
    allocator,
    backend,
    callbacks,
    config,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    parallel,
    plotting,
    regularizers,
    saving,
    testing,
    training,
    utils,
)
from .backend import floatx, set_floatx, set_seed
from .layers import Input
from .models import Model, Sequential
from .parallel import get_num_threads, set_num_threads

__version__ = "0.1.0"
__all__ = [
    "activations",
    "allocator",
    "backend",
    "config",
    "Input",
    "models",
    "ops",
    "Model",
    "Sequential",
    "layers",
    "losses",
    "optimizers",
    "initializers",
    "regularizers",
    "metrics",
    "callbacks",
    "datasets",
    "parallel",
    "plotting",
    "saving",
    "testing",
    "training",
    "utils",
    "floatx",
    "set_floatx",
    "set_seed",
    "set_num_threads",
    "get_num_threads",
]
