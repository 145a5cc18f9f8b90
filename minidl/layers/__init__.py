"""Layers: each file holds one concept, each layer its own forward and backward."""

from .activations import ELU, Activation, LeakyReLU, Linear, PReLU, ReLU, Softmax
from .activity_regularization import ActivityRegularization
from .augmentation import RandomFlip
from .average_pooling import AveragePooling1D, AveragePooling2D
from .base import Layer
from .bidirectional import Bidirectional
from .category_encoding import CategoryEncoding
from .conv import Conv1D, Conv2D
from .conv_transpose import Conv2DTranspose
from .core import Input, InputLayer
from .dense import Dense
from .depthwise_conv import DepthwiseConv2D
from .dropout import Dropout
from .embedding import Embedding
from .flatten import Flatten
from .global_pooling import GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D
from .group_normalization import GroupNormalization
from .gru import GRU
from .index_lookup import IntegerLookup, StringLookup
from .layer_normalization import LayerNormalization, UnitNormalization
from .lstm import LSTM
from .masking import Masking
from .merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from .noise import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from .normalization import BatchNormalization
from .padding import Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D
from .pooling import MaxPooling1D, MaxPooling2D
from .preprocessing import Normalization
from .random_affine import RandomRotation, RandomTranslation, RandomZoom
from .random_color import RandomBrightness, RandomContrast
from .reshape import Identity, Permute, RepeatVector, Rescaling, Reshape
from .resizing import CenterCrop, Resizing
from .separable_conv import SeparableConv2D
from .simple_rnn import SimpleRNN
from .symbolic import KerasTensor
from .text_vectorization import TextVectorization
from .time_distributed import LAYER_CLASSES, TimeDistributed

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "InputLayer",
    "KerasTensor",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "AveragePooling1D",
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling2D",
    "Cropping2D",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "LayerNormalization",
    "Permute",
    "Rescaling",
    "Reshape",
    "SpatialDropout2D",
    "UpSampling2D",
    "ZeroPadding2D",
    "ZeroPadding1D",
    "Cropping1D",
    "UpSampling1D",
    "RepeatVector",
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
    "Conv2DTranspose",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "MaxPooling2D",
    "Flatten",
    "BatchNormalization",
    "Dropout",
    "Embedding",
    "Masking",
    "Normalization",
    "CategoryEncoding",
    "TextVectorization",
    "StringLookup",
    "IntegerLookup",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "RandomBrightness",
    "Resizing",
    "CenterCrop",
    "SpatialDropout1D",
    "GaussianDropout",
    "ActivityRegularization",
    "GroupNormalization",
    "UnitNormalization",
    "Identity",
    "LSTM",
    "GRU",
    "SimpleRNN",
    "Bidirectional",
    "TimeDistributed",
]

# Keras's other names for the same classes (a config names the class itself, as Keras writes it)
Convolution1D, Convolution2D, Convolution2DTranspose, SeparableConvolution2D = (
    Conv1D,
    Conv2D,
    Conv2DTranspose,
    SeparableConv2D,
)
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
ALIASES = [
    "Convolution1D",
    "Convolution2D",
    "Convolution2DTranspose",
    "SeparableConvolution2D",
    "MaxPool1D",
    "MaxPool2D",
    "AvgPool1D",
    "AvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
]

# the layers a TimeDistributed config may wrap
LAYER_CLASSES.update(
    {name: cls for name in __all__ if isinstance(cls := globals()[name], type) and issubclass(cls, Layer)}
)


def __getattr__(name: str):
    """A layer minidl does not have (yet) is an error that lists the ones it has."""
    raise AttributeError(
        f"minidl.layers has no {name!r}; the layers minidl has: {', '.join(sorted(__all__))} (and Keras's other "
        f"names for some: {', '.join(ALIASES)})"
    )
