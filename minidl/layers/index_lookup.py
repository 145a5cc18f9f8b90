"""IndexLookup: a vocabulary of tokens and the indices it gives them, Keras's rules; StringLookup and
IntegerLookup (and TextVectorization's lookup) are it with their own tokens."""

from __future__ import annotations

import collections
import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..backend import floatx
from .base import Layer
from .category_encoding import count_rows, encode_categories

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
DROPPED = -1  # a mask token's index outside "int" output: counted nowhere


class VocabularyLayer(Layer):
    """What the layers with a vocabulary share (the lookups, TextVectorization): they run on the data
    before a model, on arrays; a lookup has no gradient; Keras's config holds the vocabulary's size too."""

    def vocabulary_size(self) -> int:
        raise NotImplementedError

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        raise NotImplementedError

    def learned(self) -> tuple[list, np.ndarray | None]:
        """The vocabulary with its special tokens, and the idf of each of them ("tf_idf", else None)."""
        raise NotImplementedError

    takes_strings = True  # its tokens are strings (minidl's Inputs hold numbers: it runs before the model)

    def __call__(self, x, training: bool | None = None):
        from .symbolic import is_symbolic

        if is_symbolic(x) and not self.takes_strings:
            return super().__call__(x, training)
        if is_symbolic(x):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': minidl's models take numbers: run the layer on the data "
                "before the model (x = layer(values); model.fit(x, y)) and start the model with an Input of its "
                "output"
            )
        return self.forward(x, bool(training))

    def backward(self, grad_output):
        raise RuntimeError(f"{type(self).__name__} '{self.name}': a lookup has no gradient")

    def check_input_shape(self, shape) -> None:
        pass  # any shape: a lookup maps each value

    def get_config(self) -> dict[str, Any]:
        """Keras's config; an adapted vocabulary (and idf) written in it as if given, so that a file or a
        clone keeps it (Keras writes it to the archive's assets instead, which minidl does not read)."""
        config = super().get_config()
        if config.get("vocabulary") is None and self.get_vocabulary(include_special_tokens=False):
            vocabulary, idf = self.learned()
            config["vocabulary"], config["idf_weights"] = vocabulary, None if idf is None else idf.tolist()
        config["vocabulary_size"] = self.vocabulary_size()
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return super().from_config({key: value for key, value in config.items() if key != "vocabulary_size"})


class IndexLookup(VocabularyLayer):
    """Tokens to indices over a vocabulary learned by `adapt` or given, as Keras's IndexLookup.

    Indices: the mask token's 0 (output_mode "int" only, if there is a mask token), then num_oov_indices
    indices for tokens not in the vocabulary (its "[UNK]" or -1), then the vocabulary's tokens. adapt
    ranks the tokens by count, most frequent first, ties by the tokens in reverse order, and keeps at most
    max_tokens indices in all. Outputs for x of shape (N,) or (N, k):
        "int":                      x's shape, int64 indices (invert=True: indices back to tokens)
        "one_hot":                  (N, V) for (N,) or (N, 1), (N, k, V) else
        "multi_hot"/"count":        (N, V) for (N, k): whether / how often each index occurs in a row
                                    (a 1-D x is one sample: (V,)); int64
        "tf_idf":                   the counts times idf = log(1 + documents / (1 + documents with the
                                    token)), the OOV indices' the mean idf of the tokens; floats
    V = the vocabulary's size with the special indices, or max_tokens with pad_to_max_tokens.
    Not trainable, no gradient: a lookup is integer data (a model's input).
    """

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token=None,
        oov_token=None,
        vocabulary: Sequence | None = None,
        idf_weights=None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        sparse: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"{owner}: output_mode must be one of {OUTPUT_MODES}, got {output_mode!r}")
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{owner}: If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{owner}: If pad_to_max_tokens is True, must set `max_tokens`")
        if num_oov_indices < 0:
            raise ValueError(f"{owner}: `num_oov_indices` must be >= 0, got {num_oov_indices}")
        if num_oov_indices > 1 and self.takes_strings:
            raise ValueError(f"{owner}: several OOV indices hash strings with TensorFlow's FarmHash: not in minidl")
        if invert and output_mode != "int":
            raise ValueError(f"{owner}: `output_mode` must be `'int'` when `invert` is true")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{owner}: `idf_weights` should only be set if `output_mode` is `'tf_idf'`")
        if sparse:
            raise ValueError(f"{owner}: minidl's outputs are dense NumPy arrays: sparse must be False")
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = mask_token, oov_token
        self.vocabulary, self.idf_weights, self.invert = vocabulary, idf_weights, bool(invert)
        self.output_mode, self.pad_to_max_tokens, self.sparse = output_mode, bool(pad_to_max_tokens), False
        self.trainable = False
        self.tokens: list = []  # the vocabulary without the special tokens
        self.index: dict = {}
        self.idf: np.ndarray | None = None  # per output index ("tf_idf")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------ the vocabulary
    def _oov_start(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start(self) -> int:
        return self._oov_start() + self.num_oov_indices

    def _special(self) -> list:
        return [self.mask_token] * self._oov_start() + [self.oov_token] * self.num_oov_indices

    def vocabulary_size(self) -> int:
        return self._token_start() + len(self.tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return (self._special() if include_special_tokens else []) + list(self.tokens)

    def learned(self) -> tuple[list, np.ndarray | None]:
        return self.get_vocabulary(), None if self.idf is None else self.idf[: self.vocabulary_size()]

    def set_vocabulary(self, vocabulary: Iterable, idf_weights=None) -> None:
        """The vocabulary (with or without the special tokens at its start), and for "tf_idf" each token's
        idf (the special tokens' then the mean of the tokens', unless given)."""
        owner = f"{type(self).__name__} '{self.name}'"
        vocabulary = [self.token_of(token) for token in vocabulary]
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
        if self.mask_token is not None and self.mask_token in tokens:
            raise ValueError(f"{owner}: the mask token {self.mask_token!r} can only start the vocabulary")
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
            front = np.full(0 if has_special else self._token_start(), weights.mean())
            self._set_idf(np.concatenate([front, weights]))

    def token_of(self, value) -> Any:
        """A vocabulary entry as this lookup keeps its tokens (StringLookup: str, IntegerLookup: int)."""
        return value

    def _set_tokens(self, tokens: list) -> None:
        self.tokens = tokens
        self.index = {token: i for i, token in enumerate(tokens, self._token_start())}

    def _set_idf(self, weights: np.ndarray) -> None:
        """weights per output index, padded with zeros to max_tokens if asked."""
        if self.pad_to_max_tokens and self.max_tokens is not None:
            weights = np.pad(weights, (0, self.max_tokens - len(weights)))
        self.idf = weights.astype(floatx())

    def adapt_rows(self, rows: Iterable[Sequence]) -> None:
        """Learn the vocabulary (and the idf) from documents, each a sequence of tokens."""
        if self.vocabulary is not None:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via `vocabulary` argument"
            )
        counts: collections.Counter = collections.Counter()
        documents: collections.Counter = collections.Counter()
        n_documents = 0
        for row in rows:
            counts.update(row)
            documents.update(set(row))
            n_documents += 1
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        ranked = sorted(counts, key=lambda token: (counts[token], token), reverse=True)
        if self.max_tokens:
            ranked = ranked[: self.max_tokens - self._token_start()]
        self._set_tokens(ranked)
        if self.output_mode == "tf_idf":
            idf = np.log(1 + n_documents / (1 + np.array([documents[t] for t in ranked], dtype=np.float64)))
            mean = idf.astype(floatx()).mean(dtype=floatx())
            self._set_idf(np.concatenate([np.full(self._token_start(), mean), idf]))

    def adapt(self, data, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from `data`: an array (each value a token; each row of a 2-D one a document
        for the idf), or batches of them (a generator; `steps` of them if given)."""
        batches = [data] if isinstance(data, (list, tuple, np.ndarray)) else data

        def rows():
            for step, batch in enumerate(batches):
                if steps is not None and step >= steps:
                    break
                batch = self.tokens_in(batch)
                yield from batch.reshape(-1, 1) if batch.ndim <= 1 else batch.reshape(len(batch), -1)

        self.adapt_rows([self.token_of(token) for token in row] for row in rows())

    def tokens_in(self, x) -> np.ndarray:
        """x as an array of this lookup's tokens."""
        return np.asarray(x)

    # ------------------------------------------------------------ tokens -> numbers
    def indices(self, tokens: np.ndarray) -> np.ndarray:
        """Each token's index (int64, tokens' shape); a mask token's is 0 for "int", DROPPED else."""
        owner = f"{type(self).__name__} '{self.name}'"
        flat = [self.token_of(token) for token in tokens.reshape(-1)]
        masked = np.array([self.mask_token is not None and token == self.mask_token for token in flat], dtype=bool)
        masked = masked.reshape(tokens.shape)
        found = np.array([self.index.get(token, -2) for token in flat], dtype=np.int64).reshape(tokens.shape)
        unknown = (found == -2) & ~masked
        if unknown.any():
            if self.num_oov_indices == 0:
                raise ValueError(
                    f"{owner}: When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                    f"{sorted({str(t) for t, u in zip(flat, unknown.reshape(-1)) if u})[:10]}"
                )
            hashed = np.mod(tokens.astype(np.int64), self.num_oov_indices) if self.num_oov_indices > 1 else 0
            found = np.where(unknown, self._oov_start() + hashed, found)
        return np.where(masked, 0 if self.output_mode == "int" else DROPPED, found)

    def output_dtype(self) -> np.dtype:
        """int64 indices, one-hot, multi-hot and counts; floats for TF-IDF (Keras's)."""
        return np.dtype(floatx() if self.output_mode == "tf_idf" else np.int64)

    def encode_rows(self, indices: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
        """(n_rows, width) multi-hot, counts or TF-IDF of the flat `indices`, each in row `rows[i]`
        (TextVectorization's rows of tokens, of any lengths); DROPPED ones left out."""
        out = count_rows(indices, rows, n_rows, self.depth(), self.output_dtype())
        if self.output_mode == "multi_hot":
            np.minimum(out, 1, out=out)
        return self.idf_weighted(out)

    def idf_weighted(self, counts: np.ndarray) -> np.ndarray:
        """TF-IDF: the counts times each index's idf; other modes' output as it is."""
        if self.output_mode != "tf_idf":
            return counts
        assert self.idf is not None
        return counts * self.idf[: counts.shape[-1]]

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if self.output_mode == "one_hot" and (len(input_shape) == 1 or input_shape[-1] != 1):
            return (*input_shape, self.width())
        return (*input_shape[:-1], self.width())

    def width(self) -> int:
        """The width of a one-hot, multi-hot, count or TF-IDF output: max_tokens with pad_to_max_tokens,
        else the vocabulary's size."""
        return int(self.max_tokens) if self.pad_to_max_tokens and self.max_tokens else self.vocabulary_size()

    def depth(self) -> int:
        """width(), once there is a vocabulary to count in (or a clear error)."""
        if not (self.pad_to_max_tokens and self.max_tokens) and not self.tokens:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you must set the "
                "layer's vocabulary before calling it. Either pass a `vocabulary` argument to the layer, or call "
                "`adapt` with some sample data."
            )
        return self.width()

    def forward(self, x, training: bool = False) -> np.ndarray:
        tokens = self.tokens_in(x)
        if self.invert:
            vocabulary = self.get_vocabulary()
            flat = [int(i) for i in np.asarray(x).reshape(-1)]
            looked_up = [vocabulary[i] if 0 <= i < len(vocabulary) else self.oov_token for i in flat]
            return np.array(looked_up, dtype=object if self.takes_strings else np.int64).reshape(np.shape(x))
        indices = self.indices(tokens)
        if self.output_mode == "int":
            return indices
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        return self.idf_weighted(encode_categories(indices, mode, self.depth(), self.output_dtype()))


def lookup_arguments(values: dict[str, Any]) -> dict[str, Any]:
    """IndexLookup's arguments among a subclass constructor's `locals()` (its own **kwargs included)."""
    names = [name for name in inspect.signature(IndexLookup.__init__).parameters if name not in ("self", "kwargs")]
    return {**{name: values[name] for name in names}, **values["kwargs"]}


class StringLookup(IndexLookup):
    """Keras's StringLookup: strings to indices (see IndexLookup); OOV token "[UNK]", no mask by default."""

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: str | None = None,
        oov_token: str = "[UNK]",
        vocabulary: Sequence[str] | None = None,
        idf_weights=None,
        invert: bool = False,
        output_mode: str = "int",
        pad_to_max_tokens: bool = False,
        sparse: bool = False,
        encoding: str = "utf-8",
        **kwargs,
    ):
        self.encoding = encoding
        super().__init__(**lookup_arguments(locals()))

    def token_of(self, value) -> str:
        return value.decode(self.encoding) if isinstance(value, bytes) else str(value)

    def tokens_in(self, x) -> np.ndarray:
        x = np.asarray(x)
        return np.char.decode(x, self.encoding) if x.dtype.kind == "S" else x


class IntegerLookup(IndexLookup):
    """Keras's IntegerLookup: integers to indices (see IndexLookup); OOV token -1, no mask by default;
    several OOV indices take an unknown value v to OOV index v mod num_oov_indices, as Keras. A layer
    of a model too, after an integer Input."""

    takes_strings = False

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: int | None = None,
        oov_token: int = -1,
        vocabulary: Sequence[int] | None = None,
        vocabulary_dtype: str = "int64",
        idf_weights=None,
        invert: bool = False,
        output_mode: str = "int",
        sparse: bool = False,
        pad_to_max_tokens: bool = False,
        **kwargs,
    ):
        if vocabulary_dtype != "int64":
            raise ValueError(f"Only `vocabulary_dtype='int64'` is supported, got {vocabulary_dtype!r}")
        self.vocabulary_dtype = vocabulary_dtype
        super().__init__(**lookup_arguments(locals()))

    def token_of(self, value) -> int:
        return int(value)

    def tokens_in(self, x) -> np.ndarray:
        return np.asarray(x).astype(np.int64)
