"""minidl: a small deep-learning framework in NumPy, with Keras's API and every backward pass in sight."""

from . import (
    activations,
    allocator,
    backend,
    callbacks,
    config,
    constraints,
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
from .constraints import Constraint
from .initializers import Initializer
from .layers import Input, KerasTensor, Layer
from .losses import Loss
from .metrics import Metric
from .models import Model, Sequential
from .optimizers import Optimizer
from .parallel import get_num_threads, set_num_threads
from .regularizers import Regularizer

__version__ = "0.1.0"
__all__ = [
    "activations",
    "allocator",
    "backend",
    "config",
    "Input",
    "Layer",
    "KerasTensor",
    "Loss",
    "Metric",
    "Optimizer",
    "Initializer",
    "Regularizer",
    "Constraint",
    "models",
    "ops",
    "Model",
    "Sequential",
    "layers",
    "losses",
    "optimizers",
    "initializers",
    "regularizers",
    "constraints",
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
