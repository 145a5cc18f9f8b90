"""A small convnet (keras.io's MNIST convnet, shrunk): Conv2D, MaxPooling2D, Dropout, one-hot labels,
categorical cross-entropy, validation_split."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.05}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load(train=2000, test=600)
x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
y_train, y_test = keras.utils.to_categorical(y_train, 10), keras.utils.to_categorical(y_test, 10)
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=128, epochs=4, validation_split=0.1, verbose=0)
score = model.evaluate(x_test, y_test, verbose=0)
print("RESULTS " + json.dumps({"test_accuracy": float(score[1])}))
