"""Pictures of what a network learned: its History, a confusion matrix, images with their predictions, a
Conv2D's filters, the feature maps of one image, and the model's layers as boxes.

Every function draws on its own matplotlib Figure (no pyplot state, so it works with any backend, Agg
included), returns the figure, and saves it as well when given `path` (PNG, or any format matplotlib
writes by the name's suffix). In a notebook the returned figure shows itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .layers.base import Layer


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # imported on use: the core of minidl does not need matplotlib

    return Figure(figsize=(width, height), layout="constrained")


def _done(fig, path: str | os.PathLike | None):
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _labels_of(y: np.ndarray) -> np.ndarray:
    """Class indices from labels (N,), one-hot rows or probabilities (N, K) (their arg-max)."""
    y = np.asarray(y)
    return y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y)).round().astype(int)


def loss_label(history) -> str:
    """'loss (categorical_crossentropy)': the loss axis names its loss, when the History knows its model."""
    loss = getattr(getattr(history, "model", None), "loss", None)
    name = getattr(loss, "name", None)
    return f"loss ({name})" if name and name != "loss" else "loss"


def plot_history(history, path: str | os.PathLike | None = None, title: str | None = None):
    """One panel per logged quantity (loss, accuracy, ...), the training values beside the validation
    ones (val_*) over the epochs. `history` is fit's History (or its .history dict)."""
    logs: dict[str, list[float]] = getattr(history, "history", history)
    names = [key for key in logs if not key.startswith("val_") and key != "learning_rate"]
    names += [key[4:] for key in logs if key.startswith("val_") and key[4:] not in names]
    columns = min(len(names), 3) or 1
    rows = math.ceil(len(names) / columns) or 1
    fig = _figure(4.2 * columns, 3.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax, name in zip(axes, names):
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            if key in logs:
                epochs = np.arange(1, len(logs[key]) + 1)
                ax.plot(epochs, logs[key], style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(loss_label(history) if name == "loss" else name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return _done(fig, path)


def confusion_matrix(y_true, y_pred, classes: int | None = None) -> np.ndarray:
    """counts[i, j]: the samples of class i predicted as class j."""
    true, pred = _labels_of(y_true), _labels_of(y_pred)
    classes = classes or int(max(true.max(), pred.max())) + 1
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (true, pred), 1)
    return counts


def plot_confusion_matrix(
    y_true, y_pred, labels: Sequence[str] | None = None, path: str | os.PathLike | None = None, title: str = ""
):
    """The confusion matrix (rows: true class, columns: predicted), each cell its count, coloured by the
    fraction of its row. y_true and y_pred: labels, one-hot rows or probabilities."""
    counts = confusion_matrix(y_true, y_pred, len(labels) if labels is not None else None)
    classes = len(counts)
    labels = list(labels) if labels is not None else [str(i) for i in range(classes)]
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = _figure(1.0 + 0.55 * classes, 0.8 + 0.5 * classes)
    ax = fig.subplots()
    image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for i in range(classes):
        for j in range(classes):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if fractions[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(classes), labels)
    ax.set_yticks(range(classes), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"{title + ': ' if title else ''}accuracy {accuracy:.4f}")
    fig.colorbar(image, ax=ax, label="fraction of the true class", shrink=0.8)
    return _done(fig, path)


def plot_images(
    x,
    y_true=None,
    y_pred=None,
    labels: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
    columns: int = 8,
    title: str = "",
):
    """A grid of images (N, H, W), (N, H, W, 1 or 3) or flat (N, H*W) squares, each titled with its
    label, and with y_pred its prediction: "true -> predicted" in red where they differ."""
    x = np.asarray(x)
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(f"plot_images: flat images of {x.shape[1]} values are not squares; reshape them")
        x = x.reshape(len(x), side, side)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    true = None if y_true is None else _labels_of(y_true)
    pred = None if y_pred is None else _labels_of(y_pred)

    def name(i: int) -> str:
        return labels[i] if labels is not None else str(i)

    columns = min(columns, len(x))
    rows = math.ceil(len(x) / columns)
    fig = _figure(1.3 * columns, 1.45 * rows + (0.3 if title else 0))
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= len(x):
            continue
        ax.imshow(x[i], cmap="gray" if x[i].ndim == 2 else None)
        if true is not None:
            wrong = pred is not None and pred[i] != true[i]
            text = name(true[i]) + (f" → {name(pred[i])}" if pred is not None else "")
            ax.set_title(text, fontsize=9, color="red" if wrong else "black")
    if title:
        fig.suptitle(title)
    return _done(fig, path)


def plot_filters(layer: Layer, path: str | os.PathLike | None = None, channel: int | None = None, columns: int = 8):
    """A Conv2D's kernels, one small image per filter: its weights over the window for input `channel`
    (default: averaged over the input channels), on one colour scale centred at 0."""
    kernel = layer.params.get("kernel") if hasattr(layer, "params") else None
    if kernel is None or kernel.ndim != 4:
        raise ValueError(
            f"plot_filters: layer '{getattr(layer, 'name', layer)}' has no Conv2D kernel (kh, kw, in, out)"
        )
    weights = kernel.mean(axis=2) if channel is None else kernel[:, :, channel, :]
    filters = weights.shape[-1]
    limit = float(np.abs(weights).max()) or 1.0
    columns = min(columns, filters)
    rows = math.ceil(filters / columns)
    fig = _figure(1.1 * columns, 1.2 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < filters:
            ax.imshow(weights[:, :, i], cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(i), fontsize=8)
    fig.suptitle(f"{layer.name}: {filters} filters {weights.shape[0]}x{weights.shape[1]}")
    return _done(fig, path)


def layer_output(model, x, layer: Layer | str) -> np.ndarray:
    """The output of `layer` (or its name) of `model` for the batch x, in inference mode."""
    target = model.get_layer(layer) if isinstance(layer, str) else layer
    if hasattr(model, "nodes"):  # a functional model: a graph from its inputs to the layer's output
        node = next((node for node in model.nodes if node.layer is target), None)
        if node is None:
            raise ValueError(f"layer_output: '{target.name}' is not called in model '{model.name}'")
        return type(model)(model.inputs, node.outputs[0]).predict(x, verbose=0)
    values = np.asarray(x, dtype=model.compute_dtype)
    for candidate in model.layers:
        values = candidate.forward(values, training=False)
        if candidate is target:
            return values
    raise ValueError(f"layer_output: '{target.name}' is not a layer of model '{model.name}'")


def plot_feature_maps(model, x, layer: Layer | str, path: str | os.PathLike | None = None, columns: int = 8):
    """What each filter of `layer` responds to in one image x (H, W, C) or (1, H, W, C): the image, then
    the layer's output channel by channel."""
    x = np.asarray(x)
    x = x[np.newaxis] if x.ndim == 3 else x[:1]
    maps = layer_output(model, x, layer)[0]
    if maps.ndim != 3:
        raise ValueError(f"plot_feature_maps: the layer's output has shape {maps.shape[1:]}, not (H, W, channels)")
    channels = maps.shape[-1]
    columns = min(columns, channels + 1)
    rows = math.ceil((channels + 1) / columns)
    fig = _figure(1.2 * columns, 1.3 * rows + 0.4)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.set_axis_off()
    axes[0].imshow(x[0, ..., 0] if x.shape[-1] == 1 else x[0], cmap="gray")
    axes[0].set_title("input", fontsize=8)
    for i in range(channels):
        axes[i + 1].imshow(maps[..., i], cmap="viridis")
        axes[i + 1].set_title(str(i), fontsize=8)
    name = layer if isinstance(layer, str) else layer.name
    fig.suptitle(f"{name}: {channels} feature maps {maps.shape[0]}x{maps.shape[1]}")
    return _done(fig, path)


def plot_model(model, path: str | os.PathLike | None = None, show_shapes: bool = True):
    """The model's layers as boxes, top to bottom in their order: name (type), output shape, parameter
    count, and an arrow from each layer to those that read its output (drawn with matplotlib; no graphviz)."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    model_layers = list(model.layers)
    inputs = _inbound_names(model)
    rows = len(model_layers)
    fig = _figure(5.0, 0.75 * rows + 0.6)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(-rows + 0.3, 1)
    place = {layer.name: -i for i, layer in enumerate(model_layers)}
    for layer in model_layers:
        y = place[layer.name]
        text = f"{layer.name} ({type(layer).__name__})"
        if show_shapes:
            text += f"\n{_shape_text(layer)}   params: {layer.count_params():,}"
        ax.add_patch(FancyBboxPatch((1.5, y - 0.3), 7, 0.6, boxstyle="round,pad=0.02", fc="#e8f0fb", ec="#4a6fa5"))
        ax.text(5, y, text, ha="center", va="center", fontsize=8)
        for source in inputs.get(layer.name, []):
            if source in place:
                skip = place[source] - y > 1
                ax.add_patch(
                    FancyArrowPatch(
                        (5 if not skip else 8.5, place[source] - 0.3),
                        (5 if not skip else 8.5, y + 0.3),
                        arrowstyle="-|>",
                        mutation_scale=10,
                        connectionstyle="arc3,rad=-0.4" if skip else "arc3",
                        color="#4a6fa5",
                    )
                )
    ax.set_title(f'{type(model).__name__} "{model.name}": {model.count_params():,} parameters', fontsize=9)
    return _done(fig, path)


def _shape_text(layer: Any) -> str:
    shape = getattr(layer, "output_shape", None)
    return "?" if shape is None else str(tuple(shape)).replace("None", "N")


def _inbound_names(model) -> dict[str, list[str]]:
    """For each layer's name, the names of the layers it reads (a Sequential: the one before it)."""
    if hasattr(model, "nodes"):
        inbound: dict[str, list[str]] = {}
        for node in model.nodes:
            inbound.setdefault(node.layer.name, []).extend(t.node.layer.name for t in node.inputs)
        return inbound
    names = [layer.name for layer in model.layers]
    return {after: [before] for before, after in zip(names, names[1:])}
