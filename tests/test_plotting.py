"""minidl.plotting and the GradientStats callback: each figure has the axes, titles and images it should,
PNG files are written, and the gradient statistics equal norms computed by hand."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

import minidl
from minidl import layers, plotting

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def trained():
    minidl.set_seed(0)
    model = minidl.Sequential(
        [
            minidl.Input((8, 8, 1)),
            layers.Conv2D(6, 3, activation="relu", name="conv"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.random((30, 8, 8, 1)).astype(np.float32), np.eye(3)[np.arange(30) % 3]
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.2)
    return model, history, x, y


def test_plot_history(trained, tmp_path):
    _, history, _, _ = trained
    fig = plotting.plot_history(history, tmp_path / "history.png")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["loss", "accuracy"]
    assert visible[0].get_ylabel() == "loss (categorical_crossentropy)"  # the loss axis names its loss
    assert [line.get_label() for line in visible[1].get_lines()] == ["train", "validation"]
    assert len(visible[0].get_lines()[0].get_xdata()) == 3
    assert (tmp_path / "history.png").stat().st_size > 1000


def test_plot_confusion_matrix(trained, tmp_path):
    model, _, x, y = trained
    predicted = model.predict(x, verbose=0)
    counts = plotting.confusion_matrix(y, predicted)
    assert counts.sum() == 30 and counts.trace() == int((predicted.argmax(1) == y.argmax(1)).sum())
    fig = plotting.plot_confusion_matrix(y, predicted, labels=["A", "B", "C"], path=tmp_path / "cm.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B", "C"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(counts.ravel().tolist())
    assert (tmp_path / "cm.png").exists()


def test_plot_images_marks_the_mistakes(tmp_path):
    x = np.random.default_rng(1).random((10, 784))
    y_true, y_pred = np.arange(10) % 3, np.array([0, 1, 2, 0, 2, 2, 0, 1, 1, 0])
    fig = plotting.plot_images(x, y_true, y_pred, labels=["A", "B", "C"], path=tmp_path / "images.png", columns=5)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 10 and shown[0].images[0].get_array().shape == (28, 28)
    wrong = [ax.get_title() for ax in shown if ax.title.get_color() == "red"]
    assert wrong == ["B → C", "C → B"]  # samples 4 and 8
    assert (tmp_path / "images.png").exists()


def test_plot_filters_and_feature_maps(trained, tmp_path):
    model, _, x, _ = trained
    fig = plotting.plot_filters(model.get_layer("conv"), tmp_path / "filters.png")
    assert len([ax for ax in fig.axes if ax.images]) == 6 and "6 filters 3x3" in fig._suptitle.get_text()
    fig = plotting.plot_feature_maps(model, x[0], "conv", tmp_path / "maps.png")
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 7 and images[0].get_title() == "input"  # the image, then one map per filter
    np.testing.assert_allclose(
        images[1].images[0].get_array(), plotting.layer_output(model, x[:1], "conv")[0, :, :, 0], rtol=1e-6
    )
    with pytest.raises(ValueError, match="has no Conv2D kernel"):
        plotting.plot_filters(model.get_layer("out"))


def test_plot_model_draws_every_layer_and_each_connection(tmp_path):
    inputs = minidl.Input((4,), name="x")
    hidden = layers.Dense(4, name="h")(inputs)
    out = layers.Dense(2, name="out")(layers.Add(name="skip")([hidden, layers.Dense(4, name="h2")(hidden)]))
    model = minidl.Model(inputs, out)
    fig = plotting.plot_model(model, tmp_path / "model.png")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert [t.split(" (")[0] for t in texts] == ["x", "h", "h2", "skip", "out"]
    assert "params: 20" in texts[1]
    assert len(ax.patches) == 5 + 5  # the boxes, and the arrows x->h, h->h2, h->skip, h2->skip, skip->out
    assert (tmp_path / "model.png").exists()


def test_gradient_stats_equal_norms_by_hand():
    """Full-batch SGD on one Dense layer with MSE: dL/dW = x^T (2 (xW + b - y) / (N K)), the step is
    lr dL/dW, the output's RMS that of xW + b, all from the weights before the epoch's (only) batch."""
    minidl.set_seed(1)
    model = minidl.Sequential([minidl.Input((3,)), layers.Dense(2, name="d")])
    model.compile(minidl.optimizers.SGD(0.1), "mse")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    stats = minidl.callbacks.GradientStats()
    expected = {"grad": [], "ratio": [], "rms": []}
    for _ in range(3):
        kernel, bias = (w.astype(np.float64) for w in model.get_weights())
        z = x @ kernel + bias
        grad = x.T @ (2 * (z - y) / z.size)
        expected["grad"].append(np.linalg.norm(grad))
        expected["ratio"].append(0.1 * np.linalg.norm(grad) / np.linalg.norm(kernel))
        expected["rms"].append(np.sqrt(np.mean(z**2)))
        model.fit(x, y, batch_size=5, epochs=1, verbose=0, callbacks=[stats])
    assert stats.samples == 3
    np.testing.assert_allclose(stats.stats["grad_norm"]["d/kernel"], expected["grad"], rtol=1e-5)
    np.testing.assert_allclose(stats.stats["update_ratio"]["d/kernel"], expected["ratio"], rtol=1e-4)
    np.testing.assert_allclose(stats.stats["activation_rms"]["d"], expected["rms"], rtol=1e-5)
    assert "forward" not in vars(model.layers[0])  # the watch is removed after its batch


def test_gradient_stats_measure_one_batch_per_epoch(trained, tmp_path):
    """Cheap to leave on: the weights are copied and the outputs watched on one batch per epoch only
    (its cost is timed in benchmarks/, not here)."""
    model, _, x, y = trained
    stats = minidl.callbacks.GradientStats()
    copies = []
    original = stats.on_train_batch_begin

    def counting(batch, logs=None):
        original(batch, logs)
        copies.append(stats._before is not None)

    stats.on_train_batch_begin = counting
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[stats])
    assert len(copies) == 2 * 8 and sum(copies) == 2
    fig = stats.plot(tmp_path / "gradients.png")
    assert [ax.get_yscale() for ax in fig.axes] == ["log"] * 3 and (tmp_path / "gradients.png").exists()


def test_keras_utils_plot_model_needs_no_graphviz(tmp_path):
    model = minidl.Sequential([minidl.Input((4,)), layers.Dense(3, name="d")])
    fig = minidl.utils.plot_model(model, to_file=str(tmp_path / "model.png"), show_shapes=True, rankdir="LR", dpi=60)
    assert (tmp_path / "model.png").stat().st_size > 1000
    assert "params: 15" in fig.axes[0].texts[0].get_text()
