"""The ONNX Runtime embedders (fp32 and int8) against the PyTorch one, with the real model.

The export cache lives in a temporary folder, so these tests also run the first-use export
and quantisation that a fresh machine does.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.embedding import (
    FP32_FILE,
    INT8_FILE,
    MODEL_PACKAGE,
    Embedder,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    has_vnni,
    make_embedder,
)
from bot.pages import load_corpus
from bot.settings import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
QUESTION = "What is the evidence level for ketamine in stage IV cancer?"


def _texts() -> list[str]:
    """Questions of the labelled set, every passage of the corpora, and whole pages (longer
    than the model's 256 tokens, so truncation is compared too)."""
    from bot.chunks import chunk

    texts = []
    for name in ("questions.jsonl", "heldout.jsonl"):
        lines = (FIXTURES / "eval" / name).read_text().splitlines()
        texts += [json.loads(line)["question"] for line in lines if line.strip()][::2]
    for folder in (ROOT / "corpus", FIXTURES / "corpus", FIXTURES / "eval" / "corpus"):
        for assessment in load_corpus(folder).assessments:
            passages = [p.embed_text for p in chunk(assessment)]
            texts += [*passages, "\n".join(passages)]
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _texts()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def fp32(cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(cache_dir=cache)


@pytest.fixture(scope="module")
def int8(cache: Path, fp32: OnnxEmbedder) -> OnnxEmbedder:
    fp32.encode(["export first"])
    return OnnxEmbedder(quantized=True, cache_dir=cache)


@pytest.fixture(scope="module")
def reference(real_embedder: SentenceTransformerEmbedder, texts: list[str]) -> np.ndarray:
    return real_embedder.encode(texts)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


# -- without the model -------------------------------------------------------------------


def test_names_differ_between_backends_and_precisions() -> None:
    names = {
        SentenceTransformerEmbedder().name,
        OnnxEmbedder().name,
        OnnxEmbedder(quantized=True).name,
    }
    assert len(names) == 3
    assert all(MODEL_PACKAGE in name for name in names)


def test_make_embedder_builds_onnx_kinds_without_loading(tmp_path: Path) -> None:
    fp, q = make_embedder("onnx", cache_dir=tmp_path), make_embedder("onnx-int8", threads=2)
    assert isinstance(fp, OnnxEmbedder) and isinstance(q, OnnxEmbedder)
    assert isinstance(fp, Embedder) and fp.dim == q.dim == 384
    assert not fp.quantized and q.quantized and q.threads == 2
    assert fp._session is None and q._session is None
    assert fp.encode([]).shape == (0, 384) and fp._session is None
    assert not any(tmp_path.iterdir())  # nothing exported before first use


# -- with the model ----------------------------------------------------------------------


@pytest.mark.integration
def test_fp32_matches_torch(
    fp32: OnnxEmbedder, reference: np.ndarray, texts: list[str], cache: Path
) -> None:
    vectors = fp32.encode(texts)
    assert fp32.variant == "fp32" and fp32.model_path == fp32.cache_dir / FP32_FILE
    assert fp32.model_path.is_relative_to(cache)
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _cosines(vectors, reference).min() >= 0.9999
    # One at a time (no padding) gives the same vectors as in padded batches.
    alone = np.vstack([fp32.encode([t]) for t in texts[::7]])
    assert _cosines(alone, reference[::7]).min() >= 0.9999


@pytest.mark.integration
def test_int8_stays_close_to_torch(
    int8: OnnxEmbedder, reference: np.ndarray, texts: list[str]
) -> None:
    vectors = int8.encode(texts)
    # int8 on a CPU where it fails its probe falls back to fp32, which passes this too.
    assert int8.variant in ("int8", "fp32")
    assert vectors.shape == (len(texts), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = _cosines(vectors, reference)
    assert cosines.min() >= 0.98 and cosines.mean() >= 0.99


@pytest.mark.integration
@pytest.mark.parametrize("which", ["fp32", "int8"])
def test_deterministic_and_independent_of_batch(which: str, request: Any) -> None:
    embedder: OnnxEmbedder = request.getfixturevalue(which)
    batch = ["How does it work?", QUESTION, "", "Zelnoprine " * 300]
    once, twice = embedder.encode(batch), embedder.encode(list(batch))
    np.testing.assert_array_equal(once, twice)
    alone = np.vstack([embedder.encode([t]) for t in batch])
    np.testing.assert_allclose(once, alone, atol=1e-5)
    assert np.all(np.isfinite(once))  # the empty text is [CLS] [SEP], not a zero row


@pytest.mark.integration
def test_single_question_runs_unpadded_and_long_text_truncates(fp32: OnnxEmbedder) -> None:
    fp32.encode(["load"])
    probe = OnnxEmbedder(cache_dir=fp32.cache_dir.parent.parent)
    probe.encode(["load"])
    shapes: list[tuple[int, int]] = []
    real = probe._session

    class Spy:
        def run(self, outputs: Any, inputs: dict[str, np.ndarray]) -> Any:
            shapes.append(inputs["input_ids"].shape)
            assert inputs["attention_mask"].shape == inputs["input_ids"].shape
            return real.run(outputs, inputs)

    probe._session = Spy()
    tokens = len(probe._tokenizer.encode(QUESTION).ids)
    assert 5 < tokens < 30  # [CLS] ... [SEP], nowhere near the packaged padding of 128
    probe.encode([QUESTION])
    assert shapes == [(1, tokens)]
    shapes.clear()
    probe.encode([QUESTION, "Short one?", "word " * 1000])
    assert shapes == [(3, probe.max_seq_length)] and probe.max_seq_length == 256
    shapes.clear()
    probe.encode([QUESTION, "Short one?"])
    assert shapes == [(2, tokens)]  # padded to the longest row, not to 128


@pytest.mark.integration
def test_export_cache_is_reused(fp32: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    # About the cache, not the CPU: the int8 file is made here even without VNNI.
    monkeypatch.setattr("bot.embedding.onnx_embedder.has_vnni", lambda: True)
    fp32.encode(["load"])
    int8 = OnnxEmbedder(quantized=True, cache_dir=fp32.cache_dir.parent.parent)
    int8.encode(["load"])
    assert int8.variant == "int8"
    files = sorted(fp32.cache_dir.glob("*.onnx"))
    assert [f.name for f in files] == sorted([FP32_FILE, INT8_FILE])
    before = {f: f.stat().st_mtime_ns for f in files}
    exports = OnnxEmbedder.exports
    for quantized in (False, True):
        again = OnnxEmbedder(quantized=quantized, cache_dir=fp32.cache_dir.parent.parent)
        again.encode([QUESTION])
        assert again.model_path == (int8 if quantized else fp32).model_path
    assert OnnxEmbedder.exports == exports
    assert {f: f.stat().st_mtime_ns for f in files} == before
    assert not [p for p in fp32.cache_dir.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.integration
def test_concurrent_first_use_exports_once(tmp_path: Path, fp32: OnnxEmbedder) -> None:
    exports = OnnxEmbedder.exports
    embedders = [OnnxEmbedder(cache_dir=tmp_path) for _ in range(2)]
    start = threading.Barrier(2)

    def first_use(embedder: OnnxEmbedder) -> np.ndarray:
        start.wait()
        return embedder.encode([QUESTION])

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(first_use, embedders)
    assert OnnxEmbedder.exports == exports + 1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, fp32.encode([QUESTION]), atol=1e-6)
    assert sorted(p.name for p in embedders[0].cache_dir.iterdir()) == [".lock", FP32_FILE]


@pytest.mark.integration
@pytest.mark.parametrize("which", ["fp32", "int8"])
def test_two_threads_encoding_together_agree(which: str, request: Any, texts: list[str]) -> None:
    embedder: OnnxEmbedder = request.getfixturevalue(which)
    work = [texts[i:120:4] for i in range(4)] + [[t] for t in texts[:12]]
    expected = [embedder.encode(chunk) for chunk in work]
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(embedder.encode, work))
    for want, have in zip(expected, got, strict=True):
        np.testing.assert_allclose(have, want, atol=1e-6)


@pytest.mark.integration
def test_int8_that_fails_its_probe_falls_back_to_fp32(
    fp32: OnnxEmbedder, int8: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    int8.encode(["load"])  # files in the cache already

    def broken(self: OnnxEmbedder, *args: Any) -> None:
        raise RuntimeError("probe cosine to fp32 0.5 < 0.97")

    monkeypatch.setattr(OnnxEmbedder, "_check_int8", broken)
    fallback = OnnxEmbedder(quantized=True, cache_dir=fp32.cache_dir.parent.parent)
    with caplog.at_level(logging.WARNING, logger="bot.embedding"):
        vectors = fallback.encode([QUESTION, "How does it work?"])
    assert fallback.variant == "fp32" and fallback.model_path == fp32.model_path
    assert "int8 ONNX model unusable" in caplog.text
    np.testing.assert_allclose(vectors, fp32.encode([QUESTION, "How does it work?"]), atol=1e-6)


def test_vnni_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")
    assert has_vnni(info) is True
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert has_vnni(info) is False
    info.write_text("processor\t: 0\n")
    assert has_vnni(info) is None
    assert has_vnni(tmp_path / "missing") is None


@pytest.mark.integration
def test_without_vnni_int8_is_not_made_and_fp32_is_used(
    fp32: OnnxEmbedder, monkeypatch: pytest.MonkeyPatch, caplog: Any, tmp_path: Path
) -> None:
    monkeypatch.setattr("bot.embedding.onnx_embedder.has_vnni", lambda: False)
    embedder = OnnxEmbedder(quantized=True, cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="bot.embedding"):
        vectors = embedder.encode([QUESTION])
    assert embedder.variant == "fp32" and "no VNNI" in caplog.text
    assert not list(tmp_path.rglob(INT8_FILE))
    np.testing.assert_allclose(vectors, fp32.encode([QUESTION]), atol=1e-6)


@pytest.mark.integration
def test_without_vnni_int8_is_still_made_when_asked_to_measure_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `bot triage train` sets its thresholds on the int8 vectors too, on any CPU.
    monkeypatch.setattr("bot.embedding.onnx_embedder.has_vnni", lambda: False)
    embedder = OnnxEmbedder(quantized=True, cache_dir=tmp_path, check_cpu=False)
    embedder.encode([QUESTION])
    assert embedder.variant == "int8" and list(tmp_path.rglob(INT8_FILE))
