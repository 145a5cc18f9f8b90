"""Sequential: a stack of layers with Keras's training API (compile, fit, evaluate, predict, summary)."""
from __future__ import annotations

import copy
import json
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import validation
from .backend import floatx, make_rng
from .callbacks import Callback, CallbackList, History, ProgressBar
from .inference import inference_steps
from .io import atomic_savez, read_npz
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
        # Optimiser state read by load_weights before compile(): compile() restores it (resume works
        # in either order: load_weights then compile, or compile then load_weights).
        self._pending_optimizer_state: tuple[str | None, dict] | None = None
        # Seeds the per-epoch shuffling; drawn from the global generator so that set_seed fixes it.
        self.shuffle_seed = int(make_rng(None).integers(2**31))
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> None:
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer instance, got the class {layer.__name__}: "
                            f"call it, e.g. {layer.__name__}(...)")
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}: {layer!r}")
        if isinstance(layer, Input):
            if self.layers or self.input_shape is not None:
                raise ValueError("Sequential.add: an Input must come first, and only once")
            self.input_shape = layer.declared_input_shape
            self.dtype = self.dtype or layer.dtype
            return
        if any(layer is other for other in self.layers):
            raise ValueError(f"Sequential.add: layer '{layer.name}' is already in model '{self.name}'; "
                             f"a layer can appear only once (create a new one)")
        if any(layer.name == other.name for other in self.layers):
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"'{layer.name}' is already the name of a layer in this model. Update the "
                             f"`name` argument to pass a unique name.")
        declared_first = not self.layers and self.input_shape is None
        if declared_first:
            self.input_shape = layer.declared_input_shape
        self.layers.append(layer)
        self.built = False
        if self.input_shape is not None:
            try:
                self.build()  # as Keras: shape errors show up at `add`, naming the layer
            except Exception:
                # Leave the model as it was, so that the corrected layer can be added next.
                self.layers.pop()
                if declared_first:
                    self.input_shape = None
                if self.layers:
                    self.build()
                raise

    def build(self, input_shape: Sequence | None = None) -> None:
        """Build every layer for `input_shape` (batch axis included or None)."""
        if input_shape is not None:
            input_shape = self._check_input_shape_argument(input_shape)
        elif self.input_shape is None:
            raise ValueError(f"Model '{self.name}' has no input shape yet: start it with "
                             f"layers.Input(shape), or call fit/predict/build(input_shape)")
        else:
            input_shape = self.input_shape
        shape = input_shape
        for layer in self.layers:
            if layer.dtype is None:
                layer.dtype = self.dtype or floatx()
            shape = layer.build_for(shape)
        self.input_shape = input_shape  # only once every layer accepted it
        self.output_shape = shape
        # Non-trainable state (BatchNormalization's moving statistics) changes in the forward pass:
        # a step whose loss is not finite puts it back, so the model keeps its last good weights.
        self._state_arrays = [array for layer in self.layers for array in layer.state.values()]
        # Backward stops at the first layer with parameters: no one needs the gradient of its input.
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first_trainable = trainable[0] if trainable else len(self.layers)
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > self._first_trainable
        self.built = True

    def _check_input_shape_argument(self, input_shape) -> tuple:
        """`build(input_shape)`: a shape with the batch axis first, e.g. (None, 784) or (32, 28, 28, 1)."""
        try:
            shape = tuple(input_shape)
        except TypeError:
            raise TypeError(f"Model '{self.name}': build expects an input shape such as (None, 784), "
                            f"got {input_shape!r}") from None
        dims = shape[1:]
        if len(shape) < 2 or any(isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1
                                 for d in dims) or not (shape[0] is None or isinstance(shape[0], numbers.Integral)):
            hint = (f"; with the batch axis first, it is probably {format_shape((None, *shape))}"
                    if len(shape) >= 1 and all(isinstance(d, numbers.Integral) and d >= 1 for d in shape) else "")
            raise ValueError(f"Model '{self.name}': build expects the input shape with the batch axis first "
                             f"and positive sizes after it, e.g. (None, 784); got {input_shape!r}{hint}")
        return (None, *(int(d) for d in dims))

    @property
    def compute_dtype(self) -> str:
        return self.layers[0].dtype if self.built and self.layers else (self.dtype or floatx())

    def compile(self, optimizer="sgd", loss="categorical_crossentropy", metrics: Sequence | None = None) -> None:
        for argument, value, base in (("optimizer", optimizer, optimizers_module.Optimizer),
                                      ("loss", loss, losses_module.Loss), ("metrics", metrics, metrics_module.Metric)):
            if isinstance(value, type) and issubclass(value, base):
                raise TypeError(f"compile: {argument} must be a name or an instance, got the class "
                                f"{value.__name__}: call it, e.g. {argument}={value.__name__}()")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise TypeError(f"compile: metrics must be a list, e.g. metrics=['accuracy'], got {metrics!r} "
                            f"of type {type(metrics).__name__}")
        # Everything is checked before anything is changed: a rejected compile leaves the model as it was.
        optimizer = optimizers_module.get(optimizer)
        loss = losses_module.get(loss)
        metrics = [metrics_module.get(m, loss) for m in (metrics or [])]
        self.optimizer, self.loss, self.metrics = optimizer, loss, metrics
        if self._pending_optimizer_state is not None:
            self._restore_optimizer_state(*self._pending_optimizer_state, source="the weights loaded before compile()")
            self._pending_optimizer_state = None

    def _restore_optimizer_state(self, saved_class: str | None, state: dict, source: str) -> None:
        """Give the optimiser the state saved by save_weights, if it is of the same kind."""
        if saved_class is not None and saved_class != type(self.optimizer).__name__:
            warnings.warn(f"{source}: the saved optimizer state is {saved_class}'s, but the model is compiled "
                          f"with {type(self.optimizer).__name__}: it was not restored (training continues from "
                          f"a fresh optimizer)", stacklevel=3)
            return
        self.optimizer.set_state(state)

    def _link_loss_to_output(self) -> None:
        """Fuse a final Softmax with a cross-entropy loss: the loss then returns dL/dlogits = (p - y)/N."""
        final = self.layers[-1].output_activation
        if isinstance(final, Softmax):
            self.loss.fused = False
            final.fused_with_loss = self.loss.fuse_with_softmax()

    # ------------------------------------------------------------------ one step
    def _forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if training:
            for layer in self.layers:
                x = layer.forward(x, training=True)
            return x
        for step in inference_steps(self.layers):  # the same output, pooling moved where it saves work
            x = step(x)
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
        state_before = [array.copy() for array in self._state_arrays]  # tiny: (C,) arrays, often none
        y_pred = self._forward(x, training=True)
        loss = self.loss.forward(y, y_pred) + self._regularization_loss()
        if not math.isfinite(loss):  # checked before the update: the weights stay the last good ones
            for array, before in zip(self._state_arrays, state_before):
                array[...] = before  # and the moving statistics this forward pass changed
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
        x = validation.as_array(x, "x", caller)
        if not self.layers:
            raise ValueError(f"Model '{self.name}' has no layers: add some before {caller}()")
        if not self.built:
            if self.input_shape is None and x.ndim < 2:
                raise ValueError(f"{caller}: x has shape {x.shape}, but the model needs the batch axis first, "
                                 f"(N, features...): one sample x[np.newaxis], one feature x.reshape(-1, 1)")
            self.build(self.input_shape or (None, *x.shape[1:]))
        try:
            self.layers[0].check_input_shape(x.shape)
        except ValueError as error:
            if "validation" in caller:  # say which array: the message alone reads as if x were wrong
                raise ValueError(f"{caller}: {error}") from None
            raise
        return validation.cast_finite(x, self.compute_dtype, "x", caller)

    def _prepare(self, x, y, caller: str) -> tuple[np.ndarray, np.ndarray]:
        self._require_compiled(caller)
        x = self._prepare_x(x, caller)
        return x, validation.check_targets(y, len(x), self.loss, self.output_shape, self.compute_dtype, caller)

    # ------------------------------------------------------------------ Keras API
    def fit(self, x, y, batch_size: int = 32, epochs: int = 1, verbose: int | str = "auto",
            callbacks: Sequence[Callback] | None = None, validation_data: tuple | None = None,
            shuffle: bool = True, initial_epoch: int = 0) -> History:
        """Train for `epochs` epochs (counting from `initial_epoch`) and return the History.

        Each epoch's logs hold the batch-size-weighted means of the loss (with weight penalties)
        and metrics over the epoch's batches, then val_loss/val_* computed after the epoch.
        """
        callbacks = validation.check_fit_arguments(epochs, initial_epoch, callbacks, validation_data)
        batch_size = validation.check_batch_size(batch_size)
        x, y = self._prepare(x, y, "fit")
        if validation_data is not None:
            x_val, y_val = self._prepare(*validation_data, "fit (validation_data)")
        self._link_loss_to_output()
        n = len(x)
        steps = math.ceil(n / batch_size)
        verbose = 1 if verbose == "auto" else verbose
        self.history = History()
        callback_list = CallbackList([*callbacks, self.history,
                                      *([ProgressBar(verbose)] if verbose else [])],
                                     self, {"epochs": epochs, "steps": steps, "verbose": verbose,
                                            "do_validation": validation_data is not None})
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
                    finite = all(np.isfinite(w).all() for w in self.get_weights())  # rare: only when stopping
                    print(f"Epoch {epoch + 1}, batch {step + 1}: {error}; training stopped. Try a smaller "
                          f"learning rate." + ("" if finite else " The weights themselves are not finite (an "
                          "earlier update overflowed): reload the last checkpoint."), flush=True)
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
        batch_size = validation.check_batch_size(batch_size)
        x, y = self._prepare(x, y, "evaluate")
        logs = self._evaluate_arrays(x, y, batch_size)
        if verbose not in (0, "auto"):
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return _keras_return(logs, return_dict)

    def predict(self, x, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """The model's outputs for x, computed batch by batch in inference mode."""
        batch_size = validation.check_batch_size(batch_size)
        x = self._prepare_x(x, "predict")
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
        if not self.built and weights:
            raise ValueError(f"set_weights: model '{self.name}' is not built yet, so it has no weights to set "
                             f"(give it an Input, or call build(input_shape) first)")
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
        if not self.built:
            raise ValueError(f"save_weights: model '{self.name}' is not built yet, it has no weights to save "
                             f"(give it an Input, or call build/fit/predict first)")
        arrays = {f"layer{i}/{name}": layer._weight(name)
                  for i, layer in enumerate(self.layers) for name in layer.weight_names}
        arrays["architecture"] = np.array(json.dumps(self._architecture()))
        arrays["shuffle_seed"] = np.array(self.shuffle_seed)
        # Random layers (Dropout) continue their streams after a resume exactly as without the break
        arrays["rng_states"] = np.array(json.dumps(
            {str(i): layer.rng.bit_generator.state for i, layer in enumerate(self.layers)
             if isinstance(getattr(layer, "rng", None), np.random.Generator)},
            default=_json_array))  # e.g. MT19937's state holds an array
        if self.optimizer is not None:
            arrays["optimizer_class"] = np.array(type(self.optimizer).__name__)
            arrays.update({f"optimizer/{k}": v for k, v in self.optimizer.get_state().items()})
        return atomic_savez(filepath, **arrays)

    def _architecture(self) -> list[list]:
        return [[type(layer).__name__, {n: list(layer._weight(n).shape) for n in layer.weight_names}]
                for layer in self.layers]

    def _architecture_difference(self, saved: list) -> str:
        """The first difference between a saved architecture and this model's, in words."""
        ours = self._architecture()
        if not saved:
            return "the file holds no architecture (it was not written by save_weights)"
        for i, (theirs, mine) in enumerate(zip(saved, ours)):
            if theirs != mine:
                layer = self.layers[i]
                return (f"layer {i} ('{layer.name}'): the file has {_describe_layer(theirs)}, "
                        f"the model has {_describe_layer(mine)}")
        return f"the file has {len(saved)} layers, the model has {len(ours)}"

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights saved by `save_weights`, with the shuffling seed and random layers' generator
        states, and the optimiser state: restored now if the model is compiled with the same kind of
        optimiser, or at the next compile() if it is not compiled yet. The model is changed only if
        the whole file is readable and matches its architecture."""
        filepath = Path(filepath)
        if filepath.suffix != ".npz" and not filepath.exists():
            filepath = filepath.with_name(filepath.name + ".npz")  # as save_weights names it
        if not self.built:
            raise ValueError(f"load_weights: build model '{self.name}' first (give it an Input, or call "
                             f"build(input_shape))")
        try:
            arrays = read_npz(filepath)
        except FileNotFoundError:
            raise FileNotFoundError(f"load_weights: no weights file '{filepath}'") from None
        except Exception as error:
            raise ValueError(f"load_weights: cannot read '{filepath}' (truncated or not a weights file?): "
                             f"{type(error).__name__}: {error}") from error
        try:
            saved = json.loads(str(arrays.get("architecture", "[]")))
        except json.JSONDecodeError as error:
            raise ValueError(f"load_weights: '{filepath}' is damaged or not a minidl weights file: "
                             f"unreadable architecture ({error})") from error
        if saved != self._architecture():
            raise ValueError(f"load_weights: '{filepath}' holds weights of another architecture: "
                             f"{self._architecture_difference(saved)}\n  file:  {saved}\n"
                             f"  model: {self._architecture()}")
        try:  # read and check everything before changing anything
            weights = [arrays[f"layer{i}/{name}"]
                       for i, layer in enumerate(self.layers) for name in layer.weight_names]
            shuffle_seed = int(arrays.get("shuffle_seed", self.shuffle_seed))
            rng_states = {int(i): state for i, state in json.loads(str(arrays.get("rng_states", "{}"))).items()}
            for index, state in rng_states.items():
                probe = copy.deepcopy(self.layers[index].rng)  # AttributeError if the layer has none
                probe.bit_generator.state = state  # ValueError/TypeError if the state does not fit it
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"load_weights: '{filepath}' is damaged or not a minidl weights file: "
                             f"{type(error).__name__}: {error}") from error
        for weight in weights:
            if weight.dtype.kind != "f" or not np.isfinite(weight).all():
                raise ValueError(f"load_weights: '{filepath}' holds non-finite or non-float weights")
        self.set_weights(weights)
        self.shuffle_seed = shuffle_seed
        for index, state in rng_states.items():
            self.layers[index].rng.bit_generator.state = state
        optimizer_state = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("optimizer/")}
        optimizer_class = str(arrays["optimizer_class"]) if "optimizer_class" in arrays else None
        if optimizer_state:
            if self.optimizer is not None:
                self._restore_optimizer_state(optimizer_class, optimizer_state, source=f"load_weights('{filepath}')")
            else:
                self._pending_optimizer_state = (optimizer_class, optimizer_state)

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


def _json_array(value):
    """json.dumps's fallback for the NumPy values in a bit generator's state."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in a weights file")


def _describe_layer(entry: list) -> str:
    """["Dense", {"kernel": [4, 8], "bias": [8]}] -> "Dense with kernel (4, 8), bias (8,)"."""
    kind, shapes = entry
    return kind + (" with " + ", ".join(f"{n} {format_shape(s)}" for n, s in shapes.items()) if shapes else "")


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
