"""From what a user passes to `fit`/`evaluate`/`predict` to the batches a training step sees.

prepare_x / prepare_xy   checked arrays in the model's dtype (clear errors, nothing changed yet)
epoch_order              the sample order of one epoch, a function of (seed, epoch) alone
batches                  the index of each batch in an epoch's order
ArrayBatches             prepared arrays cut into batches, pass by pass
DatasetBatches           a PyDataset's batches, each checked and prepared when its step needs it
EpochIterator            the batches of each epoch, Keras's way: one pass, or steps_per_epoch of them
epochs_of                what fit, evaluate and predict read, from the arguments as the user gave them
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import warnings
from collections.abc import Iterator

import numpy as np

from . import validation
from .py_dataset import PyDataset

Batch = tuple  # (x, y, sample_weight) of one step, y and sample_weight None where there are none


def require_compiled(model, caller: str) -> None:
    if model.optimizer is None:
        raise RuntimeError(f"You must call compile() before {caller}() on model '{model.name}'")
    if model.loss is None:
        raise ValueError(f"{caller}: No loss to compute. Provide a `loss` argument in `compile()`.")
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers: add some before {caller}()")


class Arrays:
    """The arrays of a model's several inputs (or targets of its several outputs), sliced together:
    arrays[batch] is the batch of each."""

    def __init__(self, arrays: list[np.ndarray]):
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index) -> Arrays:
        return Arrays([a[index] for a in self.arrays])


def prepare_inputs(model, x, caller: str) -> Arrays:
    """A model with several inputs: x as a list (in the inputs' order) or a dict (by the inputs' names) of
    arrays, each checked against its Input, all with the same number of samples."""
    names = [tensor.node.layer.name for tensor in model.inputs]
    x = by_name(model, x, names, "x", "inputs", caller)
    arrays = []
    for name, tensor, value in zip(names, model.inputs, x):
        array = validation.as_array(value, f"x['{name}']", caller)
        tensor.node.layer.check_input_shape(array.shape)
        arrays.append(validation.cast_finite(array, model.compute_dtype, f"x['{name}']", caller))
    if len({len(a) for a in arrays}) > 1:
        raise ValueError(
            f"{caller}: the inputs have different numbers of samples: {dict(zip(names, (len(a) for a in arrays)))}"
        )
    return Arrays(arrays)


def prepare_x(model, x, caller: str) -> np.ndarray | Arrays:
    """x as a finite array of the model's dtype whose sample shape the model takes (building the model
    for it if it has no input shape yet); for a model with several inputs, their arrays (`Arrays`)."""
    if len(getattr(model, "inputs", [])) > 1:
        return prepare_inputs(model, x, caller)
    x = validation.as_array(x, "x", caller)
    if not model.layers:
        raise ValueError(f"Model '{model.name}' has no layers: add some before {caller}()")
    if not model.built:
        if model.input_shape is None and x.ndim < 2:
            raise ValueError(
                f"{caller}: x has shape {x.shape}, but the model needs the batch axis first, "
                f"(N, features...): one sample x[np.newaxis], one feature x.reshape(-1, 1)"
            )
        model.build(model.input_shape or (None, *x.shape[1:]))
    try:
        model.check_input_shape(x.shape)
    except ValueError as error:
        if "validation" in caller:  # say which array: the message alone reads as if x were wrong
            raise ValueError(f"{caller}: {error}") from None
        raise
    return validation.cast_finite(x, model.compute_dtype, "x", caller)


def by_name(model, values, names: list[str], what: str, kind: str, caller: str) -> list:
    """One value per input (or output) of the model, given as a list in their order or a dict by name."""
    if isinstance(values, dict):
        if set(values) != set(names):
            raise ValueError(
                f"{caller}: the keys of {what} {sorted(values)} do not match the model's {kind[:-1]} names {names}"
            )
        return [values[name] for name in names]
    if not isinstance(values, (list, tuple)) or len(values) != len(names):
        given = f"a list of {len(values)} arrays" if isinstance(values, (list, tuple)) else f"a {type(values).__name__}"
        raise ValueError(
            f"{caller}: model '{model.name}' has {len(names)} {kind} {names}: pass {what} as a list of "
            f"{len(names)} arrays or a dict by name, got {given}"
        )
    return list(values)


def prepare_xy(model, x, y, caller: str) -> tuple[np.ndarray | Arrays, np.ndarray | Arrays]:
    """(x, y) checked against the compiled model: y must fit its loss and its output shape (with several
    outputs, each target its output's loss and shape)."""
    require_compiled(model, caller)
    x = prepare_x(model, x, caller)
    if not getattr(model, "multiple_outputs", False):
        return x, validation.check_targets(y, len(x), model.loss, model.output_shape, model.compute_dtype, caller)
    targets = []
    for name, value, loss, shape in zip(
        model.output_names,
        by_name(model, y, model.output_names, "y", "outputs", caller),
        model.loss.losses,
        model.output_shape,
    ):
        if loss is None:  # an output no loss reads: its target only needs the batch axis
            value = validation.as_array(value, f"y['{name}']", caller)
        else:
            value = validation.check_targets(value, len(x), loss, shape, model.compute_dtype, f"{caller} (y['{name}'])")
        targets.append(value)
    return x, Arrays(targets)


def prepare_training_data(
    model, x, y, sample_weight, class_weight, caller: str
) -> tuple[np.ndarray | Arrays, np.ndarray | Arrays, np.ndarray | None]:
    """(x, y, sample weights) checked, the weights from `sample_weight` (one per sample) or from
    `class_weight` ({class: weight}, as Keras: by the arg-max of one-hot targets, else the rounded label)."""
    x, y = prepare_xy(model, x, y, caller)
    if class_weight is not None and isinstance(y, Arrays):
        raise ValueError(f"{caller}: `class_weight` is only supported for Models with a single output.")
    if sample_weight is not None and class_weight is not None:
        raise ValueError(
            f"{caller}: Arguments `sample_weight` and `class_weight` cannot be specified at the "
            f"same time. Received: sample_weight={type(sample_weight).__name__}, "
            f"class_weight={type(class_weight).__name__}"
        )
    if class_weight is not None:
        sample_weight = class_weights_to_sample_weights(y, class_weight, caller)
    elif sample_weight is not None:
        sample_weight = validation.as_array(sample_weight, "sample_weight", caller).astype(np.float64)
        if sample_weight.shape != (len(x),):
            raise ValueError(
                f"{caller}: sample_weight must hold one weight per sample, shape ({len(x)},), got "
                f"shape {sample_weight.shape}"
            )
        if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
            raise ValueError(f"{caller}: sample_weight must be finite and >= 0")
    return x, y, sample_weight


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict, caller: str) -> np.ndarray:
    """Keras's class_weight_to_sample_weights: each sample weighs its class's weight."""
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"{caller}: class_weight must be a dict {{class index: weight}}, got {type(class_weight).__name__}"
        )
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else np.round(y.reshape(len(y), -1)[:, 0])
    labels = labels.astype(np.int64)
    missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"{caller}: class_weight has no weight for class(es) {missing}; it has {sorted(class_weight)}")
    table = np.zeros(int(max(max(class_weight), labels.max())) + 1)
    for label, weight in class_weight.items():
        table[int(label)] = float(weight)
    return table[labels]


def split_off_validation(
    x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, fraction: float
) -> tuple[tuple, tuple]:
    """Keras's validation_split: the last `fraction` of the samples, before any shuffling, is held out
    (the split at floor(n (1 - fraction)))."""
    split_at = int(math.floor(len(x) * (1.0 - fraction)))
    if split_at == 0 or split_at == len(x):
        raise ValueError(
            f"fit: validation_split={fraction} leaves {'no training' if split_at == 0 else 'no validation'}"
            f" samples of {len(x)}"
        )
    w, w_val = (None, None) if sample_weight is None else (sample_weight[:split_at], sample_weight[split_at:])
    return (x[:split_at], y[:split_at], w), (x[split_at:], y[split_at:], w_val)


def epoch_order(seed: int, epoch: int, n: int, shuffle: bool) -> np.ndarray | None:
    """The sample order of an epoch: a permutation that depends only on (seed, epoch), so a run resumed
    at `initial_epoch` sees the same batches as an uninterrupted one. None: the samples in order."""
    if not shuffle:
        return None
    return np.random.default_rng([seed, epoch]).permutation(n)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def batches(n: int, batch_size: int, order: np.ndarray | None = None) -> Iterator[slice | np.ndarray]:
    """The index of each batch of `batch_size` samples (the last one smaller): slices of 0..n-1, or
    pieces of `order`."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]


class BatchSource:
    """Where an EpochIterator's batches come from: `one_pass(epoch, seed)` yields prepared (x, y, sample
    weights) batches, `num_batches` in a pass (None: endless, or unknown for a stream), `targets` (a
    batch's y, what the metrics are resolved from); the data's hooks around each epoch; `is_stream`: a
    pass goes on where the last stopped (a generator)."""

    num_batches: int | None = None
    targets = None
    is_stream = False

    def one_pass(self, epoch: int, seed: int) -> Iterator[Batch]:
        raise NotImplementedError

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


class ArrayBatches(BatchSource):
    """Prepared arrays (x, and y and sample weights if given) in batches of `batch_size`; each pass in
    its epoch's order (epoch_order: shuffled by the seed and the epoch, a single batch never)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size: int = 32, shuffle: bool = False):
        self.x, self.y, self.sample_weight, self.batch_size = x, y, sample_weight, batch_size
        self.num_batches: int | None = steps_per_epoch(len(x), batch_size)
        self.shuffle = shuffle and self.num_batches > 1
        self.targets = y  # what the metrics are resolved from

    def one_pass(self, epoch: int, seed: int) -> Iterator[Batch]:
        order = epoch_order(seed, epoch, len(self.x), self.shuffle)
        for batch in batches(len(self.x), self.batch_size, order):
            weights = None if self.sample_weight is None else self.sample_weight[batch]
            yield self.x[batch], None if self.y is None else self.y[batch], weights


class DatasetBatches(BatchSource):
    """A PyDataset's batches, each checked and prepared as arrays are (`prepare_training_data`, or
    `prepare_x` without targets) when its step needs it; errors name the batch. A pass goes through the
    indices in order, or shuffled by the seed and the epoch (Keras shuffles them with Python's `random`).
    Batch 0 is read first, for the shapes the metrics are resolved from."""

    def __init__(self, model, dataset: PyDataset, class_weight, shuffle: bool, caller: str, targets: bool = True):
        self.model, self.dataset, self.class_weight = model, dataset, class_weight
        self.caller, self.with_targets = caller, targets
        self.num_batches = dataset.num_batches
        if self.num_batches is not None and self.num_batches < 1:
            raise ValueError(f"{caller}: the {type(dataset).__name__} has no batches (its length is 0)")
        self.shuffle = shuffle and self.num_batches is not None
        self.targets = self.prepared(0)[1] if targets else None

    def prepared(self, index: int) -> Batch:
        where = f"{self.caller} (batch {index} of the {type(self.dataset).__name__})"
        return prepare_batch(self.model, self.dataset[index], self.class_weight, self.with_targets, where)

    def one_pass(self, epoch: int, seed: int) -> Iterator[Batch]:
        order = None if self.num_batches is None else epoch_order(seed, epoch, self.num_batches, self.shuffle)
        indices = itertools.count() if self.num_batches is None else range(self.num_batches) if order is None else order
        for index in indices:
            yield self.prepared(int(index))

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


def prepare_batch(model, batch, class_weight, with_targets: bool, where: str) -> Batch:
    """A batch as Keras takes a PyDataset's or a generator's: (x,), (x, y) or (x, y, sample_weight) (a
    list as a tuple, an array or a dict of inputs by name as (x,)), checked and in the model's dtype;
    only x `with_targets` False (predict)."""
    if isinstance(batch, (np.ndarray, dict)):
        batch = (batch,)
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple) or len(batch) not in (1, 2, 3):
        raise ValueError(
            f"{where}: a batch must be a tuple (inputs,), (inputs, targets) or (inputs, targets, "
            f"sample_weights); got {type(batch).__name__} {str(batch)[:100]}"
        )
    if not with_targets:
        return prepare_x(model, batch[0], where), None, None
    if len(batch) == 1:
        raise ValueError(f"{where}: the batch holds inputs only; training and evaluation need (x, y)")
    x, y, weights = (*batch, None)[:3]
    return prepare_training_data(model, x, y, weights, class_weight, where)


class GeneratorBatches(BatchSource):
    """A Python generator's (or any iterator's) batches, as Keras takes them, each prepared as a
    PyDataset's. A generator cannot start again: every pass goes on where the last one stopped, so an
    epoch takes steps_per_epoch batches of the one stream, or, without it, the rest of the stream, and
    fit stops once it has run out. Its first batch is read first, for the shapes."""

    is_stream = True

    def __init__(self, model, generator, class_weight, caller: str, targets: bool = True):
        self.model, self.class_weight, self.caller, self.with_targets = model, class_weight, caller, targets
        self.read = 0
        stream = iter(generator)
        first = next(stream, None)
        if first is None:
            raise ValueError(f"{caller}: the generator must yield at least one batch; it yielded none")
        self.first = self.prepared(first)
        self.stream = itertools.chain([self.first], map(self.prepared, stream))
        self.targets = self.first[1]

    def prepared(self, batch) -> Batch:
        where = f"{self.caller} (batch {self.read} of the generator)"
        self.read += 1
        return prepare_batch(self.model, batch, self.class_weight, self.with_targets, where)

    def one_pass(self, epoch: int, seed: int) -> Iterator[Batch]:
        return self.stream


def is_generator(x) -> bool:
    """A generator or another iterator (not arrays, lists or a PyDataset): batches one after another."""
    return isinstance(x, Iterator) and not isinstance(x, np.ndarray)


def epochs_of(
    model,
    x,
    y,
    sample_weight,
    class_weight,
    batch_size: int | None,
    shuffle: bool,
    steps: int | None,
    caller: str,
    targets: bool = True,
) -> EpochIterator:
    """The epochs fit, evaluate (or, without `targets`, predict) reads, from the arguments as the user gave
    them: a PyDataset's or a generator's batches, or the arrays prepared and cut into batches (of
    `batch_size`; if None, as Keras: ceil(N / steps) with `steps`, else 32)."""
    steps = checked_steps(steps, caller)
    if isinstance(x, PyDataset):
        for name, value, what in (("y", y, "the targets"), ("sample_weight", sample_weight, "the sample weights")):
            if value is not None:
                raise ValueError(
                    f"{caller}: When providing `x` as a PyDataset, `{name}` should not be passed. Instead, "
                    f"{what} should be included as part of the PyDataset."
                )
        return EpochIterator(DatasetBatches(model, x, class_weight, shuffle, caller, targets), steps, caller)
    if is_generator(x):
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"{caller}: When providing `x` as a generator, `{name}` should not be passed")
        return EpochIterator(GeneratorBatches(model, x, class_weight, caller, targets), steps, caller)
    if not targets:
        x = prepare_x(model, x, caller)
    else:
        x, y, sample_weight = prepare_training_data(model, x, y, sample_weight, class_weight, caller)
    return array_epochs(x, y, sample_weight, batch_size, shuffle, steps, caller)


def array_epochs(
    x, y, sample_weight, batch_size: int | None, shuffle: bool, steps: int | None, caller: str
) -> EpochIterator:
    """The epochs of prepared arrays (batch_size None: see epochs_of)."""
    steps = checked_steps(steps, caller)
    if batch_size is None:
        batch_size = math.ceil(len(x) / steps) if steps else 32
    return EpochIterator(ArrayBatches(x, y, sample_weight, batch_size, shuffle), steps, caller)


def checked_steps(steps, caller: str) -> int | None:
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1):
        raise ValueError(f"{caller}: the number of steps must be a positive integer or None, got {steps!r}")
    return None if steps is None else int(steps)


class EpochIterator:
    """The batches of each epoch, as Keras's EpochIterator. Without `steps` an epoch is one pass over the
    data. With `steps` (fit's steps_per_epoch, evaluate's and predict's steps) an epoch takes the next
    `steps` batches of the current pass, which goes on into the next epochs; a pass that runs out ends
    its epoch early, with Keras's warning, and the next epoch starts a new one (a generator cannot:
    `ran_out` tells fit to stop once its stream has ended). The data's on_epoch_begin and on_epoch_end
    run around every epoch; `reset` (as fit and evaluate do first) calls on_epoch_end once more, as Keras
    does."""

    def __init__(self, source: BatchSource, steps: int | None, caller: str):
        self.is_stream = source.is_stream
        if steps is None and source.num_batches is None and not self.is_stream:
            raise ValueError(
                f"{caller}: the data is endless (its num_batches is None): pass the number of steps "
                "(fit's steps_per_epoch, evaluate's and predict's steps)"
            )
        self.source, self.steps = source, steps
        self.num_batches = steps or source.num_batches
        self._pass: Iterator[Batch] | None = None
        self._seen = 0
        self.ran_out = False

    def reset(self) -> None:
        self._pass, self._seen = None, 0
        self.source.on_epoch_end()

    @contextlib.contextmanager
    def epoch(self, epoch: int, seed: int = 0) -> Iterator[Iterator[Batch]]:
        """with iterator.epoch(e, seed) as batches: the epoch's batches (a new pass shuffled, if the data
        shuffles, by (seed, e)); on_epoch_end runs when the block ends, even if it stops early."""
        self.source.on_epoch_begin()
        try:
            yield self._batches(epoch, seed)
        finally:
            self.source.on_epoch_end()

    def _batches(self, epoch: int, seed: int) -> Iterator[Batch]:
        total, taken = self.source.num_batches, 0
        if self._pass is None or self.steps is None:
            self._pass, self._seen = self.source.one_pass(epoch, seed), 0
        batch: Batch | None = None
        while self.steps is None or taken < self.steps:
            batch = None if total is not None and self._seen >= total else next(self._pass, None)
            if batch is None:
                break
            self._seen, taken = self._seen + 1, taken + 1
            yield batch
        ended = total is not None and self._seen >= total or batch is None
        self.ran_out = self.is_stream and batch is None
        if self.steps is not None and taken < self.steps:
            warn_ran_out()
        if ended:
            self._pass = None


def warn_ran_out() -> None:
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
        "generate at least `steps_per_epoch * epochs` batches.",
        stacklevel=3,
    )
