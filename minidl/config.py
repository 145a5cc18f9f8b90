"""keras.config's settings a program reads or sets: the float type and the fuzz factor."""

from .backend import epsilon, floatx, set_floatx

__all__ = ["floatx", "set_floatx", "epsilon"]
