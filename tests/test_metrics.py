"""Metrics: Keras's state over several batches (an epoch's precision is not the mean of its batches'),
values equal to Keras's, "accuracy" resolved from the data as Keras resolves it, names as the user gave."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import layers, metrics


def rng(seed):
    return np.random.default_rng(seed)


BINARY = (rng(0).integers(0, 2, (40, 1)).astype(float), rng(1).uniform(0, 1, (40, 1)))
ONE_HOT = (np.eye(5)[rng(2).integers(0, 5, 40)], rng(3).dirichlet(np.ones(5), 40))
LABELS = (rng(4).integers(0, 5, 40), rng(5).dirichlet(np.ones(5), 40))
REGRESSION = (rng(6).standard_normal((40, 3)), rng(7).standard_normal((40, 3)))
COUNTS = (rng(8).poisson(2.0, (40, 3)).astype(float), rng(9).uniform(0.2, 4, (40, 3)))

CASES = {  # id: (make(api), data)
    "BinaryAccuracy": (lambda api: api.metrics.BinaryAccuracy(), BINARY),
    "BinaryAccuracy(0.3)": (lambda api: api.metrics.BinaryAccuracy(threshold=0.3), BINARY),
    "CategoricalAccuracy": (lambda api: api.metrics.CategoricalAccuracy(), ONE_HOT),
    "SparseCategoricalAccuracy": (lambda api: api.metrics.SparseCategoricalAccuracy(), LABELS),
    "TopKCategoricalAccuracy(2)": (lambda api: api.metrics.TopKCategoricalAccuracy(k=2), ONE_HOT),
    "SparseTopKCategoricalAccuracy(3)": (lambda api: api.metrics.SparseTopKCategoricalAccuracy(k=3), LABELS),
    "MeanSquaredError": (lambda api: api.metrics.MeanSquaredError(), REGRESSION),
    "MeanAbsoluteError": (lambda api: api.metrics.MeanAbsoluteError(), REGRESSION),
    "RootMeanSquaredError": (lambda api: api.metrics.RootMeanSquaredError(), REGRESSION),
    "MeanAbsolutePercentageError": (lambda api: api.metrics.MeanAbsolutePercentageError(), REGRESSION),
    "MeanSquaredLogarithmicError": (lambda api: api.metrics.MeanSquaredLogarithmicError(), COUNTS),
    "Poisson": (lambda api: api.metrics.Poisson(), COUNTS),
    "CosineSimilarity": (lambda api: api.metrics.CosineSimilarity(), REGRESSION),
    "TruePositives": (lambda api: api.metrics.TruePositives(), BINARY),
    "FalsePositives": (lambda api: api.metrics.FalsePositives(thresholds=[0.2, 0.6]), BINARY),
    "TrueNegatives": (lambda api: api.metrics.TrueNegatives(), ONE_HOT),
    "FalseNegatives": (lambda api: api.metrics.FalseNegatives(), BINARY),
    "Precision": (lambda api: api.metrics.Precision(), BINARY),
    "Precision(class_id)": (lambda api: api.metrics.Precision(class_id=2, thresholds=0.3), ONE_HOT),
    "Recall": (lambda api: api.metrics.Recall(), BINARY),
    "Recall(top_k)": (lambda api: api.metrics.Recall(top_k=2), ONE_HOT),
    "AUC": (lambda api: api.metrics.AUC(), BINARY),
    "AUC(PR)": (lambda api: api.metrics.AUC(curve="PR"), BINARY),
    "AUC(minoring, 50)": (lambda api: api.metrics.AUC(num_thresholds=50, summation_method="minoring"), BINARY),
    "F1Score": (lambda api: api.metrics.F1Score(), ONE_HOT),
    "F1Score(macro, 0.3)": (lambda api: api.metrics.F1Score(average="macro", threshold=0.3), ONE_HOT),
    "F1Score(micro)": (lambda api: api.metrics.F1Score(average="micro"), ONE_HOT),
    "F1Score(weighted)": (lambda api: api.metrics.F1Score(average="weighted"), ONE_HOT),
    "Accuracy": (lambda api: api.metrics.Accuracy(), (LABELS[0], rng(10).integers(0, 5, 40))),
    "BinaryCrossentropy": (lambda api: api.metrics.BinaryCrossentropy(), BINARY),
    "BinaryCrossentropy(logits, smoothing)": (
        lambda api: api.metrics.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        (BINARY[0], REGRESSION[1][:, :1]),
    ),
    "CategoricalCrossentropy": (lambda api: api.metrics.CategoricalCrossentropy(label_smoothing=0.2), ONE_HOT),
    "CategoricalCrossentropy(logits)": (
        lambda api: api.metrics.CategoricalCrossentropy(from_logits=True),
        (ONE_HOT[0], rng(11).standard_normal((40, 5))),
    ),
    "SparseCategoricalCrossentropy": (lambda api: api.metrics.SparseCategoricalCrossentropy(), LABELS),
    "KLDivergence": (lambda api: api.metrics.KLDivergence(), (rng(12).dirichlet(np.ones(5), 40), ONE_HOT[1])),
    "Hinge": (lambda api: api.metrics.Hinge(), (BINARY[0], REGRESSION[1][:, :1])),
    "SquaredHinge": (lambda api: api.metrics.SquaredHinge(), (BINARY[0], REGRESSION[1][:, :1])),
    "CategoricalHinge": (lambda api: api.metrics.CategoricalHinge(), (ONE_HOT[0], REGRESSION[1][:, :1] * ONE_HOT[1])),
    "LogCoshError": (lambda api: api.metrics.LogCoshError(), REGRESSION),
}


def in_batches(metric, data, weights=None, sizes=(7, 13, 20)):
    y_true, y_pred = data
    start = 0
    for size in sizes:
        batch = slice(start, start + size)
        metric.update_state(y_true[batch], y_pred[batch], None if weights is None else weights[batch])
        start += size
    return np.asarray(metric.result(), dtype=np.float64)


def test_state_spans_batches_not_their_mean():
    y_true = np.array([1, 1, 0, 0, 1, 0.0])
    y_pred = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3])
    precision = metrics.Precision()
    precision.update_state(y_true[:3], y_pred[:3])  # batch precision 2/3
    precision.update_state(y_true[3:], y_pred[3:])  # batch precision 0 (no positive prediction)
    assert precision.result() == pytest.approx(2 / 3)  # not (2/3 + 0) / 2
    precision.reset_state()
    assert precision.result() == 0.0


def test_accuracy_is_resolved_from_the_data_as_keras():
    assert isinstance(metrics.resolve("accuracy", (8, 1), (None, 1)), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve("acc", (8,), (None, 5)), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve("accuracy", (8, 1), (None, 5)), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve("accuracy", (8, 5), (None, 5)), metrics.CategoricalAccuracy)
    assert metrics.resolve("acc", (8, 5), (None, 5)).name == "acc"
    assert metrics.resolve("mse", (8, 5), (None, 5)).name == "mse"


def test_fit_logs_metrics_under_the_names_given():
    rng_ = rng(9)
    x = rng_.standard_normal((32, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)

    def doubled(y_true, y_pred):
        return 2 * np.mean(np.abs(y_true - y_pred), axis=-1)

    model = minidl.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["acc", "mse", metrics.AUC(), doubled])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_split=0.25)
    assert list(history.history) == [
        "loss",
        "acc",
        "mse",
        "auc",
        "doubled",
        "val_loss",
        "val_acc",
        "val_mse",
        "val_auc",
        "val_doubled",
    ]
    assert isinstance(model.metrics[0], metrics.BinaryAccuracy)  # "acc" with one output: binary


# ------------------------------------------------------------------------------------------ against Keras
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_metrics_equal_keras_over_batches(case, weighted, keras_float64):
    make, data = CASES[case]
    if "TopK" in case or "top_k" in case:  # TensorFlow's in_top_k and top_k take float32 only
        data = tuple(a.astype(np.float32) for a in data)
    weights = rng(8).uniform(0.1, 2.0, 40) if weighted else None
    ours, theirs = in_batches(make(minidl), data, weights), in_batches(make(keras), data, weights)
    # Keras's log_cosh subtracts log(2) as a float32 constant (1.9e-9 off) even in float64
    atol = 2e-9 if case == "LogCoshError" else 1e-12
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=atol)
