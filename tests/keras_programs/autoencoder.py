"""A small convolutional autoencoder on notMNIST letters: Conv2D, MaxPooling2D, UpSampling2D, a sigmoid
output and binary cross-entropy against the input itself, with a learning-rate schedule callback."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"reconstruction_loss": ("relative", 0.1), "mae": ("relative", 0.15)}

keras.utils.set_random_seed(0)
(x_train, _), (x_test, _) = load(train=2000, test=500)
x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
model = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.UpSampling2D(2),
        layers.Conv2D(16, 3, activation="relu", padding="same"),
        layers.UpSampling2D(2),
        layers.Conv2D(1, 3, activation="sigmoid", padding="same"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["mae"])
model.fit(
    x_train,
    x_train,
    batch_size=64,
    epochs=4,
    verbose=0,
    callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.8)],
)
loss, mae = model.evaluate(x_test, x_test, verbose=0)
print("RESULTS " + json.dumps({"reconstruction_loss": float(loss), "mae": float(mae)}))
