"""Reliability: every common mistake gets a clear, early error from minidl's own checks (naming the
layer or argument and the shapes), a rejected call changes nothing, a diverging run stops with its last
good weights, and the same seed gives bit-identical runs.

The table BAD_INPUTS is the source of the README's troubleshooting section: one row per mistake.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_raised_by_a_check, computations

import minidl
from minidl import callbacks, layers, optimizers
from minidl.datasets import notmnist
from minidl.models import NonFiniteLossError
from minidl.utils import to_categorical

N, FEATURES, CLASSES = 12, 4, 3


# ------------------------------------------------------------------------------------------ helpers


def mlp(hidden=8, name_prefix=""):
    """Input(4) -> Dense(8, relu) 'hidden' -> Dense(3, softmax) 'out' (names fixed for the messages)."""
    return minidl.Sequential(
        [
            layers.Input((FEATURES,)),
            layers.Dense(hidden, activation="relu", name="hidden"),
            layers.Dense(CLASSES, activation="softmax", name="out"),
        ]
    )


def make_context(tmp_path, loss="categorical_crossentropy"):
    """A compiled model, its data and a few files; the table's callables take it as `c`."""
    rng = np.random.default_rng(0)
    minidl.set_seed(0)
    model = mlp()
    model.compile(optimizers.Adam(0.01), loss, metrics=["accuracy"])
    x = rng.normal(size=(N, FEATURES)).astype(np.float32)
    labels = np.arange(N) % CLASSES
    model.fit(
        x,
        to_categorical(labels, CLASSES) if loss.startswith("categorical") else labels,
        batch_size=4,
        epochs=1,
        verbose=0,
    )  # optimizer state exists: a rejected call must not touch it
    c = types.SimpleNamespace(model=model, x=x, labels=labels, y=to_categorical(labels, CLASSES), tmp=tmp_path)
    return c


def sparse_model():
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def mnist_like_mlp():
    return minidl.Sequential([layers.Input((784,)), layers.Dense(3, activation="softmax", name="dense_1")])


def fit_mnist_like_mlp_on_images():
    model = mnist_like_mlp()
    model.compile("sgd", "categorical_crossentropy")
    model.fit(np.zeros((5, 28, 28)), np.eye(3)[[0, 1, 2, 0, 1]], verbose=0)


def fit_empty_model(c):
    model = minidl.Sequential(name="empty")
    model.compile("sgd", "categorical_crossentropy")
    model.fit(c.x, c.y, verbose=0)


def with_value(array, index, value):
    array = np.array(array, dtype=np.float64)
    array[index] = value
    return array


def uncompiled():
    return mlp()


def state_of(model):
    """Everything a call could change: the weights, the optimiser state, the shuffling seed."""
    state = {f"w{i}": w.copy() for i, w in enumerate(model.get_weights())}
    if model.optimizer is not None:
        state.update({f"opt/{k}": np.array(v, copy=True) for k, v in model.optimizer.get_state().items()})
    state["shuffle_seed"] = np.array(model.shuffle_seed)
    return state


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


def write_weights_of_other_model(c):
    other = minidl.Sequential(
        [layers.Input((FEATURES,)), layers.Dense(9, activation="relu"), layers.Dense(CLASSES, activation="softmax")]
    )
    return other.save_weights(c.tmp / "other.npz")


def truncated_weights(c):
    path = c.model.save_weights(c.tmp / "good.npz")
    data = path.read_bytes()
    bad = c.tmp / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    return bad


def garbage_file(c, name="garbage.npz", content=b"this is not a zip file"):
    path = c.tmp / name
    path.write_bytes(content)
    return path


def foreign_npz(c):
    path = c.tmp / "foreign.npz"
    np.savez(path, kernel=np.zeros((4, 8)))
    return path


def bad_data_file(c, kind):
    path = c.tmp / "notMNIST.npz"
    if kind == "truncated":
        images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
        np.savez_compressed(path, images=images, labels=np.zeros(40, np.uint8))
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "garbage":
        path.write_bytes(b"<html>404 Not Found</html>")
    elif kind == "checksum":
        np.savez_compressed(
            path,
            images=np.zeros((notmnist.NUM_EXAMPLES, 28, 28), np.uint8),
            labels=np.zeros(notmnist.NUM_EXAMPLES, np.uint8),
        )
    return path


def no_loss():
    model = mlp()
    model.compile("adam")
    return model


def fit(c, x=None, y=None, model=None, **kwargs):
    kwargs.setdefault("verbose", 0)
    return (model or c.model).fit(c.x if x is None else x, c.y if y is None else y, **kwargs)


def ragged():
    return [[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]]


# ------------------------------------------------------------------------------------------ the table
# (id, callable(c), exception type, regex the message must match). Regexes name the layer/argument
# and the shapes: a vague "bad input" would not pass.

BAD_INPUTS = [
    # ---- shapes of x
    (
        "fit x features mismatch",
        lambda c: fit(c, x=np.ones((N, 5))),
        ValueError,
        r"^Input 0 of layer 'hidden' is incompatible with the layer: expected shape \(None, 4\), found \(None, 5\)$",
    ),
    (
        "fit images not flattened",
        lambda c: fit_mnist_like_mlp_on_images(),
        ValueError,
        r"^Input 0 of layer 'dense_1' is incompatible with the layer: expected shape \(None, 784\), found "
        r"\(None, 28, 28\)\. Flatten the samples first",
    ),
    (
        "evaluate x rank mismatch",
        lambda c: c.model.evaluate(np.ones((N, 2, 2)), c.y, verbose=0),
        ValueError,
        r"Input 0 of layer 'hidden' .* expected shape \(None, 4\), found \(None, 2, 2\)",
    ),
    (
        "predict x features mismatch",
        lambda c: c.model.predict(np.ones((3, 7))),
        ValueError,
        r"Input 0 of layer 'hidden' .* expected shape \(None, 4\), found \(None, 7\)",
    ),
    (
        "predict one sample without batch axis",
        lambda c: c.model.predict(c.x[0]),
        ValueError,
        r"Input 0 of layer 'hidden' .* expected shape \(None, 4\), found \(4,\)\. This looks like ONE sample.*"
        r"x\[np\.newaxis\]",
    ),
    (
        "train_on_batch x mismatch",
        lambda c: c.model.train_on_batch(np.ones((4, 3)), c.y[:4]),
        ValueError,
        r"Input 0 of layer 'hidden' .* expected shape \(None, 4\), found \(None, 3\)",
    ),
    (
        "predict 1-D x on an unbuilt model",
        lambda c: minidl.Sequential([layers.Dense(3)]).predict(np.ones(5)),
        ValueError,
        r"predict: x has shape \(5,\), but the model needs the batch axis first",
    ),
    # ---- x and y lengths
    (
        "fit x/y lengths differ",
        lambda c: fit(c, y=c.y[:-1]),
        ValueError,
        r"fit: x and y have different numbers of samples: x has 12, y has 11",
    ),
    (
        "evaluate x/y lengths differ",
        lambda c: c.model.evaluate(c.x[:5], c.y, verbose=0),
        ValueError,
        r"evaluate: x and y have different numbers of samples: x has 5, y has 12",
    ),
    (
        "train_on_batch x/y lengths differ",
        lambda c: c.model.train_on_batch(c.x[:4], c.y[:3]),
        ValueError,
        r"train_on_batch: x and y have different numbers of samples: x has 4, y has 3",
    ),
    # ---- labels of the wrong kind for the loss
    (
        "integer labels for categorical_crossentropy",
        lambda c: fit(c, y=c.labels),
        ValueError,
        r"fit: loss 'categorical_crossentropy' expects one-hot targets of shape \(N, 3\), got labels of shape "
        r"\(12,\); use minidl\.utils\.to_categorical\(y, 3\) or loss='sparse_categorical_crossentropy'",
    ),
    (
        "label column for categorical_crossentropy",
        lambda c: fit(c, y=c.labels[:, None]),
        ValueError,
        r"targets of shape \(None, 1\) do not match the model's output shape \(None, 3\); these look like "
        r"integer labels: use minidl\.utils\.to_categorical",
    ),
    (
        "one-hot of the wrong width",
        lambda c: fit(c, y=to_categorical(c.labels, 4)),
        ValueError,
        r"fit: targets of shape \(None, 4\) do not match the model's output shape \(None, 3\)",
    ),
    (
        "targets that are not probabilities",
        lambda c: fit(c, y=c.y * 2),
        ValueError,
        r"fit: loss 'categorical_crossentropy' expects one-hot \(or probability\) target rows with values in "
        r"\[0, 1\] summing to 1; row 0 sums to 2",
    ),
    ("negative targets", lambda c: fit(c, y=c.y * 2 - 1 / 3), ValueError, r"row 0 sums to 1 \(min -"),
    (
        "class label out of range (sparse)",
        lambda c: fit(c, y=c.labels + 1, model=sparse_model()),
        ValueError,
        r"fit: labels must be in 0\.\.2 for the model's 3 outputs, found values in 1\.\.3",
    ),
    (
        "negative class label (sparse)",
        lambda c: fit(c, y=c.labels - 1, model=sparse_model()),
        ValueError,
        r"labels must be in 0\.\.2 for the model's 3 outputs, found values in -1\.\.1",
    ),
    (
        "one-hot for sparse_categorical_crossentropy",
        lambda c: fit(c, model=sparse_model()),
        ValueError,
        r"loss 'sparse_categorical_crossentropy' expects integer labels of shape \(N,\), got one-hot targets of "
        r"shape \(12, 3\); use loss='categorical_crossentropy' or pass y\.argmax\(axis=-1\)",
    ),
    (
        "fractional labels (sparse)",
        lambda c: fit(c, y=c.labels + 0.5, model=sparse_model()),
        ValueError,
        r"expects integer class labels, got float64 values such as 0\.5 at index 0",
    ),
    (
        "2-D labels (sparse)",
        lambda c: fit(c, y=np.zeros((N, 2), int), model=sparse_model()),
        ValueError,
        r"expects integer labels of shape \(N,\), got int64 labels of shape \(12, 2\)",
    ),
    # ---- NaN / inf
    (
        "NaN in x",
        lambda c: fit(c, x=with_value(c.x, (3, 1), np.nan)),
        ValueError,
        r"fit: x contains NaN or infinite values \(nan at sample 3, index \(3, 1\); 1 non-finite value",
    ),
    (
        "inf in x",
        lambda c: c.model.evaluate(with_value(c.x, (5, 0), np.inf), c.y, verbose=0),
        ValueError,
        r"evaluate: x contains NaN or infinite values \(inf at sample 5",
    ),
    (
        "float64 value too large for float32",
        lambda c: fit(c, x=with_value(c.x, (2, 2), 1e300)),
        ValueError,
        r"fit: x has values too large for float32 \(1e\+300 at sample 2, index \(2, 2\); .*scale the data",
    ),
    (
        "NaN in y",
        lambda c: fit(c, y=with_value(c.y, (7, 2), np.nan)),
        ValueError,
        r"fit: y contains NaN or infinite values \(nan at sample 7",
    ),
    (
        "NaN in predict's x",
        lambda c: c.model.predict(with_value(c.x, (0, 0), np.nan)),
        ValueError,
        r"predict: x contains NaN",
    ),
    (
        "NaN in validation x",
        lambda c: fit(c, validation_data=(with_value(c.x, (1, 1), np.nan), c.y)),
        ValueError,
        r"fit \(validation_data\): x contains NaN",
    ),
    # ---- empty, None, non-numeric
    ("empty x", lambda c: fit(c, x=c.x[:0], y=c.y[:0]), ValueError, r"fit: x is empty \(shape \(0, 4\)\)"),
    ("empty y", lambda c: fit(c, y=c.y[:0]), ValueError, r"fit: y is empty \(shape \(0, 3\)\)"),
    ("empty predict", lambda c: c.model.predict(np.zeros((0, 4))), ValueError, r"predict: x is empty"),
    ("x is None", lambda c: c.model.fit(None, c.y, verbose=0), TypeError, r"fit: x is None"),
    ("y is None", lambda c: c.model.fit(c.x, None, verbose=0), TypeError, r"fit: y is None"),
    (
        "y is a scalar",
        lambda c: c.model.evaluate(c.x, 3, verbose=0),
        ValueError,
        r"evaluate: y must be an array with a batch axis first, got the scalar 3",
    ),
    (
        "string x",
        lambda c: fit(c, x=np.full((N, 4), "1.0")),
        TypeError,
        r"fit: x must be numeric, got an array of dtype <U3",
    ),
    (
        "string labels",
        lambda c: fit(c, y=np.array(["a", "b", "c"] * 4)),
        TypeError,
        r"fit: y must be numeric, got an array of dtype <U1",
    ),
    (
        "object x (None inside)",
        lambda c: fit(c, x=np.array([[None] * 4] * N)),
        TypeError,
        r"fit: x must be numeric, got an array of dtype object \(rows of different lengths, or None values\?\)",
    ),
    (
        "ragged x",
        lambda c: c.model.predict(ragged()),
        ValueError,
        r"predict: x cannot be made into an array \(rows of different lengths\?\)",
    ),
    ("complex x", lambda c: fit(c, x=c.x + 1j), TypeError, r"fit: x must be numeric, got an array of dtype complex"),
    # ---- order of calls, unbuilt models
    (
        "fit before compile",
        lambda c: fit(c, model=uncompiled()),
        RuntimeError,
        r"You must call compile\(\) before fit\(\) on model '.+'",
    ),
    (
        "evaluate before compile",
        lambda c: uncompiled().evaluate(c.x, c.y),
        RuntimeError,
        r"You must call compile\(\) before evaluate\(\)",
    ),
    (
        "train_on_batch before compile",
        lambda c: uncompiled().train_on_batch(c.x, c.y),
        RuntimeError,
        r"You must call compile\(\) before train_on_batch\(\)",
    ),
    (
        "predict on a model without layers",
        lambda c: minidl.Sequential(name="empty").predict(c.x),
        ValueError,
        r"Model 'empty' has no layers: add some before predict\(\)",
    ),
    (
        "fit on a compiled model without layers",
        lambda c: fit_empty_model(c),
        ValueError,
        r"Model 'empty' has no layers: add some before fit\(\)",
    ),
    (
        "summary of an unbuilt model",
        lambda c: minidl.Sequential([layers.Dense(3)], name="lazy").summary(),
        ValueError,
        r"Model 'lazy' is not built yet",
    ),
    (
        "save_weights of an unbuilt model",
        lambda c: minidl.Sequential([layers.Dense(3)], name="lazy").save_weights(c.tmp / "w.npz"),
        ValueError,
        r"save_weights: model 'lazy' is not built yet",
    ),
    (
        "load_weights into an unbuilt model",
        lambda c: minidl.Sequential([layers.Dense(3)], name="lazy").load_weights(c.model.save_weights(c.tmp / "w.npz")),
        ValueError,
        r"load_weights: build model 'lazy' first",
    ),
    (
        "set_weights on an unbuilt model",
        lambda c: minidl.Sequential([layers.Dense(3)], name="lazy").set_weights(c.model.get_weights()),
        ValueError,
        r"set_weights: model 'lazy' is not built yet",
    ),
    # ---- hyperparameters
    (
        "negative learning rate",
        lambda c: optimizers.SGD(learning_rate=-0.1),
        ValueError,
        r"SGD: learning_rate must be a finite number > 0, got -0\.1",
    ),
    ("zero learning rate", lambda c: optimizers.Adam(0.0), ValueError, r"Adam: learning_rate must be .*> 0, got 0\.0"),
    ("NaN learning rate", lambda c: optimizers.Adam(float("nan")), ValueError, r"Adam: learning_rate .* got nan"),
    (
        "momentum of 1",
        lambda c: optimizers.SGD(0.1, momentum=1.0),
        ValueError,
        r"SGD: momentum must be a number in \[0, 1\), got 1\.0",
    ),
    (
        "Adam beta_1 > 1",
        lambda c: optimizers.Adam(beta_1=1.5),
        ValueError,
        r"Adam: beta_1 must be a number in \[0, 1\)",
    ),
    (
        "momentum as a string",
        lambda c: optimizers.SGD(0.1, momentum="0.9"),
        ValueError,
        r"SGD: momentum must be a number in \[0, 1\), got '0\.9'",
    ),
    (
        "learning rate as a string",
        lambda c: optimizers.SGD("0.1"),
        ValueError,
        r"SGD: learning_rate must be a finite number > 0, got '0\.1'",
    ),
    (
        "dropout rate 1",
        lambda c: layers.Dropout(1.0, name="drop"),
        ValueError,
        r"Dropout 'drop': rate \(the fraction dropped\) must be a number in \[0, 1\), got 1\.0",
    ),
    ("negative dropout rate", lambda c: layers.Dropout(-0.1, name="drop"), ValueError, r"Dropout 'drop': rate .*-0\.1"),
    (
        "dropout rate as a string",
        lambda c: layers.Dropout("0.5", name="drop"),
        ValueError,
        r"Dropout 'drop': rate .*'0\.5'",
    ),
    ("zero units", lambda c: layers.Dense(0), ValueError, r"Dense: units must be a positive integer, got 0"),
    ("fractional units", lambda c: layers.Dense(2.5), ValueError, r"Dense: units must be a positive integer, got 2\.5"),
    (
        "unknown activation",
        lambda c: layers.Dense(3, activation="sigmoidd"),
        ValueError,
        r"Unknown activation 'sigmoidd'",
    ),
    (
        "Input shape with 0",
        lambda c: layers.Input((0, 28)),
        ValueError,
        r"Input: shape must be a tuple of positive integers \(None for a size that varies.*\), got \(0, 28\)",
    ),
    ("fit batch_size 0", lambda c: fit(c, batch_size=0), ValueError, r"batch_size must be a positive integer, got 0"),
    ("fit batch_size True", lambda c: fit(c, batch_size=True), ValueError, r"batch_size .* got True"),
    (
        "evaluate batch_size 2.0",
        lambda c: c.model.evaluate(c.x, c.y, batch_size=2.0),
        ValueError,
        r"batch_size must be a positive integer, got 2\.0",
    ),
    ("predict batch_size -1", lambda c: c.model.predict(c.x, batch_size=-1), ValueError, r"batch_size .* got -1"),
    ("negative epochs", lambda c: fit(c, epochs=-1), ValueError, r"fit: epochs must be an integer >= 0, got -1"),
    ("fractional epochs", lambda c: fit(c, epochs=2.5), ValueError, r"fit: epochs must be an integer >= 0, got 2\.5"),
    (
        "initial_epoch > epochs",
        lambda c: fit(c, epochs=2, initial_epoch=3),
        ValueError,
        r"fit: initial_epoch=3 is larger than epochs=2; .* use epochs=5",
    ),
    (
        "negative initial_epoch",
        lambda c: fit(c, initial_epoch=-1),
        ValueError,
        r"fit: initial_epoch must be an integer >= 0, got -1",
    ),
    (
        "unknown loss",
        lambda c: uncompiled().compile("sgd", "categorical_crossentropyy"),
        ValueError,
        r"Unknown loss 'categorical_crossentropyy'; known: \['binary_crossentropy', 'categorical_crossentropy', "
        r"'categorical_hinge', .*'mean_squared_error', .*'sparse_categorical_crossentropy', 'squared_hinge'\] or a "
        r"Loss instance",
    ),
    (
        "unknown optimizer",
        lambda c: uncompiled().compile("rmsprob"),
        ValueError,
        r"Unknown optimizer 'rmsprob'; known: \['adadelta', 'adagrad', 'adam', 'adamax', 'adamw', 'nadam', 'rmsprop', "
        r"'sgd'\]",
    ),
    (
        "unknown metric",
        lambda c: uncompiled().compile("sgd", metrics=["f1"]),
        ValueError,
        r"Unknown metric 'f1'; known: \['acc', 'accuracy', 'auc', 'binary_accuracy', .*'f1_score', .*\] or a Metric "
        r"instance",
    ),
    (
        "metrics as a string",
        lambda c: uncompiled().compile("sgd", metrics="accuracy"),
        TypeError,
        r"compile: metrics must be a list, e.g\. metrics=\['accuracy'\], got 'accuracy'",
    ),
    (
        "optimizer class instead of instance",
        lambda c: uncompiled().compile(optimizers.Adam),
        TypeError,
        r"compile: optimizer must be a name or an instance, got the class Adam: call it, e\.g\. optimizer=Adam\(\)",
    ),
    (
        "recompile with a bad loss keeps the old compile",
        lambda c: c.model.compile("adam", "mean_squared_errorr"),
        ValueError,
        r"Unknown loss 'mean_squared_errorr'",
    ),
    # ---- validation_data and callbacks
    (
        "validation_data as one array",
        lambda c: fit(c, validation_data=c.x),
        ValueError,
        r"fit: validation_data must be a tuple \(x_val, y_val\) or \(x_val, y_val, sample_weight\), or a "
        r"PyDataset, got an array of shape \(12, 4\)",
    ),
    (
        "validation_data with 4 items",
        lambda c: fit(c, validation_data=(c.x, c.y, c.y, c.y)),
        ValueError,
        r"validation_data must be a tuple \(x_val, y_val\) or \(x_val, y_val, sample_weight\), or a "
        r"PyDataset, got a tuple of length 4",
    ),
    (
        "validation_data as a dict",
        lambda c: fit(c, validation_data={"x": c.x}),
        ValueError,
        r"validation_data must be a tuple \(x_val, y_val\) or \(x_val, y_val, sample_weight\), or a "
        r"PyDataset, got a dict",
    ),
    (
        "validation x of the wrong shape",
        lambda c: fit(c, validation_data=(c.x[:, :3], c.y)),
        ValueError,
        r"^fit \(validation_data\): Input 0 of layer 'hidden' is incompatible with the layer: expected shape "
        r"\(None, 4\), found \(None, 3\)",
    ),
    (
        "validation x/y lengths differ",
        lambda c: fit(c, validation_data=(c.x, c.y[:5])),
        ValueError,
        r"fit \(validation_data\): x and y have different numbers of samples: x has 12, y has 5",
    ),
    (
        "validation labels not one-hot",
        lambda c: fit(c, validation_data=(c.x, c.labels)),
        ValueError,
        r"fit \(validation_data\): loss 'categorical_crossentropy' expects one-hot targets",
    ),
    (
        "callback class instead of instance",
        lambda c: fit(c, callbacks=[callbacks.EarlyStopping]),
        TypeError,
        r"fit: callbacks must be Callback instances, got the class EarlyStopping: call it",
    ),
    (
        "callbacks of another kind",
        lambda c: fit(c, callbacks=[print]),
        TypeError,
        r"fit: callbacks must be Callback instances, got builtin_function_or_method",
    ),
    (
        "checkpoint path uses val_loss without validation data",
        lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(str(c.tmp / "w-{val_loss:.2f}.npz"))]),
        KeyError,
        r"ModelCheckpoint: filepath '.*w-\{val_loss:\.2f\}\.npz' uses \{val_loss\}, which is not in this epoch's "
        r"logs; available: epoch, accuracy, loss \(val_\* values need validation_data\)",
    ),
    (
        "checkpoint monitors a missing value",
        lambda c: fit(c, callbacks=[callbacks.ModelCheckpoint(str(c.tmp / "w.npz"), save_best_only=True)]),
        KeyError,
        r"ModelCheckpoint: monitor 'val_loss' will not be in the logs",
    ),
    (
        "checkpoint path with a bad template",
        lambda c: callbacks.ModelCheckpoint("w-{epoch:02d.npz"),
        ValueError,
        r"ModelCheckpoint: filepath 'w-\{epoch:02d\.npz' is not a valid format string",
    ),
    (
        "checkpoint mode",
        lambda c: callbacks.ModelCheckpoint("w.npz", mode="best"),
        ValueError,
        r"ModelCheckpoint: mode must be 'auto', 'min' or 'max', got 'best'",
    ),
    # ---- building
    (
        "add a string",
        lambda c: minidl.Sequential().add("dense"),
        TypeError,
        r"Sequential\.add expects a Layer, got str: 'dense'",
    ),
    (
        "add a layer class",
        lambda c: minidl.Sequential().add(layers.Dense),
        TypeError,
        r"Sequential\.add expects a Layer instance, got the class Dense: call it",
    ),
    (
        "add the same layer twice",
        lambda c: c.model.add(c.model.layers[0]),
        ValueError,
        r"Sequential\.add: layer 'hidden' is already in model",
    ),
    (
        "add a duplicate layer name",
        lambda c: c.model.add(layers.Dense(3, name="out")),
        ValueError,
        r"All layers added to a Sequential model should have unique names\. Name 'out' is already",
    ),
    ("add an Input after layers", lambda c: c.model.add(layers.Input((3,))), ValueError, r"an Input must come first"),
    (
        "add a Conv2D after Dense",
        lambda c: c.model.add(layers.Conv2D(2, 3, name="conv")),
        ValueError,
        r"Input 0 of layer 'conv' is incompatible with the layer: expected ndim=4 .*found ndim=2",
    ),
    (
        "build for another image shape",
        lambda c: minidl.Sequential(
            [
                layers.Input((28, 28, 1)),
                layers.Conv2D(2, 3, name="conv"),
                layers.Flatten(name="flat"),
                layers.Dense(3, name="out"),
            ]
        ).build((None, 28, 28, 3)),
        ValueError,
        r"Input 0 of layer 'conv' is incompatible with the layer: expected shape \(None, 28, 28, 1\), "
        r"found \(None, 28, 28, 3\)",
    ),
    (
        "build without the batch axis",
        lambda c: minidl.Sequential([layers.Dense(3)], name="m").build((784,)),
        ValueError,
        r"Model 'm': build expects the input shape with the batch axis first .* got \(784,\); with the "
        r"batch axis first, it is probably \(None, 784\)",
    ),
    (
        "build for another input",
        lambda c: c.model.build((None, 5)),
        ValueError,
        r"Input 0 of layer 'hidden' .* expected shape \(None, 4\), found \(None, 5\)",
    ),
    # ---- weights files
    (
        "weights of another architecture",
        lambda c: c.model.load_weights(write_weights_of_other_model(c)),
        ValueError,
        r"load_weights: '.*other\.npz' holds weights of another architecture: layer 0 \('hidden'\): the file has "
        r"Dense with kernel \(4, 9\), bias \(9,\), the model has Dense with kernel \(4, 8\), bias \(8,\)",
    ),
    (
        "weights file missing",
        lambda c: c.model.load_weights(c.tmp / "nope.npz"),
        FileNotFoundError,
        r"load_weights: no weights file '.*nope\.npz'",
    ),
    (
        "weights file truncated",
        lambda c: c.model.load_weights(truncated_weights(c)),
        ValueError,
        r"load_weights: cannot read '.*truncated\.npz' \(truncated or not a weights file\?\)",
    ),
    (
        "weights file garbage",
        lambda c: c.model.load_weights(garbage_file(c)),
        ValueError,
        r"load_weights: cannot read '.*garbage\.npz' \(truncated or not a weights file\?\): ValueError: not a \.npz "
        r"\(zip\) file, it starts with b'this'",
    ),
    (
        "weights file empty",
        lambda c: c.model.load_weights(garbage_file(c, "empty.npz", b"")),
        ValueError,
        r"load_weights: cannot read '.*empty\.npz' .*it is empty",
    ),
    (
        "npz not written by save_weights",
        lambda c: c.model.load_weights(foreign_npz(c)),
        ValueError,
        r"another architecture: the file holds no architecture \(it was not written by save_weights\)",
    ),
    (
        "set_weights of the wrong shape",
        lambda c: c.model.layers[0].set_weights([np.zeros((4, 9)), np.zeros(9)]),
        ValueError,
        r"Layer 'hidden' weight 'kernel' has shape \(4, 8\), but the received value has shape \(4, 9\)",
    ),
    (
        "set_weights of the wrong count",
        lambda c: c.model.layers[0].set_weights([np.zeros((4, 8))]),
        ValueError,
        r"Layer 'hidden' expects 2 weights \[kernel \(4, 8\), bias \(8,\)\], but received 1",
    ),
    # ---- Keras's newer arguments
    (
        "sample_weight of the wrong shape",
        lambda c: fit(c, sample_weight=np.ones(5)),
        ValueError,
        r"fit: sample_weight must hold one weight per sample, shape \(12,\), got shape \(5,\)",
    ),
    (
        "negative sample_weight",
        lambda c: fit(c, sample_weight=-np.ones(12)),
        ValueError,
        r"fit: sample_weight must be finite and >= 0",
    ),
    (
        "class_weight missing a class",
        lambda c: fit(c, class_weight={0: 1.0, 1: 2.0}),
        ValueError,
        r"fit: class_weight has no weight for class\(es\) \[2\]; it has \[0, 1\]",
    ),
    (
        "sample_weight and class_weight together",
        lambda c: fit(c, sample_weight=np.ones(12), class_weight={0: 1, 1: 1, 2: 1}),
        ValueError,
        r"Arguments `sample_weight` and `class_weight` cannot be specified at the same time",
    ),
    (
        "validation_split of 1",
        lambda c: fit(c, validation_split=1.0),
        ValueError,
        r"fit: validation_split must be a number in \[0, 1\), got 1.0",
    ),
    (
        "validation_freq of 0",
        lambda c: fit(c, validation_freq=0, validation_split=0.25),
        ValueError,
        r"fit: validation_freq must be a positive integer or a list of epochs, got 0",
    ),
    (
        "verbose of 3",
        lambda c: c.model.evaluate(c.x, c.y, verbose=3),
        ValueError,
        r"evaluate: verbose must be 'auto', 0, 1 or 2, got 3",
    ),
    (
        "ReduceLROnPlateau factor of 1",
        lambda c: callbacks.ReduceLROnPlateau(factor=1.0),
        ValueError,
        r"ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0",
    ),
    (
        "two clipping arguments",
        lambda c: optimizers.SGD(clipnorm=1.0, clipvalue=0.5),
        ValueError,
        r"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set",
    ),
    (
        "compile without a loss, then fit",
        lambda c: fit(c, model=no_loss()),
        ValueError,
        r"fit: No loss to compute. Provide a `loss` argument in `compile\(\)`.",
    ),
    (
        "a weights file neither .npz nor .weights.h5",
        lambda c: c.model.save_weights(c.tmp / "model.h5"),
        ValueError,
        r"save_weights: '.*model\.h5' does not end in \.npz: .* Keras's weights as \.weights\.h5",
    ),
    (
        "Input(784)",
        lambda c: minidl.Input(784),
        ValueError,
        r"Cannot convert '784' to a shape. Input takes the shape of one sample, without the batch axis, as a "
        r"tuple: Input\(\(784,\)\)",
    ),
    # ---- data files (the notMNIST loader)
    (
        "data file missing",
        lambda c: notmnist.load_data(c.tmp / "notMNIST.npz"),
        FileNotFoundError,
        r"notMNIST file '.*notMNIST\.npz' given by the path argument does not exist",
    ),
    (
        "data file truncated",
        lambda c: notmnist.load_data(bad_data_file(c, "truncated")),
        ValueError,
        r"notMNIST\.npz: not a readable \.npz file .*delete .* and re-download it",
    ),
    (
        "data file is an HTML page",
        lambda c: notmnist.load_data(bad_data_file(c, "garbage")),
        ValueError,
        r"notMNIST\.npz: not a \.npz \(zip\) file, it starts with b'<htm'",
    ),
    (
        "data file checksum",
        lambda c: notmnist.load_data(bad_data_file(c, "checksum")),
        ValueError,
        rf"notMNIST\.npz: checksum mismatch: expected {notmnist.SHA256}, got [0-9a-f]{{64}}",
    ),
]


@pytest.mark.parametrize("case, call, error, message", BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_bad_input_gives_a_clear_early_error(tmp_path, case, call, error, message):
    c = make_context(tmp_path)
    before = state_of(c.model)
    loss_before, layers_before = c.model.loss, list(c.model.layers)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from NumPy on the way to the error
        with computations() as calls, pytest.raises(error) as excinfo:
            call(c)
    text = excinfo.value.args[0] if isinstance(excinfo.value, KeyError) else str(excinfo.value)
    assert excinfo.type is error  # exactly this type, not a subclass raised by accident
    assert re.search(message, text), f"\n  message: {text}\n  pattern: {message}"
    assert_raised_by_a_check(excinfo, calls)
    # Nothing changed: no update, no optimizer step, no extra layer, the old compile kept.
    assert_same_state(before, state_of(c.model))
    assert c.model.loss is loss_before and c.model.layers == layers_before


def test_table_ids_are_unique_and_cover_every_entry_point():
    ids = [row[0] for row in BAD_INPUTS]
    assert len(ids) == len(set(ids))
    sources = " ".join(inspect.getsource(row[1]) for row in BAD_INPUTS)
    for entry in (
        "fit(",
        "evaluate(",
        "predict(",
        "train_on_batch(",
        "compile(",
        ".add(",
        ".build(",
        "load_weights(",
        "load_data(",
        "ModelCheckpoint(",
    ):
        assert entry in sources, entry


def test_the_model_stays_usable_after_rejected_calls(tmp_path):
    """A student fixes the mistake and carries on: no half-added layer, no half-changed compile."""
    c = make_context(tmp_path)
    with pytest.raises(ValueError):
        c.model.add(layers.Conv2D(2, 3))
    with pytest.raises(ValueError):
        c.model.compile("adam", "no_such_loss")
    assert [layer.name for layer in c.model.layers] == ["hidden", "out"]
    c.model.add(layers.Dense(2, activation="softmax", name="fixed"))
    assert c.model.output_shape == (None, 2)
    c.model.compile("adam", "categorical_crossentropy")
    c.model.fit(c.x, to_categorical(c.labels % 2, 2), epochs=1, verbose=0)

    model = minidl.Sequential(name="lazy")  # the first layer fails to build: the model is empty again
    with pytest.raises(ValueError, match="ndim=4"):
        model.add(layers.Conv2D(2, 3, input_shape=(5,)))
    assert model.layers == [] and model.input_shape is None
    model.add(layers.Dense(3, input_shape=(4,)))
    assert model.output_shape == (None, 3)


def test_sparse_labels_may_be_whole_floats_or_a_column(tmp_path):
    c = make_context(tmp_path, loss="sparse_categorical_crossentropy")
    for labels in (c.labels.astype(np.float32), c.labels[:, None], c.labels.astype(np.uint8)):
        c.model.evaluate(c.x, labels, verbose=0)
    c.model.fit(c.x, c.labels.astype(float), epochs=1, verbose=0)


def test_label_smoothing_targets_are_accepted(tmp_path):
    c = make_context(tmp_path)
    smooth = c.y * 0.9 + 0.1 / CLASSES  # rows still sum to 1
    c.model.fit(c.x, smooth, epochs=1, verbose=0)


def test_the_issue_example_message_word_for_word():
    model = mnist_like_mlp()
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError) as excinfo:
        model.fit(np.zeros((2, 28, 28)), np.eye(3)[:2], verbose=0)
    assert str(excinfo.value).startswith(
        "Input 0 of layer 'dense_1' is incompatible with the layer: expected shape (None, 784), found (None, 28, 28)"
    )


def test_layer_names_follow_keras():
    names = [
        type(layer).__name__ for layer in (layers.Conv2D(1, 1), layers.MaxPooling2D(), layers.BatchNormalization())
    ]
    assert names == ["Conv2D", "MaxPooling2D", "BatchNormalization"]
    assert layers.Conv2D(1, 1).name.startswith("conv2d")
    assert layers.MaxPooling2D().name.startswith("max_pooling2d")
    assert layers.BatchNormalization().name.startswith("batch_normalization")
    assert layers.ReLU().name.startswith("re_lu")  # Keras's own spelling


# --------------------------------------------------------------------------------- NaN / inf guards


class Log(layers.Layer):
    """A user-defined layer y = log(x): a negative input (finite, so no input check objects) gives NaN,
    which makes the loss NaN exactly in the batch that holds it."""

    def forward(self, x, training=False):
        self.x = x
        with np.errstate(invalid="ignore"):
            return np.log(x)

    def backward(self, grad_output):
        return grad_output / self.x


def nan_setup(with_batchnorm=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, size=(32, FEATURES)).astype(np.float32)
    labels = rng.integers(0, CLASSES, 32)
    minidl.set_seed(seed)
    stack = [layers.Input((FEATURES,)), Log(), layers.Dense(8, activation="relu")]
    if with_batchnorm:
        stack.append(layers.BatchNormalization())
    model = minidl.Sequential([*stack, layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model, x, to_categorical(labels, CLASSES)


class WeightRecorder(callbacks.Callback):
    """The weights (and optimiser step count) at the start of every batch, by (epoch, batch)."""

    def __init__(self):
        super().__init__()
        self.at = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.at[(self.epoch, batch)] = (self.model.get_weights(), self.model.optimizer.iterations)


@pytest.mark.parametrize("with_batchnorm", [False, True], ids=["mlp", "batchnorm"])
def test_nan_loss_stops_fit_with_the_last_good_weights(tmp_path, capsys, with_batchnorm):
    model, x, y = nan_setup(with_batchnorm)
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.npz"))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False, callbacks=[checkpoint])  # a clean epoch 0
    x_bad = x.copy()
    x_bad[21, 1] = -1.0  # in batch index 2 (samples 16..23)
    recorder = WeightRecorder()
    history = model.fit(
        x_bad, y, batch_size=8, epochs=4, initial_epoch=1, verbose=0, shuffle=False, callbacks=[recorder, checkpoint]
    )
    out = capsys.readouterr().out
    assert out == (
        "Epoch 2, batch 3: the loss is nan (weights left as they were before this batch); training "
        "stopped. Try a smaller learning rate.\n"
    )
    weights, iterations = recorder.at[(1, 2)]
    for got, expected in zip(model.get_weights(), weights, strict=True):  # incl. BatchNormalization's moving statistics
        np.testing.assert_array_equal(got, expected)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert model.optimizer.iterations == iterations == 4 + 2  # epoch 0's 4 steps, then 2 good ones
    assert history.history == {} and history.epoch == []  # the partial epoch 1 is not recorded
    assert max(recorder.at) == (1, 2)  # nothing ran after the bad batch
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01.npz"]  # no checkpoint of the diverged epoch


def test_nan_stop_keeps_only_complete_epochs_in_history(capsys):
    model, x, y = nan_setup()
    x_bad = x.copy()
    x_bad[9, 0] = -1.0

    class SwapDataAt(callbacks.Callback):
        """Epochs 0 and 1 are clean; from epoch 2 on, sample 9 (batch index 1) is negative."""

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                x[...] = x_bad  # fit trains on (a float32 view of) this very array

    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0, shuffle=False, callbacks=[SwapDataAt()])
    assert history.epoch == [0, 1]
    assert history.history.keys() == {"loss", "accuracy"} and all(len(v) == 2 for v in history.history.values())
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert "Epoch 3, batch 2: the loss is nan" in capsys.readouterr().out


def test_diverging_learning_rate_stops_with_finite_weights(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, FEATURES)).astype(np.float32)
    y = to_categorical(rng.integers(0, CLASSES, 64), CLASSES)
    minidl.set_seed(0)
    model = mlp(16)
    model.compile(optimizers.SGD(1e8, momentum=0.9), "categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = model.fit(x, y, batch_size=8, epochs=20, verbose=0)
    out = capsys.readouterr().out
    assert "the loss is nan" in out and "Try a smaller learning rate" in out
    assert len(history.epoch) < 20
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_train_on_batch_raises_on_nan_without_updating():
    model, x, y = nan_setup(with_batchnorm=True)
    model.train_on_batch(x[:8], y[:8])
    before = state_of(model)
    x_bad = x[:8].copy()
    x_bad[3, 2] = -1.0
    with pytest.raises(NonFiniteLossError, match=r"the loss is nan \(weights left as they were before"):
        model.train_on_batch(x_bad, y[:8])
    assert_same_state(before, state_of(model))
    assert issubclass(NonFiniteLossError, FloatingPointError)


def test_terminate_on_nan_callback(capsys):
    class FakeModel:
        stop_training = False

    callback = callbacks.TerminateOnNaN()
    callback.set_model(FakeModel())
    callback.on_train_batch_end(0, {"loss": 0.5})
    assert not callback.model.stop_training
    callback.on_train_batch_end(7, {"loss": float("inf")})
    assert callback.model.stop_training
    assert capsys.readouterr().out == "Batch 7: Invalid loss, terminating training\n"  # Keras's words

    model, x, y = nan_setup()
    x[5, 0] = -1.0
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False, callbacks=[callbacks.TerminateOnNaN()])
    assert history.epoch == [] and "Epoch 1, batch 1: the loss is nan" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ determinism


def deterministic_run(seed):
    """A CNN with BatchNormalization and Dropout, Adam, shuffled mini-batches, validation data."""
    rng = np.random.default_rng(123)
    x = rng.normal(size=(24, 6, 6, 1)).astype(np.float32)
    y = to_categorical(rng.integers(0, CLASSES, 24), CLASSES)
    minidl.set_seed(seed)
    model = minidl.Sequential(
        [
            layers.Input((6, 6, 1)),
            layers.Conv2D(3, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=5, epochs=3, verbose=0, validation_data=(x[:8], y[:8]))
    return history.history, model.get_weights()


def test_same_seed_gives_bit_identical_runs():
    hist_a, weights_a = deterministic_run(5)
    hist_b, weights_b = deterministic_run(5)
    assert hist_a == hist_b
    for a, b in zip(weights_a, weights_b, strict=True):
        np.testing.assert_array_equal(a, b)
    hist_c, weights_c = deterministic_run(6)
    assert hist_c["loss"] != hist_a["loss"] and not np.array_equal(weights_c[0], weights_a[0])


RUN_IN_A_FRESH_PROCESS = textwrap.dedent("""
    import hashlib, json
    import numpy as np
    from test_reliability import deterministic_run
    history, weights = deterministic_run(5)
    digest = hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in weights)).hexdigest()
    print(json.dumps({"history": {k: [float(v).hex() for v in vs] for k, vs in history.items()}, "weights": digest}))
""")


@pytest.mark.skipif(sys.platform == "win32", reason="uses subprocesses with PYTHONHASHSEED")
def test_same_seed_is_bit_identical_across_processes():
    """Two fresh interpreters (different hash seeds, so no reliance on set/dict-of-str ordering) agree
    with each other and with this process, to the last bit."""
    root = Path(__file__).resolve().parent.parent
    results = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root / "tests")}
        done = subprocess.run(
            [sys.executable, "-c", RUN_IN_A_FRESH_PROCESS],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=root,
        )
        assert done.returncode == 0, done.stderr
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1]
    history, _ = deterministic_run(5)
    assert results[0]["history"] == {k: [float(v).hex() for v in vs] for k, vs in history.items()}
