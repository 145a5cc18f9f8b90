"""Weights files: a model's weights with what an exact resume needs (optimiser state, shuffling seed,
random layers' generator states), the architecture they belong to, written atomically, read safely.

A file is data, never code: `.npz` arrays read without unpickling, JSON for the rest.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_savez, read_npz
from ..layers.base import random_generators
from ..shapes import format_shape

OptimizerState = tuple[str | None, dict[str, np.ndarray]]  # (optimiser class name, its arrays)


def architecture(model) -> list[list]:
    """[[layer class, {weight name: shape}], ...]: what a weights file must match."""
    return [
        [type(layer).__name__, {name: list(w.shape) for name, w in zip(layer.weight_names, layer.weights)}]
        for layer in model.leaf_layers
    ]


def _describe_layer(entry: list) -> str:
    """["Dense", {"kernel": [4, 8], "bias": [8]}] -> "Dense with kernel (4, 8), bias (8,)"."""
    kind, shapes = entry
    return kind + (" with " + ", ".join(f"{n} {format_shape(s)}" for n, s in shapes.items()) if shapes else "")


def architecture_difference(model, saved: list) -> str:
    """The first difference between a saved architecture and the model's, in words."""
    ours = architecture(model)
    if not saved:
        return "the file holds no architecture (it was not written by save_weights)"
    for i, (theirs, mine) in enumerate(zip(saved, ours)):
        if theirs != mine:
            return (
                f"layer {i} ('{model.leaf_layers[i].name}'): the file has {_describe_layer(theirs)}, "
                f"the model has {_describe_layer(mine)}"
            )
    return f"the file has {len(saved)} layers, the model has {len(ours)}"


def _json_array(value):
    """json.dumps's fallback for the NumPy values in a bit generator's state."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in a weights file")


def random_streams(model) -> dict[str, np.random.Generator]:
    """The layers' random Generators by key: the leaf layer's index, then the attributes' path to the
    Generator unless it is the layer's own `rng` ("3" for a Dropout, "5/forward_layer/rng" inside a
    Bidirectional)."""
    return {
        "/".join((str(i),) if path == ("rng",) else (str(i), *path)): generator
        for i, layer in enumerate(model.leaf_layers)
        for path, generator in random_generators(layer).items()
    }


def random_stream(model, key: str) -> np.random.Generator:
    """The Generator of a key of random_streams; IndexError, AttributeError or TypeError if the model has none."""
    index, *path = key.split("/")
    stream = model.leaf_layers[int(index)]
    for name in path or ["rng"]:
        stream = getattr(stream, name)
    if not isinstance(stream, np.random.Generator):
        raise TypeError(f"'{key}' is not a random generator of the model but a {type(stream).__name__}")
    return stream


def random_states(model) -> dict[str, Any]:
    return {key: generator.bit_generator.state for key, generator in random_streams(model).items()}


def check_weights_filename(filepath: str | os.PathLike, caller: str) -> None:
    """minidl's weights files are .npz; a name is used exactly as given, never completed behind one's back."""
    if not os.fspath(filepath).endswith(".npz"):
        raise ValueError(
            f"{caller}: '{os.fspath(filepath)}' does not end in .npz: minidl writes weights (with the "
            f"optimiser state, for an exact resume) as .npz files, and Keras's weights as .weights.h5: "
            f"name the file e.g. 'model.npz' or 'model.weights.h5' (a whole model: model.save('model.keras'))"
        )


def save_weights(model, filepath: str | os.PathLike) -> Path:
    """Save weights (and the optimiser's state, if compiled) to an .npz file, atomically."""
    check_weights_filename(filepath, "save_weights")
    if not model.built:
        raise ValueError(
            f"save_weights: model '{model.name}' is not built yet, it has no weights to save "
            f"(give it an Input, or call build/fit/predict first)"
        )
    arrays = {
        f"layer{i}/{name}": weight
        for i, layer in enumerate(model.leaf_layers)
        for name, weight in zip(layer.weight_names, layer.weights)
    }
    arrays["architecture"] = np.array(json.dumps(architecture(model)))
    arrays["shuffle_seed"] = np.array(model.shuffle_seed)
    # Random layers (Dropout) continue their streams after a resume exactly as without the break
    arrays["rng_states"] = np.array(json.dumps(random_states(model), default=_json_array))  # MT19937's: an array
    if model.optimizer is not None:
        arrays["optimizer_class"] = np.array(type(model.optimizer).__name__)
        arrays.update({f"optimizer/{k}": v for k, v in model.optimizer.get_state().items()})
    return atomic_savez(filepath, **arrays)


def _read(filepath: Path) -> dict[str, np.ndarray]:
    try:
        return read_npz(filepath)
    except FileNotFoundError:
        raise FileNotFoundError(f"load_weights: no weights file '{filepath}'") from None
    except Exception as error:
        raise ValueError(
            f"load_weights: cannot read '{filepath}' (truncated or not a weights file?): "
            f"{type(error).__name__}: {error}"
        ) from error


def load_weights(model, filepath: str | os.PathLike) -> OptimizerState | None:
    """Load a file written by `save_weights` into the model (weights, shuffling seed, random layers'
    states); the model changes only if the whole file is readable and matches its architecture.
    Returns the saved optimiser state, for the caller to restore now or at compile()."""
    filepath = Path(filepath)
    if not model.built:
        raise ValueError(
            f"load_weights: build model '{model.name}' first (give it an Input, or call build(input_shape))"
        )
    arrays = _read(filepath)
    damaged = f"load_weights: '{filepath}' is damaged or not a minidl weights file"
    try:
        saved = json.loads(str(arrays.get("architecture", "[]")))
    except json.JSONDecodeError as error:
        raise ValueError(f"{damaged}: unreadable architecture ({error})") from error
    if saved != architecture(model):
        raise ValueError(
            f"load_weights: '{filepath}' holds weights of another architecture: "
            f"{architecture_difference(model, saved)}\n  file:  {saved}\n"
            f"  model: {architecture(model)}"
        )
    try:  # read and check everything before changing anything
        layers = model.leaf_layers
        weights = [arrays[f"layer{i}/{name}"] for i, layer in enumerate(layers) for name in layer.weight_names]
        shuffle_seed = int(arrays.get("shuffle_seed", model.shuffle_seed))
        rng_states = dict(json.loads(str(arrays.get("rng_states", "{}"))))
        for key, state in rng_states.items():
            probe = copy.deepcopy(random_stream(model, key))  # AttributeError if the layer has none
            probe.bit_generator.state = state  # ValueError/TypeError if the state does not fit it
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{damaged}: {type(error).__name__}: {error}") from error
    for weight in weights:
        if weight.dtype.kind != "f" or not np.isfinite(weight).all():
            raise ValueError(f"load_weights: '{filepath}' holds non-finite or non-float weights")
    model.set_weights(weights)
    model.shuffle_seed = shuffle_seed
    for key, state in rng_states.items():
        random_stream(model, key).bit_generator.state = state
    optimizer_state = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("optimizer/")}
    if not optimizer_state:
        return None
    return (str(arrays["optimizer_class"]) if "optimizer_class" in arrays else None), optimizer_state


def restore_optimizer_state(optimizer, saved: OptimizerState, source: str) -> None:
    """Give the optimiser the state saved by save_weights, if it is of the same kind."""
    saved_class, state = saved
    if saved_class is not None and saved_class != type(optimizer).__name__:
        warnings.warn(
            f"{source}: the saved optimizer state is {saved_class}'s, but the model is compiled "
            f"with {type(optimizer).__name__}: it was not restored (training continues from "
            f"a fresh optimizer)",
            stacklevel=4,
        )
        return
    optimizer.set_state(state)
