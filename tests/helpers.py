"""Small helpers shared by several test modules."""
from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import Iterator

import minidl
from minidl import callbacks
from minidl.layers import Layer
from minidl.optimizers import Optimizer

MINIDL_DIR = Path(minidl.__file__).resolve().parent
COMPUTING_METHODS = ("forward", "backward", "linear", "activate", "update", "apply_gradients")


class WeightsPerEpoch(callbacks.Callback):
    """Records a copy of the model's weights at the end of every epoch: weights[epoch]."""

    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()


def _subclasses(cls: type) -> Iterator[type]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


@contextlib.contextmanager
def computations() -> Iterator[list[str]]:
    """Records every call of a layer's forward/backward (or its linear/activate halves) and of an
    optimiser's update while the block runs: `with computations() as calls: ...`, then e.g. `not calls`
    (a rejected call computed nothing)."""
    calls: list[str] = []

    def counted(method, label):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            calls.append(label)
            return method(*args, **kwargs)
        return wrapper

    originals = [(cls, name, vars(cls)[name]) for base in (Layer, Optimizer) for cls in set(_subclasses(base))
                 for name in COMPUTING_METHODS if name in vars(cls)]
    try:
        for cls, name, method in originals:
            setattr(cls, name, counted(method, f"{cls.__name__}.{name}"))
        yield calls
    finally:
        for cls, name, method in originals:
            setattr(cls, name, method)


def assert_raised_by_a_check(excinfo, calls: list[str]) -> None:
    """The error comes from minidl's own checks, before any computation: raised in minidl's code (not in
    NumPy's) while no forward, backward or update had run (`calls` from `computations()`)."""
    entry = excinfo.traceback[-1]
    path = Path(str(entry.path)).resolve()
    assert MINIDL_DIR in path.parents, f"raised outside minidl, in {path}:{entry.lineno}: {excinfo.value!r}"
    assert not calls, f"raised after computing ({', '.join(dict.fromkeys(calls))}): {excinfo.value!r}"
