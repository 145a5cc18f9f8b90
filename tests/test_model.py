"""Sequential's training API on small problems: learning, determinism, History and verbosity, summary,
saving, losses, dtypes, user layers, callbacks (EarlyStopping against Keras's own) and initializers."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest
from helpers import WeightsPerEpoch

import minidl
from minidl import callbacks, initializers, layers, optimizers
from minidl.layers import Layer
from minidl.testing import check_layer_gradients
from minidl.utils import to_categorical


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


# --------------------------------------------------------------------------------------------- data


def blobs(n=200, seed=0):
    """n points of 3 Gaussian blobs in 2-D (well separated): x (n, 2) float64, labels (n,) int."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0], [3.0, 0.0], [1.5, 2.6]])
    labels = np.arange(n) % 3
    rng.shuffle(labels)
    x = centers[labels] + rng.normal(0, 0.5, (n, 2))
    return x, labels


def mlp(hidden=16, activation="relu"):
    return minidl.Sequential(
        [layers.Input((2,)), layers.Dense(hidden, activation=activation), layers.Dense(3, activation="softmax")]
    )


def accuracy(model, x, labels):
    return float(np.mean(model.predict(x).argmax(axis=1) == labels))


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


# ------------------------------------------------------------------------------- learning, seeding


@pytest.mark.parametrize(
    "optimizer",
    [lambda: optimizers.Adam(0.02), lambda: optimizers.SGD(0.1, momentum=0.9)],
    ids=["adam", "sgd_momentum"],
)
def test_fit_learns_blobs(optimizer):
    x, labels = blobs()
    minidl.set_seed(0)
    model = mlp()
    model.compile(optimizer(), "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, to_categorical(labels, 3), batch_size=32, epochs=40, verbose=0)
    assert history.history["accuracy"][-1] >= 0.98
    assert accuracy(model, x, labels) >= 0.98
    assert history.history["loss"][-1] < history.history["loss"][0] / 4


def train_seeded(seed, x, y):
    minidl.set_seed(seed)
    model = mlp()
    model.compile(optimizers.Adam(0.02), "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0, validation_data=(x[:50], y[:50]))
    return model, history


def test_same_seed_is_bit_identical_and_other_seed_differs():
    x, labels = blobs()
    y = to_categorical(labels, 3)
    model_a, hist_a = train_seeded(7, x, y)
    model_b, hist_b = train_seeded(7, x, y)
    assert hist_a.history == hist_b.history  # exact float equality
    assert_weights_equal(model_a.get_weights(), model_b.get_weights())
    assert model_a.shuffle_seed == model_b.shuffle_seed

    minidl.set_seed(8)
    other = mlp()
    minidl.set_seed(7)
    same_init = mlp()
    assert not np.array_equal(other.get_weights()[0], same_init.get_weights()[0])
    model_c, hist_c = train_seeded(8, x, y)
    assert not np.array_equal(model_c.get_weights()[0], model_a.get_weights()[0])
    assert hist_c.history["loss"] != hist_a.history["loss"]


# ---------------------------------------------------------------------------- History, verbosity


@pytest.fixture
def small():
    x, labels = blobs(60, seed=1)
    minidl.set_seed(1)
    model = mlp(8)
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model, x, to_categorical(labels, 3)


def test_history_keys_and_lengths(small):
    model, x, y = small
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x[:20], y[:20]))
    assert history is model.history
    assert history.history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert all(isinstance(v, float) for vs in history.history.values() for v in vs)
    assert all(0 <= a <= 1 for a in history.history["accuracy"] + history.history["val_accuracy"])

    # without validation data: no val_ keys; a second fit starts a new History
    history2 = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert history2.history.keys() == {"loss", "accuracy"}
    assert history2.epoch == [0, 1] and len(history2.history["loss"]) == 2

    # val_loss is exactly evaluate() on the validation data after the epoch's updates
    history3 = model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x[:20], y[:20]))
    loss, acc = model.evaluate(x[:20], y[:20], batch_size=16, verbose=0)
    assert history3.history["val_loss"] == [pytest.approx(loss, rel=1e-12)]
    assert history3.history["val_accuracy"] == [pytest.approx(acc, rel=1e-12)]


def test_initial_epoch(small, capsys):
    model, x, y = small
    history = model.fit(x, y, batch_size=16, epochs=5, initial_epoch=2, verbose=2)
    assert history.epoch == [2, 3, 4]  # epochs counted from initial_epoch, as Keras
    assert len(history.history["loss"]) == 3
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 3/5", "Epoch 4/5", "Epoch 5/5"]

    assert model.fit(x, y, epochs=2, initial_epoch=2, verbose=0).epoch == []  # nothing left to run


def test_resuming_at_initial_epoch_is_the_uninterrupted_run():
    x, labels = blobs(60, seed=2)
    y = to_categorical(labels, 3)
    runs = []
    for split in (None, 2):
        minidl.set_seed(4)
        model = mlp(8)
        model.compile(optimizers.Adam(0.01), "categorical_crossentropy")
        if split is None:
            losses = model.fit(x, y, batch_size=16, epochs=4, verbose=0).history["loss"]
        else:
            losses = model.fit(x, y, batch_size=16, epochs=split, verbose=0).history["loss"]
            losses += model.fit(x, y, batch_size=16, epochs=4, initial_epoch=split, verbose=0).history["loss"]
        runs.append((losses, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    assert_weights_equal(runs[0][1], runs[1][1])


def test_verbose_0_prints_nothing(small, capsys):
    model, x, y = small
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y))
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)  # Keras's default "auto" shows a progress bar
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_2_prints_one_line_per_epoch(small, capsys):
    model, x, y = small
    model.fit(x, y, batch_size=16, epochs=3, verbose=2, validation_data=(x, y))
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/3")
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert f" {key}: " in line
    assert "\r" not in captured.out


def test_verbose_1_in_a_narrow_terminal_keeps_the_numbers_and_ends_with_the_complete_line(small, monkeypatch):
    """The live bar shows the loss before its graphics (a narrow terminal cuts the graphics: seen at 60
    columns in tmux; a StringIO has no width to cut at), and each epoch ends with its whole line,
    validation included, however wide (as Keras)."""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(minidl.callbacks.ProgressBar, "REFRESH_SECONDS", 0.0)
    model, x, y = small
    terminal = Terminal()
    bar = minidl.callbacks.ProgressBar(verbose=1, file=terminal)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_split=0.25, callbacks=[bar])
    screens = [part for line in terminal.getvalue().split("\n") for part in line.split("\r")]
    live = [s for s in screens if s.startswith("Epoch 1/2 ") and "/3" in s and "batch -" not in s]
    drawn = [s for s in live if "loss: " in s and "#" in s]
    assert drawn and all(s.index("loss: ") < s.index("#") for s in drawn)
    final = [s for s in terminal.getvalue().split("\n") if "Epoch 2/2 - 3/3 batch" in s]
    assert len(final) == 1 and all(f" {key}: " in final[0] for key in ("loss", "accuracy", "val_loss", "val_accuracy"))


@pytest.mark.parametrize("verbose", [1, "auto"])
def test_verbose_1_shows_a_progress_bar(small, capsys, verbose):
    model, x, y = small
    model.fit(x, y, batch_size=16, epochs=2, verbose=verbose)  # 60 samples: 4 batches
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "4/4" in out and "batch" in out  # tqdm's counter and unit
    assert "loss: " in out and "accuracy: " in out


# --------------------------------------------------------------------------------------- summary


def test_summary_matches_keras_counts():
    keras = keras_or_skip()
    model = minidl.Sequential(
        [
            layers.Input((2,)),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    kmodel = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    printed = []
    model.summary(print_fn=printed.append)
    assert len(printed) == 1  # one call with the whole table, as Keras 3
    text = printed[0]
    lines = text.splitlines()
    klines = []
    kmodel.summary(print_fn=lambda s, **kwargs: klines.append(s))
    ktext = "\n".join(klines)
    assert [line[0] for line in lines[1:5]] == [line[0] for line in ktext.splitlines()[1:5]]  # ┏ ┃ ┡ │: the box

    assert model.count_params() == kmodel.count_params() == 2 * 16 + 16 + 16 * 3 + 3
    for layer, klayer in zip(model.layers, kmodel.layers):
        assert layer.count_params() == klayer.count_params()
        row = next(line for line in lines if f"{layer.name} (Dense)" in line)
        _, _, shape, count, _ = row.split("│")
        assert shape.strip() == str(tuple(klayer.output.shape))  # (None, 16)
        assert count.strip() == f"{klayer.count_params():,}"
    assert "(None, 16)" in text and "(None, 3)" in text
    for label in ("Total params:", "Trainable params:", "Non-trainable params:"):
        ours = next(line.strip() for line in lines if line.strip().startswith(label))
        theirs = next(line.strip() for line in ktext.splitlines() if line.strip().startswith(label))
        assert ours == theirs  # e.g. "Total params: 99 (396.00 B)"
    assert lines[0] == f'Model: "{model.name}"'


def test_summary_and_count_params(capsys):
    model = minidl.Sequential([layers.Input((5,)), layers.Dense(4, use_bias=False), layers.ReLU(), layers.Dense(2)])
    assert model.count_params() == 5 * 4 + 4 * 2 + 2
    assert [layer.count_params() for layer in model.layers] == [20, 0, 10]
    model.summary()
    out = capsys.readouterr().out
    assert "Total params: 30 " in out
    for layer in model.layers:
        assert layer.name in out
    with pytest.raises(ValueError, match="not built"):
        minidl.Sequential([layers.Dense(3)]).summary()


# --------------------------------------------------------------------------------- save and load


def test_save_load_weights_round_trip(tmp_path, small):
    model, x, y = small
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    path = model.save_weights(tmp_path / "ckpt.npz")
    assert path == tmp_path / "ckpt.npz" and path.exists()
    saved = model.get_weights()

    clone = mlp(8)
    assert not np.array_equal(clone.predict(x), model.predict(x))
    clone.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    clone.load_weights(path)
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    assert_weights_equal(clone.get_weights(), model.get_weights())

    # Optimizer state and shuffling seed came along: training continues identically.
    h1 = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    h2 = clone.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert h1.history == h2.history
    assert_weights_equal(clone.get_weights(), model.get_weights())

    uncompiled = mlp(8)
    uncompiled.load_weights(path)  # into an uncompiled model: the weights only
    assert_weights_equal(uncompiled.get_weights(), saved)


@pytest.mark.parametrize(
    "other",
    [
        lambda: mlp(9),
        lambda: minidl.Sequential(
            [layers.Input((2,)), layers.Dense(8, activation="relu"), layers.Dense(3, use_bias=False)]
        ),
        lambda: minidl.Sequential([layers.Input((2,)), layers.Dense(8), layers.Dense(8), layers.Dense(3)]),
        lambda: minidl.Sequential([layers.Input((3,)), layers.Dense(8), layers.Dense(3)]),
    ],
    ids=["wider", "no_bias", "deeper", "other_input"],
)
def test_load_into_another_architecture_raises(tmp_path, other):
    model = mlp(8)
    path = model.save_weights(tmp_path / "w.npz")
    target = other()
    before = target.get_weights()
    with pytest.raises(ValueError, match="another architecture"):
        target.load_weights(path)
    assert_weights_equal(target.get_weights(), before)  # untouched


def test_load_weights_bad_file(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="bad.npz"):
        mlp().load_weights(bad)
    with pytest.raises(FileNotFoundError):
        mlp().load_weights(tmp_path / "missing.npz")


# ------------------------------------------------------------------------- sparse vs categorical


def test_sparse_equals_categorical():
    x, labels = blobs(90, seed=3)
    runs = {}
    for loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        minidl.set_seed(11)
        model = mlp(8)
        model.compile(optimizers.SGD(0.1, momentum=0.9), loss, metrics=["accuracy"])
        y = labels if loss.startswith("sparse") else to_categorical(labels, 3)
        first = model.train_on_batch(x[:10], y[:10])
        history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, validation_data=(x[:30], y[:30]))
        runs[loss] = (first, history.history, model.get_weights(), model.evaluate(x, y, verbose=0))
    (f1, h1, w1, e1), (f2, h2, w2, e2) = runs.values()
    assert f1 == pytest.approx(f2, rel=1e-6)
    assert h1.keys() == h2.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-6, err_msg=key)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(e1, e2, rtol=1e-6)


# ----------------------------------------------------------------------------------------- dtypes


def all_arrays_after_a_step(loss="categorical_crossentropy", optimizer=None):
    x, labels = blobs(40, seed=5)  # float64 inputs, int64 labels
    model = mlp(8)
    model.compile(optimizer or optimizers.Adam(0.01), loss, metrics=["accuracy"])
    y = labels if loss.startswith("sparse") else to_categorical(labels, 3, dtype="float64")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.train_on_batch(x[:8], y[:8])
    arrays = {"predict": model.predict(x), "call": model(x), "loss_grad": model.loss.backward()}
    for i, layer in enumerate(model.layers):
        arrays.update({f"{i}/param/{k}": v for k, v in layer.params.items()})
        arrays.update({f"{i}/grad/{k}": v for k, v in layer.grads.items()})
        arrays[f"{i}/cached_input"] = layer.input
    for slot, per_param in model.optimizer.slots.items():
        arrays.update({f"slot/{slot}/{k}": v for k, v in per_param.items()})
    return arrays


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
@pytest.mark.parametrize(
    "optimizer", [lambda: optimizers.Adam(0.01), lambda: optimizers.SGD(0.1, momentum=0.9)], ids=["adam", "sgd"]
)
def test_float32_by_default_no_silent_upcasts(loss, optimizer):
    assert minidl.floatx() == "float32"
    arrays = all_arrays_after_a_step(loss, optimizer())
    assert any(k.startswith("slot/") for k in arrays)
    for name, value in arrays.items():
        assert value.dtype == np.float32, (name, value.dtype)


def test_set_floatx_float64(float64):
    assert minidl.floatx() == "float64"
    arrays = all_arrays_after_a_step()
    for name, value in arrays.items():
        assert value.dtype == np.float64, (name, value.dtype)
    assert minidl.utils.to_categorical([0, 1]).dtype == np.float64
    assert initializers.get("glorot_normal")((3, 4)).dtype == np.float64


def test_set_floatx_rejects_other_types():
    with pytest.raises(ValueError, match="float32"):
        minidl.set_floatx("float16")
    assert minidl.floatx() == "float32"


# -------------------------------------------------------------------------------- user-defined layer


class LeakyReLU(Layer):
    """y = x if x > 0 else alpha * x;  dL/dx = dL/dy * (1 if x > 0 else alpha)."""

    def __init__(self, alpha=0.1, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def forward(self, x, training=False):
        self.slope = np.where(x > 0, 1, self.alpha).astype(x.dtype)
        return x * self.slope

    def backward(self, grad_output):
        return grad_output * self.slope


def test_user_defined_layer_gradients():
    x = np.random.default_rng(0).standard_normal((6, 5))
    x[np.abs(x) < 1e-3] = 0.5
    assert check_layer_gradients(LeakyReLU(), x) < 1e-6
    assert check_layer_gradients(LeakyReLU(alpha=0.3), x) < 1e-6


def test_user_defined_layer_trains_in_sequential():
    x, labels = blobs(seed=6)
    minidl.set_seed(6)
    model = minidl.Sequential(
        [layers.Input((2,)), layers.Dense(16), LeakyReLU(), layers.Dense(3, activation="softmax")]
    )
    assert model.layers[1].name.startswith("leaky_re_lu")
    model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = accuracy(model, x, labels)
    history = model.fit(x, labels, batch_size=32, epochs=40, verbose=0)
    assert history.history["accuracy"][-1] >= 0.97
    assert accuracy(model, x, labels) >= 0.97 > before
    assert model.predict(x).dtype == np.float32


# ------------------------------------------------------------------------------------ EarlyStopping


class FakeModel:
    """Enough of a model for EarlyStopping: its "weights" are the index of the epoch that made them."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.array([-1.0])]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


def drive(callback, monitor, values):
    """Run a scripted training: epoch e reports logs {monitor: values[e]}. Returns what happened."""
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    epochs_run = 0
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        epochs_run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return dict(
        epochs_run=epochs_run,
        stopped_epoch=int(callback.stopped_epoch),
        best_epoch=int(callback.best_epoch),
        restored=float(model.weights[0][0]),
        best=None if callback.best is None else float(callback.best),
        wait=int(callback.wait),
    )


SCRIPTS = [
    # (kwargs, monitor, values)
    (dict(), "val_loss", [1.0, 0.9, 0.95, 0.8]),
    (dict(patience=2), "val_loss", [1.0, 0.9, 0.95, 0.91, 0.92, 0.5]),
    (dict(patience=2), "val_loss", [1.0, 0.9, 0.95, 0.85, 0.92, 0.93, 0.5]),
    (dict(patience=1, min_delta=0.05), "val_loss", [1.0, 0.97, 0.96, 0.9, 0.89, 0.88, 0.7]),
    (dict(patience=1, min_delta=-0.05), "val_loss", [1.0, 0.97, 0.96, 0.9, 0.89, 0.88, 0.7]),  # |min_delta|
    (dict(patience=1, mode="max"), "val_accuracy", [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7]),
    (dict(patience=2, mode="max", min_delta=0.02), "val_accuracy", [0.5, 0.51, 0.53, 0.54, 0.545, 0.55, 0.6]),
    (dict(patience=0, mode="min"), "loss", [3.0, 2.0, 2.0, 1.0]),
    (dict(patience=0, start_from_epoch=3), "val_loss", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    (dict(patience=1, start_from_epoch=2), "val_loss", [5.0, 1.0, 2.0, 3.0, 4.0, 0.1]),
    (dict(patience=2, baseline=0.5), "val_loss", [0.9, 0.9, 0.9, 0.9, 0.9]),
    (dict(patience=2, baseline=0.5), "val_loss", [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.45, 0.45, 0.45]),
    (dict(patience=1, baseline=0.8, mode="max"), "val_accuracy", [0.7, 0.7, 0.9, 0.85, 0.85, 0.95]),
    (dict(patience=3), "val_loss", [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]),  # equal is no improvement
    (dict(patience=1), "val_loss", [0.5]),  # never stops at epoch 0
]


def compare_with_keras(kwargs, monitor, values, restore):
    keras = keras_or_skip()
    ours = drive(callbacks.EarlyStopping(monitor=monitor, restore_best_weights=restore, **kwargs), monitor, values)
    theirs = drive(
        keras.callbacks.EarlyStopping(monitor=monitor, restore_best_weights=restore, **kwargs), monitor, values
    )
    assert ours == theirs, (kwargs, values)
    return ours


@pytest.mark.parametrize("restore", [False, True], ids=["plain", "restore"])
@pytest.mark.parametrize("kwargs, monitor, values", SCRIPTS)
def test_early_stopping_matches_keras_scripted(kwargs, monitor, values, restore):
    result = compare_with_keras(kwargs, monitor, values, restore)
    if restore:
        assert result["restored"] == result["best_epoch"]


def test_early_stopping_hand_checked():
    """Sequences worked out by hand, so the tests do not only say 'the same as Keras' (and run without it)."""
    r = drive(
        callbacks.EarlyStopping(patience=2, restore_best_weights=True), "val_loss", [1.0, 0.9, 0.95, 0.91, 0.92, 0.5]
    )
    assert r["epochs_run"] == 4 and r["stopped_epoch"] == 3 and r["best_epoch"] == 1 and r["restored"] == 1.0
    r = drive(callbacks.EarlyStopping(start_from_epoch=3), "val_loss", [1.0, 2.0, 3.0, 4.0, 5.0])
    assert r["epochs_run"] == 5 and r["stopped_epoch"] == 4 and r["best_epoch"] == 3
    r = drive(callbacks.EarlyStopping(patience=1, min_delta=0.05), "val_loss", [1.0, 0.97, 0.9])
    assert r["epochs_run"] == 2 and r["best"] == 1.0  # 0.97 is not better by 0.05: one epoch of patience used
    r = drive(callbacks.EarlyStopping(patience=2, min_delta=0.05), "val_loss", [1.0, 0.97, 0.9, 0.89, 0.88])
    assert r["epochs_run"] == 5 and r["best"] == 0.9 and r["best_epoch"] == 2
    r = drive(callbacks.EarlyStopping(patience=1, baseline=0.5), "val_loss", [0.9, 0.9, 0.9])
    assert r["epochs_run"] == 2  # not beating the baseline keeps the wait counting


def test_early_stopping_matches_keras_random_sequences():
    rng = np.random.default_rng(2024)
    for _trial in range(60):
        maximize = bool(rng.integers(2))
        kwargs = dict(
            patience=int(rng.integers(0, 4)),
            min_delta=float(rng.choice([0.0, 0.01, 0.05])),
            start_from_epoch=int(rng.integers(0, 4)),
            mode="max" if maximize else "min",
        )
        if rng.random() < 0.3:
            kwargs["baseline"] = float(rng.uniform(0.3, 0.7))
        walk = np.round(0.5 + np.cumsum(rng.normal(0, 0.05, 12)), 2)  # rounding makes ties
        compare_with_keras(kwargs, "val_accuracy" if maximize else "val_loss", walk.tolist(), bool(rng.integers(2)))


def test_early_stopping_auto_mode_maximizes_accuracy():
    values = [0.5, 0.6, 0.6, 0.55, 0.7]
    auto = drive(callbacks.EarlyStopping(monitor="val_accuracy", patience=1), "val_accuracy", values)
    explicit = drive(callbacks.EarlyStopping(monitor="val_accuracy", patience=1, mode="max"), "val_accuracy", values)
    assert auto == explicit and auto["epochs_run"] == 3 and auto["best"] == 0.6  # 0.6 again is no gain


def test_early_stopping_restores_best_weights_in_real_fit():
    x, labels = blobs(120, seed=8)
    y = to_categorical(labels, 3)
    y_val = to_categorical((labels[:60] + 1) % 3, 3)  # wrong labels: val_loss rises as the model learns

    minidl.set_seed(8)
    model = mlp(8)
    model.compile(optimizers.Adam(0.02), "categorical_crossentropy", metrics=["accuracy"])
    recorder = WeightsPerEpoch()
    early = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(
        x, y, batch_size=16, epochs=30, verbose=0, callbacks=[recorder, early], validation_data=(x[:60], y_val)
    )
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    last = history.epoch[-1]
    assert len(val_loss) < 30 and early.stopped_epoch == last == best + 2  # stopped by patience
    assert early.best_epoch == best
    assert_weights_equal(model.get_weights(), recorder.weights[best])
    assert not np.array_equal(model.get_weights()[0], recorder.weights[last][0])
    assert model.evaluate(x[:60], y_val, verbose=0)[0] == pytest.approx(val_loss[best], rel=1e-6)


# ------------------------------------------------------------------------------------- callbacks


class HookRecorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, sorted(logs)))

    def on_train_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, sorted(logs)))


def test_callback_hook_order_and_counts(small):
    model, x, y = small
    recorder = HookRecorder()
    model.fit(x[:6], y[:6], batch_size=2, epochs=2, verbose=0, callbacks=[recorder], validation_data=(x[:4], y[:4]))
    keys = ["accuracy", "loss"]
    expected = [("train_begin",)]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch))
        for batch in range(3):
            expected += [("batch_begin", batch), ("batch_end", batch, keys)]
        expected.append(("epoch_end", epoch, sorted(keys + ["val_accuracy", "val_loss"])))
    expected.append(("train_end",))
    assert recorder.calls == expected
    assert recorder.model is model
    assert recorder.params["epochs"] == 2 and recorder.params["steps"] == 3


def test_stop_training_from_a_callback():
    x, labels = blobs(60, seed=9)
    y = to_categorical(labels, 3)

    class StopAt(HookRecorder):
        def __init__(self, hook, epoch, batch=None):
            super().__init__()
            self.hook, self.epoch, self.batch, self.current = hook, epoch, batch, None

        def on_epoch_begin(self, epoch, logs=None):
            super().on_epoch_begin(epoch, logs)
            self.current = epoch

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.hook == "epoch_end" and epoch == self.epoch:
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if self.hook == "batch_end" and self.current == self.epoch and batch == self.batch:
                self.model.stop_training = True

    model = mlp(8)
    model.compile(optimizers.SGD(0.1), "categorical_crossentropy")
    stop = StopAt("epoch_end", 1)
    history = model.fit(x, y, batch_size=20, epochs=5, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1]  # stops after that epoch
    assert stop.calls[-1] == ("train_end",)
    assert sum(c[0] == "batch_end" for c in stop.calls) == 6

    stop = StopAt("batch_end", 1, batch=0)  # as Keras: the epoch ends after this batch, then training
    history = model.fit(x, y, batch_size=20, epochs=5, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1]
    assert sum(c[0] == "batch_end" for c in stop.calls) == 3 + 1

    assert model.fit(x, y, batch_size=20, epochs=3, verbose=0).epoch == [0, 1, 2]  # reset by the next fit


# ------------------------------------------------------------------------------------- initializers

TRUNC_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def test_truncation_constant():
    a = 2.0
    mass = math.erf(a / math.sqrt(2))
    density = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    assert math.sqrt(1 - 2 * a * density / mass) == pytest.approx(TRUNC_STD, rel=1e-12)


@pytest.mark.parametrize(
    "name, shape, scale, mode",
    [
        ("glorot_normal", (400, 600), 1.0, "fan_avg"),
        ("he_normal", (500, 400), 2.0, "fan_in"),
        ("glorot_normal", (3, 3, 32, 64), 1.0, "fan_avg"),
    ],
)
def test_truncated_normal_initializers(name, shape, scale, mode):
    fan_in, fan_out = initializers.compute_fans(shape)
    fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    target = math.sqrt(scale / fan)  # glorot_normal: sqrt(2 / (fan_in + fan_out))
    raw = target / TRUNC_STD
    minidl.set_seed(0)
    w = initializers.get(name)(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert np.abs(w).max() <= 2 * raw * (1 + 1e-6)
    assert np.abs(w).max() > 1.95 * raw  # truncated at 2 raw std, not narrower
    assert w.std() == pytest.approx(target, rel=0.02)
    assert abs(w.mean()) < 0.02 * target


def test_glorot_uniform_limit():
    shape = (300, 500)
    limit = math.sqrt(6 / (300 + 500))
    w = initializers.GlorotUniform(seed=1)(shape)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.999 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)


def test_xavier_normal_is_untruncated():
    shape = (400, 600)
    std = math.sqrt(2 / (400 + 600))
    w = initializers.XavierNormal(seed=2)(shape)
    assert w.std() == pytest.approx(std, rel=0.02)
    assert np.abs(w).max() > 3 * std  # untruncated: the tails are there
    assert np.mean(np.abs(w) > 2 * std) == pytest.approx(0.0455, abs=0.003)


@pytest.mark.parametrize(
    "cls",
    [
        initializers.GlorotNormal,
        initializers.GlorotUniform,
        initializers.HeNormal,
        initializers.XavierNormal,
        initializers.RandomNormal,
    ],
)
def test_initializer_seeds(cls):
    shape = (20, 30)
    np.testing.assert_array_equal(cls(seed=5)(shape), cls(seed=5)(shape))
    assert not np.array_equal(cls(seed=5)(shape), cls(seed=6)(shape))
    minidl.set_seed(3)
    a = cls()(shape)
    minidl.set_seed(3)
    b = cls()(shape)
    np.testing.assert_array_equal(a, b)
    minidl.set_seed(4)
    assert not np.array_equal(cls()(shape), a)


def test_dense_kernel_initializer_seeded_like_the_seed_report():
    make = lambda: layers.Dense(10, kernel_initializer=initializers.GlorotNormal(seed=14))  # noqa: E731
    a, b = make(), make()
    a.build_for((None, 784))
    b.build_for((None, 784))
    np.testing.assert_array_equal(a.params["kernel"], b.params["kernel"])
    np.testing.assert_array_equal(a.params["bias"], np.zeros(10))


@pytest.mark.parametrize(
    "shape, fans",
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((784, 1000), (784, 1000)),
        ((3, 3, 16, 32), (144, 288)),  # Conv2D (kh, kw, in, out)
        ((5, 8, 4), (40, 20)),  # Conv1D (k, in, out)
        ((2, 3, 3, 4, 6), (72, 108)),  # Conv3D
    ],
)
def test_compute_fans(shape, fans):
    assert initializers.compute_fans(shape) == fans


def test_compute_fans_matches_keras():
    keras_or_skip()
    from keras.src.initializers.random_initializers import compute_fans

    for shape in [(7,), (784, 1000), (3, 3, 16, 32), (5, 8, 4), (2, 3, 3, 4, 6)]:
        assert initializers.compute_fans(shape) == tuple(compute_fans(shape))
