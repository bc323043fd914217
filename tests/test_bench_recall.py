"""bench/recall.py: IVF recall against exact search, on seeded random unit vectors."""

from __future__ import annotations

import math

import faiss
import numpy as np
import pytest

import bot.index.vectors
from bench.recall import ivf_recall, render
from bot.index import NPROBE, approximate_index, vector_index

DIM = 32
N = 2_000


def unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return unit(N, 1)


@pytest.fixture(scope="module")
def queries() -> np.ndarray:
    return unit(50, 2)


def test_approximate_index_is_the_ivf_vector_index_builds(
    vectors: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    ivf = approximate_index(vectors, DIM)
    assert isinstance(ivf, faiss.IndexIVFFlat)
    assert ivf.nlist == int(4 * math.sqrt(N)) and ivf.nprobe == NPROBE and ivf.ntotal == N
    assert isinstance(vector_index(vectors, DIM), faiss.IndexFlatIP)  # below APPROX_ABOVE
    monkeypatch.setattr(bot.index.vectors, "APPROX_ABOVE", N - 1)
    above = vector_index(vectors, DIM)
    assert isinstance(above, faiss.IndexIVFFlat) and above.nlist == ivf.nlist
    np.testing.assert_array_equal(above.search(vectors[:5], 5)[1], ivf.search(vectors[:5], 5)[1])


def test_recall_is_a_fraction_and_reports_the_index(
    vectors: np.ndarray, queries: np.ndarray
) -> None:
    result = ivf_recall(vectors, queries, k=5, nprobe=2)
    assert 0.0 <= result["recall_at_k"] <= result["recall_at_k_ties"] <= 1.0
    assert result["lists"] == int(4 * math.sqrt(N)) and result["nprobe"] == 2
    assert result["vectors"] == N and result["queries"] == len(queries) and result["k"] == 5
    assert result["flat_search_ms_p50"] > 0 and result["ivf_search_ms_p50"] > 0
    smallest = result["smallest_nprobe_for_target"]
    assert smallest is not None and 1 <= smallest <= result["lists"]
    assert ivf_recall(vectors, queries, nprobe=smallest)["recall_at_k"] >= 0.98
    if smallest > 1:
        assert ivf_recall(vectors, queries, nprobe=smallest - 1)["recall_at_k"] < 0.98
    assert "IVF recall@5 against flat" in render(result)


def test_default_nprobe_is_production_and_all_lists_is_exact(
    vectors: np.ndarray, queries: np.ndarray
) -> None:
    assert ivf_recall(vectors, queries)["nprobe"] == NPROBE
    exhaustive = ivf_recall(vectors, queries, nprobe=10_000)
    assert exhaustive["nprobe"] == exhaustive["lists"]
    assert exhaustive["recall_at_k"] == 1.0 and exhaustive["recall_at_k_ties"] == 1.0
