"""Keras's serialize_keras_object / deserialize_keras_object: objects to and from the nested dicts of
Keras's configs, {"module", "class_name", "config", "registered_name"}.

Reading is safe: a config names a class, and only minidl's own classes of that kind are ever made (the
layers, initializers, regularizers, constraints, losses, metrics, optimizers, schedules and models that minidl has),
or the user's own classes and functions registered in code (minidl.saving.object_registration); any other
class or function, or a serialized lambda, is an error naming it. No code from a file ever runs.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from .. import constraints, initializers, layers, losses, metrics, optimizers, regularizers
from ..optimizers.schedules import schedule_from_config
from ..serializable import config_value, keras_object
from .object_registration import GLOBAL_CUSTOM_NAMES, CustomObjectScope, find_custom_object, get_registered_name

# The model classes (Sequential, Functional), registered by minidl.models, which sits above this module.
MODEL_CLASSES: dict[str, type] = {}


def register_model_class(cls: type) -> type:
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def layer_classes() -> dict[str, type]:
    """minidl's layers by class name."""
    return {
        name: obj
        for name in layers.__all__
        if isinstance(obj := getattr(layers, name), type) and issubclass(obj, layers.Layer) and obj is not layers.Layer
    }


def serialize_keras_object(obj: Any) -> Any:
    """An object as Keras writes it in a config: a nested dict for an object with a config (a built layer
    or model with its build_config), plain data as it is, a name as the name."""
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(value) for value in obj]
    if isinstance(obj, dict):
        return {str(key): serialize_keras_object(value) for key, value in obj.items()}
    if obj is None or isinstance(obj, (bool, int, float, str, np.generic)):
        return config_value(obj)
    if isinstance(obj, types.FunctionType):
        return _serialized_function(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"cannot serialize {obj!r}: only objects with a config (layers, models, losses, metrics, "
            f"optimizers, initializers, regularizers, schedules) and plain data go into a Keras file"
        )
    serialized = keras_object(obj)
    if not type(obj).__module__.startswith("minidl."):  # the user's class: read back by its registered name
        serialized["registered_name"] = get_registered_name(type(obj))
    build_config = getattr(obj, "get_build_config", lambda: None)()
    if build_config is not None:
        serialized["build_config"] = build_config
    return serialized


def _serialized_function(function: types.FunctionType) -> dict[str, Any]:
    """Keras's form of a function (a custom loss or metric): its name, which a load finds among the
    custom objects; a lambda has none and cannot go into a file (its code would have to)."""
    if function.__name__ == "<lambda>":
        raise TypeError(
            "cannot serialize a lambda: a Keras file would have to hold its code, and minidl never loads "
            "code from a file; use a named function (registered with minidl.saving.register_keras_serializable)"
        )
    registered = GLOBAL_CUSTOM_NAMES.get(function)  # Keras's forms: an unregistered function by its name
    module, name = ("builtins", function.__name__) if registered is None else (function.__module__, registered)
    return {"module": module, "class_name": "function", "config": name, "registered_name": registered or "function"}


KINDS = ("initializers", "regularizers", "constraints", "losses", "metrics", "optimizers.schedules", "optimizers")


def _kind(module: str, class_name: str) -> str:
    """Which of minidl's kinds a serialized object is, from its module (Keras's public or src path)."""
    for kind in KINDS:
        if f".{kind}" in module or module.startswith(f"keras.src.{kind}"):
            return kind
    if ".layers" in module:
        return "layers"
    if class_name in MODEL_CLASSES or ".models" in module or module == "keras":
        return "models"
    return "unknown"


def deserialize_keras_object(config: Any, module_objects: str | None = None, custom_objects=None) -> Any:
    """The object a Keras config describes. `module_objects` ("layers", "losses", ...) says the kind of a
    plain name (e.g. "mse" among the losses); dicts name their module themselves. custom_objects: {name:
    class or function} that the config may name, besides those registered (see object_registration)."""
    if custom_objects:
        with CustomObjectScope(custom_objects):
            return deserialize_keras_object(config, module_objects)
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        return _by_name(config, module_objects)
    if isinstance(config, list):
        return [deserialize_keras_object(c, module_objects) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"not a Keras object config (a dict with 'class_name'): {config!r}")
    class_name = str(config["class_name"])
    registered_name = config.get("registered_name")
    if class_name == "function":
        return _function(config, module_objects)
    custom = None if class_name == "__lambda__" else find_custom_object(class_name, registered_name)
    if custom is not None:
        return custom if isinstance(custom, types.FunctionType) else custom.from_config(config.get("config") or {})
    kind = _kind(str(config.get("module") or ""), class_name)
    registered_elsewhere = registered_name not in (None, class_name, "Functional")
    if kind == "unknown" or class_name in ("__lambda__", "__function__") or registered_elsewhere:
        raise ValueError(
            f"the config holds {class_name!r} (module {config.get('module')!r}, registered as {registered_name!r}), "
            f"which is not one of minidl's classes nor a custom object registered in code: register yours with "
            f"@minidl.saving.register_keras_serializable() or pass custom_objects={{{class_name!r}: ...}} "
            f"(a file's own code, a lambda, is never loaded)"
        )
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"the config of {class_name!r} must be a dict, got {inner!r}")
    if kind == "layers":
        return _from_table(layer_classes(), class_name, "layer").from_config(inner)
    if kind == "models":
        return _from_table(MODEL_CLASSES, class_name, "model").from_config(inner)
    if kind == "optimizers.schedules":
        return schedule_from_config(config)
    return _REGISTRIES[kind].from_keras_config(config)


def _function(config: dict[str, Any], module_objects: str | None) -> Any:
    """A function a config names: a custom object (the user's, registered in code), or a name minidl's
    own tables know (a loss's, a metric's), kept as that name for compile to resolve."""
    name = config.get("config")
    if not isinstance(name, str):
        raise ValueError(f"a function's config must be its name, got {name!r}")
    found = find_custom_object(name, config.get("registered_name"))
    if found is not None:
        return found
    kind = module_objects or _kind(str(config.get("module") or ""), "function")
    if kind in _REGISTRIES and _REGISTRIES[kind].knows(name):
        return name
    raise ValueError(
        f"Could not locate function {name!r}: register it with @minidl.saving.register_keras_serializable() "
        f"or pass custom_objects={{{name!r}: {name}}} (a file's own code is never loaded)"
    )


def _from_table(table: dict[str, type], class_name: str, kind: str) -> Any:
    if class_name not in table:
        raise ValueError(f"minidl has no {kind} class {class_name!r}; it has {sorted(table)}")
    return table[class_name]


def _by_name(name: str, kind: str | None) -> Any:
    if kind in _REGISTRIES:
        return _REGISTRIES[kind].get(name)
    return name  # e.g. an activation's name, read by the layer itself


_REGISTRIES: dict[str, Any] = {
    "initializers": initializers.INITIALIZERS,
    "regularizers": regularizers.REGULARIZERS,
    "constraints": constraints.CONSTRAINTS,
    "losses": losses.LOSSES,
    "metrics": metrics.METRICS,
    "optimizers": optimizers.OPTIMIZERS,
}
