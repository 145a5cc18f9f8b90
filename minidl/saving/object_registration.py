"""Custom objects, as Keras's object_registration: the user's own classes and functions (a layer, a loss
function, a metric) that a config may name. They are registered in code, for good
(`@register_keras_serializable()`, `get_custom_objects()[name] = obj`) or for one load
(`load_model(..., custom_objects={...})`, `with custom_object_scope({...}):`). A file only names them: the
code that runs is the user's own, already imported; a file's code (a serialized lambda) is never loaded.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}  # registered name ("package>Name") or plain name -> the object
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}  # the object -> its registered name
_SCOPES: list[dict[str, Any]] = []  # the custom_object_scope blocks open now, innermost last


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """A decorator that registers a class (which must have get_config) or a function under
    "package>name" (name: its own by default), so that a config naming it can be read back."""

    def register(obj: Any) -> Any:
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        registered_name = f"{package}>{name if name is not None else obj.__name__}"
        GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
        GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj

    return register


def get_custom_objects() -> dict[str, Any]:
    """The global table of custom objects by name (add to it to register an object under a plain name)."""
    return GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj: Any) -> str:
    """The name an object is registered under, else its own name."""
    return GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None, module_objects=None) -> Any:
    """The object registered as `name`: in `custom_objects`, then the open scopes (innermost first), then
    the global table, then `module_objects`; None if none has it."""
    tables = [custom_objects or {}, *reversed(_SCOPES), GLOBAL_CUSTOM_OBJECTS, module_objects or {}]
    return next((table[name] for table in tables if name in table), None)


class CustomObjectScope:
    """`with CustomObjectScope({"my_loss": my_loss}):` makes these objects known to every read of a config
    inside the block (Keras's custom_object_scope)."""

    def __init__(self, custom_objects: dict[str, Any] | None = None):
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self) -> CustomObjectScope:
        _SCOPES.append(self.custom_objects)
        return self

    def __exit__(self, *exception: object) -> None:
        _SCOPES.pop()


custom_object_scope = CustomObjectScope


def find_custom_object(class_name: str, registered_name: str | None) -> Any:
    """A config's custom object: by its registered name, then by its class (or function) name."""
    for key in (registered_name, class_name):
        if key:
            found = get_registered_object(key)
            if found is not None:
                return found
    return None
