"""Fine-tuning: train a base network, freeze it (trainable = False), put a new head on its features,
train the head alone; the frozen weights must not move."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.05, "frozen_weights_moved": 0.0}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load()
x_train, x_test = x_train.reshape(len(x_train), 784), x_test.reshape(len(x_test), 784)

base = keras.Sequential([keras.Input((784,)), layers.Dense(64, activation="relu", name="features")])
model = keras.Sequential([keras.Input((784,)), base.get_layer("features"), layers.Dense(5, activation="softmax")])
first = y_train < 5
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train[first], y_train[first], epochs=3, batch_size=64, verbose=0)

features = base.get_layer("features")
features.trainable = False
frozen = [w.copy() for w in features.get_weights()]
transfer = keras.Sequential([keras.Input((784,)), features, layers.Dense(10, activation="softmax", name="head")])
transfer.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
transfer.fit(x_train, y_train, epochs=4, batch_size=64, verbose=0)
moved = max(float(np.abs(a - b).max()) for a, b in zip(frozen, features.get_weights()))
_, accuracy = transfer.evaluate(x_test, y_test, verbose=0)
print(
    "RESULTS "
    + json.dumps(
        {
            "test_accuracy": float(accuracy),
            "frozen_weights_moved": moved,
            "trainable_weights": len(transfer.trainable_weights),
        }
    )
)
