"""Keras's affine_transform of a batch of images (its TensorFlow kernel, ImageProjectiveTransformV3), as a map
whose backward is its transpose: what RandomRotation, RandomZoom and RandomTranslation apply."""

from __future__ import annotations

import numpy as np

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")


def one_of(value, choices: tuple, owner: str, name: str):
    """value if it is one of `choices`, else a clear error naming the owner and the argument."""
    if value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {choices}, got {value!r}")
    return value


def map_coordinates(coordinate: np.ndarray, length: int, fill_mode: str) -> np.ndarray:
    """An input coordinate (float32) outside [0, length - 1] brought inside by the fill mode, as TensorFlow does:
    "reflect" (d c b a | a b c d | d c b a), "wrap" (a b c d | a b c d), "nearest" (the edge); "constant" as
    is (the reads outside give fill_value)."""
    if fill_mode == "constant":
        return coordinate
    if length <= 1:
        return np.zeros_like(coordinate)
    c = coordinate
    if fill_mode == "reflect":
        size2 = 2 * length
        below = np.trunc(-c / size2) * size2 + c  # a negative coordinate within (-2 length, 0]
        below = np.where(below < -length, below + size2, -below - 1)
        above = c - np.trunc(c / size2) * size2
        above = np.where(above >= length, size2 - above - 1, above)
        c = np.where(c < 0, below, np.where(c > length - 1, above, c))
    elif fill_mode == "wrap":
        size = length - 1
        below = c + length * (np.trunc(-c / size) + 1)
        above = c - length * np.trunc(c / size)
        c = np.where(c < 0, below, np.where(c > length - 1, above, c))
    return np.clip(c, 0, length - 1).astype(np.float32)


class AffineSampling:
    """The sampling of one affine_transform: for each output pixel, the input pixels it reads and their
    weights (4 for "bilinear", 1 for "nearest"); read (`apply`) and its transpose (`transpose`).

    Output pixel (x, y) of image n reads the input at
        x_in = (t0 x + t1 y + t2) / k,  y_in = (t3 x + t4 y + t5) / k,  k = t6 x + t7 y + 1
    (t = transforms[n], Keras's 8-number form), mapped inside by the fill mode; "bilinear":
        out = (y1 - y_in) [(x1 - x_in) I(y0, x0) + (x_in - x0) I(y0, x1)]
            + (y_in - y0) [(x1 - x_in) I(y1, x0) + (x_in - x0) I(y1, x1)],   x0 = floor(x_in), x1 = x0 + 1
    with I = fill_value outside the image. Shapes: images (N, H, W, C), transforms (N, 8) or (8,).
    """

    def __init__(self, shape: tuple, transforms: np.ndarray, interpolation: str, fill_mode: str, fill_value: float):
        n, h, w, _ = shape
        t = np.broadcast_to(np.asarray(transforms, dtype=np.float32).reshape(-1, 8), (n, 8))[:, :, None, None]
        y, x = (a.astype(np.float32) for a in np.mgrid[0:h, 0:w])
        projection = t[:, 6] * x + t[:, 7] * y + np.float32(1)
        x_in = map_coordinates((t[:, 0] * x + t[:, 1] * y + t[:, 2]) / projection, w, fill_mode)
        y_in = map_coordinates((t[:, 3] * x + t[:, 4] * y + t[:, 5]) / projection, h, fill_mode)
        if interpolation == "nearest":
            corners = [(np.round(y_in), np.round(x_in), np.ones_like(x_in))]
        else:
            y0, x0 = np.floor(y_in), np.floor(x_in)
            y1, x1 = y0 + 1, x0 + 1
            corners = [
                (y0, x0, (y1 - y_in) * (x1 - x_in)),
                (y0, x1, (y1 - y_in) * (x_in - x0)),
                (y1, x0, (y_in - y0) * (x1 - x_in)),
                (y1, x1, (y_in - y0) * (x_in - x0)),
            ]
        self.shape, self.fill_value = shape, np.float32(fill_value)
        samples = np.arange(n)[:, None, None] * (h * w)
        self.reads = []  # (flat input index (N, H, W), inside (N, H, W), weight (N, H, W, 1)) per corner
        for yc, xc, weight in corners:
            inside = (yc >= 0) & (yc < h) & (xc >= 0) & (xc < w) & (projection != 0)
            flat = samples + np.clip(yc, 0, h - 1).astype(np.intp) * w + np.clip(xc, 0, w - 1).astype(np.intp)
            self.reads.append((flat, inside, weight[..., None]))

    def apply(self, images: np.ndarray) -> np.ndarray:
        """The transformed images (N, H, W, C): each output pixel the weighted sum of the pixels it reads."""
        pixels = images.reshape(-1, images.shape[-1])
        out = np.zeros(images.shape, dtype=images.dtype)
        for flat, inside, weight in self.reads:
            read = np.where(inside[..., None], pixels[flat], self.fill_value).astype(images.dtype, copy=False)
            out += weight * read
        return out

    def transpose(self, grad: np.ndarray) -> np.ndarray:
        """dL/d(images) from dL/d(output) (N, H, W, C): each output pixel's gradient, times its weights, added
        back onto the input pixels it read (those read outside, as fill_value, get nothing)."""
        out = np.zeros((self.shape[0] * self.shape[1] * self.shape[2], grad.shape[-1]), dtype=grad.dtype)
        for flat, inside, weight in self.reads:
            np.add.at(out, flat[inside], (weight * grad)[inside])
        return out.reshape(grad.shape)


def affine_transform(
    images: np.ndarray,
    transform: np.ndarray,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
) -> np.ndarray:
    """keras.ops.image.affine_transform for channels-last images (N, H, W, C) or one image (H, W, C)."""
    one_of(interpolation, INTERPOLATIONS, "affine_transform", "interpolation")
    one_of(fill_mode, FILL_MODES, "affine_transform", "fill_mode")
    images = np.asarray(images)
    single = images.ndim == 3
    batch = images[None] if single else images
    out = AffineSampling(batch.shape, transform, interpolation, fill_mode, fill_value).apply(batch)
    return out[0] if single else out
