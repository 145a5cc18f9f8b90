"""Configs as Keras writes them: an object's `get_config()` read off its constructor's arguments, and the
nested objects in it (initializers, regularizers, losses, optimizers, ...) in Keras's form

    {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None},
     "registered_name": None}

so that the configs minidl writes are the ones Keras reads, and the other way round (`minidl.saving`
reads them back). Nothing here imports the rest of minidl: every class can use it.
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import numpy as np

# minidl's module -> the Keras module a config names (the longest matching prefix wins)
KERAS_MODULES = {
    "minidl.initializers": "keras.initializers",
    "minidl.regularizers": "keras.regularizers",
    "minidl.constraints": "keras.constraints",
    "minidl.optimizers.schedules": "keras.optimizers.schedules",
    "minidl.optimizers": "keras.optimizers",
    "minidl.losses": "keras.losses",
    "minidl.metrics": "keras.metrics",
    "minidl.layers": "keras.layers",
    "minidl.models.functional": "keras.src.models.functional",  # as Keras writes its Functional
    "minidl.models": "keras",
}


def keras_module(cls: type) -> str:
    """The Keras module of a minidl class (a user's class keeps its own module)."""
    for prefix in sorted(KERAS_MODULES, key=len, reverse=True):
        if cls.__module__ == prefix or cls.__module__.startswith(prefix + "."):
            return KERAS_MODULES[prefix]
    return cls.__module__


def constructor_arguments(cls: type, stop: type) -> list[str]:
    """The named arguments of `cls`'s constructor and of its bases' up to `stop` (excluded), in order:
    a base's count while the constructors pass **kwargs on to it (a constructor without **kwargs
    gives its base what it chooses: GlorotUniform(seed) is a VarianceScaling, but its arguments are
    its own). Minus those a class lists in `not_in_config` (arguments that are not the user's, such as
    the function an activation layer is made with)."""
    names: list[str] = []
    excluded: set[str] = set()
    for klass in cls.__mro__:
        if klass is stop or klass is object:
            break
        excluded.update(vars(klass).get("not_in_config", ()))
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(vars(klass)["__init__"]).parameters.values()
        for parameter in parameters:
            named = parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            if named and parameter.name != "self" and parameter.name not in names:
                names.append(parameter.name)
        if all(parameter.kind != parameter.VAR_KEYWORD for parameter in parameters):
            break
    return [name for name in names if name not in excluded]


def config_from_attributes(obj: Any, stop: type) -> dict[str, Any]:
    """{argument: the attribute of that name, as JSON-ready data} for each constructor argument."""
    return {name: config_value(getattr(obj, name)) for name in constructor_arguments(type(obj), stop)}


def config_value(value: Any) -> Any:
    """A value as it goes into a JSON config: tuples as lists, NumPy numbers as Python numbers, a seed that
    is a Generator as None (its state is not a config), objects with a config in Keras's nested form."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.random.Generator):
        return None
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [config_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): config_value(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return keras_object(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} into a config")


Configured = TypeVar("Configured", bound="ConfiguredByArguments")


class ConfiguredByArguments:
    """Keras's get_config and from_config for a class whose config is its constructor's arguments, read off
    the attributes of the same names (initializers, regularizers, constraints)."""

    def get_config(self) -> dict:
        return config_from_attributes(self, stop=object)

    @classmethod
    def from_config(cls: type[Configured], config: dict) -> Configured:
        return cls(**supported_arguments(cls.__name__, config, set(constructor_arguments(cls, stop=object))))


def keras_object(obj: Any) -> dict[str, Any]:
    """Keras's serialized form of an object with a config."""
    return {
        "module": keras_module(type(obj)),
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": "Functional" if type(obj).__name__ == "Functional" else None,
    }


# Keras's constructor arguments minidl does not have, each with the value that leaves it unused.
UNUSED_KERAS_ARGUMENTS: dict[str, object] = {
    "data_format": "channels_last",
    "groups": 1,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "pad_to_aspect_ratio": False,
    "antialias": False,
    "fill_mode": "constant",
    "fill_value": 0.0,
    "depthwise_constraint": None,
    "pointwise_constraint": None,
    "bias_constraint": None,
    "beta_regularizer": None,
    "gamma_regularizer": None,
    "beta_constraint": None,
    "gamma_constraint": None,
    "lora_rank": None,
    "lora_alpha": None,
    "quantization_config": None,
    "renorm": False,
    "renorm_clipping": None,
    "synchronized": False,
    "autocast": True,
    "input_axes": None,
    "output_axes": None,
    "rms_scaling": False,
    "use_ema": False,
    "ignore_class": None,
    "multi_label": False,
    "num_labels": None,
    "label_weights": None,
    "dropout": 0.0,  # a recurrent layer's
    "recurrent_dropout": 0.0,
    "recurrent_regularizer": None,
    "recurrent_constraint": None,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
    "unroll": False,
    "seed": None,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}
# meaningful only with an argument above set, or on a GPU
IGNORED_KERAS_ARGUMENTS = {"renorm_momentum", "ema_momentum", "use_cudnn"}


def supported_arguments(owner: str, config: dict[str, Any], arguments: set[str]) -> dict[str, Any]:
    """The config's entries that `owner`'s constructor takes; a DTypePolicy as its dtype name. Any other
    entry must be one of Keras's arguments minidl lacks, with its unused value, else a clear error."""
    taken = {}
    for key, value in config.items():
        if key == "dtype" and isinstance(value, dict):
            value = value.get("config", {}).get("name")
        if key in arguments:
            taken[key] = value
        elif key in IGNORED_KERAS_ARGUMENTS or (key == "data_format" and value is None):
            continue  # data_format None: Keras's image_data_format(), channels_last
        elif key in UNUSED_KERAS_ARGUMENTS and value == UNUSED_KERAS_ARGUMENTS[key]:
            continue
        else:
            raise ValueError(
                f"{owner}: minidl does not support the argument {key}={value!r} of this config "
                f"(minidl's {owner} takes {sorted(arguments)})"
            )
    return taken
