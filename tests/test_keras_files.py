"""Keras's own files both ways: a model saved by Keras 3 (`.keras`, `.weights.h5`) predicts and trains on
in minidl as in Keras, a model saved by minidl opens in Keras 3 and does the same there; minidl's own
extras resume a fit bit for bit; bad files are clear errors that change nothing."""

from __future__ import annotations

import importlib.util
import json
import zipfile

import numpy as np
import pytest
from test_functional import dots, merges, nested, residual, siamese, two_in_two_out, two_input_data, two_out_targets
from test_recurrent import bidirectional_model, encoder_decoder, sequence_model

import minidl

keras = pytest.importorskip("keras") if importlib.util.find_spec("tensorflow") else None
needs_keras = pytest.mark.skipif(keras is None, reason="needs TensorFlow")


def cnn(api, dropout=True):
    """The seed CNN's layers: Conv2D, BatchNormalization, pooling, Dropout, Dense."""
    return api.Sequential(
        [
            api.Input((8, 8, 1)),
            api.layers.Conv2D(4, 3, activation="relu"),
            api.layers.BatchNormalization(),
            api.layers.MaxPooling2D(),
            *([api.layers.Dropout(0.3)] if dropout else []),
            api.layers.Flatten(),
            api.layers.Dense(3, activation="softmax", kernel_regularizer=api.regularizers.L2(0.01)),
        ]
    )


def shared_layers(api):
    """Every other layer both frameworks have, in one Sequential of images and one of sequences."""
    images = api.Sequential(
        [
            api.Input((8, 8, 2)),
            api.layers.Rescaling(0.5, offset=0.1),
            api.layers.ZeroPadding2D(1),
            api.layers.Conv2D(3, 3, strides=2, padding="same", dilation_rate=1),
            api.layers.LeakyReLU(0.2),
            api.layers.UpSampling2D(2),
            api.layers.Cropping2D(1),
            api.layers.AveragePooling2D(2),
            api.layers.SpatialDropout2D(0.1),
            api.layers.LayerNormalization(),
            api.layers.GroupNormalization(groups=3, epsilon=1e-4),
            api.layers.PReLU(shared_axes=[1, 2]),
            api.layers.Conv2D(4, 1, dilation_rate=1, activation="tanh"),
            api.layers.GlobalAveragePooling2D(),
            api.layers.GaussianNoise(0.1),
            api.layers.Dense(6),
            api.layers.ELU(0.5),
            api.layers.Reshape((2, 3)),
            api.layers.Permute((2, 1)),
            api.layers.ZeroPadding1D(1),
            api.layers.UpSampling1D(2),
            api.layers.Cropping1D((1, 1)),
            api.layers.Conv1D(4, 2, activation="relu"),
            api.layers.MaxPooling1D(2, padding="same"),
            api.layers.AveragePooling1D(1),
            api.layers.GlobalMaxPooling1D(),
            api.layers.RepeatVector(2),
            api.layers.Flatten(),
            api.layers.ReLU(max_value=6.0),
            api.layers.Activation("swish"),
            api.layers.Dense(3),
            api.layers.Softmax(),
        ]
    )
    return images


def separable_autoencoder(api):
    """The convolutions beyond Conv2D: depthwise, separable and transposed, with regularizers."""
    return api.Sequential(
        [
            api.Input((8, 8, 2)),
            api.layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2, activation="relu"),
            api.layers.DepthwiseConv2D(3, strides=2, padding="same", depthwise_regularizer=api.regularizers.L2(0.01)),
            api.layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1, activation="relu"),
            api.layers.Conv2DTranspose(2, 2, kernel_regularizer=api.regularizers.L2(0.01)),
            api.layers.GlobalAveragePooling2D(),
            api.layers.Dense(3, activation="softmax"),
        ]
    )


def time_distributed(api):
    """TimeDistributed around a Dense and a BatchNormalization (whose moving statistics are state)."""
    return api.Sequential(
        [
            api.Input((5, 4)),
            api.layers.TimeDistributed(api.layers.Dense(6, activation="relu")),
            api.layers.TimeDistributed(api.layers.BatchNormalization()),
            api.layers.GlobalAveragePooling1D(),
            api.layers.Dense(3, activation="softmax"),
        ]
    )


def augmented_cnn(api):
    """keras.io's data augmentation block (a Sequential of random image layers) ahead of a small convnet."""
    augmentation = api.Sequential(
        [
            api.layers.RandomFlip("horizontal", seed=1),
            api.layers.RandomRotation(0.1, seed=2),
            api.layers.RandomZoom(0.1, seed=3),
            api.layers.RandomTranslation(0.1, 0.1, seed=4),
            api.layers.RandomContrast(0.2, value_range=(0, 1), seed=5),
            api.layers.RandomBrightness(0.1, value_range=(0, 1), seed=6),
        ],
        name="augmentation",
    )
    inputs = api.Input((10, 12, 2))
    resized = api.layers.Resizing(9, 9, crop_to_aspect_ratio=True)(api.layers.CenterCrop(9, 11)(inputs))
    x = api.layers.Conv2D(4, 3, activation="relu")(augmentation(resized))
    outputs = api.layers.Dense(3, activation="softmax")(api.layers.GlobalAveragePooling2D()(x))
    return api.Model(inputs, outputs)


MODELS = {
    "cnn": (cnn, lambda rng: rng.random((16, 8, 8, 1)), lambda rng: np.eye(3)[np.arange(16) % 3]),
    "shared layers": (shared_layers, lambda rng: rng.random((16, 8, 8, 2)), lambda rng: np.eye(3)[np.arange(16) % 3]),
    "separable autoencoder": (
        separable_autoencoder,
        lambda rng: rng.random((16, 8, 8, 2)),
        lambda rng: np.eye(3)[np.arange(16) % 3],
    ),
    "time distributed": (
        time_distributed,
        lambda rng: rng.random((16, 5, 4)),
        lambda rng: np.eye(3)[np.arange(16) % 3],
    ),
    "augmented cnn": (augmented_cnn, lambda rng: rng.random((16, 10, 12, 2)), lambda rng: np.eye(3)[np.arange(16) % 3]),
    "residual": (residual, lambda rng: rng.random((16, 8, 8, 3)), lambda rng: np.eye(3)[np.arange(16) % 3]),
    "nested": (nested, lambda rng: rng.random((16, 6, 6, 2)), lambda rng: np.eye(2)[np.arange(16) % 2]),
    "two in, two out": (two_in_two_out, lambda rng: two_input_data(16), lambda rng: two_out_targets(16)),
    "merges": (merges, lambda rng: rng.random((16, 4)), lambda rng: rng.random((16, 16))),
    "dots": (dots, lambda rng: rng.random((16, 6)), lambda rng: rng.random((16, 15))),
    **{
        kind: (
            lambda api, kind=kind: sequence_model(api, kind, return_sequences=True),
            lambda rng: rng.standard_normal((16, 7, 3)),
            lambda rng: np.eye(2)[np.arange(16) % 2],
        )
        for kind in ("lstm", "gru", "simple_rnn")
    },
    "bidirectional": (
        lambda api: bidirectional_model(api, "concat"),
        lambda rng: rng.standard_normal((16, 6, 3)),
        lambda rng: np.eye(2)[np.arange(16) % 2],
    ),
    "recurrent dropout": (
        lambda api: api.Sequential(
            [
                api.Input((6, 3)),
                api.layers.Bidirectional(api.layers.LSTM(4, dropout=0.2, recurrent_dropout=0.3, return_sequences=True)),
                api.layers.GRU(3, dropout=0.1, recurrent_dropout=0.1, seed=4),
                api.layers.Dense(2, activation="softmax"),
            ]
        ),
        lambda rng: rng.standard_normal((16, 6, 3)),
        lambda rng: np.eye(2)[np.arange(16) % 2],
    ),
    "encoder-decoder states": (
        lambda api: encoder_decoder(api, "lstm"),
        lambda rng: [rng.standard_normal((16, 5, 3)), rng.standard_normal((16, 4, 2))],
        lambda rng: np.eye(3)[np.arange(64).reshape(16, 4) % 3],
    ),
    "siamese": (siamese, lambda rng: [rng.random((16, 5)), rng.random((16, 5))], lambda rng: np.arange(16.0) % 2),
}


def data_for(name):
    rng = np.random.default_rng(0)
    _, make_x, make_y = MODELS[name]
    x = make_x(rng)
    x = [a.astype(np.float32) for a in x] if isinstance(x, list) else x.astype(np.float32)
    return x, make_y(rng)


def trained(api, name):
    """A model of `name` built and fitted two epochs in `api` (BatchNormalization's statistics moved)."""
    build = MODELS[name][0]
    api.utils.set_random_seed(1)
    model = build(api)
    losses = {"two in, two out": ["categorical_crossentropy", "binary_crossentropy"], "siamese": "binary_crossentropy"}
    loss = losses.get(name, "mse" if name in ("merges", "dots") else "categorical_crossentropy")
    metrics = ["accuracy"] if loss == "categorical_crossentropy" else None
    model.compile(api.optimizers.Adam(0.01), loss=loss, metrics=metrics)
    x, y = data_for(name)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model


def assert_same_outputs(a, b, rtol=1e-5, atol=1e-5):
    for one, other in zip(*((p if isinstance(p, list) else [p]) for p in (a, b))):
        np.testing.assert_allclose(np.asarray(one), np.asarray(other), rtol=rtol, atol=atol)


def load_in(api, path):
    return minidl.models.load_model(path) if api is minidl else keras.saving.load_model(path)


@needs_keras
@pytest.mark.parametrize("direction", ["keras to minidl", "minidl to keras"])
@pytest.mark.parametrize("name", list(MODELS))
def test_a_file_predicts_in_the_other_framework_as_in_its_own(name, direction, tmp_path):
    """Saved after two epochs of Adam (BatchNormalization's statistics moved), loaded in the other
    framework: the same layers, the same weights exactly, the same predictions and optimiser step."""
    source, target = (keras, minidl) if direction == "keras to minidl" else (minidl, keras)
    saved = trained(source, name)
    saved.save(tmp_path / "model.keras")
    loaded = load_in(target, tmp_path / "model.keras")
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in saved.layers]
    for mine, their in zip(loaded.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(mine, their)
    x, _ = data_for(name)
    assert_same_outputs(loaded.predict(x, verbose=0), saved.predict(x, verbose=0))
    assert type(loaded.optimizer).__name__ == "Adam" and int(np.asarray(loaded.optimizer.iterations)) == 4


OPTIMIZERS = {
    "SGD": lambda api: api.optimizers.SGD(0.05, momentum=0.9),
    "SGD nesterov": lambda api: api.optimizers.SGD(0.05, momentum=0.5, nesterov=True),
    "RMSprop": lambda api: api.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "Adagrad": lambda api: api.optimizers.Adagrad(0.05),
    "Adadelta": lambda api: api.optimizers.Adadelta(1.0),
    "Adam amsgrad": lambda api: api.optimizers.Adam(0.01, amsgrad=True),
    "AdamW": lambda api: api.optimizers.AdamW(0.01),
    "Adamax": lambda api: api.optimizers.Adamax(0.01),
    "Nadam": lambda api: api.optimizers.Nadam(0.01),
    "Adam schedule": lambda api: api.optimizers.Adam(api.optimizers.schedules.ExponentialDecay(0.01, 2, 0.5)),
}


@needs_keras
@pytest.mark.parametrize("direction", ["keras to minidl", "minidl to keras"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_training_goes_on_in_the_other_framework_with_the_same_next_step(optimizer, direction, tmp_path):
    """Saved with its optimiser after three steps in one framework, loaded in the other: the next step
    leaves the same weights in both (float32, so within 1e-5)."""
    source, target = (keras, minidl) if direction == "keras to minidl" else (minidl, keras)
    source.utils.set_random_seed(2)
    model = cnn(source, dropout=False)
    model.compile(OPTIMIZERS[optimizer](source), "categorical_crossentropy", metrics=["accuracy"])
    x, y = data_for("cnn")
    for _ in range(3):
        model.train_on_batch(x, y)
    model.save(tmp_path / "model.keras")
    loaded = load_in(target, tmp_path / "model.keras")
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


@needs_keras
def test_weights_h5_files_both_ways(tmp_path):
    theirs, ours = trained(keras, "residual"), trained(minidl, "residual")
    theirs.save_weights(tmp_path / "keras.weights.h5")
    ours.load_weights(tmp_path / "keras.weights.h5")
    for mine, their in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(mine, their)
    x, _ = data_for("residual")
    assert_same_outputs(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    again = trained(minidl, "residual")  # other weights than `ours` after its load? no: the same training
    again.set_weights([w * 0.5 for w in again.get_weights()])
    again.save_weights(tmp_path / "minidl.weights.h5")
    theirs.load_weights(tmp_path / "minidl.weights.h5")
    for mine, their in zip(again.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(mine, their)


def test_a_fit_resumed_from_a_keras_file_is_bit_for_bit_the_uninterrupted_one(tmp_path):
    """Dropout's random stream, the shuffling, the optimiser's and BatchNormalization's state all come
    back from the .keras file: epochs 3-4 after a reload equal epochs 3-4 of one run."""
    x, y = data_for("cnn")

    def fresh():
        minidl.set_seed(3)
        model = cnn(minidl)
        model.compile(minidl.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
        return model

    whole = fresh()
    history = whole.fit(x, y, batch_size=4, epochs=4, verbose=0).history
    first = fresh()
    first.fit(x, y, batch_size=4, epochs=2, verbose=0)
    first.save(tmp_path / "half.keras")
    resumed = minidl.models.load_model(tmp_path / "half.keras")
    second = resumed.fit(x, y, batch_size=4, epochs=4, initial_epoch=2, verbose=0).history
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert second["loss"] == history["loss"][2:] and second["accuracy"] == history["accuracy"][2:]


def test_model_checkpoint_writes_keras_files_by_name(tmp_path):
    x, y = data_for("cnn")
    model = cnn(minidl)
    model.compile("adam", "categorical_crossentropy")
    checkpoints = [
        minidl.callbacks.ModelCheckpoint(str(tmp_path / "model-{epoch}.keras")),
        minidl.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True),
    ]
    model.fit(x, y, epochs=2, verbose=0, callbacks=checkpoints)
    reloaded = minidl.models.load_model(tmp_path / "model-2.keras")
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    copy = cnn(minidl)
    copy.load_weights(tmp_path / "w-2.weights.h5")
    np.testing.assert_array_equal(copy.predict(x, verbose=0), model.predict(x, verbose=0))


@needs_keras
def test_json_configs_both_ways():
    ours, theirs = residual(minidl), residual(keras)
    rebuilt = minidl.models.model_from_json(theirs.to_json())
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in theirs.layers]
    assert keras.models.model_from_json(ours.to_json()).count_params() == ours.count_params()
    assert minidl.models.model_from_json(ours.to_json()).to_json() == ours.to_json()


# ------------------------------------------------------------------------------------------ bad files
def saved(tmp_path) -> tuple:
    model = cnn(minidl, dropout=False)
    model.compile("adam", "categorical_crossentropy")
    path = tmp_path / "good.keras"
    model.save(path)
    return model, path


def rewritten(path, target, change) -> None:
    """A copy of the archive `path` at `target` with `change(entries)` applied to its entries dict."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    change(entries)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def with_config(edit):
    def change(entries):
        config = json.loads(entries["config.json"])
        edit(config)
        entries["config.json"] = json.dumps(config)

    return change


def set_class(config, index, class_name, registered_name=None):
    config["config"]["layers"][index]["class_name"] = class_name
    if registered_name:
        config["config"]["layers"][index]["registered_name"] = registered_name


def with_weights(edit):
    def change(entries):
        import io

        import h5py

        buffer = io.BytesIO(entries["model.weights.h5"])
        with h5py.File(buffer, "a") as h5:
            edit(h5)
        entries["model.weights.h5"] = buffer.getvalue()

    return change


BAD_ARCHIVES = {
    "truncated": (lambda path, bad: bad.write_bytes(path.read_bytes()[:300]), r"not a readable \.keras archive"),
    "not a zip": (lambda path, bad: bad.write_text("hello"), r"not a readable \.keras archive"),
    "an entry with ..": (
        lambda path, bad: rewritten(path, bad, lambda e: e.update({"../evil.txt": b"x"})),
        r"unsafe entry '\.\./evil\.txt'",
    ),
    "an absolute entry": (
        lambda path, bad: rewritten(path, bad, lambda e: e.update({"/etc/evil": b"x"})),
        r"unsafe entry '/etc/evil'",
    ),
    "no config": (lambda path, bad: rewritten(path, bad, lambda e: e.pop("config.json")), r"has no \['config\.json'\]"),
    "config not JSON": (
        lambda path, bad: rewritten(path, bad, lambda e: e.update({"config.json": b"{oops"})),
        r"config\.json is not valid JSON",
    ),
    "a class minidl lacks": (
        lambda path, bad: rewritten(path, bad, with_config(lambda c: set_class(c, 1, "Conv3D"))),
        r"minidl has no layer class 'Conv3D'; it has \[.*'Conv2D'",
    ),
    "a custom registered class": (
        lambda path, bad: rewritten(path, bad, with_config(lambda c: set_class(c, 1, "MyConv", "mine>MyConv"))),
        r"'MyConv' .* not one of minidl's classes nor a custom object registered in code",
    ),
    "a lambda": (
        lambda path, bad: rewritten(path, bad, with_config(lambda c: set_class(c, 1, "__lambda__"))),
        r"'__lambda__' .* a lambda, is never loaded",
    ),
    "a key from a newer Keras": (
        lambda path, bad: rewritten(
            path, bad, with_config(lambda c: c["config"]["layers"][1]["config"].update({"flash_mode": "turbo"}))
        ),
        r"Conv2D: minidl does not support the argument flash_mode='turbo'",
    ),
    "a missing weight": (
        lambda path, bad: rewritten(path, bad, with_weights(lambda h5: h5.__delitem__("layers/conv2d/vars/1"))),
        r"layer 'conv2d.*' \(layers/conv2d\) has 1 weights in the file, the model's has 2",
    ),
    "a mis-shaped weight": (
        lambda path, bad: rewritten(
            path,
            bad,
            with_weights(
                lambda h5: (
                    h5.__delitem__("layers/dense/vars/0"),
                    h5.create_dataset("layers/dense/vars/0", data=np.zeros((2, 2))),
                )
            ),
        ),
        r"weight 'kernel' \(layers/dense/vars/0\) has shape \(2, 2\) in the file, the model's has \(36, 3\)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_a_bad_keras_file_is_a_clear_error(case, tmp_path):
    make, message = BAD_ARCHIVES[case]
    _, path = saved(tmp_path)
    bad = tmp_path / "bad.keras"
    make(path, bad)
    with pytest.raises(ValueError, match=message) as error:
        minidl.models.load_model(bad)
    assert "bad.keras" in str(error.value)  # the message names the file


def test_a_bad_weights_file_leaves_the_model_as_it_was(tmp_path):
    model, _ = saved(tmp_path)
    model.save_weights(tmp_path / "good.weights.h5")
    import h5py

    with h5py.File(tmp_path / "good.weights.h5", "a") as h5:
        del h5["layers/dense/vars/1"]
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"good\.weights\.h5.*layer 'dense.*' \(layers/dense\) has 1 weights"):
        model.load_weights(tmp_path / "good.weights.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loading_never_runs_code(tmp_path):
    _, path = saved(tmp_path)
    with pytest.raises(ValueError, match="safe_mode=False is not supported"):
        minidl.models.load_model(path, safe_mode=False)
    assert minidl.models.load_model(path, custom_objects={"f": print}) is not None  # names only the user's code
    with pytest.raises(ValueError, match=r"does not end in \.keras"):
        cnn(minidl).save(tmp_path / "model.h5")


@needs_keras
@pytest.mark.parametrize("direction", ["keras to minidl", "minidl to keras"])
def test_compile_objects_travel_with_the_file(direction, tmp_path):
    """A loss object with its arguments, metric objects, per-output losses and loss_weights: the loaded
    model evaluates to the same numbers in the other framework."""
    source, target = (keras, minidl) if direction == "keras to minidl" else (minidl, keras)
    source.utils.set_random_seed(4)
    model = two_in_two_out(source)
    model.compile(
        source.optimizers.RMSprop(0.01),
        loss={"main": source.losses.CategoricalCrossentropy(label_smoothing=0.1), "aux": "binary_crossentropy"},
        loss_weights={"main": 1.0, "aux": 0.5},
        metrics={"main": ["accuracy", source.metrics.TopKCategoricalAccuracy(k=2, name="top2")], "aux": ["mae"]},
    )
    x, y = two_input_data(16), two_out_targets(16)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = load_in(target, tmp_path / "model.keras")
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    got = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_weights_h5_into_a_model_with_another_optimizer_loads_the_weights_and_warns(tmp_path):
    x, y = data_for("cnn")
    model = cnn(minidl, dropout=False)
    model.compile(minidl.optimizers.Adam(0.01), "categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "adam.weights.h5")
    other = cnn(minidl, dropout=False)
    other.compile(minidl.optimizers.SGD(0.1, momentum=0.9), "categorical_crossentropy")
    with pytest.warns(UserWarning, match=r"the optimizer has 14 variables; SGD of this model has .* not restored"):
        other.load_weights(tmp_path / "adam.weights.h5")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
