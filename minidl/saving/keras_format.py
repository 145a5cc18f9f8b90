"""Keras 3's files, both ways: `.keras` archives and `.weights.h5` weights.

A `.keras` file is a zip of
    metadata.json      {"keras_version", "date_saved"}
    config.json        the model's config (serialize_keras_object) with its compile_config
    model.weights.h5   the weights in Keras's HDF5 layout:
        vars                                  the model's own (none), attribute name
        layers/<snake_case class>[_k]/vars/i  each layer's i-th weight, in the model's layer order
                                              (dense, dense_1, ...; a nested model's under its own layers/)
        optimizer/vars/i                      iterations, learning rate, then the optimiser's slots
and minidl adds `minidl.json` (the shuffling seed and random layers' states, for an exact resume), which
Keras does not read. A `.weights.h5` file is model.weights.h5 alone (minidl's extras as an attribute).

Reading is data only (JSON and HDF5 datasets, never pickle or code); every part of the file is read and
checked against the model before any weight changes; files are written atomically.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write
from ..optimizers import Nadam, Optimizer
from ..registry import snake_case
from .npz import _json_array, random_states, random_stream
from .object_registration import CustomObjectScope
from .serialization import deserialize_keras_object, serialize_keras_object

KERAS_VERSION = "3.15.1"  # the Keras whose layout these files follow
ARCHIVE_ENTRIES = ("metadata.json", "config.json", "model.weights.h5")
EXTRAS_ENTRY = "minidl.json"


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency; this says so if it is missing
        raise ImportError("Keras's .keras and .weights.h5 files need h5py: pip install h5py") from None
    return h5py


# ---------------------------------------------------------------------------------------------- layout
def layer_paths(model) -> list[tuple[str, Any]]:
    """(path, layer) of every layer and nested model, as Keras names them in its HDF5 files: by class,
    numbered in the model's layer order (dense, dense_1, ...), a nested model's layers under its path."""
    paths: list[tuple[str, Any]] = []

    def walk(container, prefix: str) -> None:
        used: dict[str, int] = {}
        for layer in container.layers:
            name = snake_case(type(layer).__name__)
            used[name] = used.get(name, -1) + 1
            path = f"{prefix}/{name}" + (f"_{used[name]}" if used[name] else "")
            paths.append((path, layer))
            if hasattr(layer, "leaf_layers"):
                walk(layer, f"{path}/layers")

    walk(model, "layers")
    return paths


def weights_path(path: str, layer) -> str:
    """Where a layer's weights are in Keras's HDF5 layout: its vars, or its cell's (an LSTM's)."""
    cell = getattr(layer, "keras_cell", None)
    return f"{path}/cell/vars" if cell else f"{path}/vars"


def weight_owners(path: str, layer) -> list[tuple[str, Any]]:
    """(path, layer) of the layers whose weights Keras keeps at `path`: the layer itself, or the layers a
    wrapper holds (a Bidirectional's forward_layer and backward_layer), whose weights are the wrapper's."""
    if hasattr(layer, "wrapped_layers"):
        return [(f"{path}/{key}", wrapped) for key, wrapped in layer.wrapped_layers()]
    return [(path, layer)]


def trainable_parameters(model) -> list[tuple[str, np.ndarray]]:
    """(the optimiser's key, parameter) of every trainable parameter, in Keras's trainable_variables order."""
    return [
        (f"{i}/{name}", param)
        for i, layer in enumerate(model.leaf_layers)
        if layer.trainable
        for name, param in layer.params.items()
    ]


def optimizer_variables(model) -> list[np.ndarray]:
    """The optimiser's state as Keras's variables (see the module docstring)."""
    optimizer: Optimizer = model.optimizer
    variables = [np.array(optimizer.iterations, dtype=np.int64)]
    if not callable(optimizer._learning_rate):
        variables.append(np.array(optimizer.learning_rate, dtype=np.float32))
    parameters = trainable_parameters(model)
    for group in optimizer.keras_slots():
        for key, param in parameters:
            for slot in group:
                value = optimizer.slots.get(slot, {}).get(key)
                sign = optimizer.keras_slot_signs.get(slot, 1.0)
                variables.append(np.zeros_like(param) if value is None else value * value.dtype.type(sign))
    if isinstance(optimizer, Nadam):
        variables.append(np.array(1.0 if optimizer.u_product is None else optimizer.u_product, dtype=np.float32))
    return variables


def set_optimizer_variables(model, variables: list[np.ndarray], source: str) -> None:
    """Give the compiled model's optimiser the state of Keras's variables (checked before any change)."""
    optimizer: Optimizer = model.optimizer
    parameters = trainable_parameters(model)
    groups = optimizer.keras_slots()
    slot_count = sum(len(group) for group in groups) * len(parameters)
    extra = 1 if isinstance(optimizer, Nadam) else 0
    if len(variables) in (1, 2):  # an optimiser Keras never built: its step count (and rate) only
        slot_count, extra = 0, 0
    has_rate = len(variables) == 2 + slot_count + extra
    if len(variables) != 1 + has_rate + slot_count + extra:
        raise ValueError(
            f"{source}: the optimizer has {len(variables)} variables; {type(optimizer).__name__} of this model "
            f"has {1 + slot_count + extra} (+1 for the learning rate): another optimizer or architecture"
        )
    values = iter(variables[1 + has_rate :])
    slots: dict[str, dict[str, np.ndarray]] = {}
    if slot_count:
        for group in groups:
            for key, param in parameters:
                for slot in group:
                    value = np.asarray(next(values))
                    if value.shape != param.shape:
                        raise ValueError(
                            f"{source}: optimizer slot {slot!r} of parameter {key} has shape {value.shape}, "
                            f"the parameter has {param.shape}"
                        )
                    sign = optimizer.keras_slot_signs.get(slot, 1.0)
                    slots.setdefault(slot, {})[key] = (value * sign).astype(param.dtype)
    u_product = next(values, None) if extra else None
    optimizer.iterations = int(np.asarray(variables[0]))
    if has_rate and not callable(optimizer._learning_rate):
        optimizer.learning_rate = float(np.asarray(variables[1]))
    optimizer.slots = slots
    if isinstance(optimizer, Nadam):
        optimizer.u_product = None if u_product is None or optimizer.iterations == 0 else np.asarray(u_product)[()]


# ---------------------------------------------------------------------------------------------- weights
def write_weights(model, target, include_optimizer: bool = True, extras: dict | None = None) -> None:
    """The model's weights (and the optimiser's variables) in Keras's HDF5 layout, to a path or file object."""
    h5py = _h5py()
    with h5py.File(target, "w") as h5:
        h5.create_group("vars").attrs["name"] = model.name
        for path, layer in layer_paths(model):
            h5.create_group(f"{path}/vars").attrs["name"] = layer.name
            if hasattr(layer, "leaf_layers"):
                continue
            for owner_path, owner in weight_owners(path, layer):
                if owner is not layer:  # a wrapped layer's own vars group, beside its cell's
                    h5.create_group(f"{owner_path}/vars").attrs["name"] = owner.name
                group = h5.require_group(weights_path(owner_path, owner))
                cell = getattr(owner, "keras_cell", None)  # Keras keeps an LSTM's weights in its cell
                if cell:
                    group.attrs["name"] = f"{owner.name}_{cell}"
                for i, weight in enumerate(owner.get_weights()):
                    group.create_dataset(str(i), data=weight)
        if include_optimizer and model.optimizer is not None:
            group = h5.create_group("optimizer/vars")
            group.attrs["name"] = model.optimizer.name
            for i, variable in enumerate(optimizer_variables(model)):
                group.create_dataset(str(i), data=variable)
        if extras is not None:
            h5.attrs["minidl"] = json.dumps(extras, default=_json_array)


def read_weights(model, source, name: str) -> tuple[list[np.ndarray], list[np.ndarray] | None, dict | None]:
    """Every weight of the model from Keras's HDF5 layout, checked (count, shape, finite floats), with the
    optimiser's variables (None if absent) and minidl's extras (None if absent). Changes nothing."""
    h5py = _h5py()
    try:
        h5 = h5py.File(source, "r")
    except OSError as error:
        raise ValueError(f"'{name}' is not a readable HDF5 weights file (truncated or damaged?): {error}") from None
    with h5:
        weights: list[np.ndarray] = []
        owners = [owner for path, layer in layer_paths(model) for owner in weight_owners(path, layer)]
        for path, layer in owners:
            if hasattr(layer, "leaf_layers"):
                continue
            group = h5.get(weights_path(path, layer))
            expected = layer.weights
            if group is None:
                if expected:
                    raise ValueError(
                        f"'{name}' has no weights for layer '{layer.name}' (no group {weights_path(path, layer)})"
                    )
                continue
            if len(group.keys()) != len(expected):
                raise ValueError(
                    f"'{name}': layer '{layer.name}' ({path}) has {len(group.keys())} weights in the file, the "
                    f"model's has {len(expected)}"
                )
            for i, (weight_name, target) in enumerate(zip(layer.weight_names, expected)):
                value = _dataset(group, str(i), f"'{name}': {path}/vars/{i}")
                if value.shape != target.shape:
                    raise ValueError(
                        f"'{name}': layer '{layer.name}' weight '{weight_name}' ({path}/vars/{i}) has shape "
                        f"{value.shape} in the file, the model's has {target.shape}"
                    )
                number = value.dtype.kind == "f" and np.isfinite(value).all()
                if not (number or (target.dtype.kind in "iu" and value.dtype.kind in "iu")):  # a count: integer
                    raise ValueError(f"'{name}': {path}/vars/{i} holds non-finite or non-numeric values")
                weights.append(value)
        optimizer = h5.get("optimizer/vars")
        variables = None
        if optimizer is not None:
            count = len(optimizer.keys())
            variables = [_dataset(optimizer, str(i), f"'{name}': optimizer/vars/{i}") for i in range(count)]
        extras = json.loads(h5.attrs["minidl"]) if "minidl" in h5.attrs else None
    return weights, variables, extras


def _dataset(group, key: str, where: str) -> np.ndarray:
    if key not in group:
        raise ValueError(f"{where} is missing")
    try:
        return np.asarray(group[key][()])
    except Exception as error:  # a damaged dataset surfaces as one of h5py's many errors
        raise ValueError(f"{where} cannot be read: {type(error).__name__}: {error}") from None


def extras_of(model) -> dict:
    """minidl's extras for an exact resume: the shuffling seed and random layers' generator states."""
    return {
        "shuffle_seed": int(model.shuffle_seed),
        "rng_states": random_states(model),
    }


def apply_extras(model, extras: dict | None) -> None:
    if not extras:
        return
    model.shuffle_seed = int(extras.get("shuffle_seed", model.shuffle_seed))
    for key, state in extras.get("rng_states", {}).items():
        random_stream(model, key).bit_generator.state = state


def save_weights_h5(model, filepath: str | os.PathLike) -> Path:
    """model.save_weights("m.weights.h5"): Keras's layout, written atomically."""
    buffer = io.BytesIO()
    write_weights(model, buffer, extras=extras_of(model))
    return atomic_write(filepath, lambda f: f.write(buffer.getvalue()))


def load_weights_h5(model, filepath: str | os.PathLike) -> None:
    """model.load_weights("m.weights.h5") from Keras or minidl: weights, then the optimiser's variables if
    the model is compiled with an optimiser of the same layout, and minidl's extras."""
    name = os.fspath(filepath)
    if not os.path.exists(name):
        raise FileNotFoundError(f"load_weights: no weights file '{name}'")
    with open(name, "rb") as f:
        weights, variables, extras = read_weights(model, io.BytesIO(f.read()), name)
    _apply(model, weights, variables, extras, f"load_weights('{name}')", strict=False)


def _apply(model, weights, variables, extras, source: str, strict: bool = True) -> None:
    """Weights (read and checked), the optimiser's state (checked before it is set) and minidl's extras.
    Not `strict` (load_weights into a model compiled by hand): an optimiser state that does not fit the
    model's optimiser is left out with a warning, as Keras does, and the weights still load."""
    if variables is not None and model.optimizer is not None:
        try:
            set_optimizer_variables(model, variables, source)
        except ValueError as error:
            if strict:
                raise
            warnings.warn(f"{error}; the optimizer's state was not restored", stacklevel=4)
    model.set_weights(weights)
    apply_extras(model, extras)


# ---------------------------------------------------------------------------------------------- archives
def compile_config(model) -> dict | None:
    """Keras's compile_config: what compile was given, each object in Keras's serialized form."""
    if model.optimizer is None:
        return None
    given = model.compile_arguments
    return {
        "optimizer": serialize_keras_object(model.optimizer),
        "loss": serialize_keras_object(given["loss"]),
        "loss_weights": serialize_keras_object(given["loss_weights"]),
        "metrics": serialize_keras_object(given["metrics"]),
        "weighted_metrics": serialize_keras_object(given["weighted_metrics"]),
        "run_eagerly": False,
        "steps_per_execution": 1,
        "jit_compile": False,
    }


def save_model(model, filepath: str | os.PathLike, include_optimizer: bool = True) -> Path:
    """model.save("m.keras"): a Keras 3 archive that keras.saving.load_model opens, written atomically."""
    filepath = Path(filepath)
    if filepath.suffix != ".keras":
        raise ValueError(
            f"save: '{filepath}' does not end in .keras: a whole model is saved as a Keras archive, "
            f"e.g. model.save('model.keras'); weights alone with save_weights('model.weights.h5')"
        )
    if not model.built:
        raise ValueError(f"save: model '{model.name}' is not built yet (give it an Input, or fit/build it first)")
    config = serialize_keras_object(model)
    compiled = compile_config(model)
    config["compile_config"] = compiled
    weights = io.BytesIO()
    write_weights(model, weights, include_optimizer=include_optimizer and compiled is not None)
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}

    def write(f) -> None:
        with zipfile.ZipFile(f, "w") as archive:
            archive.writestr("metadata.json", json.dumps(metadata))
            archive.writestr("config.json", json.dumps(config))
            archive.writestr("model.weights.h5", weights.getvalue())
            archive.writestr(EXTRAS_ENTRY, json.dumps(extras_of(model), default=_json_array))

    return atomic_write(filepath, write)


def read_archive(filepath: str | os.PathLike) -> dict[str, bytes]:
    """The entries of a .keras archive, refusing unsafe or missing ones (checked before any is used)."""
    name = os.fspath(filepath)
    if not os.path.exists(name):
        raise FileNotFoundError(f"load_model: no file '{name}'")
    try:
        with zipfile.ZipFile(name) as archive:
            entries = archive.namelist()
            for entry in entries:
                if entry.startswith(("/", "\\")) or ".." in Path(entry).parts or ":" in entry:
                    raise ValueError(f"load_model: '{name}' has an unsafe entry {entry!r} (an absolute path or '..')")
            assets = [entry for entry in entries if entry.startswith("assets/") and not entry.endswith("/")]
            if assets:  # an adapted lookup's vocabulary, say: a model without it would give other outputs
                raise ValueError(
                    f"load_model: '{name}' keeps state in asset files {assets[:5]}, which minidl does not read "
                    "(Keras writes an adapted StringLookup's, IntegerLookup's or TextVectorization's vocabulary "
                    "there); give such a layer its vocabulary= in Keras before saving"
                )
            missing = [entry for entry in ("config.json", "model.weights.h5") if entry not in entries]
            if missing:
                raise ValueError(f"load_model: '{name}' is not a Keras archive: it has no {missing} (has {entries})")
            wanted = [*ARCHIVE_ENTRIES, EXTRAS_ENTRY]
            return {entry: archive.read(entry) for entry in entries if entry in wanted}
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(
            f"load_model: '{name}' is not a readable .keras archive (truncated or damaged?): {error}"
        ) from None


def load_model(filepath: str | os.PathLike, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """keras.saving.load_model for .keras archives written by Keras 3 or minidl: the model from its
    config, its weights, and (compile=True) its compile configuration with the optimiser's state.
    custom_objects: {name: your class or function} that the config names (see object_registration)."""
    with CustomObjectScope(custom_objects):
        return _load_model(filepath, compile, safe_mode)


def _load_model(filepath: str | os.PathLike, compile: bool, safe_mode: bool):
    if not safe_mode:
        raise ValueError("load_model: safe_mode=False is not supported: minidl never runs code from a file")
    name = os.fspath(filepath)
    if not name.endswith(".keras"):
        raise ValueError(f"load_model: '{name}' is not a .keras file (minidl reads Keras 3's .keras archives)")
    entries = read_archive(filepath)
    try:
        config = json.loads(entries["config.json"])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"load_model: '{name}': config.json is not valid JSON: {error}") from None
    try:
        model = deserialize_keras_object({k: v for k, v in config.items() if k != "compile_config"})
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"load_model: '{name}': config.json describes a model minidl cannot build: {error}") from None
    weights, variables, _ = read_weights(model, io.BytesIO(entries["model.weights.h5"]), f"{name}: model.weights.h5")
    extras = json.loads(entries[EXTRAS_ENTRY]) if EXTRAS_ENTRY in entries else None
    compiled = config.get("compile_config") if compile else None
    if compiled:
        try:
            model.compile(
                optimizer=deserialize_keras_object(compiled["optimizer"], "optimizers"),
                loss=_compiled(compiled.get("loss"), "losses"),
                loss_weights=compiled.get("loss_weights"),
                metrics=_compiled(compiled.get("metrics"), "metrics"),
                weighted_metrics=_compiled(compiled.get("weighted_metrics"), "metrics"),
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"load_model: '{name}': its compile_config cannot be used: {error}") from None
    _apply(model, weights, variables if compiled else None, extras, f"load_model('{name}')")
    return model


def _compiled(value, kind: str):
    """compile's loss or metrics from a compile_config: names stay names (compile resolves them, as
    "accuracy" by the data), Keras objects become minidl's, lists and dicts element by element."""
    if isinstance(value, dict) and "class_name" not in value:
        return {key: _compiled(v, kind) for key, v in value.items()}
    if isinstance(value, list):
        return [_compiled(v, kind) for v in value]
    if isinstance(value, dict):
        return deserialize_keras_object(value, kind)
    return value
