"""minidl: a small deep-learning framework in NumPy, with Keras's API and every backward pass in sight."""
from . import (callbacks, datasets, initializers, layers, losses, metrics, optimizers, regularizers,
               testing, utils)
from .backend import floatx, set_floatx, set_seed
from .models import Sequential

__version__ = "0.1.0"
__all__ = ["Sequential", "layers", "losses", "optimizers", "initializers", "regularizers", "metrics",
           "callbacks", "datasets", "testing", "utils", "floatx", "set_floatx", "set_seed"]
