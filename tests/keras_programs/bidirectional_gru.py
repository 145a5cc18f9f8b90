"""Sequence classification with recurrent layers in keras.io's "Bidirectional LSTM" style, on generated
token sequences: Embedding, Bidirectional(GRU) returning sequences, a SimpleRNN on top. A sequence is
positive when its marker token comes before its stop token, so the order of the tokens matters."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"test_accuracy": 0.05}

rng = np.random.default_rng(0)
vocabulary, length, marker, stop = 30, 16, 1, 2


def sequences(count):
    tokens = rng.integers(3, vocabulary, (count, length))
    first, second = rng.integers(0, length, count), rng.integers(0, length - 1, count)
    second += second >= first  # two different places
    rows = np.arange(count)
    tokens[rows, first], tokens[rows, second] = marker, stop
    return tokens.astype("int32"), (first < second).astype("float32")


(x_train, y_train), (x_test, y_test) = sequences(2000), sequences(500)
keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input(shape=(length,), dtype="int32"),
        layers.Embedding(vocabulary, 8),
        layers.Bidirectional(layers.GRU(12, return_sequences=True)),
        layers.SimpleRNN(8),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=4, validation_split=0.1, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("RESULTS " + json.dumps({"test_accuracy": float(accuracy)}))
