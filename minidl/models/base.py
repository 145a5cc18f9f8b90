"""Model: what every model shares, Keras's API over `self.layers` (compile, fit, evaluate, predict, weights,
summary, files). A subclass (Sequential; Functional, a graph of layers) says how its layers connect:
`build`, `forward`, `backward` and `inference`. As in Keras, `Model(inputs, outputs)` makes a Functional
and every model is a Model (`isinstance(Sequential(), Model)`). The loops live in `training`, the data
checks in `data`, the files in `saving`."""

from __future__ import annotations

import copy
import json
import math
import numbers
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import data, masking, saving, training, validation
from .. import losses as losses_module
from .. import metrics as metrics_module
from .. import optimizers as optimizers_module
from ..backend import floatx, make_rng
from ..callbacks import CallbackList, History, ProgressBar
from ..layers.base import Layer
from ..layers.symbolic import KerasTensor, is_symbolic, symbolic_output
from ..losses.outputs import OutputLosses
from ..saving import keras_format
from ..serializable import config_value
from ..summary import print_summary


def twin_of(layer: Layer | Model) -> tuple[Any, list[tuple[Layer, Layer]]]:
    """A copy of a layer (or a model) for another call of it in a graph: the same params and state dicts
    (the same weights), its own gradients, work arrays and sub-layers (e.g. a Dense's activation, which
    keeps its call's output); with the (layer, copy) pairs whose gradients the copy's backward leaves for
    the graph to add to the layer's."""
    if isinstance(layer, Model):
        return layer.twin()
    twin = copy.copy(layer)
    twin.grads, twin._scratch = {}, {}
    for attribute, value in vars(layer).items():
        if isinstance(value, Layer):
            setattr(twin, attribute, twin_of(value)[0])
    return twin, [(layer, twin)]


class Model:
    """The base of minidl's models: its layers, what compile chose, and Keras's training API. A model is
    also a layer of a functional Model (`x = base(inputs)`) or of a Sequential; its `layers` then include
    this model, and `leaf_layers` expand it into the layers that hold the weights and run."""

    _graph_class: type | None = None  # what Model(inputs, outputs) makes: the subclass declared with graph=True

    def __init_subclass__(cls, graph: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        if graph:
            Model._graph_class = cls

    def __new__(cls, *args, **kwargs):
        if cls is Model:  # keras.Model(inputs, outputs) is a Functional
            if Model._graph_class is None or not (args or "inputs" in kwargs):
                raise TypeError("Model(inputs, outputs): give the Input tensor(s) and the output tensor(s)")
            return super().__new__(Model._graph_class)
        return super().__new__(cls)

    need_input_grad = False  # set by an enclosing graph that needs dL/d(this model's input)
    multiple_outputs = False  # a functional Model with several outputs (and then its output_names)
    output_names: list[str] = []

    def __init__(self, name: str, dtype: str | None = None):
        self.name = name
        self.dtype = np.dtype(dtype).name if dtype is not None else None
        self.layers: list[Layer | Model] = []  # layers, and models used as layers
        self.input_shape: Any = None  # a Shape (a list of them for several inputs)
        self.output_shape: Any = None  # a Shape (a list of them for several outputs)
        self.output_mask: Any = None  # the last pass's output mask (a list for several outputs), minidl.masking
        self.built = False
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | OutputLosses | None = None
        self.compiled_metrics: list[tuple[int, Any]] = []  # compile's metrics, each with its output's index
        self.compiled_weighted_metrics: list[tuple[int, Any]] = []
        self.metrics: list[metrics_module.Metric] | None = None  # their objects, once data has been seen
        self.metric_roles: list[tuple[int, bool]] = []  # each metric's output, and if it takes sample weights
        self.stop_training = False
        self.resume_from_epoch: int | None = None  # set by a callback's on_train_begin to resume there
        self.history: History | None = None
        self.compile_arguments: dict[str, Any] = {}  # as given to compile (a saved model's compile_config)
        # Optimiser state read by load_weights before compile(), restored by compile().
        self._pending_optimizer_state: saving.OptimizerState | None = None
        # Seeds the per-epoch shuffling; drawn from the global generator so that set_seed fixes it.
        self.shuffle_seed = int(make_rng(None).integers(2**31))

    # ------------------------------------------------------------------ what a subclass defines
    def build(self, input_shape: Sequence | None = None) -> None:
        raise NotImplementedError

    def forward(self, x: Any, training: bool | None = False, mask: Any = None) -> Any:
        """The output for a prepared batch (a list of arrays for several outputs); `mask`: its input's, as
        a layer of another model (minidl.masking)."""
        raise NotImplementedError

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/d(output) back through the layers, storing their gradients; returns dL/d(input) when
        `need_input_grad` (the model is a layer of another), else None."""
        raise NotImplementedError

    def inference(self) -> Callable[[Any], Any]:
        raise NotImplementedError

    # As a layer of another model, masks go through it as through its layers (minidl.masking).
    supports_masking = True

    @property
    def makes_masks(self) -> bool:
        return masking.carries_masks(self.layers)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of its output in the last pass (its forward ran first)."""
        return self.output_mask

    def check_input_shape(self, shape: tuple) -> None:
        """A clear error when a batch of this shape is not what the model takes."""
        self.layers[0].check_input_shape(shape)

    @property
    def output_activation(self) -> Layer:
        """The layer that makes the model's output (a Dense's activation, if it has one)."""
        return self.layers[-1].output_activation

    @property
    def compute_dtype(self) -> str:
        """The float dtype the model computes in (its first layer's; integer inputs, token indices, are
        carried in it too)."""
        if self.built:
            for layer in self.leaf_layers:
                if layer.dtype is not None and np.dtype(layer.dtype).kind == "f":
                    return layer.dtype
        return self.dtype if self.dtype and np.dtype(self.dtype).kind == "f" else floatx()

    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile="auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Choose the optimiser, the loss and the metrics (names, instances or functions, as Keras). As in
        Keras, `metrics` ignore sample weights and class weights; `weighted_metrics` apply them. With several
        outputs, `loss` is one loss for all or one per output (a list, or a dict by output name; None for an
        output not trained), `loss_weights` weighs them, and the metrics are given per output likewise.
        `run_eagerly`, `steps_per_execution`, `jit_compile` and `auto_scale_loss` are accepted for Keras
        programs and change nothing: minidl always runs eagerly, one step at a time."""
        validation.check_layers_can_train(self.leaf_layers)
        # Everything is checked before anything is changed: a rejected compile leaves the model as it was.
        optimizer = optimizers_module.get(validation.check_optimizer(optimizer))
        names = self.output_names if self.multiple_outputs else None
        loss_given, loss = loss, self._compile_loss(loss, loss_weights, names)
        metric_lists = [self._compile_metrics(given, names) for given in (metrics, weighted_metrics)]
        self.optimizer, self.loss = optimizer, loss
        self.compiled_metrics, self.compiled_weighted_metrics = metric_lists
        self.compile_arguments = dict(
            loss=loss_given, loss_weights=loss_weights, metrics=metrics, weighted_metrics=weighted_metrics
        )
        self.metrics = None  # built from compiled_metrics by the first fit/evaluate (shapes decide "accuracy")
        if self._pending_optimizer_state is not None:
            saving.restore_optimizer_state(
                optimizer, self._pending_optimizer_state, source="the weights loaded before compile()"
            )
            self._pending_optimizer_state = None

    def _compile_loss(self, loss, loss_weights, names: list[str] | None):
        """One Loss; for several outputs, their OutputLosses (one loss object per output)."""
        if names is None:
            if loss_weights is not None:
                raise ValueError(
                    f"compile: loss_weights weighs the losses of a model with several outputs; model '{self.name}'"
                    f" has one (scale its loss instead)"
                )
            return None if loss is None else losses_module.get(validation.check_loss(loss))
        if loss is None:
            return None
        given = validation.per_output(loss, names, "loss", self.name, broadcast=True)
        if all(entry is None for entry in given):
            raise ValueError(f"compile: model '{self.name}': every output's loss is None; give at least one")
        losses = [
            None if entry is None else copy.copy(losses_module.get(validation.check_loss(entry))) for entry in given
        ]
        weights = [1.0] * len(names)
        if loss_weights is not None:
            weights = validation.per_output(loss_weights, names, "loss_weights", self.name, broadcast=False)
            if not all(isinstance(w, numbers.Real) and math.isfinite(w) for w in weights):
                raise ValueError(f"compile: loss_weights must be finite numbers, got {loss_weights!r}")
        return OutputLosses(losses, weights, names)

    def _compile_metrics(self, metrics, names: list[str] | None) -> list[tuple[int, Any]]:
        """(output index, metric identifier) pairs, each identifier checked."""
        if metrics is None:
            return []
        if names is None:
            validation.check_metrics(metrics)
            pairs = [(0, metric) for metric in metrics]
        else:
            given = validation.per_output(metrics, names, "metrics", self.name, broadcast=False)
            pairs = []
            for index, entry in enumerate(given):
                entry = [] if entry is None else entry if isinstance(entry, (list, tuple)) else [entry]
                validation.check_metrics(entry)
                pairs += [(index, metric) for metric in entry]
        for _, metric in pairs:
            metrics_module.check(metric)
        return pairs

    # ------------------------------------------------------------------ Keras's API
    def fit(
        self,
        x=None,
        y=None,
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
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq=1,
    ) -> History:
        """Train for `epochs` epochs (counting from `initial_epoch`) and return the History (Keras's
        arguments). x: arrays (with y), or a PyDataset or a generator of (x, y[, sample_weight]) batches."""
        return training.fit(
            self,
            x,
            y,
            batch_size,
            epochs,
            verbose,
            callbacks,
            validation_split,
            validation_data,
            shuffle,
            class_weight,
            sample_weight,
            initial_epoch,
            steps_per_epoch,
            validation_steps,
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
        x=None,
        y=None,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        sample_weight=None,
        steps: int | None = None,
        callbacks=None,
        return_dict: bool = False,
    ):
        """[loss, *metrics] on (x, y), or on a PyDataset's or a generator's batches, in inference mode (a
        dict with return_dict=True); `steps` batches if given."""
        batch_size = None if batch_size is None else validation.check_batch_size(batch_size)
        epochs_of_data = data.epochs_of(self, x, y, sample_weight, None, batch_size, False, steps, "evaluate")
        verbose = validation.check_verbose(verbose, "evaluate")
        bar = ProgressBar(verbose, "evaluate") if verbose else None
        callback_list = CallbackList(
            [*validation.check_callbacks(callbacks, "evaluate"), *([bar] if bar else [])],
            self,
            {"steps": epochs_of_data.num_batches},
        )
        logs = training.evaluate(self, epochs_of_data, callback_list)
        return training.keras_return(logs, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict: bool = False):
        """evaluate on one batch, as Keras."""
        batch_size = len(data.prepare_x(self, x, "test_on_batch"))
        return self.evaluate(x, y, batch_size, verbose=0, sample_weight=sample_weight, return_dict=return_dict)

    def predict(
        self, x, batch_size: int | None = None, verbose: int | str = "auto", steps: int | None = None, callbacks=None
    ):
        """The model's outputs for x (arrays, or a PyDataset's or a generator's batches), computed batch by
        batch in inference mode: an array, or for several outputs a list of arrays (a dict by name if the
        model's outputs were given as one); `steps` batches if given."""
        batch_size = None if batch_size is None else validation.check_batch_size(batch_size)
        epochs_of_data = data.epochs_of(self, x, None, None, None, batch_size, False, steps, "predict", targets=False)
        verbose = validation.check_verbose(verbose, "predict")
        bar = ProgressBar(verbose, "predict") if verbose else None
        callback_list = CallbackList(
            [*validation.check_callbacks(callbacks, "predict"), *([bar] if bar else [])],
            self,
            {"steps": epochs_of_data.num_batches},
        )
        return training.predict(self, epochs_of_data, callback_list)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(data.prepare_x(self, x, "predict_on_batch")), verbose=0)

    def __call__(self, x, training: bool | None = None):
        """On arrays: the output (training=True for the training-mode pass; None leaves each layer call
        of a functional Model in the mode it was given, if any). On a symbolic tensor: this model as one
        layer of a functional Model, `training` its call's mode (see minidl.models.functional)."""
        if is_symbolic(x):
            return self._call_symbolic(x, training)
        return self.forward(data.prepare_x(self, x, "call"), training)

    def _call_symbolic(self, tensor, training: bool | None) -> KerasTensor:
        if not isinstance(tensor, KerasTensor):
            raise ValueError(f"Model '{self.name}': calling a model on several tensors is not supported yet")
        if self.multiple_outputs:
            raise ValueError(f"Model '{self.name}': a model with several outputs as a layer is not supported yet")
        if not self.built:
            self.build(tensor.shape)
        self.check_input_shape(tensor.shape)
        assert self.output_shape is not None
        output = symbolic_output(self, [tensor], self.output_shape, self.compute_dtype, training)
        assert isinstance(output, KerasTensor)  # one output (see above)
        return output

    # ------------------------------------------------------------------ a model as a layer
    def twin(self) -> tuple[Model, list[tuple[Layer, Layer]]]:
        """A copy for another call of this model in a graph (see `twin_of`): a copy of each layer."""
        twin = copy.copy(self)
        twin.layers, pairs = [], []
        for layer in self.layers:
            layer_twin, layer_pairs = twin_of(layer)
            twin.layers.append(layer_twin)
            pairs += layer_pairs
        return twin, pairs

    @property
    def declared_input_shape(self) -> Any:
        """A model added first to a Sequential gives it its input shape, as a layer's input_shape= does."""
        return self.input_shape

    def build_for(self, input_shape: Any) -> Any:
        """As a layer of a Sequential: build for this input shape (once) and return the output shape."""
        if not self.built:
            self.build(input_shape)
        self.check_input_shape(tuple(input_shape))
        return self.output_shape

    @property
    def leaf_layers(self) -> list[Layer]:
        """The layers that hold the weights and run, nested models expanded in place (Keras's weight order)."""
        nested = (layer.leaf_layers if isinstance(layer, Model) else [layer] for layer in self.layers)
        return [leaf for layers in nested for leaf in layers]

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
        expected = sum(len(layer.weight_names) for layer in self.leaf_layers)
        if len(weights) != expected:
            raise ValueError(f"Model '{self.name}' expects {expected} weight arrays, received {len(weights)}")
        start = 0
        for layer in self.leaf_layers:
            count = len(layer.weight_names)
            layer.set_weights(weights[start : start + count])
            start += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def save_weights(self, filepath: str | os.PathLike) -> Path:
        """Save the weights (with the optimiser's state, if compiled) atomically: Keras's HDF5 layout for
        a name ending in .weights.h5, minidl's .npz checkpoint for .npz."""
        if os.fspath(filepath).endswith(".weights.h5"):
            return keras_format.save_weights_h5(self, filepath)
        return saving.save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights saved by `save_weights` (or Keras's .weights.h5): with minidl's files also the
        shuffling seed, random layers' generator states and the optimiser state, restored now if the
        model is compiled with the same kind of optimiser, or at the next compile() if it is not compiled
        yet. The model changes only if the whole file is readable and matches its architecture."""
        if os.fspath(filepath).endswith(".weights.h5"):
            keras_format.load_weights_h5(self, filepath)
            return
        optimizer_state = saving.load_weights(self, filepath)
        if optimizer_state is None:
            return
        if self.optimizer is None:
            self._pending_optimizer_state = optimizer_state
        else:
            saving.restore_optimizer_state(self.optimizer, optimizer_state, source=f"load_weights('{filepath}')")

    def save(self, filepath: str | os.PathLike, overwrite: bool = True, include_optimizer: bool = True) -> Path:
        """Save the whole model as a Keras 3 archive (`.keras`): config, weights, compile configuration and
        optimiser state; `keras.saving.load_model` and `minidl.models.load_model` open it."""
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(f"save: '{os.fspath(filepath)}' exists and overwrite=False")
        return keras_format.save_model(self, filepath, include_optimizer)

    def get_build_config(self) -> dict[str, Any] | None:
        return {"input_shape": config_value(self.input_shape)} if self.input_shape is not None else None

    def to_json(self, **kwargs) -> str:
        """The model's config as JSON, as Keras's to_json (model_from_json reads it back)."""
        return json.dumps(saving.serialize_keras_object(self), **kwargs)

    def summary(
        self,
        line_length: int | None = None,
        positions: Sequence[float] | None = None,
        print_fn: Callable[[str], object] = print,
    ) -> None:
        """Print Keras 3's table: each layer's name and type, output shape and parameter count, then the
        totals (`line_length`, `positions`, `print_fn` as Keras's)."""
        print_summary(self, line_length, positions, print_fn)

    # ------------------------------------------------------------------ layers
    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer | Model:
        """A layer by name or by index, as Keras's get_layer."""
        if (name is None) == (index is None):
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has {len(self.layers)} layers."
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    @property
    def trainable(self) -> bool:
        return any(layer.trainable for layer in self.layers) if self.layers else True

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """model.trainable = False freezes every layer, as Keras."""
        for layer in self.layers:
            layer.trainable = bool(value)

    @property
    def weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.non_trainable_weights]
