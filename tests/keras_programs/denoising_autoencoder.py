"""keras.io's convolutional denoising autoencoder on notMNIST letters: noisy images in, clean ones out,
an encoder of Conv2D and MaxPooling2D and a decoder of stride-2 Conv2DTranspose layers."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"loss": ("relative", 0.1), "mae": ("relative", 0.15)}

keras.utils.set_random_seed(0)
(x_train, _), (x_test, _) = load(train=2000, test=500)
x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
rng = np.random.default_rng(1)
noisy_train = np.clip(x_train + 0.4 * rng.standard_normal(x_train.shape), 0, 1).astype("float32")
noisy_test = np.clip(x_test + 0.4 * rng.standard_normal(x_test.shape), 0, 1).astype("float32")

inputs = keras.Input(shape=(28, 28, 1))
x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(inputs)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2DTranspose(16, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(16, (3, 3), strides=2, activation="relu", padding="same")(x)
outputs = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
autoencoder = keras.Model(inputs, outputs)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy", metrics=["mae"])
autoencoder.fit(noisy_train, x_train, epochs=4, batch_size=64, shuffle=True, verbose=0)
loss, mae = autoencoder.evaluate(noisy_test, x_test, verbose=0)
print("RESULTS " + json.dumps({"loss": float(loss), "mae": float(mae)}))
