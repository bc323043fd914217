"""Index builds: `bot build` as a user runs it, the surrogate serving index, and the
real-model build time extrapolated for sizes whose real build is not measured."""

from __future__ import annotations

import re
import subprocess
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import spy as pyspy
from bench.common import (
    ASSUMED_PASSAGES_PER_S,
    REAL_EMBEDDER,
    ROOT,
    bot_command,
    bot_env,
    dir_bytes,
)
from bench.results import Build, Extrapolation, IndexSize, SizeResult
from bench.sampling import OtherCpu


def run_build(
    corpus: Path,
    index: Path,
    embedder: str,
    timeout: float,
    logfile: Path,
    spy: tuple[str, Path] | None = None,
) -> Build:
    """`bot build` as a subprocess: wall time, passages, and what it printed.

    With spy=(py-spy, raw file) the build runs under `py-spy record` (a few % slower)."""
    from bot.index import IndexUnavailable, read_manifest

    command = bot_command("build", "--corpus", str(corpus), "--index", str(index))
    if spy:
        command = pyspy.wrap(spy[0], spy[1], command)
    other = OtherCpu()
    started = time.perf_counter()
    with logfile.open("ab") as out:
        out.write(f"\n$ BOT_EMBEDDER={embedder} bot build\n".encode())
        out.flush()
        proc = subprocess.Popen(command, env=bot_env(embedder), stdout=out, stderr=out, cwd=ROOT)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            return Build(ok=False, seconds=None, error=f"timed out after {timeout:.0f} s")
    seconds = time.perf_counter() - started
    other_cores = other.cores()
    if rc != 0:
        tail = logfile.read_text(errors="replace")[-800:]
        return Build(ok=False, seconds=seconds, error=f"exit {rc}: {tail}")
    try:
        manifest = read_manifest(index)
    except IndexUnavailable as exc:
        return Build(ok=False, seconds=seconds, error=str(exc))
    said = re.findall(r"passages in ([0-9.]+) s", logfile.read_text(errors="replace"))
    build = Build(
        ok=True,
        seconds=seconds,
        reported_seconds=float(said[-1]) if said else None,
        passages=manifest.passages,
        assessments=manifest.assessments,
        passages_per_s=manifest.passages / seconds if seconds else None,
        model=manifest.model,
        other_cpu_cores=other_cores,
        profiled=bool(spy),
    )
    if spy and spy[1].exists():
        build.profile = pyspy.summarise(spy[1])
    return build


def index_size(index: Path) -> IndexSize:
    from bot.index import IndexUnavailable, current_build

    try:
        current = current_build(index)
    except IndexUnavailable:
        return IndexSize()
    return IndexSize(
        current_build_bytes=dir_bytes(current),
        index_dir_bytes=dir_bytes(index),
        files={p.name: p.stat().st_size for p in sorted(current.iterdir()) if p.is_file()},
    )


class SurrogateEmbedder:
    """Stands in for the real model when building a large serving index quickly.

    It carries the real model's name and dimension, so `bot serve` (with the real model)
    accepts the index as current and embeds every question with the real model, while the
    passage vectors are seeded random unit vectors: a flat FAISS search costs the same
    whatever the values, and answers are chosen by entities and section routing, which do
    not depend on them. Used only in temporary folders of the benchmark.
    """

    dim = 384

    def __init__(self) -> None:
        from bot.embedding import make_embedder

        self.name = make_embedder(REAL_EMBEDDER).name  # no model is loaded for the name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(zlib.crc32("\x1f".join(texts).encode()))
        vectors = rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build_surrogate(corpus: Path, index: Path) -> float:
    from bot.index import build
    from bot.pages import corpus_hash, load_corpus

    started = time.perf_counter()
    loaded = load_corpus(corpus)
    build(loaded.assessments, SurrogateEmbedder(), index, corpus_hash(corpus))
    return time.perf_counter() - started


@dataclass
class RunState:
    """What one size leaves for the next: measured real-model rates, and the last size
    with a real build (the extrapolation's reference)."""

    real_passages_per_s: float | None = None
    bulk_embed_passages_per_s: float | None = None
    reference: SizeResult | None = None


def _seconds(build: Build | None) -> float:
    if build is None or build.seconds is None:
        raise ValueError("the reference size has no timed build to extrapolate from")
    return build.seconds


def extrapolate(result: SizeResult, state: RunState) -> None:
    """Real-model build times for a size whose real build was not measured."""
    fake, refake = result.build_fake, result.rebuild_fake
    if result.real_build_ok or not (fake and fake.ok and refake and refake.ok):
        return
    passages = fake.passages or 0
    ref = state.reference
    if ref and ref.build_real and ref.build_real.passages:
        model_s = _seconds(ref.build_real) - _seconds(ref.build_fake)
        per_passage = model_s / ref.build_real.passages
        incr_model = _seconds(ref.rebuild_real) - _seconds(ref.rebuild_fake)
        full_like = incr_model > 0.5 * model_s
        basis = f"from the {ref.pages}-page real build in this run"
    else:
        rate = state.bulk_embed_passages_per_s or ASSUMED_PASSAGES_PER_S
        per_passage, full_like, incr_model = 1 / rate, True, 0.0
        basis = f"from an in-process embedding rate of {rate:.0f} passages/s"
    full = _seconds(fake) + per_passage * passages
    incr = _seconds(refake) + (per_passage * passages if full_like else incr_model)
    result.build_real_extrapolated = Extrapolation(
        seconds=full,
        passages=passages,
        passages_per_s=passages / full,
        rebuild_seconds=incr,
        rebuild_is_full=full_like,
        basis=basis + " (fake-embedder build at this size + model time per passage)",
    )
