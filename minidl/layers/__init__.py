"""Layers: each file holds one concept, each layer its own forward and backward."""
from .activations import Linear, ReLU, Softmax
from .base import Layer
from .core import Input
from .dense import Dense

__all__ = ["Layer", "Input", "Dense", "ReLU", "Softmax", "Linear"]
