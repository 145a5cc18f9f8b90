"""The seed's MLP in Keras and in minidl, with the same weights: same predictions, same SGD-with-momentum
steps, same fit History and evaluate results (float32 throughout).

    Input((784,)) -> Dense(1000, relu, glorot_normal) -> Dense(10, softmax), categorical cross-entropy
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from helpers import mlp_forward_error_bound  # noqa: E402

import minidl  # noqa: E402
from minidl import layers  # noqa: E402

N, N_VAL, HIDDEN, CLASSES = 64, 32, 1000, 10


def rel_diff(a, b) -> float:
    """max |a - b| / max |b|: the relative difference of one weight array."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def assert_same_weights(minidl_model, keras_model, tol=1e-5):
    ours, theirs = minidl_model.get_weights(), keras_model.get_weights()
    assert [w.shape for w in ours] == [w.shape for w in theirs]
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.dtype == np.float32
        assert rel_diff(a, b) <= tol, (i, rel_diff(a, b))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(421)
    x = rng.uniform(0, 1, (N, 784)).astype(np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, N)]
    x_val = rng.uniform(0, 1, (N_VAL, 784)).astype(np.float32)
    y_val = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, N_VAL)]
    return x, y, x_val, y_val


def keras_mlp():
    keras.utils.set_random_seed(14)
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(HIDDEN, activation="relu", kernel_initializer="glorot_normal"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def minidl_mlp():
    return minidl.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(HIDDEN, activation="relu", kernel_initializer="glorot_normal"),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )


@pytest.fixture
def pair():
    """(minidl model, Keras model) with Keras's initial weights, compiled with SGD(0.1, momentum=0.9)."""
    kmodel = keras_mlp()
    kmodel.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    model = minidl_mlp()
    model.set_weights(kmodel.get_weights())
    model.compile(
        optimizer=minidl.optimizers.SGD(0.1, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    assert_same_weights(model, kmodel, tol=0)
    return model, kmodel


def test_same_predictions(pair, data):
    """Predictions equal Keras's within float32 rounding (twice the forward pass's error bound: each
    framework is within it of the exact values); bit for bit only where the shapes and the order of the
    computation are the same (predict's batches of 32 and model() on those 32 rows), since the BLAS may
    block a product of 64 rows differently from two of 32, and does so differently on each kernel."""
    model, kmodel = pair
    x = data[0]
    ours = model.predict(x, batch_size=32)
    theirs = kmodel.predict(x, batch_size=32, verbose=0)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (N, CLASSES)
    bound = 2 * mlp_forward_error_bound(model, x)
    assert bound.max() < 1e-3  # tight enough that a wrong formula (off by O(0.01) or more) fails
    assert np.all(np.abs(ours - theirs) <= bound)
    for start in range(0, N, 32):
        np.testing.assert_array_equal(model(x[start : start + 32]), ours[start : start + 32])
    assert np.all(np.abs(model(x) - ours) <= bound)  # all 64 rows in one product
    assert model.count_params() == kmodel.count_params() == 784 * HIDDEN + HIDDEN + HIDDEN * CLASSES + CLASSES


def test_sgd_momentum_steps_match_keras(pair, data):
    """One train_on_batch step, then three: same weights (rel < 1e-5) and the same loss values."""
    model, kmodel = pair
    x, y = data[0], data[1]
    initial = model.get_weights()
    for step in range(3):
        theirs = kmodel.train_on_batch(x, y)  # [loss, accuracy], computed before the update
        ours = model.train_on_batch(x, y, return_dict=True)
        assert ours["loss"] == pytest.approx(theirs[0], rel=1e-5), step
        assert ours["accuracy"] == pytest.approx(theirs[1], rel=1e-6), step
        assert_same_weights(model, kmodel)
        if step == 0:
            # It did move: the comparison is not between two untouched copies.
            assert all(rel_diff(a, b) > 1e-3 for a, b in zip(model.get_weights(), initial))
    assert model.optimizer.iterations == 3


def test_fit_history_matches_keras(pair, data):
    model, kmodel = pair
    x, y, x_val, y_val = data
    kwargs = dict(batch_size=N, epochs=2, shuffle=False, validation_data=(x_val, y_val), verbose=0)
    theirs = kmodel.fit(x, y, **kwargs)
    ours = model.fit(x, y, **kwargs)
    assert ours.history.keys() == theirs.history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert ours.epoch == theirs.epoch == [0, 1]
    for key, values in theirs.history.items():
        assert len(ours.history[key]) == len(values) == 2
        for a, b in zip(ours.history[key], values):
            assert a == pytest.approx(b, rel=1e-4), (key, ours.history[key], values)
    assert_same_weights(model, kmodel)


def test_evaluate_matches_keras(pair, data):
    model, kmodel = pair
    x, y = data[0], data[1]
    kmodel.train_on_batch(x, y)  # away from the initial weights, the same step on both
    model.train_on_batch(x, y)
    x_val, y_val = data[2], data[3]
    theirs = kmodel.evaluate(x_val, y_val, verbose=0)
    ours = model.evaluate(x_val, y_val, verbose=0)
    assert isinstance(ours, list) and len(ours) == len(theirs) == 2  # [loss, accuracy]
    for a, b in zip(ours, theirs):
        assert a == pytest.approx(b, rel=1e-5)
    theirs_dict = kmodel.evaluate(x_val, y_val, verbose=0, return_dict=True)
    ours_dict = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert ours_dict.keys() == theirs_dict.keys() == {"loss", "accuracy"}
    for key in theirs_dict:
        assert ours_dict[key] == pytest.approx(theirs_dict[key], rel=1e-5)
    # batch_size does not change the (sample-weighted) result
    assert model.evaluate(x_val, y_val, batch_size=5, verbose=0) == pytest.approx(ours, rel=1e-6)


def test_sgd_initial_velocity_follows_the_seed_rule(data):
    """SGD(initial_velocity=1e-5) is the seed's update exactly:
    v = gamma * v + alpha * grad;   w -= v;   v starts at 1e-5 everywhere."""
    x, y = data[0], data[1]
    alpha, gamma = 0.1, 0.9
    minidl.set_seed(5)
    model = minidl_mlp()
    model.compile(
        optimizer=minidl.optimizers.SGD(alpha, momentum=gamma, initial_velocity=1e-5), loss="categorical_crossentropy"
    )
    w = model.get_weights()
    v = [np.full_like(a, 1e-5) for a in w]
    for step in range(3):
        model.train_on_batch(x, y)
        grads = [layer.grads[name] for layer in model.layers for name in layer.weight_names]
        for i in range(len(w)):
            v[i] = gamma * v[i] + alpha * grads[i]
            w[i] -= v[i]
        for a, b in zip(model.get_weights(), w):
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_array_equal(a, b, err_msg=f"step {step}")
    velocities = list(model.optimizer.slots["velocity"].values())
    for a, b in zip(velocities, v):
        np.testing.assert_array_equal(a, b)


def test_initial_velocity_zero_is_keras_and_nonzero_is_not(data):
    """The seeded velocity only shifts the first step, by gamma * 1e-5 (decayed once, then added),
    so initial_velocity=0 (Keras's SGD) and 1e-5 differ by exactly that after one step."""
    x, y = data[0], data[1]
    weights = keras_mlp().get_weights()
    results = {}
    for v0 in (0.0, 1e-5):
        model = minidl_mlp()
        model.set_weights(weights)
        model.compile(
            optimizer=minidl.optimizers.SGD(0.1, momentum=0.9, initial_velocity=v0), loss="categorical_crossentropy"
        )
        model.train_on_batch(x, y)
        results[v0] = model.get_weights()
    for a, b in zip(results[1e-5], results[0.0]):
        np.testing.assert_allclose(b - a, 0.9 * 1e-5, rtol=0.02, atol=0)


def compiled_pair(keras_optimizer, minidl_optimizer, l2=None):
    kreg = keras.regularizers.L2(l2) if l2 else None
    keras.utils.set_random_seed(14)
    kmodel = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(HIDDEN, activation="relu", kernel_initializer="glorot_normal", kernel_regularizer=kreg),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    kmodel.compile(optimizer=keras_optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    model = minidl.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(
                HIDDEN,
                activation="relu",
                kernel_initializer="glorot_normal",
                kernel_regularizer=minidl.regularizers.L2(l2) if l2 else None,
            ),
            layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.set_weights(kmodel.get_weights())
    model.compile(optimizer=minidl_optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model, kmodel


def test_uneven_batches_fit_matches_keras(pair, data):
    """64 samples in batches of 24, 24, 16: the epoch's loss/accuracy are sample-weighted means, as Keras's."""
    model, kmodel = pair
    x, y, x_val, y_val = data
    kwargs = dict(batch_size=24, epochs=2, shuffle=False, validation_data=(x_val, y_val), verbose=0)
    theirs = kmodel.fit(x, y, **kwargs).history
    ours = model.fit(x, y, **kwargs).history
    assert ours.keys() == theirs.keys()
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, err_msg=key)
    assert_same_weights(model, kmodel)


def test_adam_steps_match_keras(data):
    """Adam divides each gradient by its own running scale, so float32 rounding in a small (cancelling)
    gradient element shows up in that element's step at full size: Keras's own float32 steps differ
    from a float64 run by up to ~5e-5 here. Hence 2e-4 against Keras, and a float64 minidl run as
    the tighter reference. (A formula error, e.g. epsilon inside the sqrt, is off by far more.)"""
    model, kmodel = compiled_pair(keras.optimizers.Adam(learning_rate=1e-3), minidl.optimizers.Adam(1e-3))
    minidl.set_floatx("float64")
    reference = minidl_mlp()
    reference.set_weights(kmodel.get_weights())
    reference.compile(optimizer=minidl.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    minidl.set_floatx("float32")
    x, y = data[0], data[1]
    for step in range(3):
        theirs = kmodel.train_on_batch(x, y)
        ours = model.train_on_batch(x, y, return_dict=True)
        exact = reference.train_on_batch(x.astype(np.float64), y, return_dict=True)
        assert ours["loss"] == pytest.approx(theirs[0], rel=1e-5), step
        assert ours["loss"] == pytest.approx(exact["loss"], rel=1e-5), step
        assert_same_weights(model, kmodel, tol=2e-4)
        for a, b in zip(model.get_weights(), reference.get_weights()):
            assert rel_diff(a, b) < 5e-5, step


def test_l2_regularized_matches_keras(data):
    """kernel_regularizer=L2(0.01): the penalty is in train_on_batch's loss, in the update and in evaluate."""
    model, kmodel = compiled_pair(
        keras.optimizers.SGD(learning_rate=0.1, momentum=0.9), minidl.optimizers.SGD(0.1, momentum=0.9), l2=0.01
    )
    x, y, x_val, y_val = data
    for step in range(2):
        theirs = kmodel.train_on_batch(x, y)
        ours = model.train_on_batch(x, y, return_dict=True)
        assert ours["loss"] == pytest.approx(theirs[0], rel=1e-5), step
        assert_same_weights(model, kmodel)
    for a, b in zip(model.evaluate(x_val, y_val, verbose=0), kmodel.evaluate(x_val, y_val, verbose=0)):
        assert a == pytest.approx(b, rel=1e-5)
    penalty = 0.01 * float(np.sum(model.get_weights()[0].astype(np.float64) ** 2))
    assert penalty > 0.1  # large enough that leaving it out would show
