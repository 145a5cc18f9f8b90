"""Sequential: a stack of layers with Keras's API. The model holds the layers and what compile chose;
the loops live in `training`, the data checks in `data`, the files in `saving`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from . import data, saving, training, validation
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .backend import floatx, make_rng
from .callbacks import CallbackList, History, ProgressBar
from .inference import InferencePlan
from .layers.base import Layer, unique_name
from .layers.core import Input
from .shapes import Shape
from .summary import print_summary
from .training import NonFiniteLossError

__all__ = ["Sequential", "NonFiniteLossError"]


class Sequential:
    """A linear stack of layers.

        model = Sequential([Input((784,)), Dense(1000, activation="relu"), Dense(10, activation="softmax")])
        model.compile(optimizer=SGD(0.1, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=32, epochs=10, validation_data=(x_val, y_val))

    `forward` runs the layers in order, `backward` runs them in reverse (each stores its parameter
    gradients); one training step is `minidl.training.train_step`.
    """

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None, dtype: str | None = None):
        self.name = name or unique_name("sequential")
        self.dtype = np.dtype(dtype).name if dtype is not None else None
        self.layers: list[Layer] = []
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.built = False
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.compiled_metrics: list = []  # as given to compile
        self.metrics: list[metrics_module.Metric] | None = None  # their objects, once data has been seen
        self.stop_training = False
        self.history: History | None = None
        # Optimiser state read by load_weights before compile(), restored by compile().
        self._pending_optimizer_state: saving.OptimizerState | None = None
        # Seeds the per-epoch shuffling; drawn from the global generator so that set_seed fixes it.
        self.shuffle_seed = int(make_rng(None).integers(2**31))
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ building
    def add(self, layer: Layer) -> None:
        validation.check_layer_to_add(self, layer)
        if isinstance(layer, Input):
            self.input_shape = layer.declared_input_shape
            self.dtype = self.dtype or layer.dtype
            return
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
            input_shape = validation.check_model_input_shape(self.name, input_shape)
        elif self.input_shape is None:
            raise ValueError(
                f"Model '{self.name}' has no input shape yet: start it with "
                f"layers.Input(shape), or call fit/predict/build(input_shape)"
            )
        else:
            input_shape = self.input_shape
        shape = input_shape
        for layer in self.layers:
            if layer.dtype is None:
                layer.dtype = self.dtype or floatx()
            shape = layer.build_for(shape)
        self.input_shape = input_shape  # only once every layer accepted it
        self.output_shape = shape
        # Backward stops at the first layer with parameters: no one needs the gradient of its input.
        trainable = [i for i, layer in enumerate(self.layers) if layer.params]
        self._first_trainable = trainable[0] if trainable else len(self.layers)
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > self._first_trainable
        self.built = True

    @property
    def compute_dtype(self) -> str:
        if self.built and self.layers and self.layers[0].dtype is not None:
            return self.layers[0].dtype
        return self.dtype or floatx()

    def compile(self, optimizer="rmsprop", loss=None, metrics: Sequence | None = None) -> None:
        """Choose the optimiser, the loss and the metrics (names, instances or functions, as Keras)."""
        validation.check_compile_arguments(optimizer, loss, metrics)
        # Everything is checked before anything is changed: a rejected compile leaves the model as it was.
        optimizer = optimizers_module.get(optimizer)
        loss = None if loss is None else losses_module.get(loss)
        for metric in metrics or []:
            metrics_module.check(metric)
        self.optimizer, self.loss, self.compiled_metrics = optimizer, loss, list(metrics or [])
        self.metrics = None  # built from compiled_metrics by the first fit/evaluate (shapes decide "accuracy")
        if self._pending_optimizer_state is not None:
            saving.restore_optimizer_state(
                optimizer, self._pending_optimizer_state, source="the weights loaded before compile()"
            )
            self._pending_optimizer_state = None

    # ------------------------------------------------------------------ the passes
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The output for a prepared batch: every layer's forward in turn (inference: `inference()`)."""
        if not training:
            return self.inference()(x)
        for layer in self.layers:
            x = layer.forward(x, training=True)
        return x

    def backward(self, grad_output: np.ndarray) -> None:
        """dL/d(output) back through the layers, down to the first one with parameters."""
        grad: np.ndarray | None = grad_output
        for layer in reversed(self.layers[self._first_trainable :]):
            assert grad is not None  # only the first layer with parameters, the last one here, returns None
            grad = layer.backward(grad)

    def inference(self) -> Callable[[np.ndarray], np.ndarray]:
        """The inference pass, planned once for the layers as they are now (see minidl.inference)."""
        return InferencePlan(self.layers)

    # ------------------------------------------------------------------ Keras's API
    def fit(
        self,
        x,
        y,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool = True,
        class_weight=None,
        sample_weight=None,
        initial_epoch: int = 0,
        validation_batch_size: int | None = None,
        validation_freq=1,
    ) -> History:
        """Train for `epochs` epochs (counting from `initial_epoch`) and return the History (Keras's arguments)."""
        return training.fit(
            self,
            x,
            y,
            32 if batch_size is None else batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            class_weight,
            sample_weight,
            initial_epoch,
            validation_batch_size,
            validation_freq,
        )

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict: bool = False):
        """One gradient step on (x, y). Returns, as Keras, the batch's loss (computed before the update),
        or [loss, *metrics] if the model has metrics, or a dict with return_dict=True."""
        logs = training.train_on_batch(self, x, y, sample_weight, class_weight)
        return training.keras_return(logs, return_dict)

    def evaluate(
        self,
        x,
        y,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        sample_weight=None,
        callbacks=None,
        return_dict: bool = False,
    ):
        """[loss, *metrics] on (x, y) in inference mode (or a dict with return_dict=True)."""
        batch_size = validation.check_batch_size(32 if batch_size is None else batch_size)
        x, y, sample_weight = data.prepare_training_data(self, x, y, sample_weight, None, "evaluate")
        verbose = validation.check_verbose(verbose, "evaluate")
        bar = ProgressBar(verbose, "evaluate") if verbose else None
        callback_list = CallbackList(
            [*validation.check_callbacks(callbacks, "evaluate"), *([bar] if bar else [])],
            self,
            {"steps": data.steps_per_epoch(len(x), batch_size)},
        )
        logs = training.evaluate(self, x, y, sample_weight, batch_size, callback_list)
        return training.keras_return(logs, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        """evaluate on one batch, as Keras."""
        return self.evaluate(x, y, batch_size=len(x), verbose=0, sample_weight=sample_weight, return_dict=return_dict)

    def predict(self, x, batch_size: int | None = None, verbose: int | str = "auto", callbacks=None) -> np.ndarray:
        """The model's outputs for x, computed batch by batch in inference mode."""
        batch_size = validation.check_batch_size(32 if batch_size is None else batch_size)
        x = data.prepare_x(self, x, "predict")
        verbose = validation.check_verbose(verbose, "predict")
        bar = ProgressBar(verbose, "predict") if verbose else None
        callback_list = CallbackList(
            [*validation.check_callbacks(callbacks, "predict"), *([bar] if bar else [])],
            self,
            {"steps": data.steps_per_epoch(len(x), batch_size)},
        )
        return training.predict(self, x, batch_size, callback_list)

    def predict_on_batch(self, x) -> np.ndarray:
        return self.predict(x, batch_size=len(np.asarray(x)), verbose=0)

    def __call__(self, x, training: bool = False) -> np.ndarray:
        return self.forward(data.prepare_x(self, x, "call"), training)

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        weights = list(weights)
        if not self.built and weights:
            raise ValueError(
                f"set_weights: model '{self.name}' is not built yet, so it has no weights to set "
                f"(give it an Input, or call build(input_shape) first)"
            )
        expected = sum(len(layer.weight_names) for layer in self.layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays, received {len(weights)}")
        start = 0
        for layer in self.layers:
            count = len(layer.weight_names)
            layer.set_weights(weights[start : start + count])
            start += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def save_weights(self, filepath: str | os.PathLike) -> Path:
        """Save weights (and the optimiser's state, if compiled) to an .npz file, atomically."""
        return saving.save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights saved by `save_weights`, with the shuffling seed, random layers' generator states
        and the optimiser state: restored now if the model is compiled with the same kind of optimiser,
        or at the next compile() if it is not compiled yet. The model changes only if the whole file is
        readable and matches its architecture."""
        optimizer_state = saving.load_weights(self, filepath)
        if optimizer_state is None:
            return
        if self.optimizer is None:
            self._pending_optimizer_state = optimizer_state
        else:
            saving.restore_optimizer_state(self.optimizer, optimizer_state, source=f"load_weights('{filepath}')")

    def summary(self, print_fn: Callable[[str], object] = print) -> None:
        """Print a table like Keras's: each layer's name and type, output shape and parameter count."""
        print_summary(self, print_fn)
