"""Keras's serialize_keras_object / deserialize_keras_object: objects to and from the nested dicts of
Keras's configs, {"module", "class_name", "config", "registered_name"}.

Reading is safe: a config names a class, and only minidl's own classes of that kind are ever made (the
layers, initializers, regularizers, constraints, losses, metrics, optimizers, schedules and models that minidl has);
a class minidl does not have, a custom registered class or a serialized lambda is an error naming it.
No code from a file ever runs.
"""

from __future__ import annotations

from typing import Any

from .. import constraints, initializers, layers, losses, metrics, optimizers, regularizers
from ..optimizers.schedules import schedule_from_config
from ..serializable import config_value, keras_object

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
    if obj is None or isinstance(obj, (bool, int, float, str, list, tuple, dict)):
        return config_value(obj)
    if not hasattr(obj, "get_config"):
        raise TypeError(
            f"cannot serialize {obj!r}: only objects with a config (layers, models, losses, metrics, "
            f"optimizers, initializers, regularizers, schedules) and plain data go into a Keras file"
        )
    serialized = keras_object(obj)
    build_config = getattr(obj, "get_build_config", lambda: None)()
    if build_config is not None:
        serialized["build_config"] = build_config
    return serialized


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


def deserialize_keras_object(config: Any, module_objects: str | None = None) -> Any:
    """The object a Keras config describes. `module_objects` ("layers", "losses", ...) says the kind of a
    plain name (e.g. "mse" among the losses); dicts name their module themselves."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        return _by_name(config, module_objects)
    if isinstance(config, list):
        return [deserialize_keras_object(c, module_objects) for c in config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"not a Keras object config (a dict with 'class_name'): {config!r}")
    class_name = str(config["class_name"])
    if class_name in ("__lambda__", "function", "__function__") or config.get("registered_name") not in (
        None,
        class_name,
        "Functional",
    ):
        raise ValueError(
            f"the config holds {class_name!r} (registered as {config.get('registered_name')!r}): custom code "
            f"(lambdas, functions, registered classes) is never loaded from a file; minidl reads only its "
            f"own classes"
        )
    kind = _kind(str(config.get("module") or ""), class_name)
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"the config of {class_name!r} must be a dict, got {inner!r}")
    if kind == "layers":
        return _from_table(layer_classes(), class_name, "layer").from_config(inner)
    if kind == "models":
        return _from_table(MODEL_CLASSES, class_name, "model").from_config(inner)
    if kind == "optimizers.schedules":
        return schedule_from_config(config)
    registry = _REGISTRIES.get(kind)
    if registry is None:
        raise ValueError(f"unknown module {config.get('module')!r} of class {class_name!r} in the config")
    return registry.from_keras_config(config)


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
