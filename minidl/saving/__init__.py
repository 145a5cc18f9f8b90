"""Files: Keras's own formats (`.keras` archives, `.weights.h5`, configs as JSON) both ways, and
minidl's `.npz` checkpoints (weights with what an exact resume needs). Every file is data, never code."""

from .keras_format import load_model, save_model
from .npz import (
    OptimizerState,
    architecture,
    check_weights_filename,
    load_weights,
    restore_optimizer_state,
    save_weights,
)
from .object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from .serialization import deserialize_keras_object, serialize_keras_object


def model_from_json(json_string: str, custom_objects=None):
    """The model (not built with weights from a file: freshly initialised) of `model.to_json()`."""
    import json

    with CustomObjectScope(custom_objects):
        return deserialize_keras_object(json.loads(json_string))


__all__ = [
    "CustomObjectScope",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "OptimizerState",
    "architecture",
    "check_weights_filename",
    "deserialize_keras_object",
    "load_model",
    "load_weights",
    "model_from_json",
    "restore_optimizer_state",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]
