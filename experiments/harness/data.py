"""The report's data: notMNIST in the seed's split, one-hot targets beside the integer labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from minidl.datasets import notmnist
from minidl.utils import to_categorical

SPLITS = ("train", "valid", "test")
QUICK_SIZES = {"train": 1000, "valid": 500, "test": 500}


@dataclass
class Data:
    """x[split]: inputs; y[split]: one-hot targets (N, 10) float32; labels[split]: integers."""

    x: dict[str, np.ndarray] = field(default_factory=dict)
    y: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, np.ndarray] = field(default_factory=dict)


def load_notmnist(path: str | None, quick: bool, image_shape: tuple = (784,)) -> Data:
    """The seed's split; images reshaped to `image_shape` ((784,) for the MLP, (28, 28, 1) for the CNN);
    `quick`: the first few hundred samples of each split."""
    data = Data()
    for split, (x, labels) in zip(SPLITS, notmnist.load_data(path, dtype="float32")):
        if quick:
            x, labels = x[: QUICK_SIZES[split]], labels[: QUICK_SIZES[split]]
        data.x[split] = x.reshape(len(x), *image_shape)
        data.labels[split] = labels
        data.y[split] = to_categorical(labels, 10, dtype="float32")
    return data
