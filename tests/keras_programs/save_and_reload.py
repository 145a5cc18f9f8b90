"""The save/reload workflow of keras.io's guides: ModelCheckpoint keeps the best model as a .keras file,
keras.saving.load_model reopens it, training goes on from it, save_weights/load_weights move the weights
into a freshly built model, and to_json/model_from_json rebuild the architecture."""

import json
import os
import tempfile

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"reloaded_accuracy": 0.05, "continued_accuracy": 0.05, "same_predictions": 0.0}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load(train=2000, test=500)
x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
folder = tempfile.mkdtemp()


def build():
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = build()
best = os.path.join(folder, "best.keras")
model.fit(
    x_train,
    y_train,
    epochs=3,
    validation_split=0.2,
    verbose=0,
    callbacks=[keras.callbacks.ModelCheckpoint(best, monitor="val_accuracy", save_best_only=True)],
)
reloaded = keras.saving.load_model(best)
_, reloaded_accuracy = reloaded.evaluate(x_test, y_test, verbose=0)
reloaded.fit(x_train, y_train, epochs=2, verbose=0)
_, continued_accuracy = reloaded.evaluate(x_test, y_test, verbose=0)

weights = os.path.join(folder, "final.weights.h5")
reloaded.save_weights(weights)
fresh = build()
fresh.load_weights(weights)
same = float(np.abs(fresh.predict(x_test, verbose=0) - reloaded.predict(x_test, verbose=0)).max() < 1e-6)
architecture = keras.models.model_from_json(reloaded.to_json())
assert architecture.count_params() == reloaded.count_params()
print(
    "RESULTS "
    + json.dumps(
        {
            "reloaded_accuracy": float(reloaded_accuracy),
            "continued_accuracy": float(continued_accuracy),
            "same_predictions": 1.0 - same,
        }
    )
)
