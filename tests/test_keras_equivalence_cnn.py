"""minidl's CNN layers and the seed CNN against Keras 3 (TensorFlow backend): same weights in, same
outputs, gradients, moving statistics, losses and Adam steps out.

Float32 tolerances: outputs and gradients agree to ~1e-6 relative. For whole Adam steps the strict
bar is set in float64, where the weights after 1 and 3 steps agree to <= 2e-10 (measured; asserted
< 1e-7), minidl's Adam computing beta^t from float32-rounded betas as Keras does. In
float32, TensorFlow's own gradients of the seed CNN are ~5e-6 (relative) from the float64 truth
(minidl's ~3e-7), and Adam's first steps are ~learning_rate * sign(grad), so a weight whose gradient
is within that noise of zero moves differently in the two frameworks (up to ~1% of a step). The
float32 Adam tests therefore compare losses (1e-5), BatchNormalization's moving statistics (1e-5)
and the updates as a whole (relative L2 norm of the difference); see test_seed_cnn_adam_steps_float64
for the exact comparison.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    pytest.skip("these tests compare against Keras on the TensorFlow backend", allow_module_level=True)

import minidl  # noqa: E402
from minidl import layers, regularizers  # noqa: E402

K = keras.layers


def rng(seed=0):
    return np.random.default_rng(seed)


def rel(a, b) -> float:
    """max |a - b| / max |b| (|b| floored at 1e-30)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max(initial=0.0) / max(np.abs(b).max(initial=0.0), 1e-30))


def randomize_keras_weights(layer, seed, positive=()):
    """Keras layers start with zero biases / unit gammas: give every weight random values, so a
    transposed kernel or a missing bias would show. Indices in `positive` get values in [0.5, 1.5)."""
    r = rng(seed)
    layer.set_weights(
        [
            (r.random(w.shape) + 0.5 if i in positive else r.standard_normal(w.shape) * 0.3).astype(w.dtype)
            for i, w in enumerate(layer.get_weights())
        ]
    )


def keras_forward_backward(layer, x, upstream, training=False):
    """Keras output, dL/dx and dL/dweights (trainable, in order) for L = sum(layer(x) * upstream)."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [xt, *layer.trainable_weights])
    return y.numpy(), grads[0].numpy(), [g.numpy() for g in grads[1:]]


def minidl_forward_backward(layer, x, upstream, training=False):
    y = layer(x, training=training)
    dx = layer.backward(upstream.astype(y.dtype))
    return y, dx, [layer.grads[name] for name in layer.params]


def copy_and_compare(keras_layer, minidl_layer, x, training=False, tol=1e-5, upstream_seed=99):
    """Build both, copy Keras's weights into minidl, compare outputs and every gradient."""
    keras_layer(x)  # build both
    minidl_layer.build_for(x.shape)
    minidl_layer.set_weights(keras_layer.get_weights())
    out_shape = keras_layer.compute_output_shape(x.shape)
    upstream = rng(upstream_seed).standard_normal(out_shape).astype(np.float32)
    ky, kdx, kgrads = keras_forward_backward(keras_layer, x, upstream, training)
    my, mdx, mgrads = minidl_forward_backward(minidl_layer, x, upstream, training)
    assert my.dtype == np.float32 and mdx.dtype == np.float32
    assert my.shape == ky.shape
    assert rel(my, ky) <= tol, rel(my, ky)
    assert rel(mdx, kdx) <= tol, rel(mdx, kdx)
    assert len(mgrads) == len(kgrads)
    for name, mg, kg in zip(minidl_layer.params, mgrads, kgrads):
        assert mg.dtype == np.float32 and mg.shape == kg.shape, name
        assert rel(mg, kg) <= tol, (name, rel(mg, kg))
    return my, ky


# ------------------------------------------------------------------------------------------- layers


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("strides", [1, 2, (2, 1)])
@pytest.mark.parametrize("kernel_size, in_shape", [(3, (2, 7, 8, 3)), ((2, 3), (2, 6, 9, 2)), (4, (1, 8, 8, 2))])
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv2d(padding, strides, kernel_size, in_shape, activation):
    """Outputs and gradients; odd sizes with stride 2 use TF's asymmetric "same" padding."""
    kl = K.Conv2D(4, kernel_size, strides=strides, padding=padding, activation=activation)
    ml = layers.Conv2D(4, kernel_size, strides=strides, padding=padding, activation=activation)
    x = rng(1).standard_normal(in_shape).astype(np.float32)
    kl(x)
    randomize_keras_weights(kl, seed=2)
    copy_and_compare(kl, ml, x)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel_size, dilation_rate", [(3, 1), ((2, 3), 1), (3, 2)])
def test_conv2d_many_input_channels(padding, kernel_size, dilation_rate):
    """32 input channels, stride 1: dL/dx by the full correlation with the flipped kernel ("same") or
    col2im ("valid")."""
    kl = K.Conv2D(6, kernel_size, padding=padding, dilation_rate=dilation_rate)
    ml = layers.Conv2D(6, kernel_size, padding=padding, dilation_rate=dilation_rate)
    x = rng(5).standard_normal((3, 9, 8, 32)).astype(np.float32)
    kl(x)
    randomize_keras_weights(kl, seed=6)
    copy_and_compare(kl, ml, x)


def test_conv2d_keras_weight_shapes_and_no_bias():
    kl, ml = K.Conv2D(5, (3, 2), use_bias=False), layers.Conv2D(5, (3, 2), use_bias=False)
    x = rng(3).standard_normal((2, 6, 5, 3)).astype(np.float32)
    kl(x)
    randomize_keras_weights(kl, seed=4)
    copy_and_compare(kl, ml, x)
    assert [w.shape for w in ml.get_weights()] == [(3, 2, 3, 5)]


def tie_heavy(shape, seed):
    """ReLU of small integers: mostly zeros and repeated values, so nearly every window has ties."""
    return np.maximum(rng(seed).integers(-2, 3, shape), 0).astype(np.float32)


@pytest.mark.parametrize(
    "pool_size, strides, padding",
    [
        (2, None, "valid"),
        (2, None, "same"),
        (3, 2, "valid"),
        (3, 2, "same"),
        (2, 1, "valid"),
        (3, 1, "same"),
        ((2, 3), None, "valid"),
    ],
)
@pytest.mark.parametrize("ties", [False, True])
def test_maxpooling2d_outputs_and_input_gradients(pool_size, strides, padding, ties):
    """Odd sizes (7 x 9): "valid" crops, "same" pads; with ties the gradient goes to the same single
    element as in TensorFlow (the first maximum in row-major window order)."""
    shape = (2, 7, 9, 3)
    x = tie_heavy(shape, 5) if ties else rng(5).standard_normal(shape).astype(np.float32)
    my, ky = copy_and_compare(
        K.MaxPooling2D(pool_size, strides, padding), layers.MaxPooling2D(pool_size, strides, padding), x, tol=1e-6
    )
    np.testing.assert_array_equal(my, ky)


def test_maxpooling2d_tie_gradient_on_relu_outputs():
    """The seed network's case: max pooling of ReLU(conv) outputs, exact zeros everywhere."""
    x = np.maximum(rng(6).standard_normal((4, 28, 28, 8)), 0).astype(np.float32)
    x[:, :10] = 0  # whole windows of zeros
    upstream = rng(7).standard_normal((4, 14, 14, 8)).astype(np.float32)
    _, kdx, _ = keras_forward_backward(K.MaxPooling2D(2), x, upstream)
    _, mdx, _ = minidl_forward_backward(layers.MaxPooling2D(2), x, upstream)
    np.testing.assert_array_equal(mdx, kdx)


def test_flatten():
    x = rng(8).standard_normal((3, 4, 5, 6)).astype(np.float32)
    my, ky = copy_and_compare(K.Flatten(), layers.Flatten(), x, tol=0)
    np.testing.assert_array_equal(my, ky)


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((8, 5, 5, 4), {}),
        ((16, 6), {}),
        ((8, 5, 5, 4), dict(momentum=0.9, epsilon=1e-2)),
        ((4, 3, 5, 2), dict(axis=1)),
        ((8, 5, 5, 4), dict(center=False)),
        ((8, 5, 5, 4), dict(scale=False)),
    ],
)
def test_batchnormalization(shape, kwargs):
    """Training output and gradients, the moving statistics after two training calls, inference."""
    x = (rng(9).standard_normal(shape) * 3 + 2).astype(np.float32)
    kl, ml = K.BatchNormalization(**kwargs), layers.BatchNormalization(**kwargs)
    kl(x)
    n_trainable = len(kl.trainable_weights)
    randomize_keras_weights(kl, seed=10, positive={n_trainable + 1})  # moving_variance > 0
    copy_and_compare(kl, ml, x, training=True)  # one training call each: moving stats updated once
    assert ml.weight_names[-2:] == ["moving_mean", "moving_variance"]
    x2 = (rng(11).standard_normal(shape) - 1).astype(np.float32)
    ky, my = kl(x2, training=True).numpy(), ml(x2, training=True)
    assert rel(my, ky) < 1e-5
    for name, mw, kw in zip(ml.weight_names, ml.get_weights(), kl.get_weights()):
        assert mw.dtype == np.float32 and rel(mw, kw) < 1e-6, (name, rel(mw, kw))
    copy_and_compare(kl, ml, x2, training=False)  # inference: moving statistics, affine backward
    for name, mw, kw in zip(ml.weight_names, ml.get_weights(), kl.get_weights()):
        assert rel(mw, kw) < 1e-6, name  # and not updated by inference


def test_dropout_inference_identity_and_training_statistics():
    x = np.ones((400, 500), np.float32)
    kl, ml = K.Dropout(0.3, seed=1), layers.Dropout(0.3, seed=1)
    np.testing.assert_array_equal(kl(x, training=False).numpy(), x)
    np.testing.assert_array_equal(ml(x, training=False), x)
    ky, my = kl(x, training=True).numpy(), ml(x, training=True)
    keras_kept, minidl_kept = np.unique(ky[ky != 0]), np.unique(my[my != 0])
    assert len(keras_kept) == len(minidl_kept) == 1
    assert rel(minidl_kept, keras_kept) < 1e-6  # both 1 / (1 - rate)
    assert rel(minidl_kept, 1 / 0.7) < 1e-6
    assert abs((my == 0).mean() - 0.3) < 0.01 and abs((ky == 0).mean() - 0.3) < 0.01


# ----------------------------------------------------------------------------------------- seed CNN


def keras_seed_cnn(dtype="float32", l2=None, seed=0):
    keras.utils.set_random_seed(seed)
    reg = None if l2 is None else keras.regularizers.L2(l2)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1), dtype=dtype),
            K.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer="glorot_normal", dtype=dtype),
            K.BatchNormalization(dtype=dtype),
            K.MaxPooling2D(2, dtype=dtype),
            K.Flatten(dtype=dtype),
            K.Dense(784, activation="relu", kernel_regularizer=reg, dtype=dtype),
            K.Dense(10, activation="softmax", kernel_regularizer=reg, dtype=dtype),
        ]
    )


def minidl_seed_cnn(dtype="float32", l2=None, optimizer=None):
    reg = None if l2 is None else regularizers.L2(l2)
    model = minidl.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu", kernel_initializer="glorot_normal"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(784, activation="relu", kernel_regularizer=reg),
            layers.Dense(10, activation="softmax", kernel_regularizer=reg),
        ],
        dtype=dtype,
    )
    model.compile(
        optimizer=optimizer or minidl.optimizers.Adam(1e-4), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def batch(n=32, seed=12, dtype="float32"):
    r = rng(seed)
    x = r.random((n, 28, 28, 1)).astype(dtype)  # image-like, in [0, 1)
    y = np.eye(10, dtype=dtype)[r.integers(0, 10, n)]
    return x, y


def non_trivial_bn_statistics(keras_model, seed=13):
    """Moving statistics other than the initial 0 / 1, so inference really uses them."""
    weights = keras_model.get_weights()
    r = rng(seed)
    weights[4] = (r.standard_normal(32) * 0.2).astype(weights[4].dtype)  # moving_mean
    weights[5] = (r.random(32) + 0.5).astype(weights[5].dtype)  # moving_variance
    keras_model.set_weights(weights)


def compile_keras(model):
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy", metrics=["accuracy"])


def test_seed_cnn_inference_and_training_forward():
    km, mm = keras_seed_cnn(), minidl_seed_cnn()
    non_trivial_bn_statistics(km)
    mm.set_weights(km.get_weights())
    x, _ = batch()
    assert rel(mm.predict(x), km.predict(x, verbose=0)) < 1e-5
    assert np.abs(mm.predict(x) - km.predict(x, verbose=0)).max() < 1e-5
    assert np.abs(mm(x, training=True) - km(x, training=True).numpy()).max() < 1e-5


def weights_after_steps(km, mm, x, y, steps):
    """Run `steps` train_on_batch calls on both; return per-step (minidl, keras) logs."""
    logs = []
    for _ in range(steps):
        klogs = km.train_on_batch(x, y, return_dict=True)
        mlogs = mm.train_on_batch(x, y, return_dict=True)
        logs.append((mlogs, klogs))
    return logs


def assert_same_float32_steps(mm, km, start, steps_done):
    """Weights after float32 Adam steps: moving statistics to 1e-5; each trainable array's total
    update (w - w0) to 5e-3 in relative L2 norm (measured: <= 6.4e-4, TF's float32 gradient noise
    amplified by Adam on near-zero gradients, see the module docstring); a wrong formula (BN, L2,
    Adam, a gradient) would be off by O(0.1-1)."""
    names = [f"{layer.name}/{n}" for layer in mm.layers for n in layer.weight_names]
    for name, w0, mw, kw in zip(names, start, mm.get_weights(), km.get_weights()):
        assert mw.dtype == np.float32
        if "moving" in name:  # forward-only: as exact as the forward pass
            assert rel(mw, kw) < 1e-5, (name, rel(mw, kw))
            continue
        update_m, update_k = mw - w0, kw - w0
        assert np.abs(update_k).max() > 0.5e-4 * steps_done  # Adam(1e-4) moved it ~lr per step
        update_error = np.linalg.norm(update_m - update_k) / np.linalg.norm(update_k)
        assert update_error < 5e-3, (name, update_error)


def test_seed_cnn_adam_steps_float32():
    """The seed setting: float32, Adam(1e-4), batch of 32, dropout off; 1 then 3 steps."""
    km, mm = keras_seed_cnn(), minidl_seed_cnn()
    mm.set_weights(km.get_weights())
    compile_keras(km)
    x, y = batch()
    start = mm.get_weights()
    for steps_done, steps in ((1, 1), (3, 2)):
        for mlogs, klogs in weights_after_steps(km, mm, x, y, steps):
            assert rel(mlogs["loss"], klogs["loss"]) < 1e-5, (mlogs, klogs)
            assert mlogs["accuracy"] == pytest.approx(klogs["accuracy"])
        assert mm.optimizer.iterations == int(km.optimizer.iterations.numpy()) == steps_done
        assert_same_float32_steps(mm, km, start, steps_done)


def test_seed_cnn_adam_steps_float64(keras_float64):
    """Both frameworks in float64: the weights after 1 and 3 Adam(1e-4) steps agree to < 1e-7
    (minidl's Adam computes beta^t from float32-rounded betas, as Keras does)."""
    km = keras_seed_cnn("float64")
    mm = minidl_seed_cnn("float64", optimizer=minidl.optimizers.Adam(1e-4))
    non_trivial_bn_statistics(km)
    start = km.get_weights()
    mm.set_weights(start)
    compile_keras(km)
    x, y = batch(dtype="float64")
    assert rel(mm.predict(x), km.predict(x, verbose=0)) < 1e-12
    for steps_done, steps in ((1, 1), (3, 2)):
        for mlogs, klogs in weights_after_steps(km, mm, x, y, steps):
            assert rel(mlogs["loss"], klogs["loss"]) < 1e-12, (mlogs, klogs)
        for i, (mw, kw) in enumerate(zip(mm.get_weights(), km.get_weights())):
            assert mw.dtype == np.float64
            # ~1e-12 for most arrays; up to ~1e-8 for a zero-initialised bias, where a gradient that is
            # 0 in exact arithmetic (a conv channel whose ReLU never clips, followed by BN) is float64
            # noise of ~1e-15 that Adam scales up to ~lr * 1e-15 / 3e-6.
            assert rel(mw, kw) < 1e-7, (i, steps_done, rel(mw, kw))


def test_seed_cnn_l2_loss_evaluate_and_train_on_batch():
    """kernel_regularizer=L2(0.01) on both Dense layers: the penalty is part of evaluate's loss and
    train_on_batch's loss, in both frameworks."""
    km, mm = keras_seed_cnn(l2=0.01), minidl_seed_cnn(l2=0.01)
    non_trivial_bn_statistics(km)
    mm.set_weights(km.get_weights())
    compile_keras(km)
    x, y = batch(64, seed=14)
    m_loss, m_acc = mm.evaluate(x, y, batch_size=32, verbose=0)
    k_loss, k_acc = km.evaluate(x, y, batch_size=32, verbose=0)
    penalty = 0.01 * sum(float(np.sum(w.astype(np.float64) ** 2)) for w in (km.get_weights()[6], km.get_weights()[8]))
    assert penalty > 1.0  # the penalty dominates: a missing or halved one would show
    assert rel(m_loss, k_loss) < 1e-5, (m_loss, k_loss)
    assert m_acc == pytest.approx(k_acc)
    start = mm.get_weights()
    m_logs = mm.train_on_batch(x[:32], y[:32], return_dict=True)
    k_logs = km.train_on_batch(x[:32], y[:32], return_dict=True)
    assert rel(m_logs["loss"], k_logs["loss"]) < 1e-5, (m_logs, k_logs)
    assert_same_float32_steps(mm, km, start, 1)  # the L2 gradient 2 * 0.01 * w is part of the step
    m_loss_after, _ = mm.evaluate(x, y, batch_size=32, verbose=0)
    k_loss_after, _ = km.evaluate(x, y, batch_size=32, verbose=0)
    assert rel(m_loss_after, k_loss_after) < 1e-5, (m_loss_after, k_loss_after)


def test_seed_cnn_l2_fit_float64_matches_keras(keras_float64):
    """fit with L2(0.01) on both Dense layers, same initial weights, same batches (shuffle=False), in
    float64: after 20 Adam steps the weights and every epoch's loss agree, so the frameworks' L2 runs can
    differ only by their random draws (initialisation, shuffling), not by what a step computes."""
    km, mm = (
        keras_seed_cnn("float64", l2=0.01),
        minidl_seed_cnn("float64", l2=0.01, optimizer=minidl.optimizers.Adam(1e-4)),
    )
    mm.set_weights(km.get_weights())
    compile_keras(km)
    x, y = batch(320, seed=15, dtype="float64")
    k_history = km.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    m_history = mm.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(
            m_history[key], k_history[key], rtol=1e-6
        )  # measured 2e-8: the weights differ by up to ~1e-8
    for i, (mw, kw) in enumerate(zip(mm.get_weights(), km.get_weights())):
        assert rel(mw, kw) < 1e-7, (i, rel(mw, kw))
