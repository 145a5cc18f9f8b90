"""Checkpoints: a run killed mid-way and resumed from its ModelCheckpoint file (load_weights +
fit(initial_epoch=k)) ends BIT-identical to the uninterrupted run (weights, optimiser state, shuffling,
Dropout's random stream, BatchNormalization's statistics); a crash while saving never damages the
previous checkpoint; save_best_only and the {epoch:02d} file names behave as Keras's."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import WeightsPerEpoch

import minidl
from minidl import callbacks, layers, optimizers
from minidl.utils import to_categorical

CLASSES = 3


# ------------------------------------------------------------------------------------------ set-ups


def data(kind, n=30, seed=0):
    rng = np.random.default_rng(seed)
    shape = (n, 6, 6, 1) if kind == "cnn" else (n, 5)
    x = rng.normal(size=shape).astype(np.float32)
    y = to_categorical(rng.integers(0, CLASSES, n), CLASSES)
    return x, y


def build(kind, seed):
    """kind "cnn": Conv2D, BatchNormalization, MaxPooling2D, Flatten, Dropout, Dense, with Adam;
    kind "mlp": Dense, Dropout, Dense, with SGD + momentum (another optimiser state)."""
    minidl.set_seed(seed)
    if kind == "cnn":
        model = minidl.Sequential(
            [
                layers.Input((6, 6, 1)),
                layers.Conv2D(3, 3, activation="relu"),
                layers.BatchNormalization(),
                layers.MaxPooling2D(),
                layers.Flatten(),
                layers.Dropout(0.4),
                layers.Dense(CLASSES, activation="softmax"),
            ]
        )
    else:
        model = minidl.Sequential(
            [
                layers.Input((5,)),
                layers.Dense(12, activation="relu"),
                layers.Dropout(0.3),
                layers.Dense(CLASSES, activation="softmax"),
            ]
        )
    return model


def compile_(model, kind):
    optimizer = optimizers.Adam(0.01) if kind == "cnn" else optimizers.SGD(0.05, momentum=0.9)
    model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"])


FIT = dict(batch_size=7, verbose=0, shuffle=True)  # 30 samples: 5 batches, the last one short
EPOCHS = 6


class Crash(Exception):  # noqa: N818  (an interruption, like KeyboardInterrupt, not an error)
    """Stands for Ctrl-C, a killed job, a full disk..."""


class CrashAt(callbacks.Callback):
    """Raise at the start of epoch `epoch` or, with `batch`, after that batch of that epoch."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        if epoch == self.epoch and self.batch is None:
            raise Crash(f"killed at the start of epoch {epoch}")

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == self.batch:
            raise Crash(f"killed after batch {batch} of epoch {self.epoch}")


def full_state(model):
    """Everything that decides the rest of a run: weights (incl. moving statistics), optimiser state,
    shuffling seed and the random layers' generator states."""
    state = {f"weight{i}": w for i, w in enumerate(model.get_weights())}
    state.update({f"optimizer/{k}": np.asarray(v) for k, v in model.optimizer.get_state().items()})
    state["shuffle_seed"] = np.array(model.shuffle_seed)
    for i, layer in enumerate(model.layers):
        if isinstance(getattr(layer, "rng", None), np.random.Generator):
            state[f"rng{i}"] = np.array(json.dumps(layer.rng.bit_generator.state))
    return state


def assert_states_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key]), key  # bit for bit


def assert_histories_equal(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(np.array(a[key]), np.array(b[key])), (key, a[key], b[key])


def uninterrupted(kind, x, y, validation):
    model = build(kind, seed=3)
    compile_(model, kind)
    history = model.fit(x, y, epochs=EPOCHS, validation_data=validation, **FIT)
    return history.history, full_state(model)


# --------------------------------------------------------------------------------- crash and resume


@pytest.mark.parametrize("kind", ["cnn", "mlp"])
@pytest.mark.parametrize("crash_epoch, crash_batch", [(3, None), (4, 2)], ids=["between_epochs", "mid_epoch"])
@pytest.mark.parametrize("order", ["compile_then_load", "load_then_compile"])
def test_killed_run_resumed_from_checkpoint_matches_uninterrupted_run(tmp_path, kind, crash_epoch, crash_batch, order):
    x, y = data(kind)
    validation = (x[:10], y[:10])
    reference_history, reference_state = uninterrupted(kind, x, y, validation)

    # The interrupted run: checkpoints every epoch, then dies.
    model = build(kind, seed=3)
    compile_(model, kind)
    template = str(tmp_path / "ckpt-{epoch:02d}.npz")
    with pytest.raises(Crash):
        model.fit(
            x,
            y,
            epochs=EPOCHS,
            validation_data=validation,
            **FIT,
            callbacks=[callbacks.ModelCheckpoint(template), CrashAt(crash_epoch, crash_batch)],
        )
    first_part = model.history.history  # the epochs that completed before the crash
    done = crash_epoch  # epochs 0..crash_epoch-1 are complete and checkpointed
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == [f"ckpt-{e:02d}.npz" for e in range(1, done + 1)]  # and nothing else: no temp files

    # A new process would build the model again, with whatever seed: everything comes from the file.
    resumed = build(kind, seed=999)
    latest = tmp_path / f"ckpt-{done:02d}.npz"
    if order == "compile_then_load":
        compile_(resumed, kind)
        resumed.load_weights(latest)
    else:
        resumed.load_weights(latest)
        compile_(resumed, kind)  # the optimiser state read by load_weights is restored here
    second_part = resumed.fit(
        x,
        y,
        epochs=EPOCHS,
        initial_epoch=done,
        validation_data=validation,
        **FIT,
        callbacks=[callbacks.ModelCheckpoint(template)],
    ).history
    assert resumed.history.epoch == list(range(done, EPOCHS))

    joined = {key: first_part[key] + second_part[key] for key in reference_history}
    assert_histories_equal(joined, reference_history)
    assert_states_equal(full_state(resumed), reference_state)
    # The final checkpoint written after the resume is the uninterrupted run's final state too.
    final = build(kind, seed=5)
    compile_(final, kind)
    final.load_weights(tmp_path / f"ckpt-{EPOCHS:02d}.npz")
    assert_states_equal(full_state(final), reference_state)


def test_resume_restores_every_piece_of_state(tmp_path):
    """Each piece matters: without the optimiser state, the shuffling seed or Dropout's generator
    state, the resumed run differs (so the bit-identical result above is not luck)."""
    kind = "cnn"
    x, y = data(kind)
    _, reference_state = uninterrupted(kind, x, y, None)

    def resume(drop):
        model = build(kind, seed=3)
        compile_(model, kind)
        model.fit(x, y, epochs=2, callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "c.npz"))], **FIT)
        with np.load(tmp_path / "c.npz") as file:
            arrays = {k: file[k] for k in file.files if not any(k.startswith(d) for d in drop)}
        np.savez(tmp_path / "partial.npz", **arrays)
        fresh = build(kind, seed=999)
        compile_(fresh, kind)
        fresh.load_weights(tmp_path / "partial.npz")
        fresh.fit(x, y, epochs=EPOCHS, initial_epoch=2, **FIT)
        return full_state(fresh)

    assert_states_equal(resume(drop=()), reference_state)
    for drop in (("optimizer/", "optimizer_class"), ("shuffle_seed",), ("rng_states",)):
        state = resume(drop)
        assert not np.array_equal(state["weight0"], reference_state["weight0"]), drop


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_hard_kill_then_resume(tmp_path):
    """A real kill: the training process sends itself SIGKILL (no exception handler, no finally block
    runs) at the start of epoch 4; a new process resumes from the newest checkpoint."""
    root = Path(__file__).resolve().parent.parent
    script = textwrap.dedent(f"""
        import os, signal
        from minidl import callbacks
        from test_checkpoint import EPOCHS, FIT, build, compile_, data

        class Kill(callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 4:
                    os.kill(os.getpid(), signal.SIGKILL)

        x, y = data("cnn")
        model = build("cnn", seed=3)
        compile_(model, "cnn")
        model.fit(x, y, epochs=EPOCHS, **FIT, callbacks=[
            callbacks.ModelCheckpoint({str(tmp_path / "ckpt-{epoch:02d}.npz")!r}), Kill()])
    """)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root / "tests")},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    files = sorted(tmp_path.glob("ckpt-*.npz"))
    assert [f.name for f in files] == ["ckpt-01.npz", "ckpt-02.npz", "ckpt-03.npz", "ckpt-04.npz"]
    assert not list(tmp_path.glob(".*"))  # no temp file: every save had finished

    x, y = data("cnn")
    _, reference_state = uninterrupted("cnn", x, y, None)
    resumed = build("cnn", seed=999)
    compile_(resumed, "cnn")
    resumed.load_weights(files[-1])
    resumed.fit(x, y, epochs=EPOCHS, initial_epoch=4, **FIT)
    assert_states_equal(full_state(resumed), reference_state)


# ------------------------------------------------------------------------------- crash while saving


def trained(seed=0):
    x, y = data("mlp")
    model = build("mlp", seed)
    compile_(model, "mlp")
    model.fit(x, y, epochs=1, **FIT)
    return model, x, y


def half_write_then(exception):
    """A replacement for np.savez that writes the start of a real .npz, then fails."""
    real = np.savez

    def savez(file, *args, **kwargs):
        import io

        buffer = io.BytesIO()
        real(buffer, *args, **kwargs)
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise exception

    return savez


CRASHES = {
    "savez fails midway": lambda mp: mp.setattr(np, "savez", half_write_then(OSError(28, "No space left on device"))),
    "Ctrl-C midway": lambda mp: mp.setattr(np, "savez", half_write_then(KeyboardInterrupt())),
    "fsync fails": lambda mp: mp.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error"))),
    "rename fails": lambda mp: mp.setattr(os, "replace", lambda a, b: (_ for _ in ()).throw(OSError(13, "denied"))),
}


@pytest.mark.parametrize("crash", list(CRASHES))
def test_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch, crash):
    model, x, y = trained()
    path = tmp_path / "ckpt.npz"
    model.save_weights(path)
    good_bytes, good_state = path.read_bytes(), full_state(model)

    model.fit(x, y, epochs=1, **FIT)  # the model moves on
    with monkeypatch.context() as mp:
        CRASHES[crash](mp)
        with pytest.raises((OSError, KeyboardInterrupt)):
            model.save_weights(path)
    assert path.read_bytes() == good_bytes  # untouched, byte for byte
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.npz"]  # no temp file left behind
    restored = build("mlp", seed=7)
    compile_(restored, "mlp")
    restored.load_weights(path)
    assert_states_equal(full_state(restored), good_state)


def test_crash_while_checkpointing_in_fit_then_resume(tmp_path, monkeypatch):
    """The disk fills up while ModelCheckpoint writes epoch 3's file: fit stops with the error,
    the file still holds epoch 2, and resuming from it gives the uninterrupted run."""
    kind = "cnn"
    x, y = data(kind)
    reference_history, reference_state = uninterrupted(kind, x, y, None)

    class FailingSaves(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:  # epoch index 2 = the 3rd epoch: its checkpoint write will fail
                monkeypatch.setattr(np, "savez", half_write_then(OSError(28, "No space left on device")))

    model = build(kind, seed=3)
    compile_(model, kind)
    path = tmp_path / "latest.npz"
    with pytest.raises(OSError, match="No space left"):
        model.fit(x, y, epochs=EPOCHS, **FIT, callbacks=[FailingSaves(), callbacks.ModelCheckpoint(str(path))])
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["latest.npz"]

    resumed = build(kind, seed=999)
    compile_(resumed, kind)
    resumed.load_weights(path)
    assert resumed.optimizer.iterations == 2 * 5  # two epochs of 5 steps: epoch 2's state
    history = resumed.fit(x, y, epochs=EPOCHS, initial_epoch=2, **FIT).history
    assert_histories_equal(history, {k: v[2:] for k, v in reference_history.items()})
    assert_states_equal(full_state(resumed), reference_state)


# -------------------------------------------------------------------------------------- save_best_only


class FakeModel:
    """Records what ModelCheckpoint saves (the weights are the epoch number)."""

    def __init__(self):
        self.stop_training = False
        self.epoch = None
        self.saved = []

    def save_weights(self, path):
        self.saved.append((self.epoch, path))


def drive(checkpoint, monitor, values):
    model = FakeModel()
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    for epoch, value in enumerate(values):
        model.epoch = epoch
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
    return [epoch for epoch, _ in model.saved]


@pytest.mark.parametrize(
    "kwargs, monitor, values, saved_epochs",
    [
        (dict(), "val_loss", [1.0, 0.9, 0.95, 0.8, 0.8], [0, 1, 3]),  # equal is no improvement
        (dict(mode="min"), "loss", [3.0, 2.0, 2.5, 1.0], [0, 1, 3]),
        (dict(), "val_accuracy", [0.5, 0.6, 0.55, 0.6, 0.7], [0, 1, 4]),  # auto: max for accuracy
        (dict(mode="max"), "val_accuracy", [0.5, 0.6, 0.55, 0.6, 0.7], [0, 1, 4]),
        (dict(mode="max"), "val_loss", [1.0, 0.9, 1.1], [0, 2]),  # mode wins over the name
        (dict(), "acc", [0.1, 0.2], [0, 1]),
        (dict(), "val_loss", [float("nan"), 0.9, float("nan"), 0.8], [1, 3]),  # NaN is never the best
        (dict(initial_value_threshold=0.85), "val_loss", [0.9, 0.86, 0.84, 0.85], [2]),
        (dict(initial_value_threshold=0.6, mode="max"), "val_accuracy", [0.5, 0.6, 0.7], [2]),
    ],
)
def test_save_best_only_semantics(kwargs, monitor, values, saved_epochs):
    checkpoint = callbacks.ModelCheckpoint("best.npz", monitor=monitor, save_best_only=True, **kwargs)
    assert drive(checkpoint, monitor, values) == saved_epochs
    every = callbacks.ModelCheckpoint("every.npz", monitor=monitor, save_best_only=False, **kwargs)
    assert drive(every, monitor, values) == list(range(len(values)))


def test_save_best_only_matches_keras(tmp_path):
    """Keras writes its files for the same monitored sequences: the same epochs get saved."""
    keras = pytest.importorskip("keras")
    kmodel = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    for trial in range(12):
        maximize = bool(rng.integers(2))
        monitor = "val_accuracy" if maximize else "val_loss"
        values = np.round(0.5 + np.cumsum(rng.normal(0, 0.05, 8)), 2).tolist()  # rounding makes ties
        ours = drive(callbacks.ModelCheckpoint("b.npz", monitor=monitor, save_best_only=True), monitor, values)
        folder = tmp_path / f"trial{trial}"
        theirs = keras.callbacks.ModelCheckpoint(
            str(folder / "e{epoch:02d}.weights.h5"),
            monitor=monitor,
            save_best_only=True,
            save_weights_only=True,
            mode="max" if maximize else "min",
        )  # ours: "auto"
        theirs.set_model(kmodel)
        theirs.on_train_begin()
        for epoch, value in enumerate(values):
            theirs.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        saved = sorted(int(p.name[1:3]) - 1 for p in folder.iterdir()) if folder.exists() else []
        assert ours == saved, (monitor, values)


def test_save_best_only_in_a_real_fit_keeps_the_best_epochs_weights(tmp_path):
    x, y = data("mlp", n=40, seed=4)
    y_val = to_categorical((y.argmax(1)[:20] + 1) % CLASSES, CLASSES)  # wrong labels: val_loss rises

    model = build("mlp", seed=1)
    compile_(model, "mlp")
    saves = []
    real_save = model.save_weights
    model.save_weights = lambda path: saves.append(path) or real_save(path)
    recorder = WeightsPerEpoch()
    path = tmp_path / "best.npz"
    history = model.fit(
        x,
        y,
        epochs=8,
        validation_data=(x[:20], y_val),
        **FIT,
        callbacks=[callbacks.ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True), recorder],
    ).history
    val_loss = history["val_loss"]
    improvements = [e for e in range(len(val_loss)) if val_loss[e] < min(val_loss[:e], default=np.inf)]
    assert len(saves) == len(improvements) < len(val_loss)  # written only on improvement
    best = int(np.argmin(val_loss))
    loaded = build("mlp", seed=2)
    loaded.load_weights(path)
    for got, expected in zip(loaded.get_weights(), recorder.weights[best], strict=True):
        np.testing.assert_array_equal(got, expected)

    # mode max for accuracy: the file holds the epoch of the best val_accuracy (the first of ties)
    model = build("mlp", seed=1)
    compile_(model, "mlp")
    recorder = WeightsPerEpoch()
    history = model.fit(
        x,
        y,
        epochs=8,
        validation_data=(x[:20], y[:20]),
        **FIT,
        callbacks=[
            callbacks.ModelCheckpoint(str(tmp_path / "acc.npz"), monitor="val_accuracy", save_best_only=True),
            recorder,
        ],
    ).history
    best = int(np.argmax(history["val_accuracy"]))
    loaded.load_weights(tmp_path / "acc.npz")
    for got, expected in zip(loaded.get_weights(), recorder.weights[best], strict=True):
        np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------------------- file names


def test_filepath_formatting(tmp_path):
    x, y = data("mlp")
    model = build("mlp", seed=0)
    compile_(model, "mlp")
    history = model.fit(
        x,
        y,
        epochs=3,
        validation_data=(x[:10], y[:10]),
        **FIT,
        callbacks=[
            callbacks.ModelCheckpoint(str(tmp_path / "run" / "epoch{epoch:02d}.npz")),
            callbacks.ModelCheckpoint(str(tmp_path / "named" / "e{epoch:03d}-{val_loss:.4f}-{accuracy:.2f}.npz")),
        ],
    ).history
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["epoch01.npz", "epoch02.npz", "epoch03.npz"]
    expected = [f"e{e + 1:03d}-{history['val_loss'][e]:.4f}-{history['accuracy'][e]:.2f}.npz" for e in range(3)]
    assert sorted(p.name for p in (tmp_path / "named").iterdir()) == sorted(expected)
    loaded = build("mlp", seed=9)
    loaded.load_weights(tmp_path / "named" / expected[-1])
    for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    # a name the user gives is used as given: one of no known kind is refused, never completed behind their back
    with pytest.raises(ValueError, match=r"the filepath provided must end in `\.keras` .* or `\.npz`"):
        callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.weights.h5"))
    with pytest.raises(
        ValueError, match=r"`save_weights_only=True`, the filepath provided must end in `\.weights\.h5`"
    ):
        callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"save_weights: '.*model\.h5' does not end in \.npz"):
        model.save_weights(tmp_path / "model.h5")
    assert not (tmp_path / "model.h5.npz").exists()


def test_checkpoint_file_contents(tmp_path):
    model, _, _ = trained()
    path = model.save_weights(tmp_path / "w.npz")
    with np.load(path, allow_pickle=False) as file:  # plain arrays: loading never runs code
        keys = set(file.files)
        assert str(file["optimizer_class"]) == "SGD"
        assert int(file["shuffle_seed"]) == model.shuffle_seed
        assert json.loads(str(file["rng_states"])).keys() == {"1"}  # the Dropout layer
    assert {
        "layer0/kernel",
        "layer0/bias",
        "layer2/kernel",
        "layer2/bias",
        "architecture",
        "optimizer/iterations",
    } <= keys
    assert any(k.startswith("optimizer/velocity:") for k in keys)


def test_optimizer_state_of_another_kind_is_not_restored(tmp_path):
    model, _, _ = trained()  # SGD with momentum
    path = model.save_weights(tmp_path / "w.npz")
    other = build("mlp", seed=1)
    other.compile(optimizers.Adam(0.01), "categorical_crossentropy")
    with pytest.warns(
        UserWarning,
        match=r"the saved optimizer state is SGD's, but the model is compiled with "
        r"Adam: it was not restored",
    ):
        other.load_weights(path)
    assert other.optimizer.iterations == 0 and other.optimizer.slots == {}
    for got, want in zip(other.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)  # the weights are loaded all the same

    later = build("mlp", seed=1)
    later.load_weights(path)  # not compiled yet: the state waits for compile()
    with pytest.warns(UserWarning, match="not restored"):
        later.compile("adam", "categorical_crossentropy")
    assert later.optimizer.iterations == 0


def test_a_rejected_load_changes_nothing(tmp_path):
    model, _, _ = trained()
    path = model.save_weights(tmp_path / "w.npz")
    with np.load(path) as file:
        arrays = {k: file[k] for k in file.files}
    arrays["layer2/bias"] = np.full_like(arrays["layer2/bias"], np.nan)
    np.savez(tmp_path / "nan.npz", **arrays)
    del arrays["layer2/bias"]
    np.savez(tmp_path / "missing.npz", **arrays)
    target = build("mlp", seed=5)
    compile_(target, "mlp")
    before = full_state(target)
    with pytest.raises(ValueError, match="non-finite"):
        target.load_weights(tmp_path / "nan.npz")
    with pytest.raises(ValueError, match=r"damaged or not a minidl weights file: KeyError"):
        target.load_weights(tmp_path / "missing.npz")
    assert_states_equal(full_state(target), before)


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.MT19937, np.random.Philox])
def test_dropout_generators_of_any_kind_are_saved_and_restored(tmp_path, bit_generator):
    def model_with(seed):
        return minidl.Sequential(
            [layers.Input((3,)), layers.Dropout(0.5, seed=np.random.Generator(bit_generator(seed))), layers.Dense(2)]
        )

    model = model_with(1)
    model.layers[0].rng.random(5)  # somewhere in its stream
    path = model.save_weights(tmp_path / "w.npz")
    other = model_with(2)
    other.load_weights(path)
    np.testing.assert_array_equal(other.layers[0].rng.random(4), model.layers[0].rng.random(4))


def test_a_damaged_generator_state_is_refused_before_anything_changes(tmp_path):
    model, _, _ = trained()
    path = model.save_weights(tmp_path / "w.npz")
    with np.load(path) as file:
        arrays = {k: file[k] for k in file.files}
    target = build("mlp", seed=5)
    compile_(target, "mlp")
    before = full_state(target)
    for bad, error in (
        ({"1": {"bit_generator": "MT19937", "state": {}}}, "ValueError: state must be for a PCG64"),
        ({"0": json.loads(str(arrays["rng_states"]))["1"]}, "AttributeError: 'Dense' object has no attribute 'rng'"),
        ("not json", "JSONDecodeError"),
    ):
        arrays["rng_states"] = np.array(bad if isinstance(bad, str) else json.dumps(bad))
        np.savez(tmp_path / "bad.npz", **arrays)
        with pytest.raises(ValueError, match=rf"'.*bad\.npz' is damaged or not a minidl weights file: {error}"):
            target.load_weights(tmp_path / "bad.npz")
    assert_states_equal(full_state(target), before)


@pytest.mark.parametrize("filename", ["w.npz", "m.weights.h5"])
def test_recurrent_dropout_streams_are_saved_and_restored(tmp_path, filename):
    """A recurrent layer's dropout stream is saved like Dropout's, inside a Bidirectional too (its two
    layers' streams under the paths to them): the reloaded model draws the same masks."""

    def model_with(seed):
        minidl.set_seed(seed)
        return minidl.Sequential(
            [
                layers.Input((4, 3)),
                layers.Bidirectional(layers.LSTM(2, dropout=0.3, recurrent_dropout=0.2, return_sequences=True)),
                layers.GRU(2, dropout=0.5),
            ]
        )

    model, other = model_with(1), model_with(2)
    x = np.ones((5, 4, 3), np.float32)
    model.forward(x, training=True)  # somewhere in the streams
    path = model.save_weights(tmp_path / filename)
    with np.load(path) if filename.endswith(".npz") else contextlib.nullcontext() as file:
        if file is not None:
            assert set(json.loads(str(file["rng_states"]))) == {"0/forward_layer/rng", "0/backward_layer/rng", "1"}
    other.load_weights(path)
    np.testing.assert_array_equal(other.forward(x, training=True), model.forward(x, training=True))
    bidirectional = other.layers[0]
    assert bidirectional.forward_layer.recurrent_masks is not None and other.layers[1].input_masks is not None
