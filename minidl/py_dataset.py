"""PyDataset: batches made by Python code, one per index, for fit, evaluate and predict (Keras's
keras.utils.PyDataset, and its older name keras.utils.Sequence)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any


class PyDataset:
    """Keras's PyDataset. Subclass it with `__len__` (the batches in one pass) and `__getitem__(index)`,
    which returns the batch `index` (0 <= index < len) as (x, y) or (x, y, sample_weight), or x alone
    (or (x,)) for predict; `on_epoch_begin()` and `on_epoch_end()` run around every epoch (e.g. to shuffle
    the samples between epochs). An endless dataset has num_batches None (fit then needs
    steps_per_epoch).

        class Batches(minidl.utils.PyDataset):
            def __init__(self, x, y, batch_size, **kwargs):
                super().__init__(**kwargs)
                self.x, self.y, self.batch_size = x, y, batch_size

            def __len__(self):
                return math.ceil(len(self.x) / self.batch_size)

            def __getitem__(self, index):
                part = slice(index * self.batch_size, (index + 1) * self.batch_size)
                return self.x[part], self.y[part]

    `workers`, `use_multiprocessing` and `max_queue_size` are Keras's arguments, kept for code that
    passes them: minidl makes each batch on the calling thread when its step needs it.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) -> a batch")

    def __iter__(self) -> Iterator[Any]:
        count = self.num_batches
        for index in itertools.count() if count is None else range(count):
            yield self[index]

    @property
    def num_batches(self) -> int | None:
        """The batches in one pass (len(self)); None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__, or the num_batches property (None if endless)"
        )

    def on_epoch_begin(self) -> None:
        """Called at the beginning of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras 2's name, kept by Keras 3 as keras.utils.Sequence
