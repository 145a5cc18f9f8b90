"""Custom objects in files, as Keras's: a model compiled with the user's own loss function, or holding the
user's own layer class, saves; it loads back only where that code is known (registered with
register_keras_serializable, or given as custom_objects / in a custom_object_scope), both ways with Keras;
a lambda never goes into a file."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import numpy as np
import pytest

import minidl

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")

X = np.random.default_rng(0).standard_normal((6, 3)).astype("float32")
Y = np.random.default_rng(1).standard_normal((6, 2)).astype("float32")


def halved_squared_error(y_true, y_pred):
    return 0.5 * np.mean(np.square(np.asarray(y_pred) - np.asarray(y_true)), axis=-1)


@minidl.saving.register_keras_serializable(package="tests")
def registered_absolute_error(y_true, y_pred):
    return np.mean(np.abs(np.asarray(y_pred) - np.asarray(y_true)), axis=-1)


@minidl.saving.register_keras_serializable(package="tests")
class Scale(minidl.layers.Layer):
    """y = factor x; dL/dx = factor dL/dy."""

    def __init__(self, factor: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def forward(self, x, training=False):
        return x * self.factor

    def backward(self, grad_output):
        return grad_output * self.factor


class Unregistered(Scale):
    pass


def compiled(loss, metrics=(), layer=None):
    layers = [minidl.Input((3,)), minidl.layers.Dense(2, name="dense")] + ([layer] if layer else [])
    model = minidl.Sequential(layers)
    model.compile("sgd", loss=loss, metrics=list(metrics))
    return model


def config_of(path) -> dict:
    return json.loads(zipfile.ZipFile(path).read("config.json"))


def test_a_loss_function_saves_and_loads_only_where_its_code_is_known(tmp_path):
    path = tmp_path / "m.keras"
    model = compiled(halved_squared_error, metrics=[halved_squared_error])
    model.save(path)
    assert config_of(path)["compile_config"]["loss"] == {
        "module": "builtins",
        "class_name": "function",
        "config": "halved_squared_error",
        "registered_name": "function",
    }
    with pytest.raises(ValueError, match="Could not locate function 'halved_squared_error'.*custom_objects"):
        minidl.models.load_model(path)
    expected = model.evaluate(X, Y, verbose=0)
    loaded = minidl.models.load_model(path, custom_objects={"halved_squared_error": halved_squared_error})
    assert loaded.loss.function is halved_squared_error
    np.testing.assert_allclose(loaded.evaluate(X, Y, verbose=0), expected, rtol=1e-6)
    with minidl.saving.custom_object_scope({"halved_squared_error": halved_squared_error}):
        assert minidl.models.load_model(path).loss.function is halved_squared_error
    assert minidl.models.load_model(path, compile=False).loss is None


def test_registered_objects_are_found_by_their_registered_names(tmp_path):
    path = tmp_path / "m.keras"
    compiled(registered_absolute_error, layer=Scale(3.0, name="scale")).save(path)
    config = config_of(path)
    assert config["compile_config"]["loss"]["registered_name"] == "tests>registered_absolute_error"
    scale = config["config"]["layers"][-1]
    assert (scale["class_name"], scale["registered_name"], scale["config"]["factor"]) == ("Scale", "tests>Scale", 3.0)
    loaded = minidl.models.load_model(path)
    assert isinstance(loaded.layers[-1], Scale) and loaded.layers[-1].factor == 3.0
    assert loaded.loss.function is registered_absolute_error
    assert minidl.saving.get_registered_name(Scale) == "tests>Scale"
    assert minidl.saving.get_registered_object("tests>Scale") is Scale
    assert minidl.utils.get_custom_objects()["tests>registered_absolute_error"] is registered_absolute_error


def test_an_unregistered_class_needs_custom_objects(tmp_path):
    path = tmp_path / "m.keras"
    model = compiled("mse", layer=Unregistered(name="mine"))
    model.save(path)
    with pytest.raises(ValueError, match="'Unregistered'.*register_keras_serializable.*custom_objects"):
        minidl.models.load_model(path)
    loaded = minidl.models.load_model(path, custom_objects={"Unregistered": Unregistered})
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    rebuilt = minidl.models.model_from_json(model.to_json(), custom_objects={"Unregistered": Unregistered})
    assert isinstance(rebuilt.layers[-1], Unregistered)


def test_what_cannot_be_registered_or_written():
    with pytest.raises(ValueError, match="get_config"):
        minidl.saving.register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(TypeError, match="lambda"):
        compiled(lambda y_true, y_pred: np.abs(y_true - y_pred).mean(-1)).save("unused.keras")


@needs_keras
def test_custom_loss_files_both_ways_with_keras(tmp_path):
    """Keras's file with a custom loss loads in minidl given the function, and minidl's in Keras given
    Keras's version of it (a file holds the function's name only)."""

    def keras_version(y_true, y_pred):
        return 0.5 * keras.ops.mean(keras.ops.square(y_pred - y_true), axis=-1)

    keras_version.__name__ = "halved_squared_error"
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    theirs.compile("sgd", loss=keras_version)
    theirs.save(tmp_path / "keras.keras")
    ours = minidl.models.load_model(
        tmp_path / "keras.keras", custom_objects={"halved_squared_error": halved_squared_error}
    )
    np.testing.assert_allclose(ours.evaluate(X, Y, verbose=0), theirs.evaluate(X, Y, verbose=0), rtol=1e-5)

    compiled(halved_squared_error).save(tmp_path / "minidl.keras")
    again = keras.models.load_model(tmp_path / "minidl.keras", custom_objects={"halved_squared_error": keras_version})
    assert again.loss is keras_version
