"""Training from a Python generator: an endless stream of augmented batches (random shifts of notMNIST
letters) with steps_per_epoch, evaluated on arrays and predicted from a finite generator."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.04, "predicted_accuracy": 0.04, "last_loss": ("relative", 0.15)}


def shifted_batches(images, labels, batch_size, seed):
    rng = np.random.default_rng(seed)
    while True:
        rows = rng.integers(0, len(images), batch_size)
        shifts = rng.integers(-2, 3, 2)
        yield np.roll(images[rows], tuple(shifts), axis=(1, 2)), labels[rows]


def inputs_only(images, batch_size):
    for start in range(0, len(images), batch_size):
        yield (images[start : start + batch_size],)


keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load()
model = keras.Sequential(
    [
        keras.Input((28, 28)),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(shifted_batches(x_train, y_train, 64, seed=1), steps_per_epoch=40, epochs=5, verbose=0)
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
probabilities = model.predict(inputs_only(x_test, 100), verbose=0)
print(
    "RESULTS "
    + json.dumps(
        {
            "test_accuracy": float(test_accuracy),
            "predicted_accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test)),
            "last_loss": float(history.history["loss"][-1]),
        }
    )
)
