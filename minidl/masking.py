"""Keras's masks: which time steps of a sequence hold data, carried beside the values through a model.

An Embedding(mask_zero=True) (token 0 is padding) or a Masking layer (steps whose features all equal
mask_value) starts a mask: (N, T) booleans, True where step t of sample n holds data. Every layer after
it, as Keras's Layer.__call__:

  * gets the mask if its forward takes one (`mask=`): a recurrent layer carries its state across the
    masked steps, GlobalAveragePooling1D averages the unmasked ones;
  * passes a mask on if it supports masking (`supports_masking`: Dense, Dropout, the normalizations, a
    recurrent layer with return_sequences...), its `compute_mask(x, mask)`; any other layer ends the
    mask, with Keras's warning;

and the loss and the metrics of an output that has a mask count its unmasked entries only
(minidl.losses.base.masked_weights). A model holding no layer that starts masks runs none of this.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

_TAKES_MASK: dict[tuple[type, str], bool] = {}


def _takes_mask(cls: type, method: str = "forward") -> bool:
    """Whether the class's forward (or Keras-style call) has a `mask` argument; looked up once per class."""
    key = (cls, method)
    if key not in _TAKES_MASK:
        _TAKES_MASK[key] = "mask" in inspect.signature(getattr(cls, method)).parameters
    return _TAKES_MASK[key]


def has_mask(mask: Any) -> bool:
    """A mask, or a list of them (a merge layer's inputs') with at least one."""
    return any(m is not None for m in mask) if isinstance(mask, list) else mask is not None


def carries_masks(layers: Sequence) -> bool:
    """Whether a layer among these may start a mask."""
    return any(getattr(layer, "makes_masks", False) for layer in layers)


def masked_call(layer: Any, x: Any, mask: Any, training: bool, give_mask: bool = True) -> tuple[Any, Any]:
    """(the layer's output, the output's mask) for input x with mask `mask` (a list for several inputs).
    `give_mask` False: the layer does not get the mask, as Keras's recurrent layers called with
    initial_state (its output still gets compute_mask's)."""
    if has_mask(mask) and give_mask and _takes_mask(type(layer)):
        y = layer.forward(x, training=training, mask=mask)
    elif has_mask(mask) and give_mask and hasattr(layer, "call") and _takes_mask(type(layer), "call"):
        y = layer.call(x, training=training, mask=mask)  # a layer written Keras's way
    else:
        y = layer.forward(x, training=training)
    if getattr(layer, "supports_masking", False):
        return y, layer.compute_mask(x, mask)
    if has_mask(mask):
        warnings.warn(
            f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a mask attached "
            "to it. However, this layer does not support masking and will therefore destroy the mask "
            "information. Downstream layers will not see the mask.",
            stacklevel=2,
        )
    return y, None


def run_masked(layers: Sequence, x: np.ndarray, training: bool, mask=None) -> tuple[np.ndarray, np.ndarray | None]:
    """(output, its mask) of a stack of layers, each given its input's mask (`mask`: the first one's)."""
    for layer in layers:
        x, mask = masked_call(layer, x, mask, training)
    return x, mask


def sequence_mask(x: np.ndarray, mask: Any, owner: str) -> np.ndarray:
    """The (N, T) boolean mask of a sequence x (N, T, ...), checked against it."""
    mask = np.asarray(mask)
    if mask.shape != x.shape[:2]:
        raise ValueError(f"{owner}: the mask must be (batch, steps) = {x.shape[:2]}, got {mask.shape}")
    return mask.astype(bool, copy=False)
