"""Text embedders behind one Protocol: the packaged MiniLM model (through PyTorch or through
ONNX Runtime, fp32 or int8), and a fake for tests. One concept per module, the public names
re-exported here.

All return float32 rows of unit length, so inner product is cosine similarity.

base           the Embedder protocol, unit-length rows, the model package, running offline
fake           FakeEmbedder: hashed words and trigrams, for unit tests
minilm         SentenceTransformerEmbedder: the model on PyTorch
onnx_export    the ONNX files: exported with torch, quantised to int8, cached per machine
onnx_embedder  OnnxEmbedder: the exported model run by ONNX Runtime (int8 only where it is
               as exact: VNNI and a probe against fp32)
factory        make_embedder(kind) for BOT_EMBEDDER
"""

from bot.embedding.base import MODEL_PACKAGE, Embedder
from bot.embedding.factory import KINDS, make_embedder
from bot.embedding.fake import FakeEmbedder
from bot.embedding.minilm import SentenceTransformerEmbedder
from bot.embedding.onnx_embedder import PROBE_MIN_COSINE, PROBE_TEXTS, OnnxEmbedder, has_vnni
from bot.embedding.onnx_export import (
    FP32_FILE,
    INT8_FILE,
    ONNX_FORMAT,
    ONNX_OPSET,
    REFERENCE_FILE,
    default_onnx_cache,
)

__all__ = [
    "FP32_FILE",
    "INT8_FILE",
    "KINDS",
    "MODEL_PACKAGE",
    "ONNX_FORMAT",
    "ONNX_OPSET",
    "PROBE_MIN_COSINE",
    "PROBE_TEXTS",
    "REFERENCE_FILE",
    "Embedder",
    "FakeEmbedder",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "default_onnx_cache",
    "has_vnni",
    "make_embedder",
]
