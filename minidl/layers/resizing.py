"""Resizing and CenterCrop: images brought to a fixed size (Keras's, TensorFlow's image.resize)."""

from __future__ import annotations

import numpy as np

from .base import Layer
from .conv import check_rank4, positive_integer
from .image_transform import one_of


def resize_weights(size_in: int, size_out: int, interpolation: str) -> np.ndarray:
    """The (size_out, size_in) matrix of TensorFlow's resize along one axis, half-pixel centres: output i
    reads the input at s = (i + 0.5) size_in / size_out - 0.5 (float32, as its kernel), "bilinear": weight
    1 - (s - floor s) at max(floor s, 0) and s - floor s at min(ceil s, size_in - 1); "nearest": 1 at
    min(floor((i + 0.5) size_in / size_out), size_in - 1)."""
    scale = np.float32(size_in / size_out)
    centres = (np.arange(size_out, dtype=np.float32) + np.float32(0.5)) * scale
    weights = np.zeros((size_out, size_in), dtype=np.float32)
    rows = np.arange(size_out)
    if interpolation == "nearest":
        weights[rows, np.minimum(np.floor(centres), size_in - 1).astype(np.intp)] = 1
        return weights
    source = centres - np.float32(0.5)
    floor = np.floor(source)
    lerp = source - floor
    np.add.at(weights, (rows, np.maximum(floor, 0).astype(np.intp)), 1 - lerp)
    np.add.at(weights, (rows, np.minimum(np.ceil(source), size_in - 1).astype(np.intp)), lerp)
    return weights


def aspect_crop(height: int, width: int, target: tuple[int, int]) -> tuple[slice, slice]:
    """Keras's crop_to_aspect_ratio: the largest centred window of the target's aspect ratio."""
    crop_height = max(min(height, int(np.float32(width * target[0]) / np.float32(target[1]))), 1)
    crop_width = max(min(width, int(np.float32(height * target[1]) / np.float32(target[0]))), 1)
    top, left = int((height - crop_height) / 2), int((width - crop_width) / 2)
    return slice(top, top + crop_height), slice(left, left + crop_width)


class Resizing(Layer):
    """Keras's Resizing: y = R_h x R_w^T per image and channel, R_h (height, H) and R_w (width, W) the
    interpolation matrices of resize_weights (with crop_to_aspect_ratio, x first cropped to the target's
    aspect ratio, centred). Shapes: (N, H, W, C) -> (N, height, width, C). Backward: the transposes,
    dL/dx = R_h^T g R_w (and zeros where the crop cut).   No parameters."""

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        data_format: str | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.height, self.width = positive_integer(height, owner, "height"), positive_integer(width, owner, "width")
        self.interpolation = one_of(interpolation, ("bilinear", "nearest"), owner, "interpolation")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        one_of(data_format, (None, "channels_last"), owner, "data_format (minidl's images are channels-last)")
        self.data_format = "channels_last"

    def build(self, input_shape):
        check_rank4(self, input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def _window(self, h: int, w: int) -> tuple[slice, slice]:
        return aspect_crop(h, w, (self.height, self.width)) if self.crop_to_aspect_ratio else (slice(0, h), slice(0, w))

    def forward(self, x, training=False):
        rows, columns = self._window(*x.shape[1:3])
        self.input_shape_seen, self.window = x.shape, (rows, columns)
        x = x[:, rows, columns]
        n, h, w, c = x.shape
        self.weights_h = resize_weights(h, self.height, self.interpolation).astype(x.dtype)
        self.weights_w = resize_weights(w, self.width, self.interpolation).astype(x.dtype)
        tall = np.matmul(self.weights_h, x.reshape(n, h, w * c))  # (N, height, W C)
        return np.matmul(self.weights_w, tall.reshape(n * self.height, w, c)).reshape(n, self.height, self.width, c)

    def backward(self, grad_output):
        n, _, _, c = grad_output.shape
        w = self.weights_w.shape[1]
        wide = np.matmul(self.weights_w.T, grad_output.reshape(n * self.height, self.width, c))  # (N height, W, C)
        dx = np.matmul(self.weights_h.T, wide.reshape(n, self.height, w * c))
        if self.window == (slice(0, self.input_shape_seen[1]), slice(0, self.input_shape_seen[2])):
            return dx.reshape(self.input_shape_seen)
        full = np.zeros(self.input_shape_seen, dtype=grad_output.dtype)
        full[:, self.window[0], self.window[1]] = dx.reshape(n, -1, w, c)
        return full


class CenterCrop(Resizing):
    """Keras's CenterCrop: the centred height x width window of each image (top row (H - height) // 2, left
    column (W - width) // 2); an image smaller than that on either side is cropped to the target's aspect
    ratio and resized instead (bilinear, as Keras's smart_resize). Backward: dL/dy back in the window,
    zeros around it (or Resizing's)."""

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(height, width, crop_to_aspect_ratio=True, data_format=data_format, **kwargs)

    not_in_config = ("interpolation", "crop_to_aspect_ratio")

    def forward(self, x, training=False):
        h, w = x.shape[1:3]
        if h < self.height or w < self.width:
            self.cropped = False
            return super().forward(x, training)
        self.cropped, self.input_shape_seen = True, x.shape
        top, left = (h - self.height) // 2, (w - self.width) // 2
        self.window = (slice(top, top + self.height), slice(left, left + self.width))
        return x[:, self.window[0], self.window[1]]

    def backward(self, grad_output):
        if not self.cropped:
            return super().backward(grad_output)
        full = np.zeros(self.input_shape_seen, dtype=grad_output.dtype)
        full[:, self.window[0], self.window[1]] = grad_output
        return full
