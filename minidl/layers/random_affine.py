"""RandomRotation, RandomZoom and RandomTranslation: a random affine map of each image (Keras's)."""

from __future__ import annotations

import numpy as np

from .augmentation import RandomImageLayer, factor_range
from .image_transform import FILL_MODES, INTERPOLATIONS, AffineSampling, one_of

ZOOM_BOUNDS = (-1.0 + 1e-12, 1.0)  # Keras: a zoom factor in (-1, 1]


class RandomAffine(RandomImageLayer):
    """A random affine map per image, sampled as keras.ops.image.affine_transform does (see AffineSampling):
    output pixel (x, y) reads the input at A (x, y, 1) with A (2, 3) drawn per image (`transforms`), mapped
    inside by `fill_mode`, interpolated by `interpolation`. dL/dx is the transpose of that sampling: each
    output pixel's gradient added back onto the input pixels it read, with the same weights."""

    def __init__(
        self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None, **kwargs
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = one_of(fill_mode, FILL_MODES, self.owner, "fill_mode")
        self.interpolation = one_of(interpolation, INTERPOLATIONS, self.owner, "interpolation")
        self.fill_value = float(fill_value)

    def transforms(self, n: int, height: int, width: int) -> np.ndarray:
        """(n, 8): each image's map in Keras's form [a0, a1, a2, b0, b1, b2, 0, 0]."""
        raise NotImplementedError

    def transform(self, x):
        n, h, w, _ = x.shape
        transforms = self.transforms(n, h, w)
        self.sampling = AffineSampling(x.shape, transforms, self.interpolation, self.fill_mode, self.fill_value)
        return self.sampling.apply(x)

    def transpose(self, grad):
        return self.sampling.transpose(grad)


def columns(*values) -> np.ndarray:
    """The transforms (n, 8) from 8 columns (arrays of n or numbers)."""
    n = max(np.size(v) for v in values)
    return np.stack([np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(-1), (n,)) for v in values], axis=1)


class RandomRotation(RandomAffine):
    """Keras's RandomRotation: each image turned about its centre by an angle drawn uniformly from
    factor * 360 degrees (factor f: [-f, f]; a pair: [lower, upper]), counter-clockwise for a positive angle
    as Keras draws it: x_in = cos t (x - cx) - sin t (y - cy) + cx, y_in = sin t (x - cx) + cos t (y - cy) + cy,
    cx = (W - 1) / 2, cy = (H - 1) / 2."""

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor_range(factor, self.owner, "factor")

    def transforms(self, n, height, width):
        return self.rotations(self.rng.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, size=n), height, width)

    @staticmethod
    def rotations(degrees: np.ndarray, height: int, width: int) -> np.ndarray:
        """The transforms (n, 8) that turn images of height x width by these angles."""
        angle = np.deg2rad(degrees)
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        return columns(cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0, 0)


class RandomZoom(RandomAffine):
    """Keras's RandomZoom: each image scaled about its centre, x_in = zx (x - cx) + cx, y_in = zy (y - cy) + cy,
    zy = 1 + u, u uniform in height_factor's range (a positive u zooms out); zx likewise from width_factor,
    or zx = zy when width_factor is None (the aspect ratio kept)."""

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = factor_range(height_factor, self.owner, "height_factor", ZOOM_BOUNDS)
        self.width_range = (
            None if width_factor is None else factor_range(width_factor, self.owner, "width_factor", ZOOM_BOUNDS)
        )

    def transforms(self, n, height, width):
        zoom_y = 1.0 + self.rng.uniform(*self.height_range, size=n)
        zoom_x = zoom_y if self.width_range is None else 1.0 + self.rng.uniform(*self.width_range, size=n)
        return self.zooms(zoom_x, zoom_y, height, width)

    @staticmethod
    def zooms(zoom_x: np.ndarray, zoom_y: np.ndarray, height: int, width: int) -> np.ndarray:
        """The transforms (n, 8) that scale images of height x width by these factors (> 1: out)."""
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        return columns(zoom_x, 0, cx * (1.0 - zoom_x), 0, zoom_y, cy * (1.0 - zoom_y), 0, 0)


class RandomTranslation(RandomAffine):
    """Keras's RandomTranslation: each image shifted by dy = u H rows and dx = v W columns, u and v uniform in
    height_factor's and width_factor's ranges: x_in = x - dx, y_in = y - dy."""

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = factor_range(height_factor, self.owner, "height_factor")
        self.width_range = factor_range(width_factor, self.owner, "width_factor")

    def transforms(self, n, height, width):
        dy = self.rng.uniform(*self.height_range, size=n) * height
        dx = self.rng.uniform(*self.width_range, size=n) * width
        return self.shifts(dx, dy)

    @staticmethod
    def shifts(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """The transforms (n, 8) that shift images by dx columns and dy rows."""
        return columns(1, 0, -dx, 0, 1, -dy, 0, 0)
