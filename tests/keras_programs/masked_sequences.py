"""Variable-length token sequences padded with 0 and masked, in keras.io's text-classification style:
Embedding(mask_zero=True) so that the layers after it skip the padding. A classifier reads the last real
token through an LSTM (behind up to 17 padding steps, which the mask skips); a tagger labels every token
with a Bidirectional LSTM, its loss and accuracy counted on the real tokens only."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"classifier_accuracy": 0.05, "tagger_accuracy": 0.05}
# 1.0 / 0.994-0.996 (2-core AMD EPYC, OpenBLAS SkylakeX: minidl 1.8 s, Keras 15 s for the whole program)

rng = np.random.default_rng(0)
vocabulary, length = 20, 20


def sequences(count):
    """Token lists of 3 to 20 tokens (1..19), padded after with 0; the classifier's label: is the last
    token >= 10; the tagger's: is each token larger than the one before it (the first: is it >= 10)."""
    rows = [rng.integers(1, vocabulary, rng.integers(3, length + 1)) for _ in range(count)]
    x = keras.utils.pad_sequences(rows, maxlen=length, padding="post", value=0)
    last = np.array([row[-1] >= 10 for row in rows], dtype="float32")
    tags = np.zeros((count, length), dtype="int32")
    for i, row in enumerate(rows):
        tags[i, : len(row)] = np.concatenate([[row[0] >= 10], row[1:] > row[:-1]])
    return x, last, tags


(x_train, last_train, tags_train), (x_test, last_test, tags_test) = sequences(2000), sequences(500)
keras.utils.set_random_seed(0)
classifier = keras.Sequential(
    [
        keras.Input(shape=(length,), dtype="int32"),
        layers.Embedding(vocabulary, 8, mask_zero=True),
        layers.LSTM(16),
        layers.Dense(1, activation="sigmoid"),
    ]
)
classifier.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
classifier.fit(x_train, last_train, batch_size=32, epochs=5, verbose=0)
_, classifier_accuracy = classifier.evaluate(x_test, last_test, verbose=0)

inputs = keras.Input(shape=(length,), dtype="int32")
embedded = layers.Embedding(vocabulary, 8, mask_zero=True)(inputs)
states = layers.Bidirectional(layers.LSTM(12, return_sequences=True))(embedded)
tags = layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(states))
tagger = keras.Model(inputs, tags)
tagger.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
tagger.fit(x_train, tags_train, batch_size=32, epochs=4, verbose=0)
_, tagger_accuracy = tagger.evaluate(x_test, tags_test, verbose=0)
print(
    "RESULTS "
    + json.dumps({"classifier_accuracy": float(classifier_accuracy), "tagger_accuracy": float(tagger_accuracy)})
)
