"""Data sets, loaded as in `keras.datasets`: `notmnist.load_data()`."""

from . import notmnist

__all__ = ["notmnist"]
