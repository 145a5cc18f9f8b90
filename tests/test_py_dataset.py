"""fit, evaluate and predict on a PyDataset (keras.utils.PyDataset) or a generator: the same steps as on
arrays cut into the same batches, Keras's order of the dataset's hooks, steps_per_epoch's stream of batches,
clear errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import minidl


def make_batches(base):
    """A PyDataset class of Keras or of minidl (`base`): batches of (x, y), or x alone with `inputs_only`,
    that records the calls of its hooks and of __getitem__ in `log`."""

    class Batches(base):
        def __init__(self, x, y, batch_size, inputs_only=False, endless=False, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size, self.inputs_only, self.endless = x, y, batch_size, inputs_only, endless
            self.log: list = []

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        @property
        def num_batches(self):
            return None if self.endless else len(self)

        def __getitem__(self, index):
            self.log.append(index)
            rows = slice(index % len(self) * self.batch_size, (index % len(self) + 1) * self.batch_size)
            return self.x[rows] if self.inputs_only else (self.x[rows], self.y[rows])

        def on_epoch_begin(self):
            self.log.append("begin")

        def on_epoch_end(self):
            self.log.append("end")

    return Batches


Batches = make_batches(minidl.utils.PyDataset)


def data(samples=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 5)).astype(np.float32)
    return x, np.eye(3, dtype=np.float32)[rng.integers(0, 3, samples)]


def model(api=minidl, seed=0):
    net = api.Sequential([api.Input((5,)), api.layers.Dense(8, activation="relu"), api.layers.Dense(3)])
    net.set_weights([w.astype(np.float32) for w in model_weights(seed)])
    net.compile(
        optimizer=api.optimizers.Adam(0.01),
        loss=api.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return net


def model_weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((5, 8)) * 0.5, np.zeros(8), rng.standard_normal((8, 3)) * 0.5, np.zeros(3)]


def after_first_end(log: list, hook: str = "end") -> list:
    """The log from the first call of `hook` on: the batches read before it (for their shapes: Keras reads
    two, minidl one) differ by design."""
    return log[log.index(hook) :]


def test_training_on_a_py_dataset_is_training_on_its_arrays_in_the_same_batches():
    x, y = data()
    on_arrays, on_dataset = model(), model()
    expected = on_arrays.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(x, y))
    history = on_dataset.fit(
        Batches(x, y, 8), epochs=3, shuffle=False, verbose=0, validation_data=Batches(x, y, 16)
    )  # validation in other batches: the same means (each batch's loss weighs its samples)
    for ours, theirs in zip(on_dataset.get_weights(), on_arrays.get_weights()):
        np.testing.assert_array_equal(ours, theirs)  # the same steps on the same arrays
    assert history.history.keys() == expected.history.keys()
    for key in ("loss", "accuracy"):
        assert history.history[key] == expected.history[key]
    np.testing.assert_allclose(history.history["val_loss"], expected.history["val_loss"], rtol=1e-6)
    assert on_dataset.evaluate(Batches(x, y, 8), verbose=0) == on_arrays.evaluate(x, y, batch_size=8, verbose=0)
    predicted = on_dataset.predict(Batches(x, None, 16, inputs_only=True), verbose=0)
    np.testing.assert_array_equal(predicted, on_arrays.predict(x, batch_size=16, verbose=0))
    np.testing.assert_array_equal(on_dataset.predict(Batches(x, y, 16), verbose=0), predicted)  # y left out


def test_class_weight_weighs_each_batch_of_a_py_dataset_as_the_arrays():
    x, y = data()
    weights = {0: 1.0, 1: 3.0, 2: 0.5}
    on_arrays, on_dataset = model(), model()
    on_arrays.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, class_weight=weights)
    on_dataset.fit(Batches(x, y, 10), epochs=2, shuffle=False, verbose=0, class_weight=weights)
    for ours, theirs in zip(on_dataset.get_weights(), on_arrays.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_the_hooks_and_batches_come_in_keras_order():
    keras = pytest.importorskip("keras")
    x, y = data(32)
    logs = {}
    for name, api, base in (("minidl", minidl, minidl.utils.PyDataset), ("keras", keras, keras.utils.PyDataset)):
        kind = make_batches(base)
        net = model(api)
        train, valid = kind(x, y, 8), kind(x[:16], y[:16], 8)
        net.fit(train, epochs=2, shuffle=False, verbose=0, validation_data=valid)
        evaluated, predicted = kind(x, y, 8), kind(x, None, 8, inputs_only=True)
        net.evaluate(evaluated, verbose=0)
        net.predict(predicted, verbose=0)
        logs[name] = [after_first_end(d.log) for d in (train, valid, evaluated)] + [
            after_first_end(predicted.log, "begin")
        ]
    assert logs["minidl"] == logs["keras"]
    epoch = ["begin", 0, 1, 2, 3, "end"]
    assert logs["minidl"][0] == ["end", *epoch, *epoch]  # as Keras: on_epoch_end once before the first epoch
    assert logs["minidl"][3] == epoch  # predict: no reset


def test_steps_per_epoch_takes_the_next_batches_of_a_pass_that_goes_on_across_epochs():
    x, y = data(32)
    batches = Batches(x, y, 8)  # 4 batches
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model().fit(batches, epochs=3, steps_per_epoch=3, shuffle=False, verbose=0)
    read = [entry for entry in after_first_end(batches.log) if entry not in ("begin", "end")]
    assert read == [0, 1, 2, 3, 0, 1, 2]  # the second epoch ran out after one batch; the third starts anew
    assert len(history.history["loss"]) == 3


def test_an_endless_py_dataset_needs_steps_and_runs_that_many():
    x, y = data(32)
    with pytest.raises(ValueError, match=r"fit: the data is endless .* steps_per_epoch"):
        model().fit(Batches(x, y, 8, endless=True), epochs=1, verbose=0)
    batches = Batches(x, y, 8, endless=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an endless pass never runs out
        model().fit(batches, epochs=2, steps_per_epoch=6, verbose=0)
    assert [entry for entry in after_first_end(batches.log) if entry not in ("begin", "end")] == list(range(12))
    assert model().evaluate(Batches(x, y, 8, endless=True), steps=5, verbose=0, return_dict=True)["loss"] > 0


def test_shuffle_reorders_the_batches_by_the_seed_and_the_epoch():
    x, y = data(48)
    orders = []
    for _ in range(2):
        net, batches = model(), Batches(x, y, 8)
        net.shuffle_seed = 7
        net.fit(batches, epochs=3, verbose=0)  # shuffle=True, as Keras's default
        read = [entry for entry in after_first_end(batches.log) if entry != "begin"]
        epochs = [read[i + 1 : i + 7] for i in range(0, 21, 7)]
        assert all(sorted(epoch) == list(range(6)) for epoch in epochs)
        orders.append(epochs)
    assert orders[0] == orders[1]  # same seed, same orders
    assert len({tuple(epoch) for epoch in orders[0]}) > 1  # and a new one each epoch


def test_evaluate_and_predict_take_steps_on_arrays_too():
    x, y = data(40)
    net = model()
    assert net.predict(x, batch_size=8, steps=2, verbose=0).shape == (16, 3)
    assert net.evaluate(x, y, batch_size=8, steps=2, verbose=0) == net.evaluate(x[:16], y[:16], verbose=0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda net, d: net.fit(d, d.y, verbose=0), r"When providing `x` as a PyDataset, `y` should not be passed"),
        (
            lambda net, d: net.fit(d, sample_weight=np.ones(40), verbose=0),
            r"`sample_weight` should not be passed. Instead, the sample weights should be included",
        ),
        (
            lambda net, d: net.fit(d, validation_split=0.2, verbose=0),
            r"fit: validation_split is only supported for arrays, not for a PyDataset",
        ),
        (
            lambda net, d: net.fit(d, steps_per_epoch=0, verbose=0),
            r"fit: the number of steps must be a positive integer or None, got 0",
        ),
    ],
)
def test_arguments_a_py_dataset_does_not_take_give_keras_errors(call, message):
    x, y = data()
    net = model()
    before = [w.copy() for w in net.get_weights()]
    with pytest.raises(ValueError, match=message):
        call(net, Batches(x, y, 8))
    for w, w_before in zip(net.get_weights(), before):
        np.testing.assert_array_equal(w, w_before)


def test_a_bad_batch_is_named():
    x, y = data()

    class Broken(Batches):
        def __getitem__(self, index):
            x_batch, y_batch = super().__getitem__(index)
            return (x_batch, y_batch[:, :2]) if index == 2 else (x_batch, y_batch)

    with pytest.raises(ValueError, match=r"fit \(batch 2 of the Broken\)"):
        model().fit(Broken(x, y, 8), epochs=1, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=r"a batch must be a tuple \(inputs,\), \(inputs, targets\) or"):
        model().fit(Dicts(), verbose=0)
    with pytest.raises(ValueError, match=r"batch 0 of the Batches\): the batch holds inputs only"):
        model().fit(Batches(x, y, 8, inputs_only=True), verbose=0)


class Dicts(minidl.utils.PyDataset):
    def __len__(self):
        return 1

    def __getitem__(self, index):
        return {"x": np.zeros((2, 5))}, np.zeros((2, 3)), np.ones(2), np.ones(2)


def test_sequence_is_keras_s_other_name_for_py_dataset():
    assert minidl.utils.Sequence is minidl.utils.PyDataset


def test_without_a_batch_size_steps_decide_it_on_arrays_as_keras():
    keras = pytest.importorskip("keras")
    x, y = data(40)
    results = {}
    for name, api in (("minidl", minidl), ("keras", keras)):
        net = model(api)
        history = net.fit(x, y, epochs=2, steps_per_epoch=3, shuffle=False, verbose=0)  # batches of ceil(40 / 3)
        results[name] = [history.history["loss"], [w.copy() for w in net.get_weights()]]
    np.testing.assert_allclose(results["minidl"][0], results["keras"][0], rtol=1e-5)
    for ours, theirs in zip(results["minidl"][1], results["keras"][1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def generate(x, y, batch_size, passes=None, inputs_only=False):
    """A generator of batches, `passes` times over the arrays (for ever if None)."""
    done = 0
    while passes is None or done < passes:
        for start in range(0, len(x), batch_size):
            rows = slice(start, start + batch_size)
            yield (x[rows],) if inputs_only else (x[rows], y[rows])
        done += 1


def test_a_generator_is_one_stream_that_epochs_take_steps_of():
    x, y = data(40)
    on_arrays, on_generator = model(), model()
    # 5 batches of 8 a pass; epochs of 3 steps take batches 0-2, 3-4 and 0 (the next pass), 1-3
    stream = [(x[s : s + 8], y[s : s + 8]) for s in (0, 8, 16, 24, 32, 0, 8, 16, 24)]
    for xb, yb in stream:
        on_arrays.train_on_batch(xb, yb)
    history = on_generator.fit(generate(x, y, 8), steps_per_epoch=3, epochs=3, verbose=0)
    for ours, theirs in zip(on_generator.get_weights(), on_arrays.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert len(history.history["loss"]) == 3
    predicted = on_generator.predict(generate(x, None, 16, passes=1, inputs_only=True), verbose=0)
    np.testing.assert_array_equal(predicted, on_generator.predict(x, batch_size=16, verbose=0))
    assert on_generator.predict(generate(x, None, 16, inputs_only=True), steps=2, verbose=0).shape == (32, 3)
    evaluated = on_generator.evaluate(generate(x, y, 8), steps=5, verbose=0)
    assert evaluated == on_generator.evaluate(x, y, batch_size=8, verbose=0)


def test_fit_stops_when_a_generator_has_run_out():
    x, y = data(40)
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model().fit(generate(x, y, 8, passes=1), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1  # the one pass, then nothing left to train on
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model().fit(generate(x, y, 8, passes=1), steps_per_epoch=3, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 2  # 3 batches, then the last 2 (warned), then none
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model().fit(generate(x, y, 8, passes=1), epochs=1, verbose=0)  # one epoch through it: all is well
    with pytest.raises(ValueError, match=r"fit: When providing `x` as a generator, `y` should not be passed"):
        model().fit(generate(x, y, 8), y, verbose=0)
    with pytest.raises(ValueError, match=r"fit: the generator must yield at least one batch"):
        model().fit(generate(x, y, 8, passes=0), verbose=0)
