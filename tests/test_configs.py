"""Configs as Keras writes them: every layer's get_config has Keras's keys and values for what both
frameworks share, Keras rebuilds the layer from minidl's config, and minidl from Keras's."""

from __future__ import annotations

import importlib.util

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
            value = (
                value["class_name"],
                {k: v for k, v in value["config"].items() if k not in ("input_axes", "output_axes")},
            )
        out[key] = lists(value)
    return out


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_configs_are_keras_configs(name):
    ours, theirs = LAYERS[name](minidl), LAYERS[name](keras)
    ours_config, theirs_config = comparable(ours.get_config()), comparable(theirs.get_config())
    ours_config.pop("name"), theirs_config.pop("name")
    for key, value in ours_config.items():
        assert key in theirs_config, key
        assert value == theirs_config[key], (key, value, theirs_config[key])
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
