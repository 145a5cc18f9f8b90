"""Transfer learning with the functional API (keras.io's recipe): a convolutional base trained inside one
model, frozen (base.trainable = False), then called as a layer of a new model, base(inputs,
training=False), with a new head; the frozen base, moving statistics included, must not move."""

import json

import keras
import numpy as np
from keras import layers
from notmnist_data import load

# test accuracy over seeds 0-3 on one machine: Keras 0.69-0.71, minidl 0.68-0.735 (a frozen 32-feature base)
TOLERANCES = {"test_accuracy": 0.08, "frozen_weights_moved": 0.0}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load(train=3000, test=600)
x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]

base = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.GlobalAveragePooling2D(),
    ],
    name="base",
)
inputs = keras.Input((28, 28, 1))
pretrain = keras.Model(inputs, layers.Dense(5, activation="softmax")(base(inputs)))
first = y_train < 5
pretrain.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
pretrain.fit(x_train[first], y_train[first], epochs=5, batch_size=32, verbose=0)

base.trainable = False
frozen = [w.copy() for w in base.get_weights()]
inputs = keras.Input((28, 28, 1))
x = base(inputs, training=False)
x = layers.Dropout(0.1)(x)
transfer = keras.Model(inputs, layers.Dense(10, activation="softmax", name="head")(x))
transfer.compile(optimizer=keras.optimizers.Adam(3e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
transfer.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
moved = max(float(np.abs(a - b).max()) for a, b in zip(frozen, base.get_weights()))
_, accuracy = transfer.evaluate(x_test, y_test, verbose=0)
print(
    "RESULTS "
    + json.dumps(
        {
            "test_accuracy": float(accuracy),
            "frozen_weights_moved": moved,
            "trainable_weights": len(transfer.trainable_weights),
            "layers": [layer.name for layer in transfer.layers[1:]],
        }
    )
)
