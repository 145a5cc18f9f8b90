"""Layers: each file holds one concept, each layer its own forward and backward."""

from .activations import ELU, Activation, LeakyReLU, Linear, PReLU, ReLU, Softmax
from .base import Layer
from .conv import Conv2D
from .core import Input
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .normalization import BatchNormalization
from .pooling import MaxPooling2D

__all__ = [
    "Activation",
    "ELU",
    "LeakyReLU",
    "PReLU",
    "Layer",
    "Input",
    "Dense",
    "ReLU",
    "Softmax",
    "Linear",
    "Conv2D",
    "MaxPooling2D",
    "Flatten",
    "BatchNormalization",
    "Dropout",
]
