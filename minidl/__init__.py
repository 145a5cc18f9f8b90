"""minidl: a small deep-learning framework in NumPy, with Keras's API and every backward pass in sight."""
from . import (callbacks, datasets, initializers, layers, losses, metrics, ops, optimizers, regularizers,
               testing, utils)
from .backend import floatx, set_floatx, set_seed
from .ops import get_num_threads, set_num_threads
from .models import Sequential

__version__ = "0.1.0"
__all__ = ["Sequential", "layers", "losses", "optimizers", "initializers", "regularizers", "metrics",
           "callbacks", "datasets", "ops", "testing", "utils", "floatx", "set_floatx", "set_seed",
           "set_num_threads", "get_num_threads"]
