"""Sequential: a linear stack of layers, each feeding the next."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .. import masking, validation
from ..backend import floatx, unique_name
from ..inference import InferencePlan
from ..layers.base import Layer
from ..layers.core import InputLayer, input_tensor
from ..layers.symbolic import KerasTensor
from ..saving.serialization import deserialize_keras_object, register_model_class, serialize_keras_object
from ..training_steps import TrainingStep, training_steps, whole
from .base import Model


def has_trainable_params(layer: Layer | Model) -> bool:
    """The layer (or a nested model's layer) has parameters the optimiser updates."""
    if isinstance(layer, Model):
        return any(has_trainable_params(leaf) for leaf in layer.leaf_layers)
    return bool(layer.params) and layer.trainable


class Sequential(Model):
    """A linear stack of layers.

        model = Sequential([Input((784,)), Dense(1000, activation="relu"), Dense(10, activation="softmax")])
        model.compile(optimizer=SGD(0.1, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=32, epochs=10, validation_data=(x_val, y_val))

    `forward` runs the layers in order, `backward` runs them in reverse (each stores its parameter
    gradients); one training step is `minidl.training.train_step`.
    """

    def __init__(
        self, layers: Iterable[Layer | Model] | None = None, name: str | None = None, dtype: str | None = None
    ):
        super().__init__(name or unique_name("sequential"), dtype)
        self.training_pass: list[TrainingStep] = []  # the last training forward's steps, for its backward
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer | Model | KerasTensor) -> None:
        validation.check_layer_to_add(self, layer)
        if isinstance(layer, KerasTensor):  # an Input first: the model's input shape
            self.input_shape = layer.shape
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
        shape: Any = input_shape
        for layer in self.layers:
            if layer.dtype is None:  # an integer Input (token indices) still has float layers after it
                layer.dtype = self.dtype if self.dtype and np.dtype(self.dtype).kind == "f" else floatx()
            shape = layer.build_for(shape)
            if isinstance(shape, list):  # Keras's rule too
                raise ValueError(
                    f"Sequential model '{self.name}': all layers in a Sequential model should have a single "
                    f"output tensor; layer '{layer.name}' has {len(shape)} (return_state=True?): use the "
                    f"functional API, minidl.Model(inputs, outputs)"
                )
        self.input_shape = input_shape  # only once every layer accepted it
        self.output_shape = shape
        self._first_to_train()
        self.built = True

    def pop(self) -> Layer | Model:
        """Remove the last layer and return it, as Keras."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers.pop()
        self.built = False
        if self.layers and self.input_shape is not None:
            self.build()
        return layer

    # ------------------------------------------------------------------ the passes
    def forward(self, x: np.ndarray, training: bool | None = False, mask=None) -> np.ndarray:
        """The output for a prepared batch: every layer's forward in turn (inference: `inference()`);
        `mask`: its input's (minidl.masking)."""
        if mask is not None or (training and masking.carries_masks(self.layers)):
            self.training_pass = [whole(layer) for layer in self.layers]
            return self._run_masked(x, bool(training), mask)
        if not training:
            return self.inference()(x)
        self.output_mask = None
        self.training_pass = training_steps(self.layers)  # a max-pooling ahead of a ReLU, see there
        for step in self.training_pass:
            x = step.forward(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        """dL/d(output) back through the layers, down to the first one with trainable parameters: no one
        needs the gradient of its input (frozen layers before it get no backward at all), unless this
        model is a layer of another that needs it (`need_input_grad`): then down to the input, returned."""
        first = self._first_to_train()
        grad: np.ndarray | None = grad_output
        for step in reversed((self.training_pass or training_steps(self.layers))[first:]):
            assert grad is not None  # only the first trainable layer, the last one here, returns None
            grad = step.backward(grad)
        return grad if self.need_input_grad else None

    def _first_to_train(self) -> int:
        """The index of the first layer with trainable parameters (marking which layers must pass their
        input gradient back): looked up at each step, since layers may be frozen or unfrozen at any time.
        A model whose input gradient is needed runs every layer's backward, the first one's included."""
        trains = (i for i, layer in enumerate(self.layers) if has_trainable_params(layer))
        first = 0 if self.need_input_grad else next(trains, len(self.layers))
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > first or self.need_input_grad
        return first

    # ------------------------------------------------------------------ configs (Keras's)
    def get_config(self) -> dict[str, Any]:
        """Keras's Sequential config: its InputLayer (if it has an input shape), then each layer's config."""
        inputs = []
        if self.input_shape is not None:
            input_layer = InputLayer(tuple(self.input_shape[1:]), name=f"{self.name}_input", dtype=self.compute_dtype)
            inputs = [serialize_keras_object(input_layer)]
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.compute_dtype,
            "layers": inputs + [serialize_keras_object(layer) for layer in self.layers],
        }
        if self.input_shape is not None:
            config["build_input_shape"] = list(self.input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        model = cls(name=config.get("name"))
        for layer_config in config.get("layers", []):
            if isinstance(layer_config, dict) and layer_config.get("class_name") == "InputLayer":
                model.add(input_tensor(InputLayer.from_config(layer_config.get("config", {}))))
            else:
                model.add(deserialize_keras_object(layer_config, "layers"))
        if not model.built and config.get("build_input_shape") and model.layers:
            model.build(tuple(config["build_input_shape"]))
        return model

    def inference(self) -> Callable[[np.ndarray], np.ndarray]:
        """The inference pass, planned once for the layers as they are now (see minidl.inference); with
        masks, the layers one by one (minidl.masking)."""
        if masking.carries_masks(self.layers):
            return lambda x: self._run_masked(x, training=False)
        self.output_mask = None
        return InferencePlan(self.layers)

    def _run_masked(self, x: np.ndarray, training: bool, mask=None) -> np.ndarray:
        y, self.output_mask = masking.run_masked(self.layers, x, training, mask)
        return y


register_model_class(Sequential)
