"""The ONNX files OnnxEmbedder runs: the transformer exported from the installed package
with torch, its int8 copy, and the per-machine cache folder they are written to (each file
written atomically, so a reader never sees half of one)."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ONNX_FORMAT = 1  # bump when the export or quantisation recipe changes: a new cache folder
ONNX_OPSET = 17
FP32_FILE = "model-fp32.onnx"
INT8_FILE = "model-int8.onnx"
REFERENCE_FILE = "probe-fp32.npy"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def default_onnx_cache() -> Path:
    """`$XDG_CACHE_HOME/evidence-bot/onnx` (else `~/.cache/...`): outside the checkout, so
    never committed, and shared by every checkout, index folder and test run on the machine."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "evidence-bot" / "onnx"


def writable_folder(folder: Path) -> Path:
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


def export_fp32(model_dir: Path, target: Path) -> None:
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
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")}
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        out = Path(tmp) / target.name
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
            torch.onnx.export(
                Encoder(model),
                (ids, (ids != 0).long(), torch.zeros_like(ids)),
                str(out),
                input_names=list(INPUTS),
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


def quantize(source: Path, target: Path) -> None:
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


def save_atomic(array: np.ndarray, target: Path) -> None:
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".tmp-", delete=False) as handle:
        np.save(handle, array)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, target)
