"""TextVectorization: strings to token indices, multi-hot or count vectors or TF-IDF weights (Keras's layer,
run on NumPy string arrays before a model: minidl's models take numbers)."""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..backend import floatx
from .base import Layer

PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')  # TensorFlow's, which Keras strips
WHITESPACE = re.compile(r"[^ \t\n\v\f\r]+")  # a token: a run of anything but ASCII white space, as tf.strings.split
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # tf.strings.lower's
OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
MASK, OOV = "", "[UNK]"


class TextVectorization(Layer):
    """Keras's TextVectorization. Each string is standardised (`standardize`: ASCII letters lowered and
    ASCII punctuation removed, as TensorFlow does), split into tokens (`split`: at ASCII white space, or
    into characters), combined into n-grams (`ngrams`: widths, each width's n-grams after the last's,
    joined by a space), and looked up in the vocabulary:

        output_mode "int":       x (N,) -> (N, T) int64 indices: 0 the padding (the empty token), 1 a token
                                 not in the vocabulary ("[UNK]"), 2... the vocabulary; rows padded with 0 or
                                 cut to output_sequence_length (or to the longest row)
        "multi_hot" / "count":   (N,) -> (N, V) int64: whether / how often each index occurs (index 0
                                 "[UNK]", no padding index); V the vocabulary's size, or max_tokens with
                                 pad_to_max_tokens
        "tf_idf":                the counts times idf = log(1 + documents / (1 + documents with the token)),
                                 "[UNK]"'s the mean of the tokens' idf (floats)

    `adapt(texts)` learns the vocabulary: the tokens by count, most frequent first, ties by the tokens in
    reverse order (Keras's), at most max_tokens in all with the special ones. Or give `vocabulary` (and
    `idf_weights` for "tf_idf"). Not trainable and no gradient: run it on the strings, then give the
    numbers to a model (`x = vectorize(texts)`; `model.fit(x, y)`).
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        standardize: str | Callable | None = "lower_and_strip_punctuation",
        split: str | Callable | None = "whitespace",
        ngrams: int | tuple[int, ...] | None = None,
        output_mode: str = "int",
        output_sequence_length: int | None = None,
        pad_to_max_tokens: bool = False,
        vocabulary: Sequence[str] | None = None,
        idf_weights=None,
        sparse: bool = False,
        ragged: bool = False,
        encoding: str = "utf-8",
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"TextVectorization '{self.name}'"
        output_mode = "tf_idf" if output_mode == "tf-idf" else output_mode
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{owner}: output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")
        if standardize not in (None, "lower_and_strip_punctuation", "lower", "strip_punctuation") and not callable(
            standardize
        ):
            raise ValueError(f"{owner}: unknown standardize {standardize!r}")
        if split not in (None, "whitespace", "character") and not callable(split):
            raise ValueError(f"{owner}: unknown split {split!r}")
        if not (ngrams is None or isinstance(ngrams, int) or all(isinstance(n, int) for n in ngrams)):
            raise ValueError(f"{owner}: `ngrams` must be None, an integer, or a tuple of integers, got {ngrams!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{owner}: `output_sequence_length` must not be set if `output_mode` is not 'int'")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{owner}: If pad_to_max_tokens is True, must set `max_tokens`")
        if sparse or ragged:
            raise ValueError(f"{owner}: minidl's outputs are dense NumPy arrays: sparse and ragged must be False")
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.ngrams = tuple(ngrams) if isinstance(ngrams, (list, tuple)) else ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.pad_to_max_tokens, self.encoding = bool(pad_to_max_tokens), encoding
        self.sparse, self.ragged = False, False
        self.vocabulary, self.idf_weights = vocabulary, idf_weights
        self.trainable = False
        self.tokens: list[str] = []  # the learned or given vocabulary, without the special tokens
        self.index: dict[str, int] = {}
        self.idf: np.ndarray | None = None  # per output index ("tf_idf")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif output_mode == "tf_idf" and idf_weights is not None:
            raise ValueError(f"{owner}: give idf_weights with a vocabulary")

    # ------------------------------------------------------------ the vocabulary
    def _special(self) -> list[str]:
        """The special tokens before the vocabulary's: the padding and "[UNK]" for "int", "[UNK]" else."""
        return [MASK, OOV] if self.output_mode == "int" else [OOV]

    def vocabulary_size(self) -> int:
        return len(self._special()) + len(self.tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        return (self._special() if include_special_tokens else []) + list(self.tokens)

    def set_vocabulary(self, vocabulary: Iterable[str], idf_weights=None) -> None:
        """The vocabulary (with or without the special tokens at its start), and for "tf_idf" each token's
        idf (the special tokens' then the mean of the tokens', unless given)."""
        owner = f"TextVectorization '{self.name}'"
        vocabulary = [str(token) for token in vocabulary]
        if not vocabulary:
            raise ValueError(f"{owner}: Cannot set an empty vocabulary")
        if (self.output_mode == "tf_idf") != (idf_weights is not None):
            raise ValueError(f"{owner}: `idf_weights` must be given exactly when output_mode is 'tf_idf'")
        special = self._special()
        has_special = vocabulary[: len(special)] == special
        tokens = vocabulary[len(special) :] if has_special else vocabulary
        repeated = [token for token, count in collections.Counter(tokens).items() if count > 1]
        if repeated:
            raise ValueError(f"{owner}: The passed vocabulary has at least one repeated term: {repeated}")
        if MASK in tokens:
            raise ValueError(f"{owner}: the empty string is the padding token; it can only start the vocabulary")
        if self.max_tokens is not None and len(special) + len(tokens) > self.max_tokens:
            raise ValueError(
                f"{owner}: Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary "
                f"size is {len(special) + len(tokens)}; `max_tokens` is {self.max_tokens}."
            )
        self._set_tokens(tokens)
        if idf_weights is not None:
            weights = np.asarray(idf_weights, dtype=np.float64).reshape(-1)
            if len(weights) != len(vocabulary):
                raise ValueError(
                    f"{owner}: `idf_weights` must be the same length as vocabulary: {len(weights)} against "
                    f"{len(vocabulary)}"
                )
            self._set_idf(weights if has_special else np.concatenate([[weights.mean()], weights]))

    def _set_tokens(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens, len(self._special()))}

    def _set_idf(self, weights: np.ndarray) -> None:
        """weights per output index ("[UNK]" first), padded with zeros to max_tokens if asked."""
        if self.pad_to_max_tokens and self.max_tokens is not None:
            weights = np.pad(weights, (0, self.max_tokens - len(weights)))
        self.idf = weights.astype(floatx())

    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and for "tf_idf" the idf) from the strings of `data` (an array or list of
        strings, or batches of them: a generator, `steps` of them if given). Each string is a document."""
        if self.vocabulary is not None:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` argument"
            )
        batches = [data] if isinstance(data, (str, list, tuple, np.ndarray)) else data
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        n_documents = 0
        for step, batch in enumerate(batches):
            if steps is not None and step >= steps:
                break
            for row in self.tokenize(batch):
                counts.update(row)
                documents.update(set(row))
                n_documents += 1
        for special in (MASK, OOV):
            counts.pop(special, None)
        ranked = sorted(counts, key=lambda token: (counts[token], token), reverse=True)
        if self.max_tokens:
            ranked = ranked[: self.max_tokens - len(self._special())]
        self._set_tokens(ranked)
        if self.output_mode == "tf_idf":
            idf = np.log(1 + n_documents / (1 + np.array([documents[t] for t in ranked], dtype=np.float64)))
            self._set_idf(np.concatenate([[idf.astype(floatx()).mean(dtype=floatx())], idf]))

    # ------------------------------------------------------------ strings -> numbers
    def tokenize(self, texts) -> list[list[str]]:
        """Each string of `texts` (N,) or (N, 1) standardised, split and made into n-grams."""
        texts = np.asarray(texts)
        if texts.dtype.kind == "S":
            texts = np.char.decode(texts, self.encoding)
        if texts.ndim == 2 and texts.shape[1] == 1 and self.split is not None:
            texts = texts[:, 0]
        if texts.ndim == 0:
            texts = texts.reshape(1)
        if texts.ndim != 1:
            raise ValueError(
                f"TextVectorization '{self.name}': the input must hold one string per sample, shape (N,) or "
                f"(N, 1), got shape {texts.shape}"
            )
        strings = [self._standardized(str(text)) for text in texts]
        if callable(self.standardize):
            strings = [str(s) for s in self.standardize(np.array(strings))]
        rows = [self._split(text) for text in strings]
        return [self._ngrams(row) for row in rows]

    def _standardized(self, text: str) -> str:
        if self.standardize in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(ASCII_LOWER)
        if self.standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = PUNCTUATION.sub("", text)
        return text

    def _split(self, text: str) -> list[str]:
        if self.split is None:
            return [text]
        if self.split == "whitespace":
            return WHITESPACE.findall(text)
        if self.split == "character":
            return list(text)
        assert callable(self.split)  # a function of a string: its tokens
        return [str(token) for token in self.split(text)]

    def _ngrams(self, tokens: list[str]) -> list[str]:
        if self.ngrams is None:
            return tokens
        widths = range(1, self.ngrams + 1) if isinstance(self.ngrams, int) else self.ngrams
        return [" ".join(tokens[i : i + n]) for n in widths for i in range(len(tokens) - n + 1)]

    def __call__(self, x, training: bool | None = None):
        from .symbolic import is_symbolic

        if is_symbolic(x):
            raise ValueError(
                f"TextVectorization '{self.name}': minidl's models take numbers, not strings: run the layer on "
                "the strings before the model (x = vectorize(texts); model.fit(x, y)) and start the model with "
                "an integer Input"
            )
        return self.forward(x, bool(training))

    def forward(self, x, training: bool = False) -> np.ndarray:
        rows = self.tokenize(x)
        lookups = [[self.index.get(token, 1 if self.output_mode == "int" else 0) for token in row] for row in rows]
        if self.output_mode == "int":
            for row, tokens in zip(lookups, rows):  # the empty token is the padding
                row[:] = [0 if token == MASK else index for token, index in zip(tokens, row)]
            length = self.output_sequence_length or max((len(row) for row in lookups), default=0)
            out = np.zeros((len(rows), length), dtype=np.int64)
            for i, row in enumerate(lookups):
                out[i, : min(len(row), length)] = row[:length]
            unsplit_rows = self.split is None and np.ndim(x) == 1 and self.output_sequence_length is None
            return out[:, 0] if unsplit_rows else out  # as Keras: a string a sample, unsplit, gives one index
        if not self.tokens and not self.pad_to_max_tokens:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must set the "
                "layer's vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call "
                "`adapt` with some sample data."
            )
        depth = int(self.max_tokens) if self.pad_to_max_tokens and self.max_tokens else self.vocabulary_size()
        out = np.zeros((len(rows), depth), dtype=np.dtype(floatx() if self.output_mode == "tf_idf" else np.int64))
        for i, (row, tokens) in enumerate(zip(lookups, rows)):
            kept = [index for index, token in zip(row, tokens) if token != MASK]  # the padding counts nowhere
            np.add.at(out[i], kept, 1)
        if self.output_mode == "multi_hot":
            np.minimum(out, 1, out=out)
        elif self.output_mode == "tf_idf":
            assert self.idf is not None
            out *= self.idf[:depth]
        return out

    def backward(self, grad_output):
        raise RuntimeError(f"TextVectorization '{self.name}': strings have no gradient")

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size())

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["vocabulary_size"] = self.vocabulary_size()
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return super().from_config({key: value for key, value in config.items() if key != "vocabulary_size"})
