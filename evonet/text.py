"""The target text as a prediction task: vocabulary, index arrays and input encodings.

`onehot` feeds each character as a one-hot vector (the network reads a column of
its input weights); `binary` feeds its ceil(log2 V)-bit code, the compact
encoding that is known to evolve worse, kept so users can compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ENCODINGS = ("onehot", "binary")


@dataclass(frozen=True)
class Task:
    """A target text with its vocabulary and index arrays.

    Attributes:
        text: the target text.
        vocab: the sorted distinct characters of the text.
        encoding: `onehot` or `binary` input encoding.
    """

    text: str
    encoding: str = "onehot"
    vocab: str = field(init=False)
    indices: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.text) < 2:
            raise ValueError(
                "the target text needs at least 2 characters (there is nothing to predict in "
                f"{len(self.text)})"
            )
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}; choose one of {ENCODINGS}")
        vocab = "".join(sorted(set(self.text)))
        lookup = {ch: i for i, ch in enumerate(vocab)}
        object.__setattr__(self, "vocab", vocab)
        indices = np.fromiter((lookup[ch] for ch in self.text), dtype=np.int64)
        indices.setflags(write=False)
        object.__setattr__(self, "indices", indices)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def input_size(self) -> int:
        return input_size(self.vocab_size, self.encoding)

    @property
    def inputs(self) -> np.ndarray:
        """Indices of the characters fed in under teacher forcing (all but the last)."""
        return self.indices[:-1]

    @property
    def targets(self) -> np.ndarray:
        """Indices of the characters to predict (all but the first)."""
        return self.indices[1:]

    @property
    def n_predictions(self) -> int:
        return len(self.text) - 1

    def decode(self, indices) -> str:
        return "".join(self.vocab[i] for i in indices)

    def encode(self, text: str) -> np.ndarray:
        lookup = {ch: i for i, ch in enumerate(self.vocab)}
        missing = sorted(set(text) - set(lookup))
        if missing:
            raise ValueError(f"characters not in the vocabulary of this run: {''.join(missing)!r}")
        return np.array([lookup[ch] for ch in text], dtype=np.int64)


def input_size(vocab_size: int, encoding: str) -> int:
    """Width of one input vector for a vocabulary under an encoding."""
    if encoding == "onehot":
        return vocab_size
    return max(1, math.ceil(math.log2(vocab_size)))


def binary_codes(vocab_size: int) -> np.ndarray:
    """`(V, B)` float32 matrix: row i holds the bits of i, least significant first."""
    bits = input_size(vocab_size, "binary")
    codes = (np.arange(vocab_size)[:, None] >> np.arange(bits)[None, :]) & 1
    return codes.astype(np.float32)
