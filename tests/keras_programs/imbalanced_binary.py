"""Imbalanced binary classification (in the style of keras.io's credit-card fraud example): 5% positives,
class weights, sigmoid output, binary cross-entropy, precision, recall and AUC."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"auc": 0.03, "recall": 0.15, "accuracy": 0.08}

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
n = 4000
y = (rng.random(n) < 0.05).astype("float32")
x = (rng.standard_normal((n, 8)) + y[:, None] * np.linspace(1.5, 0.2, 8)).astype("float32")
x_train, y_train, x_test, y_test = x[:3000], y[:3000], x[3000:], y[3000:]
weights = {0: 1.0, 1: float((y_train == 0).sum() / (y_train == 1).sum())}

model = keras.Sequential(
    [
        keras.Input((8,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(1e-2),
    loss="binary_crossentropy",
    metrics=[
        keras.metrics.Precision(name="precision"),
        keras.metrics.Recall(name="recall"),
        keras.metrics.AUC(name="auc"),
        "accuracy",
    ],
)
model.fit(x_train, y_train, batch_size=256, epochs=15, class_weight=weights, verbose=0)
results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
print("RESULTS " + json.dumps({key: float(results[key]) for key in ("auc", "recall", "accuracy")}))
