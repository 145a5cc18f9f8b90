"""Sequential: a stack of layers with Keras's training API (compile, fit, evaluate, predict, summary)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .backend import floatx, make_rng
from .callbacks import Callback, CallbackList, History, ProgressBar
from .io import atomic_savez
from .layers.activations import Softmax
from .layers.base import Layer, format_shape, unique_name
from .layers.core import Input


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite (fit stops and keeps the last good weights)."""


class Sequential:
    """A linear stack of layers.

        model = Sequential([Input((784,)), Dense(1000, activation="relu"), Dense(10, activation="softmax")])
        model.compile(optimizer=SGD(0.1, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=32, epochs=10, validation_data=(x_val, y_val))

    One training step: forward through every layer (training=True), the loss and its gradient,
    backward through the layers in reverse (each stores its parameter gradients), then the
    optimiser updates every parameter.
    """

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None,
                 dtype: str | None = None):
        self.name = name or unique_name("sequential")
        self.dtype = np.dtype(dtype).name if dtype is not None else None
        self.layers: list[Layer] = []
        self.input_shape: tuple | None = None
        self.output_shape: tuple | None = None
        self.built = False
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.metrics: list[metrics_module.Metric] = []
        self.stop_training = False
        self.history: History | None = None
        # Seeds the per-epoch shuffling; drawn from the global generator so that set_seed fixes it.
        self.shuffle_seed = int(make_rng(None).integers(2**31))
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}: {layer!r}")
        if isinstance(layer, Input):
            if self.layers or self.input_shape is not None:
                raise ValueError("Sequential.add: an Input must come first, and only once")
            self.input_shape = layer.declared_input_shape
            self.dtype = self.dtype or layer.dtype
            return
        if not self.layers and self.input_shape is None:
            self.input_shape = layer.declared_input_shape
        self.layers.append(layer)
        self.built = False
        if self.input_shape is not None:
            self.build()  # as Keras: shape errors show up at `add`, naming the layer

    def build(self, input_shape: Sequence | None = None) -> None:
        """Build every layer for `input_shape` (batch axis included or None)."""
        if input_shape is not None:
            self.input_shape = (None, *tuple(input_shape)[1:])
        if self.input_shape is None:
            raise ValueError(f"Model '{self.name}' has no input shape yet: start it with "
                             f"layers.Input(shape), or call fit/predict/build(input_shape)")
        shape = self.input_shape
        for layer in self.layers:
            if layer.dtype is None:
                layer.dtype = self.dtype or floatx()
            shape = layer.build_for(shape)
        self.output_shape = shape
        # Backward stops at the first layer with parameters: no one needs the gradient of its input.
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first_trainable = trainable[0] if trainable else len(self.layers)
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > self._first_trainable
        self.built = True

    @property
    def compute_dtype(self) -> str:
        return self.layers[0].dtype if self.built and self.layers else (self.dtype or floatx())

    def compile(self, optimizer="sgd", loss="categorical_crossentropy", metrics: Sequence | None = None) -> None:
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        self.metrics = [metrics_module.get(m, self.loss) for m in (metrics or [])]

    def _link_loss_to_output(self) -> None:
        """Fuse a final Softmax with a cross-entropy loss: the loss then returns dL/dlogits = (p - y)/N."""
        final = self.layers[-1].output_activation
        if isinstance(final, Softmax):
            self.loss.fused = False
            final.fused_with_loss = self.loss.fuse_with_softmax()

    # ------------------------------------------------------------------ one step
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _regularization_loss(self) -> float:
        return sum(layer.regularization_loss() for layer in self.layers if layer.regularizers)

    def _params_and_grads(self):
        for i, layer in enumerate(self.layers):
            if layer.trainable:
                for name, param in layer.params.items():
                    yield f"{i}/{name}", param, layer.grads[name]

    def _batch_logs(self, y: np.ndarray, y_pred: np.ndarray, loss: float) -> dict[str, float]:
        return {"loss": loss, **{m.name: m(y, y_pred) for m in self.metrics}}

    def train_on_batch(self, x: np.ndarray, y: np.ndarray, return_dict: bool = False) -> float | list | dict:
        """One gradient step on (x, y). Returns, as Keras, the batch's loss (computed before the update),
        or [loss, *metrics] if the model has metrics, or a dict with return_dict=True."""
        x, y = self._prepare(x, y, "train_on_batch")
        self._link_loss_to_output()
        logs = self._train_step(x, y)
        return _keras_return(logs, return_dict)

    def _train_step(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """One step on prepared (x, y), the loss already linked to the output (fit's inner loop)."""
        y_pred = self._forward(x, training=True)
        loss = self.loss.forward(y, y_pred) + self._regularization_loss()
        if not math.isfinite(loss):  # checked before the update: the weights stay the last good ones
            raise NonFiniteLossError(f"the loss is {loss} (weights left as they were before this batch)")
        grad = self.loss.backward()
        for layer in reversed(self.layers[self._first_trainable:]):
            grad = layer.backward(grad)
        for layer in self.layers:
            if layer.regularizers:
                layer.add_regularization_gradients()
        self.optimizer.apply_gradients(self._params_and_grads())
        return self._batch_logs(y, y_pred, loss)

    # ------------------------------------------------------------------ data checks
    def _require_compiled(self, caller: str) -> None:
        if self.optimizer is None or self.loss is None:
            raise RuntimeError(f"You must call compile() before {caller}() on model '{self.name}'")
        if not self.layers:
            raise ValueError(f"Model '{self.name}' has no layers: add some before {caller}()")

    def _prepare_x(self, x, caller: str) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{caller}: x must be numeric, got an array of dtype {x.dtype}")
        if x.ndim == 0 or len(x) == 0:
            raise ValueError(f"{caller}: x is empty (shape {x.shape})")
        if not self.layers:
            raise ValueError(f"Model '{self.name}' has no layers: add some before {caller}()")
        if not self.built:
            self.build(self.input_shape or (None, *x.shape[1:]))
        self.layers[0].check_input_shape(x.shape)
        x = x.astype(self.compute_dtype, copy=False)
        if not np.isfinite(x).all():
            raise ValueError(f"{caller}: x contains NaN or infinite values")
        return x

    def _prepare_y(self, y, n: int, caller: str) -> np.ndarray:
        y = np.asarray(y)
        if len(y) != n:
            raise ValueError(f"{caller}: x and y have different numbers of samples: x has {n}, y has {len(y)}")
        classes = self.output_shape[-1]
        if self.loss.expects_integer_labels:
            y = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
            if y.ndim != 1 or y.dtype.kind not in "biu":
                raise ValueError(f"{caller}: loss '{self.loss.name}' expects integer labels of shape (N,), "
                                 f"got {y.dtype} labels of shape {y.shape}")
            if y.min() < 0 or y.max() >= classes:
                raise ValueError(f"{caller}: labels must be in 0..{classes - 1} for the model's {classes} "
                                 f"outputs, found values in {y.min()}..{y.max()}")
            return y.astype(np.intp, copy=False)
        if y.ndim == 1:
            raise ValueError(f"{caller}: loss '{self.loss.name}' expects one-hot targets of shape (N, {classes}), "
                             f"got labels of shape {y.shape}; use minidl.utils.to_categorical(y, {classes}) "
                             f"or loss='sparse_categorical_crossentropy'")
        if y.shape[1:] != tuple(self.output_shape[1:]):
            raise ValueError(f"{caller}: targets of shape {format_shape((None, *y.shape[1:]))} do not match the "
                             f"model's output shape {format_shape(self.output_shape)}")
        y = y.astype(self.compute_dtype, copy=False)
        if not np.isfinite(y).all():
            raise ValueError(f"{caller}: y contains NaN or infinite values")
        return y

    def _prepare(self, x, y, caller: str) -> tuple[np.ndarray, np.ndarray]:
        self._require_compiled(caller)
        x = self._prepare_x(x, caller)
        return x, self._prepare_y(y, len(x), caller)

    @staticmethod
    def _check_batch_size(batch_size) -> int:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        return int(batch_size)

    # ------------------------------------------------------------------ Keras API
    def fit(self, x, y, batch_size: int = 32, epochs: int = 1, verbose: int | str = "auto",
            callbacks: Sequence[Callback] | None = None, validation_data: tuple | None = None,
            shuffle: bool = True, initial_epoch: int = 0) -> History:
        """Train for `epochs` epochs (counting from `initial_epoch`) and return the History.

        Each epoch's logs hold the batch-size-weighted means of the loss (with weight penalties)
        and metrics over the epoch's batches, then val_loss/val_* computed after the epoch.
        """
        x, y = self._prepare(x, y, "fit")
        batch_size = self._check_batch_size(batch_size)
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            x_val, y_val = self._prepare(*validation_data, "fit (validation_data)")
        self._link_loss_to_output()
        n = len(x)
        steps = math.ceil(n / batch_size)
        verbose = 1 if verbose == "auto" else verbose
        self.history = History()
        callback_list = CallbackList([*(callbacks or []), self.history,
                                      *([ProgressBar(verbose)] if verbose else [])],
                                     self, {"epochs": epochs, "steps": steps, "verbose": verbose})
        self.stop_training = False
        callback_list.on_train_begin()
        epoch_logs: dict[str, float] = {}
        stopped_on_nan = False
        for epoch in range(initial_epoch, epochs):
            callback_list.on_epoch_begin(epoch)
            order = self._epoch_order(n, epoch, shuffle and steps > 1)
            sums: dict[str, float] = {}
            seen = 0
            for step in range(steps):
                start, stop = step * batch_size, min((step + 1) * batch_size, n)
                batch = slice(start, stop) if order is None else order[start:stop]
                callback_list.on_train_batch_begin(step)
                try:
                    batch_logs = self._train_step(x[batch], y[batch])
                except NonFiniteLossError as error:
                    print(f"Epoch {epoch + 1}, batch {step + 1}: {error}; training stopped. Try a smaller "
                          f"learning rate.", flush=True)
                    self.stop_training, stopped_on_nan = True, True
                    break
                size = stop - start
                seen += size
                for key, value in batch_logs.items():
                    sums[key] = sums.get(key, 0.0) + value * size
                epoch_logs = {key: total / seen for key, total in sums.items()}
                callback_list.on_train_batch_end(step, epoch_logs)
                if self.stop_training:
                    break
            if stopped_on_nan:  # a partial epoch with a diverged loss is not recorded
                break
            if validation_data is not None:
                val_logs = self._evaluate_arrays(x_val, y_val, batch_size)
                epoch_logs.update({f"val_{key}": value for key, value in val_logs.items()})
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _epoch_order(self, n: int, epoch: int, shuffle: bool) -> np.ndarray | None:
        """The sample order of an epoch: a permutation that depends only on (shuffle_seed, epoch), so
        a run resumed at `initial_epoch` sees the same batches as an uninterrupted one. (A single
        full batch is not shuffled: its summed gradient would not change.)"""
        if not shuffle:
            return None
        return np.random.default_rng([self.shuffle_seed, epoch]).permutation(n)

    def _evaluate_arrays(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> dict[str, float]:
        sums: dict[str, float] = {}
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            y_pred = self._forward(xb, training=False)
            for key, value in self._batch_logs(yb, y_pred, self.loss.forward(yb, y_pred)).items():
                sums[key] = sums.get(key, 0.0) + value * len(xb)
        logs = {key: total / len(x) for key, total in sums.items()}
        logs["loss"] += self._regularization_loss()  # as Keras: the penalty is part of the loss
        return logs

    def evaluate(self, x, y, batch_size: int = 32, verbose: int | str = "auto",
                 return_dict: bool = False) -> list[float] | dict[str, float]:
        """[loss, *metrics] on (x, y) in inference mode (or a dict with return_dict=True)."""
        x, y = self._prepare(x, y, "evaluate")
        logs = self._evaluate_arrays(x, y, self._check_batch_size(batch_size))
        if verbose not in (0, "auto"):
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return _keras_return(logs, return_dict)

    def predict(self, x, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """The model's outputs for x, computed batch by batch in inference mode."""
        x = self._prepare_x(x, "predict")
        batch_size = self._check_batch_size(batch_size)
        out = np.empty((len(x), *self.output_shape[1:]), dtype=self.compute_dtype)
        for start in range(0, len(x), batch_size):
            out[start:start + batch_size] = self._forward(x[start:start + batch_size], training=False)
        return out

    def __call__(self, x, training: bool = False) -> np.ndarray:
        return self._forward(self._prepare_x(x, "call"), training)

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        weights = list(weights)
        expected = sum(len(layer.weight_names) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays, received {len(weights)}")
        start = 0
        for layer in self.layers:
            count = len(layer.weight_names)
            layer.set_weights(weights[start:start + count])
            start += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def save_weights(self, filepath: str | os.PathLike) -> Path:
        """Save weights (and the optimiser's state, if compiled) to an .npz file, atomically."""
        arrays = {f"layer{i}/{name}": layer._weight(name)
                  for i, layer in enumerate(self.layers) for name in layer.weight_names}
        arrays["architecture"] = np.array(json.dumps(self._architecture()))
        arrays["shuffle_seed"] = np.array(self.shuffle_seed)
        # Random layers (Dropout) continue their streams after a resume exactly as without the break
        arrays["rng_states"] = np.array(json.dumps(
            {str(i): layer.rng.bit_generator.state for i, layer in enumerate(self.layers)
             if isinstance(getattr(layer, "rng", None), np.random.Generator)}))
        if self.optimizer is not None:
            arrays.update({f"optimizer/{k}": v for k, v in self.optimizer.get_state().items()})
        return atomic_savez(filepath, **arrays)

    def _architecture(self) -> list[list]:
        return [[type(layer).__name__, {n: list(layer._weight(n).shape) for n in layer.weight_names}]
                for layer in self.layers]

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights saved by `save_weights` (and the optimiser state, if the model is compiled)."""
        filepath = Path(filepath)
        if filepath.suffix != ".npz" and not filepath.exists():
            filepath = filepath.with_name(filepath.name + ".npz")  # as save_weights names it
        try:
            with np.load(filepath, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except FileNotFoundError:
            raise
        except Exception as error:
            raise ValueError(f"load_weights: cannot read '{filepath}': {error}") from error
        if not self.built:
            raise ValueError(f"load_weights: build model '{self.name}' first (give it an Input)")
        saved = json.loads(str(arrays.get("architecture", "[]")))
        if saved != self._architecture():
            raise ValueError(f"load_weights: '{filepath}' holds weights of another architecture:\n"
                             f"  file:  {saved}\n  model: {self._architecture()}")
        self.set_weights([arrays[f"layer{i}/{name}"]
                          for i, layer in enumerate(self.layers) for name in layer.weight_names])
        self.shuffle_seed = int(arrays.get("shuffle_seed", self.shuffle_seed))
        for index, state in json.loads(str(arrays.get("rng_states", "{}"))).items():
            self.layers[int(index)].rng.bit_generator.state = state
        optimizer_state = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        if self.optimizer is not None and optimizer_state:
            self.optimizer.set_state(optimizer_state)

    # ------------------------------------------------------------------ summary
    def summary(self, print_fn=print) -> None:
        """Print a table like Keras's: each layer's name and type, output shape and parameter count."""
        if not self.built:
            raise ValueError(f"Model '{self.name}' is not built yet: give it an Input or call build()")
        rows = [(f"{layer.name} ({type(layer).__name__})", format_shape(layer.output_shape),
                 f"{layer.count_params():,}") for layer in self.layers]
        widths = [max(32, *(len(r[0]) + 2 for r in rows)), 26, 12]
        line = lambda cells: "".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
        total = self.count_params()
        trainable = sum(p.size for layer in self.layers if layer.trainable for p in layer.params.values())
        itemsize = np.dtype(self.compute_dtype).itemsize
        rule = "_" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(rule)
        print_fn(line(("Layer (type)", "Output Shape", "Param #")))
        print_fn("=" * sum(widths))
        for i, row in enumerate(rows):
            print_fn(line(row))
            print_fn(rule if i < len(rows) - 1 else "=" * sum(widths))
        for label, count in (("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)):
            print_fn(f"{label} params: {count:,} ({_human_bytes(count * itemsize)})")


def _keras_return(logs: dict[str, float], return_dict: bool) -> float | list | dict:
    """Keras's convention: a dict on request, else the loss alone, or [loss, *metrics] with metrics."""
    if return_dict:
        return logs
    return list(logs.values()) if len(logs) > 1 else logs["loss"]


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GB"
