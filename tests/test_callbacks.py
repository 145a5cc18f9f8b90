"""Keras's callbacks in minidl: ReduceLROnPlateau, LearningRateScheduler, CSVLogger, LambdaCallback, the
test and predict hooks, ModelCheckpoint's save_freq; decisions equal to Keras's on the same logs."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import minidl
from minidl import callbacks, layers


def small_model(seed=0):
    minidl.set_seed(seed)
    model = minidl.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.compile(minidl.optimizers.SGD(0.1), "mse", metrics=["mae"])
    return model


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 2)).astype(np.float32)


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda *args: object.__getattribute__(self, "calls").append(name)
        return object.__getattribute__(self, name)


def test_hooks_are_called_where_keras_calls_them():
    model, (x, y) = small_model(), data()
    recorder = Recorder()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_data=(x, y), callbacks=[recorder])
    assert recorder.calls == [
        "on_train_begin",
        "on_epoch_begin",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_train_batch_begin",
        "on_train_batch_end",
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_epoch_end",
        "on_train_end",
    ]
    recorder.calls = []
    model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.calls == ["on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end"]
    recorder.calls = []
    model.predict(x, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.calls == ["on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_learning_rate_scheduler_and_lambda_callback():
    model, (x, y) = small_model(), data()
    seen = []
    history = model.fit(
        x,
        y,
        epochs=3,
        verbose=0,
        callbacks=[
            callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5),
            callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(round(logs["learning_rate"], 6))),
        ],
    )
    assert history.history["learning_rate"] == [0.05, 0.025, 0.0125] == seen
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda epoch: "fast")])


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    model, (x, y) = small_model(), data()
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], history.history["val_loss"])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, append=True)])
    assert len(list(csv.DictReader(path.open()))) == 4  # appended, one header


def test_model_checkpoint_every_k_batches(tmp_path):
    model, (x, y) = small_model(), data()
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.npz"), save_freq=3)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[checkpoint])  # 8 batches: saves after 3 and 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e1.npz", "e2.npz"]


# ------------------------------------------------------------------------------------------ against Keras
keras = pytest.importorskip("keras") if __import__("importlib").util.find_spec("tensorflow") else None


@pytest.mark.skipif(keras is None, reason="needs TensorFlow")
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(monitor="val_loss", factor=0.5, patience=2),
        dict(monitor="val_loss", factor=0.3, patience=1, cooldown=2, min_delta=0.01),
        dict(monitor="val_accuracy", factor=0.5, patience=1, min_lr=0.02, mode="max"),
        dict(monitor="val_loss", factor=0.5, patience=0, mode="max"),
    ],
)
def test_reduce_lr_on_plateau_decides_as_keras(kwargs):
    rng = np.random.default_rng(3)
    values = np.round(1 + np.cumsum(rng.normal(0, 0.05, 30)), 2)  # rounding makes ties
    kmodel = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    kmodel.compile(keras.optimizers.SGD(0.1), "mse")
    theirs, ours = keras.callbacks.ReduceLROnPlateau(**kwargs), callbacks.ReduceLROnPlateau(**kwargs)
    model = small_model()
    theirs.set_model(kmodel)
    ours.set_model(model)
    theirs.on_train_begin()
    ours.on_train_begin()
    for epoch, value in enumerate(values):
        theirs.on_epoch_end(epoch, {"loss": 1.0, kwargs["monitor"]: float(value)})
        ours.on_epoch_end(epoch, {"loss": 1.0, kwargs["monitor"]: float(value)})
        assert model.optimizer.learning_rate == pytest.approx(float(kmodel.optimizer.learning_rate), rel=1e-6), epoch


class Crash(Exception):  # noqa: N818  (an interruption, like KeyboardInterrupt, not an error)
    pass


class CrashAt(callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise Crash


def dropout_model(seed):
    minidl.set_seed(seed)
    model = minidl.Sequential(
        [layers.Input((3,)), layers.Dense(8, activation="relu"), layers.Dropout(0.3), layers.Dense(2)]
    )
    model.compile(minidl.optimizers.Adam(0.01), "mse")
    return model


def test_backup_and_restore_resumes_a_crashed_fit_bit_for_bit(tmp_path):
    x, y = data(n=24)
    reference = dropout_model(seed=5)
    expected = reference.fit(x, y, batch_size=8, epochs=5, verbose=0).history["loss"]

    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    model = dropout_model(seed=5)
    with pytest.raises(Crash):
        model.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[backup, CrashAt(epoch=3, batch=1)])
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["epoch-3.npz"]  # the last full epoch only
    restarted = dropout_model(seed=99)  # a new process would start from other random weights
    history = restarted.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[backup]).history
    assert history["loss"] == expected[3:]  # epochs 4 and 5, exactly as uninterrupted
    for a, b in zip(restarted.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not list((tmp_path / "backup").iterdir())  # deleted when training ended
