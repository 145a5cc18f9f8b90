"""A sequence classifier with an LSTM (keras.io's recurrent examples, on generated data): does a noisy
signal of 30 steps trend upwards or downwards?"""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"test_accuracy": 0.05}

rng = np.random.default_rng(0)


def signals(count):
    labels = rng.integers(0, 2, count)
    slope = np.where(labels == 1, 1.0, -1.0)[:, None] * rng.uniform(0.0, 0.06, (count, 1))
    steps = np.arange(30)[None, :]
    values = slope * steps + rng.normal(0, 1.0, (count, 30))
    return np.stack([values, np.diff(values, prepend=0.0, axis=1)], axis=-1).astype("float32"), labels


(x_train, y_train), (x_test, y_test) = signals(1500), signals(500)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(30, 2)), layers.LSTM(16), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=6, validation_split=0.1, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("RESULTS " + json.dumps({"test_accuracy": float(accuracy)}))
