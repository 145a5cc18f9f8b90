"""notMNIST for the programs, read with NumPy alone (the seed's split), images scaled to [0, 1]."""

import os
from pathlib import Path

import numpy as np

PATH = Path(os.environ.get("MINIDL_NOTMNIST") or Path(__file__).resolve().parents[3] / "shared/data/notMNIST.npz")


def load(train=3000, test=1000):
    with np.load(PATH) as data:
        images, labels = data["images"], data["labels"]
    order = np.random.RandomState(521).permutation(len(images))
    images, labels = (images[order] / 255.0).astype("float32"), labels[order].astype("int64")
    return (images[:train], labels[:train]), (images[16000 : 16000 + test], labels[16000 : 16000 + test])
