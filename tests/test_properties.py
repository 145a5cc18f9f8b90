"""Property-based tests (hypothesis) over random layer stacks and shapes:

* shapes: every layer's forward output has compute_output_shape, backward returns the input's shape,
  each gradient has its parameter's shape; a model's output_shape is what predict returns;
* gradients: every layer, and whole random stacks, pass `check_layer_gradients` (< 1e-6, float64);
* inference: predict(x, batch_size=b) is the inference-mode forward pass, batch by batch, for any b;
* fuzzed inputs: x and y of random shapes are either accepted or rejected by minidl's own checks
  (a ValueError naming the layer / the shapes), never by a NumPy error from deep inside, and a
  rejected fit leaves the weights unchanged.

Layers that are not in minidl.layers (yet) are left out of the stacks. Sizes are tiny; the
whole file runs in a few seconds.
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np
import pytest
from helpers import assert_raised_by_a_check, computations
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import minidl
from minidl import initializers, layers, regularizers
from minidl.layers import Layer
from minidl.testing import check_layer_gradients
from minidl.utils import to_categorical

Conv2D = getattr(layers, "Conv2D", None)
MaxPooling2D = getattr(layers, "MaxPooling2D", None)
BatchNormalization = getattr(layers, "BatchNormalization", None)
Flatten = getattr(layers, "Flatten", None)
Dropout = getattr(layers, "Dropout", None)
HAVE_IMAGES = Conv2D is not None and Flatten is not None

TOLERANCE = 1e-6

# Modest example counts, no deadline (the first call of a layer may be slow): the file stays in seconds.
SETTINGS = settings(
    max_examples=int(os.environ.get("MINIDL_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    derandomize=not os.environ.get("MINIDL_HYPOTHESIS_RANDOM"),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


# --------------------------------------------------------------------------------- specs -> layers
# A stack is drawn as a list of specs (name, kwargs), so the same stack can be instantiated fresh
# several times (per-layer checks, whole-stack check, model) and hypothesis can shrink it.


def make(spec) -> Layer:
    """A fresh layer from a spec. Biases (and BatchNormalization's beta) start random, not 0: a zero
    bias after a Dropout that zeroed a whole row puts a ReLU exactly on its kink, where central
    differences give 1/2 and no gradient is "right"."""
    name, kwargs = spec
    kwargs = dict(kwargs)
    if name == "Dense" and kwargs.pop("l2", None):
        kwargs["kernel_regularizer"] = regularizers.L2(0.01)
    if name in ("Dense", "Conv2D"):
        kwargs["bias_initializer"] = initializers.RandomNormal(stddev=0.5)
    if name == "BatchNormalization":
        kwargs["beta_initializer"] = initializers.RandomNormal(stddev=0.5)
    return getattr(layers, name)(**kwargs)


def expected_output_shape(spec, shape: tuple) -> tuple:
    """Worked out here from the formulas (Keras's), independently of the layers' compute_output_shape."""
    name, kw = spec
    if name == "Dense":
        return (*shape[:-1], kw["units"])
    if name == "Flatten":
        return (math.prod(shape),)
    if name in ("Conv2D", "MaxPooling2D"):
        size = kw["kernel_size"] if name == "Conv2D" else kw["pool_size"]
        stride = kw.get("strides") or size
        h, w, c = shape
        if kw["padding"] == "valid":
            h, w = (h - size) // stride + 1, (w - size) // stride + 1
        else:
            h, w = math.ceil(h / stride), math.ceil(w / stride)
        return (h, w, kw["filters"] if name == "Conv2D" else c)
    return shape  # ReLU, Softmax, Dropout, BatchNormalization


ACTIVATIONS = st.sampled_from([None, "relu", "softmax", "linear"])


@st.composite
def dense_spec(draw):
    return (
        "Dense",
        dict(
            units=draw(st.integers(1, 5)),
            activation=draw(ACTIVATIONS),
            use_bias=draw(st.booleans()),
            l2=draw(st.booleans()),
        ),
    )


@st.composite
def shape_free_spec(draw):
    """Layers that work on any input rank."""
    choices = (
        ["ReLU", "Softmax"] + (["Dropout"] if Dropout else []) + (["BatchNormalization"] if BatchNormalization else [])
    )
    name = draw(st.sampled_from(choices))
    if name == "Dropout":
        return ("Dropout", dict(rate=draw(st.sampled_from([0.0, 0.2, 0.5]))))
    if name == "BatchNormalization":
        return (
            "BatchNormalization",
            dict(
                momentum=draw(st.sampled_from([0.0, 0.5, 0.99])), center=draw(st.booleans()), scale=draw(st.booleans())
            ),
        )
    return (name, {})


@st.composite
def image_spec(draw, shape):
    """A Conv2D or MaxPooling2D that is valid for an input of `shape` (h, w, c)."""
    h, w, _ = shape
    kinds = ["Conv2D"] + (["MaxPooling2D"] if MaxPooling2D else [])
    name = draw(st.sampled_from(kinds))
    padding = draw(st.sampled_from(["valid", "same"]))
    limit = min(3, h, w) if padding == "valid" else 3
    size = draw(st.integers(1, max(1, limit)))
    if name == "Conv2D":
        return (
            "Conv2D",
            dict(
                filters=draw(st.integers(1, 3)),
                kernel_size=size,
                strides=draw(st.integers(1, 2)),
                padding=padding,
                activation=draw(st.sampled_from([None, "relu"])),
            ),
        )
    return ("MaxPooling2D", dict(pool_size=size, strides=draw(st.sampled_from([None, 1, 2])), padding=padding))


@st.composite
def stacks(draw, images: bool, max_layers=4):
    """(input shape without the batch axis, [spec, ...]) with the specs valid in sequence: an image
    stack (N, H, W, C) starts with a Conv2D or MaxPooling2D, a flat one (N, F) with anything."""
    if images:
        shape = (draw(st.integers(2, 6)), draw(st.integers(2, 6)), draw(st.integers(1, 3)))
    else:
        shape = (draw(st.integers(1, 5)),)
    input_shape, specs = shape, []
    for i in range(draw(st.integers(1, max_layers))):
        if len(shape) == 3 and i == 0:
            spec = draw(image_spec(shape))
        elif len(shape) == 3:
            spec = draw(
                st.one_of(
                    image_spec(shape), image_spec(shape), shape_free_spec(), dense_spec(), st.just(("Flatten", {}))
                )
            )
        else:
            spec = draw(st.one_of(dense_spec(), shape_free_spec()))
        specs.append(spec)
        shape = expected_output_shape(spec, shape)
    return input_shape, specs


def output_shapes(input_shape, specs):
    shapes = [input_shape]
    for spec in specs:
        shapes.append(expected_output_shape(spec, shapes[-1]))
    return shapes


class Stack(Layer):
    """Several layers as one, so that check_layer_gradients checks a whole stack end to end (each
    sub-layer is also an attribute, so the checker finds and resets Dropout's generators)."""

    def __init__(self, sublayers, **kwargs):
        super().__init__(**kwargs)
        self.sublayers = list(sublayers)
        for i, layer in enumerate(self.sublayers):
            setattr(self, f"sub{i}", layer)

    @property
    def params(self):
        """The sub-layers' parameter arrays themselves (a fresh dict each time, so that code replacing
        an entry cannot disconnect it): perturbing one of them perturbs the stack."""
        return {
            f"{i}/{name}": value
            for i, layer in enumerate(getattr(self, "sublayers", []))
            for name, value in layer.params.items()
        }

    @params.setter
    def params(self, value):  # Layer.__init__ sets params = {}
        pass

    def build(self, input_shape):
        shape = input_shape
        for layer in self.sublayers:
            layer.dtype = self.dtype
            shape = layer.build_for(shape)
        self.stack_output_shape = shape

    def compute_output_shape(self, input_shape):
        return self.stack_output_shape

    def forward(self, x, training=False):
        for layer in self.sublayers:
            x = layer.forward(x, training)
        return x

    def _collect_grads(self):
        for i, layer in enumerate(self.sublayers):
            for name, grad in layer.grads.items():
                self.grads[f"{i}/{name}"] = grad

    def backward(self, grad_output):
        for layer in reversed(self.sublayers):
            layer.need_input_grad = True
            grad_output = layer.backward(grad_output)
        self._collect_grads()
        return grad_output

    def regularization_loss(self):
        return sum(layer.regularization_loss() for layer in self.sublayers)

    def add_regularization_gradients(self):
        for layer in self.sublayers:
            layer.add_regularization_gradients()
        self._collect_grads()


KINDS = pytest.mark.parametrize(
    "images", [False, True] if HAVE_IMAGES else [False], ids=lambda i: "image" if i else "flat"
)


def batch(shape, n, seed):
    return np.random.default_rng(seed).standard_normal((n, *shape))


# ------------------------------------------------------------------------------------------ shapes


@KINDS
@SETTINGS
@given(data=st.data(), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_forward_backward_shapes_are_consistent(images, data, n, seed, float64):
    check_shapes(*data.draw(stacks(images), label="stack"), n, seed)


def check_shapes(input_shape, specs, n, seed):
    shapes = output_shapes(input_shape, specs)
    for spec, shape_in, shape_out in zip(specs, shapes, shapes[1:]):
        layer = make(spec)
        assert tuple(layer.build_for((None, *shape_in))) == (None, *shape_out), spec  # compute_output_shape
        assert layer.output_shape == (None, *shape_out)
        x = batch(shape_in, n, seed)
        for training in (True, False):
            y = layer.forward(x, training=training)
            assert y.shape == (n, *shape_out), (spec, training)
            assert y.dtype == np.float64
            grad_in = layer.backward(np.ones_like(y))
            assert grad_in.shape == x.shape, spec
            assert grad_in.dtype == np.float64
            assert layer.grads.keys() == layer.params.keys(), spec
            for name, param in layer.params.items():
                assert layer.grads[name].shape == param.shape, (spec, name)
                assert layer.grads[name].dtype == param.dtype
        assert len(layer.get_weights()) == len(layer.weight_names)


@KINDS
@SETTINGS
@given(data=st.data())
def test_model_output_shape_is_predicts_shape(images, data):
    input_shape, specs = data.draw(stacks(images), label="stack")
    model = minidl.Sequential([layers.Input(input_shape), *(make(s) for s in specs)])
    expected = (None, *output_shapes(input_shape, specs)[-1])
    assert model.output_shape == expected
    out = model.predict(batch(input_shape, 3, 0))
    assert out.shape == (3, *expected[1:]) and out.dtype == np.float32
    assert model.count_params() == sum(w.size for w in model.get_weights())


# --------------------------------------------------------------------------------------- gradients


@KINDS
@SETTINGS
@given(data=st.data(), n=st.integers(3, 4), seed=st.integers(0, 2**16), training=st.booleans())
def test_every_layer_and_the_whole_stack_pass_the_gradient_check(images, data, n, seed, training, float64):
    input_shape, specs = data.draw(stacks(images, max_layers=3), label="stack")
    for spec in specs:
        event(spec[0])  # the layer mix, shown by --hypothesis-show-statistics
    check_gradients(input_shape, specs, n, seed, training)


def check_gradients(input_shape, specs, n, seed, training):
    shapes = output_shapes(input_shape, specs)
    for spec, shape_in in zip(specs, shapes):
        errors = gradient_errors(make(spec), batch(shape_in, n, seed), training)
        assert max(errors.values()) < TOLERANCE, (spec, errors)
    whole = Stack([make(spec) for spec in specs])
    x = batch(input_shape, n, seed + 1)
    errors = gradient_errors(whole, x, training)
    failing = {key for key, error in errors.items() if error >= TOLERANCE}
    if failing:
        # In a stack a gradient can be (nearly) zero by construction: a bias or a scale followed by a
        # training-mode BatchNormalization, which removes per-channel shifts and (up to its epsilon)
        # scales. Only round-off is left of it, on both sides, and its relative error means nothing;
        # it must still agree with a central difference to 1e-7 of the stack's largest gradient.
        assert_tiny_gradients_agree(whole, x, training, failing, (specs, errors))


def gradient_errors(layer, x, training):
    """check_layer_gradients' relative errors by name, with its default step 1e-6 and, for the names
    above the tolerance, also with 1e-5 (the smaller of the two counts). A central difference has a
    round-off error of ~1e-16 |L| / step: where the gradient is small next to the loss (normalised
    outputs: BatchNormalization) 1e-6 can be too small a step, while kinks (ReLU, max) want a small
    one. A wrong backward pass is wrong at every step size."""
    errors = check_layer_gradients(layer, x, training=training, return_details=True)
    if max(errors.values()) >= TOLERANCE:
        again = check_layer_gradients(layer, x, training=training, eps=1e-5, return_details=True)
        errors = {key: min(error, again[key]) for key, error in errors.items()}
    return errors


def assert_tiny_gradients_agree(layer, x, training, keys, context):
    """Each gradient in `keys` is tiny (< 1e-3 of the largest gradient of any input or parameter) and
    matches a central difference along a random direction to 1e-7 of that largest gradient, for the
    loss sum(layer(x) * R)."""
    rng = np.random.default_rng(1)
    generators = {i: copy.deepcopy(sub.rng) for i, sub in enumerate(layer.sublayers) if hasattr(sub, "rng")}

    def loss(inputs):
        for i, generator in generators.items():  # the same Dropout masks on every pass
            layer.sublayers[i].rng = copy.deepcopy(generator)
        return float(np.sum(layer.forward(inputs, training=training) * projection)) + layer.regularization_loss()

    x = x.copy()
    projection = rng.standard_normal(layer.forward(x, training=training).shape)
    loss(x)
    analytic = {"input": layer.backward(projection.copy())}
    layer.add_regularization_gradients()
    analytic.update({k: g.copy() for k, g in layer.grads.items()})
    scale = max(np.abs(g).max() for g in analytic.values())
    arrays = {"input": x, **layer.params}
    for key in keys:
        assert np.abs(analytic[key]).max() < 1e-3 * scale, ("not a tiny gradient", key, context)
        direction = rng.standard_normal(arrays[key].shape)
        direction /= np.linalg.norm(direction)
        eps = 1e-5
        arrays[key] += eps * direction
        plus = loss(x)
        arrays[key] -= 2 * eps * direction
        minus = loss(x)
        arrays[key] += eps * direction
        numeric = (plus - minus) / (2 * eps)
        assert abs(numeric - np.vdot(analytic[key], direction)) < 1e-7 * scale, (key, numeric, scale, context)


# --------------------------------------------------------------------------------------- inference


def randomized_model(input_shape, specs, seed):
    """A model with random weights, BatchNormalization's moving statistics included (variances > 0),
    so inference mode really differs from training mode."""
    model = minidl.Sequential([layers.Input(input_shape), *(make(s) for s in specs)])
    rng = np.random.default_rng(seed)
    weights = []
    for layer in model.layers:
        for name, weight in zip(layer.weight_names, layer.weights):
            shape = weight.shape
            weights.append(rng.uniform(0.5, 1.5, shape) if name == "moving_variance" else rng.normal(0, 0.7, shape))
    model.set_weights(weights)
    return model


@KINDS
@SETTINGS
@given(
    data=st.data(),
    n=st.integers(1, 12),
    batch_size=st.integers(1, 14),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_predict_is_the_inference_forward_pass_batch_by_batch(images, data, n, batch_size, seed, dtype):
    minidl.set_floatx(dtype)
    check_predict(*data.draw(stacks(images), label="stack"), n, batch_size, seed, dtype)


def check_predict(input_shape, specs, n, batch_size, seed, dtype):
    model = randomized_model(input_shape, specs, seed)
    x = batch(input_shape, n, seed + 1).astype(dtype)
    out = model.predict(x, batch_size=batch_size)
    assert out.dtype == dtype
    # exactly the inference-mode forward pass of each batch (Dropout off, moving statistics used)...
    for start in range(0, n, batch_size):
        np.testing.assert_array_equal(
            out[start : start + batch_size], model.forward(x[start : start + batch_size], training=False)
        )
    # ...which is the forward pass of the whole array, up to the rounding of a BLAS product whose
    # blocking (or gemv for one row) depends on the number of rows
    whole = model.forward(x, training=False)
    np.testing.assert_allclose(
        out, whole, rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6 if dtype == "float32" else 1e-13
    )
    np.testing.assert_array_equal(model.predict(x, batch_size=batch_size), out)  # deterministic
    np.testing.assert_array_equal(model(x), whole)  # model(x) is inference mode too


# ------------------------------------------------------------------------- fixed stacks, every time
# The random stacks above are drawn deterministically (derandomize) for a stable CI; these fixed ones
# make sure the usual combinations are always among them. (Set MINIDL_HYPOTHESIS_RANDOM=1 and
# MINIDL_HYPOTHESIS_EXAMPLES=500 for a longer random search.)


def conv(filters, size, strides=1, padding="valid", activation=None):
    return ("Conv2D", dict(filters=filters, kernel_size=size, strides=strides, padding=padding, activation=activation))


def dense(units, activation=None, use_bias=True, l2=False):
    return ("Dense", dict(units=units, activation=activation, use_bias=use_bias, l2=l2))


BN = ("BatchNormalization", dict(momentum=0.9, center=True, scale=True))
FIXED_STACKS = {
    "mlp": ((5,), [dense(4, "relu", l2=True), ("Dropout", dict(rate=0.5)), dense(3, "softmax")]),
    "mlp_batchnorm": ((4,), [dense(6), BN, ("ReLU", {}), dense(3), ("Softmax", {})]),
}
if HAVE_IMAGES:
    FIXED_STACKS.update(
        {
            "seed_cnn": (
                (6, 6, 1),
                [
                    conv(2, 3, padding="same", activation="relu"),
                    BN,
                    ("MaxPooling2D", dict(pool_size=2, strides=None, padding="valid")),
                    ("Flatten", {}),
                    ("Dropout", dict(rate=0.3)),
                    dense(3, "softmax"),
                ],
            ),
            "strided_same": (
                (5, 4, 2),
                [
                    conv(3, 2, strides=2, padding="same"),
                    ("ReLU", {}),
                    ("MaxPooling2D", dict(pool_size=2, strides=1, padding="same")),
                    BN,
                    ("Dropout", dict(rate=0.2)),
                    ("Flatten", {}),
                    dense(2),
                ],
            ),
            "dense_on_images": ((3, 3, 2), [dense(3, "relu"), BN, ("Flatten", {}), dense(2, "softmax")]),
        }
    )


@pytest.mark.parametrize("name", list(FIXED_STACKS))
def test_fixed_stacks(name, float64):
    input_shape, specs = FIXED_STACKS[name]
    check_shapes(input_shape, specs, n=3, seed=0)
    for training in (True, False):
        check_gradients(input_shape, specs, n=3, seed=1, training=training)
    for dtype in ("float32", "float64"):
        minidl.set_floatx(dtype)
        for batch_size in (1, 2, 5):
            check_predict(input_shape, specs, n=7, batch_size=batch_size, seed=2, dtype=dtype)


# ------------------------------------------------------------------------------------ fuzzed inputs

SHAPES = st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)


@KINDS
@SETTINGS
@given(data=st.data(), x_shape=SHAPES, seed=st.integers(0, 2**10))
def test_predict_accepts_the_right_shape_and_clearly_rejects_others(images, data, x_shape, seed):
    input_shape, specs = data.draw(stacks(images, max_layers=2), label="stack")
    model = minidl.Sequential([layers.Input(input_shape), *(make(s) for s in specs)])
    x = np.random.default_rng(seed).standard_normal(x_shape)
    fits = len(x_shape) >= 1 and x_shape[0] >= 1 and x_shape[1:] == input_shape
    if fits:
        assert model.predict(x).shape[0] == x_shape[0]
        return
    with computations() as calls, pytest.raises(ValueError) as excinfo:
        model.predict(x)
    assert_raised_by_a_check(excinfo, calls)
    message = str(excinfo.value)
    if len(x_shape) >= 1 and x.size > 0:  # a real shape mismatch: Keras's message, with both shapes
        expected = "(None, " + ", ".join(map(str, input_shape)) + ")"
        assert (
            f"Input 0 of layer '{model.layers[0].name}' is incompatible with the layer: expected shape "
            f"{expected}, found " in message
        ), message
    else:
        assert "empty" in message or "scalar" in message, message


@st.composite
def fit_inputs(draw):
    """x and y of random shapes, lengths and kinds for a 4-feature, 3-class model."""
    n = draw(st.integers(1, 6))
    x_shape = draw(st.sampled_from([(n, 4), (n, 4), (n, 5), (n, 2, 2), (n,), (draw(st.integers(1, 6)), 4)]))
    kind = draw(st.sampled_from(["onehot", "labels", "column", "wide", "floats", "bad_class"]))
    y_len = draw(st.sampled_from([n, n, draw(st.integers(1, 6))]))
    return x_shape, kind, y_len


def make_targets(kind, y_len, seed):
    labels = np.random.default_rng(seed).integers(0, 3, y_len)
    return {
        "onehot": to_categorical(labels, 3),
        "labels": labels,
        "column": labels[:, None],
        "wide": to_categorical(labels, 4),
        "floats": labels + 0.25,
        "bad_class": labels + 3,
    }[kind]


@SETTINGS
@given(inputs=fit_inputs(), sparse=st.booleans(), seed=st.integers(0, 2**10))
def test_fit_with_fuzzed_x_and_y_trains_or_is_rejected_before_any_update(inputs, sparse, seed):
    x_shape, kind, y_len = inputs
    minidl.set_seed(0)
    model = minidl.Sequential(
        [layers.Input((4,)), layers.Dense(5, activation="relu"), layers.Dense(3, activation="softmax")]
    )
    loss = "sparse_categorical_crossentropy" if sparse else "categorical_crossentropy"
    model.compile("adam", loss, metrics=["accuracy"])
    x = np.random.default_rng(seed).standard_normal(x_shape)
    y = make_targets(kind, y_len, seed)
    good_y = kind in (("labels", "column") if sparse else ("onehot",))
    good = x_shape[1:] == (4,) and y_len == x_shape[0] and good_y
    before = model.get_weights()
    if good:
        history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        assert model.optimizer.iterations == math.ceil(x_shape[0] / 2)
        return
    with computations() as calls, pytest.raises((ValueError, TypeError)) as excinfo:
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert_raised_by_a_check(excinfo, calls)
    assert model.optimizer.iterations == 0
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
