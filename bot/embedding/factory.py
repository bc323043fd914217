"""The embedder for a setting value (`BOT_EMBEDDER`)."""

from __future__ import annotations

from pathlib import Path

from bot.embedding.base import Embedder
from bot.embedding.fake import FakeEmbedder
from bot.embedding.minilm import SentenceTransformerEmbedder
from bot.embedding.onnx_embedder import OnnxEmbedder

KINDS = ("minilm", "onnx", "onnx-int8", "fake")


def make_embedder(
    kind: str,
    progress: bool = False,
    threads: int | None = None,
    cache_dir: Path | None = None,
) -> Embedder:
    """The embedder for a setting value; `threads` and `cache_dir` concern the ONNX kinds
    only (threads: ONNX Runtime intra-op threads, 1 for serving latency, more for bulk)."""
    if kind == "minilm":
        return SentenceTransformerEmbedder(progress=progress)
    if kind in ("onnx", "onnx-int8"):
        quantized = kind == "onnx-int8"
        return OnnxEmbedder(quantized=quantized, cache_dir=cache_dir, threads=threads or 1)
    if kind == "fake":
        return FakeEmbedder()
    raise ValueError(f"unknown embedder {kind!r}: use one of {', '.join(KINDS)}")
