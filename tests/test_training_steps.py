"""Training with max-pooling moved ahead of the ReLU in front of it (minidl/training_steps.py): the same
output, parameter gradients and input gradient as running the layers one by one (array_equal), on
integer data full of ties and of windows with no positive value; and the move happens only where exact."""

import numpy as np
import pytest

import minidl
from minidl import layers
from minidl.models import functional


def integer_model(*stack, input_shape, seed=0):
    """A model whose weights are small integers: its convolutions' outputs are exact integers, with ties."""
    model = minidl.Sequential([layers.Input(input_shape), *stack, layers.Flatten(), layers.Dense(3)])
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.integers(-1, 2, w.shape).astype(np.float32) for w in layer.get_weights()])
    model.need_input_grad = True
    return model


def integer_batch(shape, seed=1):
    return np.random.default_rng(seed).integers(-2, 3, (6, *shape)).astype(np.float32)


def pass_and_gradients(model, x, forward, backward):
    y = forward(x)
    g = np.random.default_rng(2).normal(size=y.shape).astype(np.float32)
    dx = backward(g)
    return [y, dx] + [grad.copy() for layer in model.layers for grad in layer.grads.values()]


def layer_by_layer(model, x):
    def forward(x):
        for layer in model.layers:
            x = layer.forward(x, training=True)
        return x

    def backward(g):
        model._first_to_train()  # marks which layers pass their input gradient back (all: need_input_grad)
        for layer in reversed(model.layers):
            g = layer.backward(g)
        return g

    return pass_and_gradients(model, x, forward, backward)


def as_planned(model, x):
    return pass_and_gradients(model, x, lambda x: model.forward(x, training=True), model.backward)


POOLS = [
    lambda: layers.MaxPooling2D(2),
    lambda: layers.MaxPooling2D(3, strides=2, padding="same"),  # overlapping windows, -inf padding
    lambda: layers.MaxPooling2D((2, 3), strides=(1, 2)),
]


@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize(
    "relu_of",
    [
        lambda: [layers.Conv2D(4, 3, padding="same", activation="relu")],  # the convolution's own ReLU
        lambda: [layers.Conv2D(4, 3), layers.ReLU()],
        lambda: [layers.Conv2D(4, 3, use_bias=False), layers.Activation("relu")],
    ],
)
def test_pooling_ahead_of_relu_is_bit_for_bit_the_layers_one_by_one(relu_of, pool):
    stack = [*relu_of(), pool()]
    model = integer_model(*stack, input_shape=(9, 10, 2))
    relu = stack[0].activation if len(stack) == 2 else getattr(stack[1], "activation", stack[1])
    x = integer_batch((9, 10, 2))
    planned = as_planned(model, x)
    relu_shape = relu.output.shape
    reference = layer_by_layer(model, x)
    assert relu_shape == stack[-1].forward(stack[-2].forward(x if len(stack) == 2 else stack[0].forward(x))).shape
    assert relu_shape != relu.output.shape  # planned: on the pooled values; one by one: on the convolution's
    assert np.count_nonzero(reference[1]) > 0 and np.count_nonzero(reference[2]) > 0
    for ours, theirs in zip(planned, reference, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_conv1d_relu_then_max_pooling_1d():
    model = integer_model(layers.Conv1D(4, 3, activation="relu"), layers.MaxPooling1D(2), input_shape=(11, 3))
    x = integer_batch((11, 3))
    planned = as_planned(model, x)
    assert model.layers[0].activation.output.shape == (6, 4, 4)
    for ours, theirs in zip(planned, layer_by_layer(model, x), strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    "stack",
    [
        lambda: [layers.Conv2D(4, 3, activation="relu"), layers.AveragePooling2D(2)],  # not a max
        lambda: [layers.Conv2D(4, 3, activation="sigmoid"), layers.MaxPooling2D(2)],  # ties after rounding
        lambda: [layers.Conv2D(4, 3), layers.ReLU(max_value=1.0), layers.MaxPooling2D(2)],
        lambda: [layers.Conv2D(4, 3, activation="relu"), layers.BatchNormalization(), layers.MaxPooling2D(2)],
    ],
)
def test_other_layers_keep_their_order(stack):
    model = integer_model(*stack(), input_shape=(8, 8, 2))
    x = integer_batch((8, 8, 2))
    model.forward(x, training=True)
    activation = model.layers[0].activation or model.layers[1]
    assert activation.output.shape[1:3] == (6, 6)  # the convolution's full output, not pooled
    for ours, theirs in zip(as_planned(model, x), layer_by_layer(model, x), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def graph_model(seed=0):
    """Functional: Conv2D(relu) -> MaxPooling2D, and Add -> Activation("relu") -> MaxPooling2D (a residual
    block's end), with a ReLU also read by a second layer (which keeps its place)."""
    inputs = minidl.Input((10, 10, 2))
    a = layers.MaxPooling2D(2)(layers.Conv2D(3, 3, padding="same", activation="relu")(inputs))
    b = layers.Conv2D(3, 3, padding="same")(a)
    c = layers.MaxPooling2D(2, padding="same")(layers.Activation("relu")(layers.Add()([a, b])))
    shared = layers.ReLU()(layers.Conv2D(3, 1)(c))  # read by two nodes: not moved
    d = layers.Add()([layers.MaxPooling2D(1)(shared), shared])
    model = minidl.Model(inputs, layers.Dense(2)(layers.Flatten()(d)))
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.integers(-1, 2, w.shape).astype(np.float32) for w in layer.get_weights()])
    model.need_input_grad = True
    return model


def test_functional_graph_pools_ahead_of_its_relus_bit_for_bit(monkeypatch):
    model, x = graph_model(), integer_batch((10, 10, 2))
    planned = as_planned(model, x)
    assert sorted(model.training_pass) == [0, 1, 4, 5]  # conv -> pool and activation -> pool: 2 pairs
    monkeypatch.setattr(functional, "graph_training_steps", lambda *args: {})
    reference = as_planned(model, x)
    assert model.training_pass == {}
    assert np.count_nonzero(reference[1]) > 0
    for ours, theirs in zip(planned, reference, strict=True):
        np.testing.assert_array_equal(ours, theirs)
