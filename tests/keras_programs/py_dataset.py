"""Batches from a PyDataset: a subclass that cuts notMNIST into batches and reshuffles its samples at the end
of every epoch, trained with a PyDataset for validation, then evaluated and predicted on PyDatasets."""

import json
import math

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.04, "val_accuracy": 0.05, "predicted_accuracy": 0.04}


class Letters(keras.utils.PyDataset):
    def __init__(self, images, labels, batch_size, shuffle_seed=None, **kwargs):
        super().__init__(**kwargs)
        self.images, self.labels, self.batch_size = images, labels, batch_size
        self.order = np.arange(len(images))
        self.rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.images[rows, :, :, None], keras.utils.to_categorical(self.labels[rows], 10)

    def on_epoch_end(self):
        if self.rng is not None:
            self.order = self.rng.permutation(len(self.images))


keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load()
model = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(
    Letters(x_train[:2500], y_train[:2500], 50, shuffle_seed=1),
    validation_data=Letters(x_train[2500:], y_train[2500:], 100),
    epochs=6,
    shuffle=False,
    verbose=0,
)
test_loss, test_accuracy = model.evaluate(Letters(x_test, y_test, 100), verbose=0)
probabilities = model.predict(Letters(x_test, y_test, 128), verbose=0)
print(
    "RESULTS "
    + json.dumps(
        {
            "test_accuracy": float(test_accuracy),
            "val_accuracy": float(max(history.history["val_accuracy"])),
            "predicted_accuracy": float(np.mean(probabilities.argmax(axis=1) == y_test)),
        }
    )
)
