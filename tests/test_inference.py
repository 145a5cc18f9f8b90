"""Inference with pooling moved ahead of the per-channel non-decreasing maps (minidl/inference.py): the
same values as running the layers one by one (array_equal); and the reordering happens only where exact."""

import numpy as np
import pytest

import minidl
from minidl import layers
from minidl.inference import InferencePlan


def layer_by_layer(model, x):
    for layer in model.layers:
        x = layer.forward(x, training=False)
    return x


def describe(steps):
    return [(step.layer.name, step.method) for step in steps]


def cnn(*middle, pool=None, seed=0):
    minidl.set_seed(seed)
    model = minidl.Sequential(
        [
            layers.Input((12, 12, 3)),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="conv"),
            *middle,
            pool or layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flat"),
            layers.Dense(5, activation="softmax", name="out"),
        ]
    )
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # random weights everywhere, incl. BatchNormalization's statistics
        if isinstance(layer, layers.BatchNormalization):
            layer.set_weights(
                [rng.uniform(0.5, 1.5, 8), rng.normal(size=8), rng.normal(size=8), rng.uniform(0.5, 2.0, 8)]
            )
        else:
            layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    return model


def batch(seed=1):
    return np.random.default_rng(seed).normal(size=(7, 12, 12, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "pool",
    [
        layers.MaxPooling2D(2, name="pool"),
        layers.MaxPooling2D(3, strides=2, padding="same", name="pool"),  # overlapping windows, -inf padding
        layers.MaxPooling2D((2, 3), strides=(1, 2), name="pool"),
    ],
)
def test_pooling_overtakes_bias_relu_and_batchnorm_bit_for_bit(pool):
    model = cnn(layers.BatchNormalization(name="bn"), pool=pool)
    assert describe(InferencePlan(model.layers).steps) == [
        ("conv", "linear_inference"),
        ("pool", "forward"),
        ("conv", "activate"),
        ("bn", "forward"),
        ("flat", "forward"),
        ("out", "forward"),
    ]
    x = batch()
    np.testing.assert_array_equal(model.predict(x, batch_size=4), layer_by_layer(model, x))


def test_batchnorm_with_a_negative_scale_keeps_its_place():
    """max(-a, -b) != -max(a, b): a channel with gamma < 0 must not be pooled before its normalization."""
    model = cnn(layers.BatchNormalization(name="bn"))
    gamma, beta, mean, var = model.layers[1].get_weights()
    gamma[3] = -0.7
    model.layers[1].set_weights([gamma, beta, mean, var])
    assert describe(InferencePlan(model.layers).steps)[:4] == [
        ("conv", "linear_inference"),
        ("conv", "activate"),
        ("bn", "forward"),
        ("pool", "forward"),
    ]
    x = batch()
    np.testing.assert_array_equal(model.predict(x), layer_by_layer(model, x))


def test_maps_wait_across_consecutive_poolings_and_stop_at_a_mixing_layer():
    minidl.set_seed(3)
    model = minidl.Sequential(
        [
            layers.Input((8, 8, 2)),
            layers.Conv2D(4, 3, padding="same", name="conv"),
            layers.ReLU(name="relu"),
            layers.MaxPooling2D(name="pool1"),
            layers.MaxPooling2D(name="pool2"),
            layers.Conv2D(3, 1, activation="relu", name="conv1x1"),
            layers.Flatten(name="flat"),
        ]
    )
    assert describe(InferencePlan(model.layers).steps) == [
        ("conv", "linear_inference"),
        ("pool1", "forward"),
        ("pool2", "forward"),
        ("conv", "activate"),
        ("relu", "forward"),
        ("conv1x1", "linear_inference"),
        ("conv1x1", "activate"),
        ("flat", "forward"),
    ]
    x = np.random.default_rng(4).normal(size=(5, 8, 8, 2)).astype(np.float32)
    np.testing.assert_array_equal(model(x), layer_by_layer(model, x))


@pytest.mark.parametrize("threads", [1, 2])
def test_steps_after_a_convolution_run_in_its_chunks_bit_for_bit(threads, monkeypatch):
    """Pooling, the bias and ReLU, BatchNormalization and an Activation after a convolution run on each of
    its chunks of samples: the same bits as the layers one by one, on any number of threads."""
    from minidl import parallel
    from minidl.layers import conv

    model = cnn(layers.BatchNormalization(name="bn"), layers.Activation("relu", name="act"))
    runs = InferencePlan(model.layers).runs
    assert [str(run) for run in runs] == [
        "conv.linear_inference + pool.forward + conv.activate + bn.forward + act.forward",
        "flat.forward",
        "out.forward",
    ]
    monkeypatch.setattr(conv, "CHUNK_COLS_BYTES", 2 * 144 * 27 * 4)  # 2 samples' im2col: 4 chunks of 7
    before = parallel.get_num_threads()
    parallel.set_num_threads(threads)
    try:
        x = batch()
        np.testing.assert_array_equal(model.predict(x), layer_by_layer(model, x))
    finally:
        parallel.set_num_threads(before)


def test_a_subclass_that_overrides_forward_runs_on_the_whole_batch():
    class NegatedReLU(layers.ReLU):
        def forward(self, x, training=False):
            return -super().forward(x, training)

    model = cnn(layers.BatchNormalization(name="bn"), NegatedReLU(name="neg"), layers.ReLU(name="relu"))
    assert [str(run) for run in InferencePlan(model.layers).runs][:3] == [
        "conv.linear_inference + conv.activate + bn.forward",
        "neg.forward",
        "pool.forward",
    ]
    x = batch()
    np.testing.assert_array_equal(model.predict(x), layer_by_layer(model, x))


def test_a_model_without_pooling_runs_its_layers_in_order():
    model = minidl.Sequential(
        [
            layers.Input((6,)),
            layers.Dense(4, activation="relu", name="d1"),
            layers.Dense(3, activation="softmax", name="d2"),
        ]
    )
    assert describe(InferencePlan(model.layers).steps) == [
        ("d1", "linear_inference"),
        ("d1", "activate"),
        ("d2", "forward"),
    ]


def test_subclasses_that_override_forward_keep_their_place():
    """A subclass may compute anything in forward: only the library's own layers are reordered."""

    class NegatedReLU(layers.ReLU):
        def forward(self, x, training=False):
            return -super().forward(x, training)

    class ShiftedDense(layers.Dense):
        def forward(self, x, training=False):
            return super().forward(x, training) + 1.0

    minidl.set_seed(5)
    model = minidl.Sequential(
        [
            layers.Input((6, 6, 2)),
            ShiftedDense(3, activation="relu", name="dense"),
            NegatedReLU(name="neg"),
            layers.MaxPooling2D(name="pool"),
        ]
    )
    assert describe(InferencePlan(model.layers).steps) == [
        ("dense", "forward"),
        ("neg", "forward"),
        ("pool", "forward"),
    ]
    x = np.random.default_rng(6).normal(size=(3, 6, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x), layer_by_layer(model, x))


@pytest.mark.parametrize("layer", [layers.Conv2D(5, 3, padding="same"), layers.Conv1D(5, 3, strides=2)])
def test_convolution_in_chunks_of_samples(layer, monkeypatch):
    """The convolution runs in chunks of samples (their im2col stays in cache) in training and in
    inference: the same values as the whole batch at once, within float32 rounding of each output's sum
    over its window; inference keeps no im2col."""
    from minidl.layers import conv

    two_d = not isinstance(layer, layers.Conv1D)  # (Conv1D is a Conv2D on a (N, 1, T, C) view)
    x = np.random.default_rng(0).normal(size=(11, 6, 6, 3) if two_d else (11, 9, 3)).astype(np.float32)
    layer.build_for((None, *x.shape[1:]))
    monkeypatch.setattr(conv, "CHUNK_COLS_BYTES", 1 << 40)
    whole = layer.linear_inference(x)
    assert not hasattr(layer, "input")
    window_bytes = (9 * 3 * 36 if two_d else 3 * 3 * 4) * 4  # one sample's im2col: windows x values x 4 bytes
    monkeypatch.setattr(conv, "CHUNK_COLS_BYTES", 3 * window_bytes)  # chunks of 3 samples: 4 chunks
    terms = 9 * 3 if two_d else 3 * 3
    scale = np.abs(layer.get_weights()[0]).max() * np.abs(x).max() * terms
    for chunked in (layer.linear_inference(x), layer.linear(x)):
        np.testing.assert_allclose(chunked, whole, rtol=0, atol=terms * np.finfo(np.float32).eps * scale)


@pytest.mark.parametrize("threads", [1, 2])
def test_a_functional_graph_fuses_chains_that_nothing_else_reads(threads, monkeypatch):
    """In a residual block, a convolution takes in the nodes after it up to a tensor read twice (the
    shortcut), by a merge, or returned by the model; predict gives the bits of the unfused pass."""
    from minidl import parallel
    from minidl.inference import fused_graph_runs
    from minidl.layers import conv

    minidl.set_seed(7)
    inputs = minidl.Input((10, 10, 3))
    x = layers.BatchNormalization(name="bn0")(layers.Conv2D(6, 3, padding="same", activation="relu", name="c0")(inputs))
    shortcut = x
    x = layers.Activation("relu", name="act1")(
        layers.BatchNormalization(name="bn1")(layers.Conv2D(6, 3, padding="same", name="c1")(x))
    )
    x = layers.BatchNormalization(name="bn2")(layers.Conv2D(6, 3, padding="same", name="c2")(x))
    x = layers.Activation("relu", name="act3")(layers.Add(name="add")([x, shortcut]))
    pooled = layers.MaxPooling2D(name="pool")(layers.Conv2D(4, 1, name="c3")(x))
    outputs = layers.Dense(3, name="out")(layers.Flatten(name="flat")(pooled))
    model = minidl.Model(inputs, [outputs, pooled])
    rng = np.random.default_rng(8)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.set_weights(
                [rng.uniform(0.5, 1.5, 6), rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2, 6)]
            )
        elif layer.get_weights():
            layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])

    runs = fused_graph_runs(model.nodes, model.instances, model.outputs)
    names = {i: str(run) for i, (run, _) in runs.heads.items()}
    assert sorted(names.values()) == [
        "c0.linear_inference + c0.activate + bn0.forward",  # bn0's output is read twice: the chain stops
        "c1.linear_inference + c1.activate + bn1.forward + act1.forward",
        "c2.linear_inference + c2.activate + bn2.forward",  # then a merge
        "c3.linear_inference + c3.activate + pool.forward",  # its output: read by flat, returned too
    ]
    monkeypatch.setattr(conv, "CHUNK_COLS_BYTES", 3 * 100 * 54 * 4)  # 3 samples' im2col: 3 chunks of 9
    before = parallel.get_num_threads()
    parallel.set_num_threads(threads)
    try:
        batch_x = rng.normal(size=(9, 10, 10, 3)).astype(np.float32)
        for fused, unfused in zip(model.predict(batch_x), model.forward(batch_x, training=False)):
            np.testing.assert_array_equal(fused, unfused)
    finally:
        parallel.set_num_threads(before)
