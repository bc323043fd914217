"""A deterministic embedder for unit tests: no model is loaded."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from bot.embedding.base import normalise

_TOKEN = re.compile(r"[a-z0-9]+")


class FakeEmbedder:
    """Deterministic hashed bag of words and character trigrams.

    Similar wording gives similar vectors, which is enough for unit tests of ranking,
    thresholds and the index without loading a model.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.name = f"fake-hashing-{dim}"

    def _bucket(self, feature: str) -> int:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") % self.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                out[row, self._bucket(token)] += 1.0
                padded = f"#{token}#"
                for i in range(len(padded) - 2):
                    out[row, self._bucket(padded[i : i + 3])] += 0.3
        return normalise(out)
