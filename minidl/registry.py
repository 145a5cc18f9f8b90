"""Names for objects, looked up by one rule for every kind (losses, optimizers, metrics, activations,
initializers, regularizers), with one error when a name is unknown.

Keras's rule: a class is found by its own name or by that name in snake_case ("GlorotNormal",
"glorot_normal"), plus the aliases a kind declares ("mse"); the match is exact, except for optimizers,
whose names Keras lower-cases first ("Adam", "adam" and "ADAM" are one optimizer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def snake_case(name: str) -> str:
    """Keras's keras.src.utils.naming.to_snake_case: Dense -> dense, Conv2D -> conv2d,
    MaxPooling2D -> max_pooling2d, BatchNormalization -> batch_normalization."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def reject_class(value: object, base: type, expected: str, example: str) -> None:
    """A TypeError when `value` is `base` or a subclass itself, not an instance: the call was forgotten.
    `example` shows the fix with {} for the class name, e.g. "optimizer={}()"."""
    if isinstance(value, type) and issubclass(value, base):
        raise TypeError(f"{expected}, got the class {value.__name__}: call it, e.g. {example.format(value.__name__)}")


class Registry(Generic[T]):
    """The objects of one kind by name: `get(name)` makes a new one, `get(instance)` returns it as is.

    LOSSES = Registry("loss", Loss)
    LOSSES.register(CategoricalCrossentropy)            # "CategoricalCrossentropy", "categorical_crossentropy"
    LOSSES.register(MeanSquaredError, aliases=("mse",))
    """

    def __init__(self, kind: str, base: type, case_sensitive: bool = True):
        self.kind = kind
        self.base = base
        self.case_sensitive = case_sensitive
        self._makers: dict[str, Callable[[], T]] = {}
        self._shown: set[str] = set()  # the names an error lists: the snake_case or given ones, no aliases

    def _key(self, name: str) -> str:
        return name if self.case_sensitive else name.lower()

    def register(
        self, maker: Callable[[], T], names: tuple[str, ...] | None = None, aliases: tuple[str, ...] = ()
    ) -> Callable[[], T]:
        """Make `maker()` findable by `names` (default: a class's name and its snake_case) and `aliases`."""
        shown: tuple[str, ...] = names or ()
        if names is None:
            class_name = maker.__name__
            names, shown = (class_name, snake_case(class_name)), (snake_case(class_name),)
        for name in (*names, *aliases):
            self._makers[self._key(name)] = maker
        self._shown.update(shown)
        return maker

    def from_keras_config(self, serialized: dict) -> T:
        """The object of a Keras config, {"class_name": "GlorotUniform", "config": {...}, ...}: only a class
        registered here is ever made (a file is data: no other code runs)."""
        class_name = serialized["class_name"]
        maker = self._makers.get(self._key(str(class_name)))
        if not isinstance(maker, type) or not hasattr(maker, "from_config"):
            raise ValueError(
                f"Unknown {self.kind} class {class_name!r} in a config; minidl has {self.names()}"
                + (
                    f" (a custom class registered as {serialized['registered_name']!r} cannot be loaded)"
                    if serialized.get("registered_name") not in (None, class_name)
                    else ""
                )
            )
        config = serialized.get("config") or {}
        if not isinstance(config, dict):
            raise ValueError(f"The config of {self.kind} {class_name!r} must be a dict, got {config!r}")
        return maker.from_config(config)

    def names(self) -> list[str]:
        """The names to show (each class is also found by its class name)."""
        return sorted(self._shown)

    def knows(self, name: str) -> bool:
        return self._key(name) in self._makers

    def get(self, identifier: object) -> T:
        """A new object for a registered name, or an instance of the kind itself."""
        if isinstance(identifier, self.base):
            return identifier  # type: ignore[return-value]
        if isinstance(identifier, str) and self._key(identifier) in self._makers:
            return self._makers[self._key(identifier)]()
        if isinstance(identifier, dict) and "class_name" in identifier:
            return self.from_keras_config(identifier)
        reject_class(identifier, self.base, f"Expected a {self.kind} name or instance", "{}()")
        raise ValueError(
            f"Unknown {self.kind} {identifier!r}; known: {self.names()} or a {self.base.__name__} instance"
        )
