"""Embedders: the deterministic fake, the factory, and the packaged MiniLM model."""

from __future__ import annotations

import os
import socket
from importlib import metadata

import numpy as np
import pytest

from bot.embedding import (
    MODEL_PACKAGE,
    Embedder,
    FakeEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
)

TEXTS = [
    "Zelnoprine evidence level for Stage IV Testcase Syndrome",
    "How does Quorvastin work in Chronic Fakeitis?",
    "",
    "Brimadol (Low-Dose): mechanism of action",
]
PARAPHRASE = ("How does ketamine work?", "What is the mechanism of action of ketamine?")
UNRELATED = "The weather in Paris is sunny today."


def _cosine(vectors: np.ndarray, i: int, j: int) -> float:
    return float(vectors[i] @ vectors[j])


def test_fake_embedder_is_deterministic_across_instances() -> None:
    first = FakeEmbedder().encode(TEXTS)
    second = FakeEmbedder().encode(TEXTS)
    np.testing.assert_array_equal(first, second)
    # Encoding one text alone gives the same row as encoding it in a batch.
    np.testing.assert_array_equal(FakeEmbedder().encode([TEXTS[1]])[0], first[1])


@pytest.mark.parametrize("dim", [256, 64])
def test_fake_embedder_returns_unit_norm_float32_rows(dim: int) -> None:
    embedder = FakeEmbedder(dim=dim)
    vectors = embedder.encode(TEXTS)
    assert embedder.dim == dim
    assert vectors.shape == (len(TEXTS), dim)
    assert vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    norms = np.linalg.norm(vectors, axis=1)
    # A text with no tokens has nothing to normalise: a zero row, never NaN.
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(norms[[0, 1, 3]], 1.0, atol=1e-5)
    assert norms[2] == 0.0


@pytest.mark.parametrize("empty", [[], ()])
def test_fake_embedder_empty_input_gives_zero_rows(empty: list[str] | tuple[str, ...]) -> None:
    vectors = FakeEmbedder(dim=32).encode(empty)
    assert vectors.shape == (0, 32)
    assert vectors.dtype == np.float32


def test_fake_embedder_scores_similar_texts_higher_than_unrelated() -> None:
    vectors = FakeEmbedder().encode(
        [
            "What is the evidence level of Zelnoprine for Testcase Syndrome?",
            "Zelnoprine evidence level in Stage IV Testcase Syndrome",
            "Opening hours of the municipal swimming pool",
        ]
    )
    assert _cosine(vectors, 0, 1) > _cosine(vectors, 0, 2) + 0.2
    # Case and punctuation do not change the vector.
    a, b = FakeEmbedder().encode(["Zelnoprine, EVIDENCE level!", "zelnoprine evidence level"])
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_fake_embedder_name_depends_on_dim() -> None:
    assert FakeEmbedder(dim=64).name != FakeEmbedder(dim=128).name


def test_make_embedder_builds_each_kind() -> None:
    fake = make_embedder("fake")
    assert isinstance(fake, FakeEmbedder)
    assert isinstance(fake, Embedder)
    minilm = make_embedder("minilm", progress=True)
    assert isinstance(minilm, SentenceTransformerEmbedder)
    assert minilm.progress is True
    assert minilm.dim == 384


@pytest.mark.parametrize("kind", ["", "MiniLM", "openai", "fake "])
def test_make_embedder_rejects_unknown_kind(kind: str) -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        make_embedder(kind)


def test_sentence_transformer_embedder_satisfies_protocol_without_loading() -> None:
    embedder = SentenceTransformerEmbedder()
    assert isinstance(embedder, Embedder)
    assert embedder._model is None  # constructing does not load the model
    assert embedder.encode([]).shape == (0, 384)
    assert embedder._model is None  # nor does encoding nothing


def test_sentence_transformer_name_mentions_package_version() -> None:
    name = SentenceTransformerEmbedder().name
    assert MODEL_PACKAGE in name
    assert metadata.version(MODEL_PACKAGE) in name


@pytest.mark.integration
def test_real_embedder_dims_and_unit_norm(real_embedder: SentenceTransformerEmbedder) -> None:
    vectors = real_embedder.encode([*PARAPHRASE, UNRELATED])
    assert real_embedder.dim == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert "HF_HUB_OFFLINE" in os.environ


@pytest.mark.integration
def test_real_embedder_paraphrase_beats_unrelated(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    vectors = real_embedder.encode([*PARAPHRASE, UNRELATED])
    paraphrase = _cosine(vectors, 0, 1)
    assert paraphrase > 0.6
    assert paraphrase > _cosine(vectors, 0, 2) + 0.3
    assert paraphrase > _cosine(vectors, 1, 2) + 0.3


@pytest.mark.integration
def test_real_embedder_is_deterministic(real_embedder: SentenceTransformerEmbedder) -> None:
    once = real_embedder.encode(PARAPHRASE)
    twice = real_embedder.encode(list(PARAPHRASE))
    np.testing.assert_allclose(once, twice, atol=1e-5)


@pytest.mark.integration
def test_real_embedder_loads_with_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh instance loads from the installed package: any connection attempt fails."""

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    embedder = SentenceTransformerEmbedder()
    vectors = embedder.encode(["Offline loading check"])
    assert vectors.shape == (1, 384)
    assert "HF_HUB_OFFLINE" in os.environ
    assert "TRANSFORMERS_OFFLINE" in os.environ
    assert embedder.name == SentenceTransformerEmbedder().name
