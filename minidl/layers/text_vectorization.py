"""TextVectorization: strings to token indices, multi-hot or count vectors or TF-IDF weights (Keras's layer,
run on NumPy string arrays before a model: minidl's models take numbers)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .index_lookup import IndexLookup, VocabularyLayer

PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')  # TensorFlow's, which Keras strips
WHITESPACE = re.compile(r"[^ \t\n\v\f\r]+")  # a token: a run of anything but ASCII white space, as tf.strings.split
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # tf.strings.lower's
OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
MASK, OOV = "", "[UNK]"


class TextVectorization(VocabularyLayer):
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
        # the vocabulary and its indices: Keras's StringLookup with the empty string as the padding
        self.lookup = IndexLookup(
            max_tokens, 1, MASK, OOV, vocabulary, idf_weights, False, output_mode, pad_to_max_tokens, name=self.name
        )

    def vocabulary_size(self) -> int:
        return self.lookup.vocabulary_size()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        return self.lookup.get_vocabulary(include_special_tokens)

    def learned(self) -> tuple[list, np.ndarray | None]:
        return self.lookup.learned()

    def set_vocabulary(self, vocabulary: Iterable[str], idf_weights=None) -> None:
        self.lookup.set_vocabulary([str(token) for token in vocabulary], idf_weights)

    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and for "tf_idf" the idf) from the strings of `data` (an array or list of
        strings, or batches of them: a generator, `steps` of them if given). Each string is a document."""
        batches = [data] if isinstance(data, (str, list, tuple, np.ndarray)) else data
        self.lookup.adapt_rows(
            row for step, batch in enumerate(batches) if steps is None or step < steps for row in self.tokenize(batch)
        )

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

    def forward(self, x, training: bool = False) -> np.ndarray:
        token_rows = self.tokenize(x)
        lengths = np.array([len(row) for row in token_rows], dtype=np.int64)
        rows = np.repeat(np.arange(len(token_rows)), lengths)  # each token's row
        indices = self.lookup.indices(np.array([token for row in token_rows for token in row], dtype=object))
        if self.output_mode != "int":
            return self.lookup.encode_rows(indices, rows, len(token_rows))
        length = self.output_sequence_length or int(lengths.max(initial=0))
        places = np.arange(len(indices)) - np.repeat(np.cumsum(lengths) - lengths, lengths)  # each token's place
        kept = places < length  # rows cut to the length
        out = np.zeros((len(token_rows), length), dtype=np.int64)  # 0: the padding
        out[rows[kept], places[kept]] = indices[kept]
        unsplit_rows = self.split is None and np.ndim(x) == 1 and self.output_sequence_length is None
        return out[:, 0] if unsplit_rows else out  # as Keras: a string a sample, unsplit, gives one index

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.lookup.width())
