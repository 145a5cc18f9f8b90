"""Text classification in keras.io's "bag of embeddings" style, on generated token sequences: integer
inputs, Embedding, GlobalAveragePooling1D, Dense layers. Each sequence's topic is the token group that
occurs most often in it."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"test_accuracy": 0.05}

rng = np.random.default_rng(0)
vocabulary, length, topics = 200, 24, 3


def sequences(count):
    labels = rng.integers(0, topics, count)
    tokens = rng.integers(topics * 10, vocabulary, (count, length))  # filler tokens
    topical = rng.random((count, length)) < 0.25
    tokens[topical] = (labels[:, None] * 10 + rng.integers(0, 10, (count, length)))[topical]
    return tokens.astype("int32"), labels


(x_train, y_train), (x_test, y_test) = sequences(3000), sequences(600)
keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input(shape=(length,), dtype="int32"),
        layers.Embedding(vocabulary, 16),
        layers.GlobalAveragePooling1D(),
        layers.Dense(16, activation="relu"),
        layers.Dense(topics, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=6, validation_split=0.1, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("RESULTS " + json.dumps({"test_accuracy": float(accuracy)}))
