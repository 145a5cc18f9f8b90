"""Structured data, keras.io's way: a string column through StringLookup into one-hot vectors, an integer
column through IntegerLookup and CategoryEncoding, numeric columns through Normalization, all adapted on the
training rows and concatenated into a small MLP. The rows are generated: a rule over the columns, with noise."""

import json

import keras
import numpy as np
from keras import layers

TOLERANCES = {"test_accuracy": 0.05, "test_auc": 0.05}

rng = np.random.default_rng(3)
rows = 1500
city = rng.choice(["oslo", "lima", "pune", "kobe", "graz"], rows)
rooms = rng.choice([1, 2, 3, 4, 6], rows)
area = rng.normal(70, 25, rows)
age = rng.uniform(0, 80, rows)
score = (
    0.8 * np.isin(city, ["oslo", "graz"])
    + 0.5 * (rooms >= 3)
    + 0.02 * (area - 70)
    - 0.01 * age
    + rng.normal(0, 0.5, rows)
)
labels = (score > np.median(score)).astype("float32")
train, test = slice(0, 1200), slice(1200, rows)

city_lookup = layers.StringLookup(output_mode="one_hot")
city_lookup.adapt(city[train])
rooms_lookup = layers.IntegerLookup()
rooms_lookup.adapt(rooms[train])
rooms_encoding = layers.CategoryEncoding(num_tokens=rooms_lookup.vocabulary_size(), output_mode="one_hot")
numbers = np.stack([area, age], axis=1).astype("float32")
normalize = layers.Normalization()
normalize.adapt(numbers[train])


def features(part):
    return np.concatenate(
        [
            np.asarray(city_lookup(city[part]), dtype="float32"),
            np.asarray(rooms_encoding(np.asarray(rooms_lookup(rooms[part]))), dtype="float32"),
            np.asarray(normalize(numbers[part]), dtype="float32"),
        ],
        axis=1,
    )


x_train, x_test = features(train), features(test)
keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input((x_train.shape[1],)),
        layers.Dense(32, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")])
model.fit(x_train, labels[train], batch_size=32, epochs=15, verbose=0)
_, test_accuracy, test_auc = model.evaluate(x_test, labels[test], verbose=0)
print("RESULTS " + json.dumps({"test_accuracy": float(test_accuracy), "test_auc": float(test_auc)}))
