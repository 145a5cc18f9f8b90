"""Sequence classification with Conv1D: which of three shapes (sine, square, sawtooth) a noisy signal is;
Conv1D, MaxPooling1D, LayerNormalization, GlobalAveragePooling1D, Nadam, one-hot labels."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"test_accuracy": 0.05}

keras.utils.set_random_seed(0)
rng = np.random.default_rng(3)
n, steps = 1500, 64
labels = rng.integers(0, 3, n)
phase = rng.uniform(0, 2 * np.pi, (n, 1))
t = np.linspace(0, 4 * np.pi, steps)[None, :] + phase
waves = np.stack([np.sin(t), np.sign(np.sin(t)), (t / np.pi) % 2 - 1])
x = (waves[labels, np.arange(n)] + 0.6 * rng.standard_normal((n, steps))).astype("float32")[..., None]
y = keras.utils.to_categorical(labels, 3)

model = keras.Sequential(
    [
        keras.Input((steps, 1)),
        layers.Conv1D(16, 5, activation="relu", padding="same"),
        layers.MaxPooling1D(2),
        layers.Conv1D(16, 3, activation="relu"),
        layers.LayerNormalization(),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer=keras.optimizers.Nadam(3e-3), loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x[:1200], y[:1200], batch_size=32, epochs=8, verbose=0)
_, accuracy = model.evaluate(x[1200:], y[1200:], verbose=0)
print("RESULTS " + json.dumps({"test_accuracy": float(accuracy)}))
