"""Configs as Keras writes them: every layer's get_config has Keras's keys and values for what both
frameworks share, Keras rebuilds the layer from minidl's config, and minidl from Keras's."""

from __future__ import annotations

import importlib.util
import inspect

import pytest

import minidl

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
pytestmark = pytest.mark.skipif(keras is None, reason="needs TensorFlow")

LAYERS = {
    "Dense": lambda api: api.layers.Dense(4, activation="relu", use_bias=False, kernel_initializer="he_normal"),
    "Dense l2": lambda api: api.layers.Dense(3, kernel_regularizer=api.regularizers.L2(0.01)),
    "Conv2D": lambda api: api.layers.Conv2D(8, (3, 2), strides=2, padding="same", activation="sigmoid"),
    "Conv2D dilated": lambda api: api.layers.Conv2D(2, 3, dilation_rate=2, bias_initializer="ones"),
    "Conv1D": lambda api: api.layers.Conv1D(5, 3, strides=2, activation="tanh"),
    "Conv2DTranspose": lambda api: api.layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1),
    "DepthwiseConv2D": lambda api: api.layers.DepthwiseConv2D(
        3, depth_multiplier=2, depthwise_initializer="he_normal", depthwise_regularizer=api.regularizers.L2(0.1)
    ),
    "SeparableConv2D": lambda api: api.layers.SeparableConv2D(
        8, 3, padding="same", pointwise_initializer="ones", pointwise_regularizer=api.regularizers.L1(0.5)
    ),
    "MaxPooling2D": lambda api: api.layers.MaxPooling2D((2, 3), strides=1, padding="same"),
    "MaxPooling1D": lambda api: api.layers.MaxPooling1D(3),
    "AveragePooling2D": lambda api: api.layers.AveragePooling2D(2),
    "AveragePooling1D": lambda api: api.layers.AveragePooling1D(2, padding="same"),
    "GlobalAveragePooling2D": lambda api: api.layers.GlobalAveragePooling2D(keepdims=True),
    "GlobalMaxPooling1D": lambda api: api.layers.GlobalMaxPooling1D(),
    "Flatten": lambda api: api.layers.Flatten(),
    "Reshape": lambda api: api.layers.Reshape((2, -1)),
    "Permute": lambda api: api.layers.Permute((2, 1)),
    "Rescaling": lambda api: api.layers.Rescaling(1 / 255, offset=0.5),
    "ZeroPadding2D": lambda api: api.layers.ZeroPadding2D(((1, 2), (0, 1))),
    "Cropping2D": lambda api: api.layers.Cropping2D((1, 2)),
    "UpSampling2D": lambda api: api.layers.UpSampling2D(2),
    "ZeroPadding1D": lambda api: api.layers.ZeroPadding1D(2),
    "Cropping1D": lambda api: api.layers.Cropping1D((1, 2)),
    "UpSampling1D": lambda api: api.layers.UpSampling1D(3),
    "RepeatVector": lambda api: api.layers.RepeatVector(4),
    "BatchNormalization": lambda api: api.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, center=False),
    "LayerNormalization": lambda api: api.layers.LayerNormalization(axis=-1, epsilon=1e-4),
    "Dropout": lambda api: api.layers.Dropout(0.3, seed=2),
    "SpatialDropout2D": lambda api: api.layers.SpatialDropout2D(0.2),
    "GaussianNoise": lambda api: api.layers.GaussianNoise(0.1),
    "Activation": lambda api: api.layers.Activation("gelu"),
    "ReLU": lambda api: api.layers.ReLU(max_value=6.0),
    "LeakyReLU": lambda api: api.layers.LeakyReLU(negative_slope=0.1),
    "ELU": lambda api: api.layers.ELU(alpha=0.5),
    "PReLU": lambda api: api.layers.PReLU(shared_axes=[1, 2]),
    "Softmax": lambda api: api.layers.Softmax(axis=1),
    "Add": lambda api: api.layers.Add(),
    "Concatenate": lambda api: api.layers.Concatenate(axis=1),
    "Dot": lambda api: api.layers.Dot(axes=(1, 2), normalize=True),
    "Embedding": lambda api: api.layers.Embedding(100, 16, embeddings_initializer="glorot_uniform"),
    "Embedding masking": lambda api: api.layers.Embedding(100, 16, mask_zero=True),
    "Masking": lambda api: api.layers.Masking(mask_value=-1.0),
    "Bidirectional sequences": lambda api: api.layers.Bidirectional(api.layers.GRU(3, return_sequences=True)),
    "Normalization": lambda api: api.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0]),
    "LSTM": lambda api: api.layers.LSTM(8, return_sequences=True, recurrent_initializer="glorot_uniform"),
    "GRU": lambda api: api.layers.GRU(8, reset_after=False, go_backwards=True),
    "SimpleRNN": lambda api: api.layers.SimpleRNN(8, activation="relu", return_sequences=True),
    "RandomFlip": lambda api: api.layers.RandomFlip("horizontal", seed=3),
    "RandomRotation": lambda api: api.layers.RandomRotation(0.1, fill_mode="constant", fill_value=0.5, seed=1),
    "RandomZoom": lambda api: api.layers.RandomZoom((-0.2, 0.1), 0.3, interpolation="nearest"),
    "RandomTranslation": lambda api: api.layers.RandomTranslation(0.1, (-0.2, 0.1), fill_mode="wrap"),
    "RandomContrast": lambda api: api.layers.RandomContrast(0.3, value_range=(0, 1), seed=2),
    "RandomBrightness": lambda api: api.layers.RandomBrightness((-0.1, 0.2), value_range=(0, 1)),
    "Resizing": lambda api: api.layers.Resizing(20, 30, interpolation="nearest", crop_to_aspect_ratio=True),
    "CenterCrop": lambda api: api.layers.CenterCrop(5, 6),
    "SpatialDropout1D": lambda api: api.layers.SpatialDropout1D(0.3, seed=1),
    "GaussianDropout": lambda api: api.layers.GaussianDropout(0.25, seed=2),
    "UnitNormalization": lambda api: api.layers.UnitNormalization(axis=[1, 2]),
    "Identity": lambda api: api.layers.Identity(),
    "TimeDistributed": lambda api: api.layers.TimeDistributed(api.layers.Dense(3, activation="relu")),
    "Bidirectional": lambda api: api.layers.Bidirectional(api.layers.LSTM(4), merge_mode="ave"),
    "Dense constrained": lambda api: api.layers.Dense(
        3,
        bias_regularizer=api.regularizers.L1(0.25),  # Keras writes L1's l1 rounded to float32
        kernel_constraint=api.constraints.MaxNorm(2.0),
        bias_constraint=api.constraints.NonNeg(),
    ),
    "Conv2D constrained": lambda api: api.layers.Conv2D(
        4, 3, kernel_constraint=api.constraints.MaxNorm(1.0, axis=[0, 1, 2]), bias_regularizer="l2"
    ),
    "SeparableConv2D constrained": lambda api: api.layers.SeparableConv2D(
        4, 3, depthwise_constraint=api.constraints.UnitNorm(axis=[0, 1]), pointwise_constraint="non_neg"
    ),
    "DepthwiseConv2D constrained": lambda api: api.layers.DepthwiseConv2D(
        3, depthwise_constraint=api.constraints.MinMaxNorm(0.5, 2.0, rate=0.5, axis=[0, 1]), bias_constraint="non_neg"
    ),
    "LSTM constrained": lambda api: api.layers.LSTM(
        4,
        recurrent_regularizer=api.regularizers.L2(0.1),
        bias_regularizer=api.regularizers.L1(0.5),
        kernel_constraint=api.constraints.MaxNorm(3.0),
        recurrent_constraint=api.constraints.UnitNorm(),
        bias_constraint=api.constraints.NonNeg(),
    ),
    "BatchNormalization constrained": lambda api: api.layers.BatchNormalization(
        gamma_constraint=api.constraints.NonNeg(), beta_regularizer=api.regularizers.L2(0.01)
    ),
    "LayerNormalization constrained": lambda api: api.layers.LayerNormalization(
        gamma_regularizer=api.regularizers.L1(0.125), beta_constraint=api.constraints.MaxNorm(1.0)
    ),
    "Embedding constrained": lambda api: api.layers.Embedding(
        10, 4, embeddings_constraint=api.constraints.MaxNorm(1, 1)
    ),
    "PReLU constrained": lambda api: api.layers.PReLU(alpha_constraint=api.constraints.NonNeg()),
    "GroupNormalization": lambda api: api.layers.GroupNormalization(
        groups=4, axis=1, epsilon=1e-4, gamma_constraint=api.constraints.NonNeg(), beta_regularizer="l2"
    ),
    "ActivityRegularization": lambda api: api.layers.ActivityRegularization(l1=0.01, l2=0.001),
}


def lists(value):
    return [lists(v) for v in value] if isinstance(value, (list, tuple)) else value


def comparable(config: dict) -> dict:
    """A config with Keras's nested forms reduced to what both write: a DTypePolicy as its name, a nested
    object as its class and the config entries both have."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and value.get("class_name") == "DTypePolicy":
            value = value["config"]["name"]
        elif isinstance(value, dict) and "class_name" in value:
            inner = {k: v for k, v in value["config"].items() if k not in ("input_axes", "output_axes", "name")}
            value = (value["class_name"], comparable(inner))  # a wrapped layer's too (its name aside)
        out[key] = lists(value)
    return out


def assert_within(ours, theirs, key: str) -> None:
    """Every entry of our (comparable) config is in Keras's with the same value; nested configs alike."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for k, value in ours.items():
            assert k in theirs, f"{key}.{k}"
            assert_within(value, theirs[k], f"{key}.{k}")
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_within(a, b, f"{key}[{i}]")
    else:
        assert ours == theirs, (key, ours, theirs)


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_configs_are_keras_configs(name):
    ours, theirs = LAYERS[name](minidl), LAYERS[name](keras)
    ours_config, theirs_config = comparable(ours.get_config()), comparable(theirs.get_config())
    ours_config.pop("name"), theirs_config.pop("name")
    assert_within(ours_config, theirs_config, name)
    # Keras rebuilds the layer from minidl's config, minidl from Keras's: the same configs again
    rebuilt = type(theirs).from_config(ours.get_config())
    assert comparable(rebuilt.get_config()) | {"name": None} == theirs_config | {"name": None}
    assert comparable(type(ours).from_config(theirs.get_config()).get_config()) | {"name": None} == ours_config | {
        "name": None
    }


def test_a_keras_argument_minidl_lacks_is_a_clear_error():
    config = keras.layers.Conv2D(4, 3, groups=2).get_config()
    with pytest.raises(ValueError, match=r"Conv2D: minidl does not support the argument groups=2"):
        minidl.layers.Conv2D.from_config(config)


ABSTRACT = {"Loss", "FunctionLoss", "Metric", "MeanMetricWrapper", "Optimizer", "Initializer", "Regularizer"}


def shared_classes(kind: str) -> list[str]:
    """minidl's classes of a kind ("losses", ...) that Keras has too and that take no required argument."""
    module = getattr(minidl, kind)
    names = []
    for name in dir(module):
        cls = getattr(module, name)
        shared = keras is not None and hasattr(getattr(keras, kind), name) and name[0].isupper()  # no aliases
        if isinstance(cls, type) and name not in ABSTRACT and shared:
            required = [
                p
                for p in inspect.signature(cls.__init__).parameters.values()
                if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD and p.name != "self"
            ]
            if not required:
                names.append(name)
    return names


KINDS = ("losses", "metrics", "optimizers", "initializers", "regularizers", "constraints")
OBJECTS = {kind: shared_classes(kind) for kind in KINDS}


@pytest.mark.parametrize("kind, name", [(kind, name) for kind, names in OBJECTS.items() for name in names])
def test_object_configs_both_ways(kind, name):
    """Every loss, metric, optimiser, initializer and regularizer: minidl's config has only Keras's keys,
    with Keras's values, and each framework makes the object from the other's config."""
    ours, theirs = getattr(getattr(minidl, kind), name)(), getattr(getattr(keras, kind), name)()
    ours_config, theirs_config = comparable(ours.get_config()), comparable(theirs.get_config())
    keras_arguments = inspect.signature(type(theirs).__init__).parameters
    for key, value in ours_config.items():
        assert key in theirs_config or key in keras_arguments, key  # Keras's Huber takes delta, writes none
        if key in theirs_config and key not in ("learning_rate", "name"):  # Keras: a float32 rate, numbered names
            assert value == pytest.approx(theirs_config[key]), key
    type(theirs).from_config(ours.get_config())
    rebuilt = comparable(type(ours).from_config(theirs.get_config()).get_config())
    rebuilt.pop("name", None), ours_config.pop("name", None)  # Keras numbers its names: rm_sprop_3
    assert rebuilt == pytest.approx(ours_config)


def test_schedules_both_ways():
    for name, args in [
        ("ExponentialDecay", (0.1, 100, 0.9)),
        ("InverseTimeDecay", (0.1, 10, 0.5)),
        ("PolynomialDecay", (0.1, 100)),
        ("CosineDecay", (0.1, 100)),
        ("CosineDecayRestarts", (0.1, 100)),
        ("PiecewiseConstantDecay", ([10, 20], [0.1, 0.01, 0.001])),
    ]:
        ours = getattr(minidl.optimizers.schedules, name)(*args)
        theirs = getattr(keras.optimizers.schedules, name)(*args)
        rebuilt = minidl.optimizers.Adam.from_config(keras.optimizers.Adam(theirs).get_config())
        assert [rebuilt.learning_rate] == [pytest.approx(float(theirs(0)))]
        keras_rebuilt = keras.optimizers.Adam.from_config(minidl.optimizers.Adam(ours).get_config())
        assert float(keras_rebuilt.learning_rate) == pytest.approx(ours(0))
