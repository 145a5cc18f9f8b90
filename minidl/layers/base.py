"""The Layer: a piece of a network that owns its parameters, its forward pass and its backward pass.

Subclass it and fill in four methods (see `minidl.layers.Dense` for a complete example):

* `build(input_shape)`      create parameters with `self.add_weight(...)` once the input shape is known;
* `compute_output_shape(s)` the output shape for an input shape (shapes include the batch axis as None);
* `forward(x, training)`    the output; keep on `self` whatever backward needs;
* `backward(grad_output)`   given dL/d(output), store dL/d(param) in `self.grads[name]` and return dL/d(input).

Optimisers read `params` and `grads` and update the parameters; `backward` never changes a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import constraints, initializers, regularizers
from ..backend import floatx, unique_name
from ..registry import snake_case
from ..serializable import config_from_attributes, config_value, constructor_arguments, supported_arguments
from ..shapes import Shape, format_shape
from .symbolic import is_symbolic, symbolic_output

__all__ = ["Layer", "own_inference_map", "unique_name"]


def own_inference_map(layer: Layer) -> Callable[[np.ndarray], np.ndarray] | None:
    """layer.inference_map() if the class that defines it also defines the forward the layer runs (a
    subclass that changes forward and not inference_map gets None, not its parent's map)."""
    owner = next(cls for cls in type(layer).__mro__ if "inference_map" in vars(cls))
    return layer.inference_map() if type(layer).forward is getattr(owner, "forward", None) else None


def _reused(store: dict[str, np.ndarray], name: str, shape: tuple, dtype) -> np.ndarray:
    """store[name] if it has this shape and dtype, else a new uninitialised array put there."""
    array = store.get(name)
    if array is None or array.shape != tuple(shape) or array.dtype != dtype:
        array = store[name] = np.empty(shape, dtype)
    return array


def random_generators(obj) -> dict[tuple[str, ...], np.random.Generator]:
    """Every numpy Generator reachable through a layer's attributes (and its sub-layers'), by the path of
    attribute names to it: {("rng",): ...} for Dropout, ("forward_layer", "rng") in a Bidirectional."""
    found: dict[tuple[str, ...], np.random.Generator] = {}
    for name, value in vars(obj).items():
        if isinstance(value, np.random.Generator):
            found[(name,)] = value
        elif isinstance(value, Layer):
            found.update({(name, *path): g for path, g in random_generators(value).items()})
    return found


class Layer:
    """Base class of every layer.

    Attributes:
        params:  trainable parameters by name, e.g. params["kernel"] of shape (in, out).
        grads:   dL/d(param) by the same names, filled by `backward`.
        state:   non-trainable weights (e.g. BatchNormalization's moving statistics).
        need_input_grad: False for layers whose input gradient nobody needs (the model's first
            trainable layer), so backward can skip that matrix product.
    """

    def __init__(
        self,
        name: str | None = None,
        dtype: str | None = None,
        input_shape: Sequence[int] | None = None,
        trainable: bool = True,
        activity_regularizer=None,
    ):
        self.name = name or unique_name(snake_case(type(self).__name__))
        if activity_regularizer is not None:  # Keras's argument of every layer; its "not used" value is taken
            raise ValueError(
                f"Layer '{self.name}': activity_regularizer is not supported by minidl; put a "
                f"layers.ActivityRegularization(l1, l2) after the layer instead"
            )
        self.dtype = np.dtype(dtype).name if dtype is not None else None
        self.trainable = trainable
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.regularizers: dict[str, regularizers.Regularizer] = {}
        self.constraints: dict[str, constraints.Constraint] = {}  # applied after each optimiser step
        self._weight_names: list[str] = []  # creation order = Keras's get_weights order
        self.built = False
        self.need_input_grad = True
        self._scratch: dict[str, np.ndarray] = {}
        # `input_shape=(28, 28, 1)` on a first layer, as Keras allows (without the batch axis)
        self.declared_input_shape = (None, *input_shape) if input_shape is not None else None
        self.input_shape: Any = None  # a Shape (a list of them for a merge layer)
        self.output_shape: Shape | None = None

    # ----------------------------------------------------------------- to override
    def build(self, input_shape: Shape) -> None:
        """Create the parameters. `input_shape` includes the batch axis (None)."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def forward(self, x: Any, training: bool = False) -> np.ndarray:
        """The output; a layer written Keras's way defines `call(inputs, training=None)` instead (with
        `mask=None` too, to get its input's mask: see minidl.masking)."""
        if type(self).call is not Layer.call:
            return self.call(x, training=training)
        raise NotImplementedError(f"{type(self).__name__} must implement forward (or Keras's call)")

    def call(self, inputs: np.ndarray, training: bool | None = None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement forward (or Keras's call)")

    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    @property
    def has_backward(self) -> bool:
        return type(self).backward is not Layer.backward

    def inference_map(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """For a layer whose inference treats each sample alone: its inference forward as a function of some
        samples that keeps nothing on the layer (so several threads may run it at once; it may overwrite
        its argument). minidl.inference runs it on a convolution's chunks while they are in cache. None
        (the default): no such function, the layer runs on whole batches."""
        return None

    # Keras's masks (minidl.masking): a forward that takes `mask=` gets its input's mask, (N, T) booleans.
    supports_masking = False  # whether the output has a mask: compute_mask's (else the mask ends here)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output's mask, for a layer that supports masking: by default its input's (Keras's)."""
        return mask

    @property
    def makes_masks(self) -> bool:
        """Whether this layer may start a mask (Embedding(mask_zero=True), Masking): only a model holding
        one runs its layers with masks."""
        return False

    # ----------------------------------------------------------------- machinery
    def __call__(self, x, training: bool | None = None):
        """On an array: this layer's output (built for its shape on first use). On symbolic tensors (the
        functional API, see layers.core): the symbolic outputs, the call recorded for Model."""
        if is_symbolic(x):
            return self._call_symbolic(x, training)
        return self.forward(self.prepared(x), bool(training))

    def prepared(self, x) -> np.ndarray:
        """An eager call's input: an array of this layer's dtype, the layer built for its shape."""
        if isinstance(x, (str, bytes)) or not isinstance(x, (np.ndarray, list, tuple, int, float, np.generic)):
            raise TypeError(
                f"Layer '{self.name}' was called on a {type(x).__name__}: call a layer on a NumPy "
                f"array or on symbolic tensors (minidl.Input(...) and the layers' outputs)"
            )
        x = np.asarray(x)
        if not self.built:
            self.build_for((None, *x.shape[1:]))
        self.check_input_shape(x.shape)
        return x.astype(self.dtype, copy=False)

    def _call_symbolic(self, inputs, training: bool | None = None, keyword_inputs: tuple[str, list] | None = None):
        """Build for the inputs' shapes (Keras's error, naming this layer, if they do not fit) and return
        the symbolic output (a list for a layer with several), recording the call as a Node;
        `keyword_inputs`: (name, tensors) given as a keyword argument (a recurrent layer's initial_state),
        read after the inputs."""
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        shapes = [t.shape for t in tensors]
        if self.dtype is None:  # after an integer Input (token indices), the layers compute in floats
            dtype = tensors[0].dtype
            self.dtype = dtype if dtype is not None and np.dtype(dtype).kind == "f" else floatx()
        output_shape = self.build_for(shapes if isinstance(inputs, (list, tuple)) else shapes[0])
        keyword = None
        if keyword_inputs:
            name, extra = keyword_inputs
            tensors, keyword = tensors + list(extra), (name, len(extra))
        return symbolic_output(self, tensors, output_shape, self.dtype, training, keyword)

    def build_for(self, input_shape: Any) -> Shape:
        """Build for this input shape (once) and return the output shape."""
        input_shape = (None, *tuple(input_shape)[1:])
        if self.built and self.output_shape is not None:
            self.check_input_shape(input_shape)
            return self.output_shape
        if self.dtype is None:
            self.dtype = floatx()
        self.build(input_shape)
        self.input_shape = input_shape
        shape = self.compute_output_shape(input_shape)  # a list of shapes for several outputs
        self.output_shape = [tuple(s) for s in shape] if isinstance(shape, list) else tuple(shape)
        self.built = True
        return self.output_shape

    def check_input_shape(self, shape: Sequence) -> None:
        expected = self.input_shape
        if expected is None:
            return
        if len(shape) != len(expected) or any(e is not None and e != s for e, s in zip(expected[1:], shape[1:])):
            found = format_shape((None, *shape[1:]))
            hint = ""
            if len(shape) == len(expected) - 1 and all(e is None or e == s for e, s in zip(expected[1:], shape)):
                hint = (
                    f". This looks like ONE sample of shape {format_shape(shape)} without the batch axis: "
                    f"pass x[np.newaxis] (shape {format_shape((1, *shape))})"
                )
                found = format_shape(shape)
            elif (
                len(shape) > len(expected)
                and len(expected) == 2
                and expected[1] is not None
                and math.prod(shape[1:]) == expected[1]
            ):
                hint = ". Flatten the samples first: x.reshape(len(x), -1), or start the model with layers.Flatten()"
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected shape "
                f"{format_shape(expected)}, found {found}{hint}"
            )

    def add_weight(
        self,
        shape: Sequence[int] | None = None,
        initializer=None,
        dtype=None,
        trainable: bool = True,
        regularizer=None,
        constraint=None,
        name: str | None = None,
    ) -> np.ndarray:
        """Create a weight and return it, with Keras's arguments and defaults: shape () , initializer
        "glorot_uniform" (a float weight), trainable (a parameter, in `params`) or not (in `state`)."""
        name = name or f"weight_{len(self._weight_names)}"
        if name in self._weight_names:
            raise ValueError(f"Layer '{self.name}' already has a weight named '{name}'")
        shape = tuple(shape or ())
        if dtype is not None:
            self.dtype = self.dtype or np.dtype(dtype).name
        value = initializers.get(initializer or "glorot_uniform")(shape, self.dtype)
        regularizer = regularizers.get(regularizer)
        value = np.ascontiguousarray(value, dtype=self.dtype)
        if trainable:
            self.params[name] = value
        else:
            self.state[name] = value
        if regularizer is not None:
            self.regularizers[name] = regularizer
        constraint = constraints.get(constraint)
        if constraint is not None:
            self.constraints[name] = constraint
        self._weight_names.append(name)
        return value

    def grad_buffer(self, name: str) -> np.ndarray:
        """The array for backward to write dL/d(param `name`) into (every layer stores its gradients this
        way): the previous step's, reused, since a fresh multi-MB array costs page faults on every step."""
        param = self.params[name]
        return _reused(self.grads, name, param.shape, param.dtype)

    def scratch(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """A work array the layer keeps for itself (never returns), reused from call to call while the
        shape and dtype stay the same: a fresh multi-MB array costs page faults on every step."""
        return _reused(self._scratch, name, shape, dtype)

    def regularization_loss(self) -> float:
        """Sum of the weight penalties (e.g. l2 * sum(kernel**2)), added to the training loss."""
        return sum(reg.penalty(self.params[name]) for name, reg in self.regularizers.items())

    def activity_loss(self) -> float:
        """The penalty on the activity of this layer's last forward (ActivityRegularization's), added to
        that batch's loss; 0 for a layer without one."""
        return 0.0

    def add_regularization_gradients(self) -> None:
        """grads[name] += d penalty / d param, after backward (kept out of backward so that a
        layer's backward is only the chain rule of its forward)."""
        for name, reg in self.regularizers.items():
            self.grads[name] += reg.gradient(self.params[name])

    def apply_constraints(self) -> None:
        """param <- constraint(param) for each constrained parameter, in place, after the optimiser's step
        (as Keras's optimizer applies them)."""
        for name, constraint in self.constraints.items():
            param = self.params[name]
            np.copyto(param, constraint(param), casting="same_kind")

    def adopt_weight(self, owner: Layer, name: str, as_name: str) -> None:
        """Hold `owner`'s weight `name` (the same array) as this layer's `as_name`, with its regularizer and
        constraint: a wrapper's weights are its wrapped layers'."""
        store = self.params if name in owner.params else self.state
        store[as_name] = owner._weight(name)
        self._weight_names.append(as_name)
        if name in owner.regularizers:
            self.regularizers[as_name] = owner.regularizers[name]
        if name in owner.constraints:
            self.constraints[as_name] = owner.constraints[name]

    @property
    def weight_names(self) -> list[str]:
        return list(self._weight_names)

    def _weight(self, name: str) -> np.ndarray:
        return self.params[name] if name in self.params else self.state[name]

    @property
    def weights(self) -> list[np.ndarray]:
        """The weight arrays themselves (not copies), in `get_weights` order."""
        return [self._weight(n) for n in self._weight_names]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return [self.params[n] for n in self._weight_names if n in self.params] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [self._weight(n) for n in self._weight_names if not self.trainable or n in self.state]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights in Keras's order (Dense: kernel (in, out), bias (out,))."""
        return [self._weight(n).copy() for n in self._weight_names]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set all weights from a list in `get_weights` order (e.g. from a Keras layer)."""
        weights = list(weights)
        if not self.built and weights:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so it has no weights to set: build it "
                f"(layer.build_for(input_shape)) or add it to a model with an Input first"
            )
        if len(weights) != len(self._weight_names):
            expected = ", ".join(f"{n} {format_shape(self._weight(n).shape)}" for n in self._weight_names)
            raise ValueError(
                f"Layer '{self.name}' expects {len(self._weight_names)} weights "
                f"[{expected}], but received {len(weights)}"
            )
        for name, value in zip(self._weight_names, weights):
            target, value = self._weight(name), np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(
                    f"Layer '{self.name}' weight '{name}' has shape {format_shape(target.shape)}, "
                    f"but the received value has shape {format_shape(value.shape)}"
                )
            if value.dtype.kind not in "biuf":
                raise TypeError(f"Layer '{self.name}' weight '{name}' must be numeric, got dtype {value.dtype}")
        for name, value in zip(self._weight_names, weights):
            np.copyto(self._weight(name), value, casting="unsafe")  # in place: references stay valid

    def count_params(self) -> int:
        return int(sum(self._weight(n).size for n in self._weight_names))

    @property
    def output_activation(self) -> Layer:
        """The layer that produces this layer's output (Dense with an activation returns the
        activation): lets a model fuse a final Softmax with the cross-entropy loss."""
        return self

    # ----------------------------------------------------------------- configs (Keras's)
    not_in_config: tuple[str, ...] = ("input_shape",)

    def get_config(self) -> dict[str, Any]:
        """Keras's config of this layer: name, trainable, dtype and the constructor's arguments (read off
        the attributes of the same names; a layer that keeps one otherwise overrides this)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype or floatx()}
        for key, value in config_from_attributes(self, stop=Layer).items():
            if key.endswith("_initializer") and isinstance(value, str):  # as Keras writes it: the object
                value = config_value(initializers.get(value))
            config[key] = value
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """The layer a config describes (its nested objects already made, see minidl.saving): Keras's keys
        that minidl does not take are accepted only with the value that means "not used"."""
        arguments = {"name", "trainable", "dtype", *constructor_arguments(cls, stop=Layer)}
        taken = supported_arguments(cls.__name__, config, arguments)
        for key, value in taken.items():
            if key.endswith("_initializer") and isinstance(value, dict):
                taken[key] = initializers.get(value)
            elif key.endswith("_regularizer") and isinstance(value, dict):
                taken[key] = regularizers.get(value)
            elif key.endswith("_constraint") and isinstance(value, dict):
                taken[key] = constraints.get(value)
        return cls(**taken)

    def get_build_config(self) -> dict[str, Any] | None:
        """Keras's build_config: the input shape the layer was built for."""
        return {"input_shape": config_value(self.input_shape)} if self.built and self.input_shape is not None else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name='{self.name}'>"
