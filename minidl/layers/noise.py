"""GaussianNoise, GaussianDropout, SpatialDropout1D and SpatialDropout2D: regularisation by noise, in
training only."""

from __future__ import annotations

import numpy as np

from ..arguments import check_fraction
from ..backend import make_rng
from .base import Layer
from .dropout import Dropout


class GaussianNoise(Layer):
    """Training: y = x + e, e ~ Normal(0, stddev^2) drawn anew each call; inference: y = x.
    Backward: dL/dx = dL/dy.   No parameters. `seed` fixes the draws (None: the global generator)."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, stddev: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not stddev >= 0:
            raise ValueError(f"GaussianNoise '{self.name}': stddev must be >= 0, got {stddev!r}")
        self.stddev, self.seed = float(stddev), seed
        self.rng = make_rng(seed)

    def forward(self, x, training=False):
        if not training or self.stddev == 0:
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)  # float32 draws for float32
        noise = self.rng.standard_normal(x.shape, dtype=dtype)
        noise *= dtype.type(self.stddev)
        noise += x
        return noise

    def backward(self, grad_output):
        return grad_output


class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps: the mask has shape (N, 1, 1, C) (see Dropout for the maths)."""

    def get_config(self):
        """Keras's SpatialDropout2D takes rate, data_format, seed, name and dtype (no noise_shape: one
        mask value per channel is the layer itself; no trainable)."""
        config = {key: value for key, value in super().get_config().items() if key not in ("noise_shape", "trainable")}
        return {**config, "data_format": "channels_last"}

    @classmethod
    def from_config(cls, config):
        return super().from_config(
            {
                key: value
                for key, value in config.items()
                if key != "data_format" or value is None or value == "channels_last"
            }
        )

    rank = 4

    def build(self, input_shape):
        if len(input_shape) != self.rank:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim={self.rank}, "
                f"found ndim={len(input_shape)}"
            )

    def _mask_shape(self, shape):
        return (shape[0], 1, 1, shape[3])


class SpatialDropout1D(SpatialDropout2D):
    """Dropout of whole channels of a sequence: the mask has shape (N, 1, C) (see Dropout for the maths)."""

    rank = 3

    def get_config(self):
        """Keras's SpatialDropout1D takes rate, seed, name and dtype."""
        return {key: value for key, value in super().get_config().items() if key != "data_format"}

    def _mask_shape(self, shape):
        return (shape[0], 1, shape[2])


class GaussianDropout(Layer):
    """Training: y = x e, e ~ Normal(1, rate / (1 - rate)) drawn anew each call for every value; inference:
    y = x. Backward: dL/dx = dL/dy e.   No parameters. `seed` fixes the draws (None: the global generator)."""

    supports_masking = True  # passes its input's mask on (minidl.masking)

    def __init__(self, rate: float, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = check_fraction(f"GaussianDropout '{self.name}'", "rate", rate), seed
        self.rng = make_rng(seed)
        self.noise: np.ndarray | None = None

    def forward(self, x, training=False):
        self.noise = None
        if not training or self.rate == 0:
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        self.noise = self.rng.standard_normal(x.shape, dtype=dtype)
        self.noise *= dtype.type(np.sqrt(self.rate / (1.0 - self.rate)))
        self.noise += dtype.type(1)
        return x * self.noise

    def backward(self, grad_output):
        return grad_output if self.noise is None else grad_output * self.noise
