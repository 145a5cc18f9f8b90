"""A classifier that outputs logits: no final activation, SparseCategoricalCrossentropy(from_logits=True),
the probabilities from keras.activations.softmax."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.04, "mean_max_probability": 0.05}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load()
model = keras.Sequential(
    [keras.Input((28, 28)), layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10)]
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=32, epochs=5, verbose=0)
logits = model.predict(x_test, verbose=0)
probabilities = np.asarray(keras.activations.softmax(logits))
accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
print(
    "RESULTS "
    + json.dumps({"test_accuracy": accuracy, "mean_max_probability": float(probabilities.max(axis=1).mean())})
)
