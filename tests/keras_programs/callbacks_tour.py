"""An MLP with the everyday extras: raw uint8 images rescaled in the model, BatchNormalization, an L1L2
penalty, AdamW, top-k accuracy, ReduceLROnPlateau, EarlyStopping, CSVLogger, summary and predict."""

import json
import os
import tempfile

import keras
import numpy as np
from keras import layers
from notmnist_data import load

TOLERANCES = {"test_accuracy": 0.04, "top3": 0.03}

keras.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = load()
x_train, x_test = (np.round(x * 255).astype("uint8") for x in (x_train, x_test))  # raw pixels
model = keras.Sequential(
    [
        keras.Input((28, 28)),
        layers.Rescaling(1.0 / 255),
        layers.Flatten(),
        layers.Dense(128, kernel_regularizer=keras.regularizers.L1L2(l1=1e-6, l2=1e-5)),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.AdamW(learning_rate=2e-3, weight_decay=1e-4),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")],
)
model.summary(print_fn=lambda *args, **kwargs: None)
log = os.path.join(tempfile.mkdtemp(), "log.csv")
model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=6,
    validation_split=0.15,
    verbose=0,
    callbacks=[
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1),
        keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3, restore_best_weights=True),
        keras.callbacks.CSVLogger(log),
    ],
)
results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
predicted = model.predict(x_test, verbose=0).argmax(axis=1)
assert abs(float(np.mean(predicted == y_test)) - results["accuracy"]) < 1e-6
with open(log) as csv_file:
    assert csv_file.readline().startswith("epoch,")
print("RESULTS " + json.dumps({"test_accuracy": float(results["accuracy"]), "top3": float(results["top3"])}))
