"""Text classification from raw strings, keras.io's way: TextVectorization adapted on the training texts,
then an Embedding + GlobalAveragePooling1D classifier on the token indices, and a TF-IDF bag of words (with
bigrams) into a small MLP. The reviews are generated: praise or complaint words among neutral ones."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"sequence_accuracy": 0.05, "tfidf_accuracy": 0.05}

rng = np.random.default_rng(7)
PRAISE = ["great", "lovely", "superb", "fine", "excellent", "charming", "solid", "fun"]
COMPLAINT = ["awful", "dull", "broken", "poor", "boring", "messy", "weak", "bad"]
NEUTRAL = [
    "the",
    "a",
    "this",
    "film",
    "plot",
    "actors",
    "story",
    "was",
    "it",
    "and",
    "very",
    "quite",
    "but",
    "of",
    "to",
    "its",
    "then",
    "really",
]


def review(positive):
    words = list(rng.choice(NEUTRAL, rng.integers(6, 14)))
    for _ in range(rng.integers(1, 4)):
        words.insert(rng.integers(0, len(words) + 1), rng.choice(PRAISE if positive else COMPLAINT))
    if rng.random() < 0.3:  # a word of the other side now and then
        words.insert(rng.integers(0, len(words) + 1), rng.choice(COMPLAINT if positive else PRAISE))
    text = " ".join(words).capitalize() + rng.choice([".", "!", "..."])
    return text


labels = rng.integers(0, 2, 1200)
texts = np.array([review(bool(label)) for label in labels])
train_texts, test_texts, y_train, y_test = texts[:1000], texts[1000:], labels[:1000], labels[1000:]

keras.utils.set_random_seed(0)
vectorize = layers.TextVectorization(max_tokens=60, output_sequence_length=20)
vectorize.adapt(train_texts)
x_train, x_test = vectorize(train_texts), vectorize(test_texts)
sequence_model = keras.Sequential(
    [
        keras.Input((20,), dtype="int64"),
        layers.Embedding(60, 16),
        layers.GlobalAveragePooling1D(),
        layers.Dense(16, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ]
)
sequence_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
sequence_model.fit(x_train, y_train, batch_size=32, epochs=10, verbose=0)
_, sequence_accuracy = sequence_model.evaluate(x_test, y_test, verbose=0)

bag = layers.TextVectorization(output_mode="tf_idf", ngrams=2, max_tokens=300)
bag.adapt(train_texts)
tfidf_model = keras.Sequential(
    [keras.Input((300,)), layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")]
)
tfidf_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
tfidf_model.fit(bag(train_texts), y_train, batch_size=32, epochs=5, verbose=0)
_, tfidf_accuracy = tfidf_model.evaluate(bag(test_texts), y_test, verbose=0)
print("RESULTS " + json.dumps({"sequence_accuracy": float(sequence_accuracy), "tfidf_accuracy": float(tfidf_accuracy)}))
