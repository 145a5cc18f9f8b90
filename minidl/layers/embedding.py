"""Embedding: a learned vector for each integer token, Keras's Embedding."""

from __future__ import annotations

import numpy as np

from .. import constraints, initializers, regularizers
from ..backend import floatx
from .base import Layer


class Embedding(Layer):
    """y[n, t] = embeddings[x[n, t]]: each index of x replaced by its row of the (input_dim, output_dim) table.

    Shapes: x (N, ...) integer indices in 0..input_dim-1 -> y (N, ..., output_dim); embeddings (V, D).
    Backward: the gradient of each row is the sum of the gradients at every position holding its index,
        dL/dembeddings[v] = sum_{(n, t): x[n, t] = v} dL/dy[n, t]      (V, D), zero for unseen tokens
    computed as one sparse-dense product; x gets no gradient (indices are not differentiable).
    With mask_zero=True index 0 is padding: the output's mask is x != 0 (minidl.masking).
    """

    supports_masking = True

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero: bool = False,
        **kwargs,
    ):
        kwargs.pop("input_length", None)  # Keras 2's argument, which Keras 3 ignores
        super().__init__(**kwargs)
        for argument, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Embedding '{self.name}': {argument} must be a positive integer, got {value!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer, self.mask_zero = embeddings_initializer, bool(mask_zero)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)

    def build(self, input_shape):
        if self.dtype is None or np.dtype(self.dtype).kind != "f":
            self.dtype = floatx()  # integer inputs, float vectors
        self.add_weight(
            (self.input_dim, self.output_dim),
            initializers.get(self.embeddings_initializer),
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
            name="embeddings",
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    @property
    def makes_masks(self) -> bool:
        return self.mask_zero

    def compute_mask(self, inputs, mask=None):
        return np.not_equal(inputs, 0) if self.mask_zero else None

    def forward(self, x, training=False):
        indices = np.asarray(x).astype(np.intp, copy=False)
        if indices.size and (indices.min() < 0 or indices.max() >= self.input_dim):
            bad = indices[(indices < 0) | (indices >= self.input_dim)][0]
            raise ValueError(
                f"Embedding '{self.name}': index {bad} is out of range 0..{self.input_dim - 1} "
                f"(input_dim={self.input_dim})"
            )
        self.indices = indices
        return self.params["embeddings"][indices]

    def backward(self, grad_output):
        table = self.params["embeddings"]
        rows = self.indices.reshape(-1)
        grad = grad_output.reshape(len(rows), self.output_dim)
        dtable = self.grad_buffer("embeddings")
        dtable.fill(0)
        np.add.at(dtable, rows, grad)  # repeated indices add up (a plain dtable[rows] += grad would not)
        return np.zeros(self.indices.shape, dtype=table.dtype) if self.need_input_grad else None
