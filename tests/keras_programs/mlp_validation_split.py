"""An MLP on notMNIST letters: Flatten, Dense, Dropout, sparse labels, validation_split, EarlyStopping."""

import json

import keras
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.04, "val_accuracy": 0.05}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load()
model = keras.Sequential(
    [
        keras.Input((28, 28)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=8,
    validation_split=0.1,
    verbose=0,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)],
)
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(
    "RESULTS "
    + json.dumps({"test_accuracy": float(test_accuracy), "val_accuracy": float(max(history.history["val_accuracy"]))})
)
