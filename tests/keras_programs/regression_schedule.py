"""Regression with mean squared error, a mean-absolute-error metric and a learning-rate schedule."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"val_mse": ("relative", 0.25), "val_mae": ("relative", 0.15)}

keras.utils.set_random_seed(0)
rng = np.random.default_rng(1)
x = rng.uniform(-2, 2, (2000, 3)).astype("float32")
y = (np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2 - x[:, 2] + 0.1 * rng.standard_normal(2000)).astype("float32")[:, None]

schedule = keras.optimizers.schedules.ExponentialDecay(initial_learning_rate=0.05, decay_steps=100, decay_rate=0.5)
model = keras.Sequential(
    [keras.Input((3,)), layers.Dense(64, activation="tanh"), layers.Dense(64, activation="tanh"), layers.Dense(1)]
)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mse", metrics=["mae"])
history = model.fit(x[:1600], y[:1600], batch_size=32, epochs=10, validation_data=(x[1600:], y[1600:]), verbose=0)
print(
    "RESULTS "
    + json.dumps({"val_mse": float(history.history["val_loss"][-1]), "val_mae": float(history.history["val_mae"][-1])})
)
