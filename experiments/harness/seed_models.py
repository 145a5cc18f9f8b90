"""The seed report's two networks: the MLP in minidl, the CNN in the report's Keras code, which builds the
same model in Keras or in minidl.

Part 1, the MLP:  784 -> Dense(H) -> ReLU -> Dense(10) -> Softmax, the report's "Xavier" init
(Normal(0, sqrt(2 / (fan_in + fan_out))), zero biases), full-batch gradient descent with momentum
v <- gamma v + alpha grad, w <- w - v, v starting at 1e-5.

Part 2, the CNN:  28x28x1 -> Conv2D(32, 3x3, same, ReLU, glorot_normal(seed=14)) -> BatchNormalization
-> MaxPooling2D(2x2) -> Flatten -> Dense(784, ReLU) [-> Dropout(p)] -> Dense(10, softmax), Adam(1e-4).

Beyond the report, the residual CNN: the part-2 CNN with a residual block after its first convolution,
x + BatchNorm(Conv2D(32, 3x3, same)(ReLU(BatchNorm(Conv2D(32, 3x3, same)(x))))) -> ReLU, written with the
functional API (Input, layers called on tensors, Add, Model(inputs, outputs)).
"""

from __future__ import annotations

import minidl
from minidl import layers, optimizers

from .frameworks import import_keras

# Part 1 hyperparameters. The report sums gradients over the batch (gradCE = p - y, no 1/N) and does
# not state alpha; with minidl's batch-mean gradients the same step is alpha_mean = alpha_sum * N.
# alpha_sum = 5e-6 (N = 10000: learning_rate 0.05) with gamma = 0.99 reproduces the report's 1.3 run.
MLP_LEARNING_RATE = 0.05
MLP_MOMENTUM = 0.99
MLP_INITIAL_VELOCITY = 1e-5


def mlp(
    hidden_units: int = 1000, learning_rate: float = MLP_LEARNING_RATE, momentum: float = MLP_MOMENTUM
) -> minidl.Sequential:
    """The part-1 MLP in minidl, compiled with the report's optimiser (its learning rate and momentum
    by default)."""
    model = minidl.Sequential(
        [
            layers.Input((784,)),
            layers.Dense(hidden_units, kernel_initializer="xavier_normal"),
            layers.ReLU(),
            layers.Dense(10, kernel_initializer="xavier_normal"),
            layers.Softmax(),
        ]
    )
    model.compile(
        optimizer=optimizers.SGD(learning_rate=learning_rate, momentum=momentum, initial_velocity=MLP_INITIAL_VELOCITY),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def cnn(framework: str, l2: float | None = None, dropout: float | None = None, learning_rate: float = 0.0001):
    """The part-2 CNN, in the report's own Keras code; minidl mirrors Keras's API, so the very same
    lines build the minidl model when `framework` is "minidl"."""
    api = import_keras() if framework == "keras" else minidl
    layers, initializers, models, optimizers, regularizers = (
        api.layers,
        api.initializers,
        api.models,
        api.optimizers,
        api.regularizers,
    )

    reg = regularizers.l2(l2) if l2 else None
    model = models.Sequential()
    model.add(layers.Input((28, 28, 1)))
    model.add(
        layers.Conv2D(
            32,
            (3, 3),
            padding="same",
            strides=1,
            activation="relu",
            use_bias=True,
            bias_initializer="zeros",
            kernel_initializer=initializers.glorot_normal(seed=14),
        )
    )
    model.add(layers.BatchNormalization())
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(784, activation="relu", kernel_regularizer=reg))
    if dropout:
        model.add(layers.Dropout(dropout))
    model.add(layers.Dense(10, activation="softmax", kernel_regularizer=reg))
    model.compile(
        optimizer=optimizers.Adam(learning_rate=learning_rate), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def residual_cnn(framework: str):
    """The residual CNN in Keras's functional API; the same lines build it in minidl."""
    api = import_keras() if framework == "keras" else minidl
    layers, initializers = api.layers, api.initializers

    def conv(x, activation=None, seed=None):
        kernel = initializers.glorot_normal(seed=seed) if seed is not None else "glorot_uniform"
        return layers.Conv2D(32, (3, 3), padding="same", activation=activation, kernel_initializer=kernel)(x)

    inputs = api.Input((28, 28, 1))
    x = layers.BatchNormalization()(conv(inputs, activation="relu", seed=14))
    shortcut = x
    x = layers.Activation("relu")(layers.BatchNormalization()(conv(x, seed=15)))
    x = layers.BatchNormalization()(conv(x, seed=16))
    x = layers.Activation("relu")(layers.Add()([x, shortcut]))
    x = layers.Flatten()(layers.MaxPooling2D((2, 2))(x))
    x = layers.Dense(784, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = api.Model(inputs, outputs, name="residual_cnn")
    model.compile(
        optimizer=api.optimizers.Adam(learning_rate=0.0001), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model
