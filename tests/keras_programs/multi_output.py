"""Two outputs from one trunk (keras.io's multi-output style): the letter (softmax) and whether it is one of
A-E (sigmoid), one loss each with loss_weights, metrics per output, targets by output name."""

import json

import keras
from keras import layers
from notmnist_data import load

TOLERANCES = {"letter_accuracy": 0.05, "first_half_accuracy": 0.05, "loss": ("relative", 0.25)}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load(train=3000, test=600)
x_train, x_test = x_train.reshape(-1, 784), x_test.reshape(-1, 784)
half_train, half_test = (y_train < 5).astype("float32"), (y_test < 5).astype("float32")

inputs = keras.Input(shape=(784,), name="pixels")
trunk = layers.Dense(128, activation="relu")(inputs)
trunk = layers.Dropout(0.2)(trunk)
letter = layers.Dense(10, activation="softmax", name="letter")(trunk)
first_half = layers.Dense(1, activation="sigmoid", name="first_half")(trunk)
model = keras.Model(inputs=inputs, outputs=[letter, first_half])
model.compile(
    optimizer="adam",
    loss={"letter": "sparse_categorical_crossentropy", "first_half": "binary_crossentropy"},
    loss_weights={"letter": 1.0, "first_half": 0.5},
    metrics={"letter": ["accuracy"], "first_half": ["accuracy"]},
)
history = model.fit(
    x_train,
    {"letter": y_train, "first_half": half_train},
    batch_size=64,
    epochs=4,
    validation_split=0.1,
    verbose=0,
)
assert {"letter_loss", "first_half_loss", "val_letter_accuracy"} <= set(history.history)
results = model.evaluate(x_test, {"letter": y_test, "first_half": half_test}, verbose=0, return_dict=True)
letters, halves = model.predict(x_test, verbose=0)
assert letters.shape == (600, 10) and halves.shape == (600, 1)
print(
    "RESULTS "
    + json.dumps(
        {
            "letter_accuracy": float(results["letter_accuracy"]),
            "first_half_accuracy": float(results["first_half_accuracy"]),
            "loss": float(results["loss"]),
        }
    )
)
