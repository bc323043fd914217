"""The in-process floor (one query embedding + search scoped to the question's page) and
where the rest of a reply goes, measured in the benchmark's own process."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import synth
from bench.common import REAL_EMBEDDER, RunProfile, median, pct
from bench.results import InProcess
from bench.sampling import OtherCpu


def timed_each(fn: Callable[[Any], object], items: Sequence[Any]) -> list[float]:
    """Milliseconds of fn(item), per item."""
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1000)
    return times


class Probe:
    """Times the floor for one question (embed ms, search ms), so the sequential HTTP
    client can interleave floor samples with its requests: both then see the same
    machine, however busy it is."""

    def __init__(self, index: Any, embedder: Any, by_source: dict[str, Any]) -> None:
        self.index, self.embedder, self.by_source = index, embedder, by_source

    def __call__(self, q: synth.Question) -> tuple[float, float] | None:
        if q.page not in self.by_source:
            return None
        t = time.perf_counter()
        vector = self.embedder.encode([q.text])[0]
        t1 = time.perf_counter()
        self.index.search(vector, 5, [self.by_source[q.page].id])
        return (t1 - t) * 1000, (time.perf_counter() - t1) * 1000


def _floor(
    out: InProcess,
    index: Any,
    embedder: Any,
    covered: list[synth.Question],
    probe: Probe,
    runs: int,
) -> None:
    """Embedding, scoped search and whole-index search (default and 1 OpenMP thread)."""
    import faiss

    embed_ms, scoped_ms, flat_ms = [], [], []
    for q in (covered * (runs // max(1, len(covered)) + 1))[:runs]:
        t = time.perf_counter()
        vector = embedder.encode([q.text])[0]
        t1 = time.perf_counter()
        index.search(vector, 5, [probe.by_source[q.page].id])
        t2 = time.perf_counter()
        index.search(vector, 5)
        t3 = time.perf_counter()
        embed_ms.append((t1 - t) * 1000)
        scoped_ms.append((t2 - t1) * 1000)
        flat_ms.append((t3 - t2) * 1000)
    vector = embedder.encode([covered[0].text])[0]
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    flat_1t = timed_each(lambda _: index.search(vector, 5), range(runs))
    faiss.omp_set_num_threads(threads)
    floor = [e + s for e, s in zip(embed_ms, scoped_ms, strict=True)]
    out.embed_ms_p50 = median(embed_ms)
    out.scoped_search_ms_p50 = median(scoped_ms)
    out.flat_search_ms_p50 = median(flat_ms)
    out.flat_search_1thread_ms_p50 = median(flat_1t)
    out.faiss_threads = threads
    out.floor_ms_p50 = median(floor)
    out.floor_runs = len(floor)


def _audit_records(
    out: InProcess, index: Any, sample: list[synth.Question], replies: list, tmp: Path
) -> None:
    """One audit record per reply, on a SQLite file."""
    from bot.audit import AuditLog

    audit = AuditLog.open(f"sqlite:///{tmp / 'inprocess-audit.sqlite3'}")
    record_ms = []
    for q, reply in zip(sample, replies, strict=True):
        t = time.perf_counter()
        audit.record(
            reply,
            q.text,
            channel="api",
            origin=None,
            index_digest=index.manifest.digest,
            model=index.manifest.model,
        )
        record_ms.append((time.perf_counter() - t) * 1000)
    audit.engine.dispose()
    out.audit_record_ms_p50 = median(record_ms)
    out.audit_record_ms_p99 = pct(record_ms, 99)


def _breakdown(
    out: InProcess,
    assistant: Any,
    index: Any,
    sample: list[synth.Question],
    covered: list[synth.Question],
    probe: Probe,
    tmp: Path,
) -> None:
    """Entities, candidate pages, one page's BM25, a whole reply, its audit record."""
    t = time.perf_counter()
    _ = index.lexical  # loaded with the index (format 2): stays ~0 unless built lazily
    out.bm25_build_s = time.perf_counter() - t
    lexicon, retriever = assistant.lexicon, assistant.retriever
    analyse = timed_each(lambda q: lexicon.analyse(q.text), sample)
    entities = [lexicon.resolve(q.text) for q in sample]
    candidates = timed_each(lambda e: retriever.candidates(e), entities)
    lexical = timed_each(
        lambda q: index.lexical_search(q.text, 10_000, [probe.by_source[q.page].id]), covered
    )
    replies = []
    reply_ms = []
    for q in sample:
        t = time.perf_counter()
        replies.append(assistant.reply(q.text))
        reply_ms.append((time.perf_counter() - t) * 1000)
    out.entities_ms_p50 = median(analyse)
    out.candidates_ms_p50 = median(candidates)
    out.bm25_scoped_ms_p50 = median(lexical)
    out.reply_ms_p50 = median(reply_ms)
    out.reply_ms_p99 = pct(reply_ms, 99)
    out.reply_statuses = dict(Counter(r.status.value for r in replies))
    _audit_records(out, index, sample, replies, tmp)


def measure_in_process(
    corpus: Path,
    index_dir: Path,
    embedder_kind: str,
    asked: Sequence[synth.Question],
    profile: RunProfile,
    tmp: Path,
) -> tuple[InProcess, Probe]:
    """The floor and the breakdown, and a probe of the floor for the sequential client."""
    from bot.embedding import make_embedder
    from bot.index import load
    from bot.settings import Settings
    from bot.usecases import open_assistant

    out = InProcess()
    other = OtherCpu()
    started = time.perf_counter()
    index = load(index_dir)
    out.index_load_s = time.perf_counter() - started
    embedder = make_embedder(embedder_kind)
    started = time.perf_counter()
    embedder.encode(["warm up"])
    out.model_load_s = time.perf_counter() - started
    probe = Probe(index, embedder, {a.source: a for a in index.assessments.values()})
    covered = [q for q in asked if q.page in probe.by_source]
    _floor(out, index, embedder, covered, probe, profile.floor_runs)
    # Bulk embedding rate on this corpus's passages, as `bot build` does it.
    if embedder_kind == REAL_EMBEDDER:
        texts = [p.embed_text for p in index.passages[: profile.embed_batch]]
        t = time.perf_counter()
        embedder.encode(texts)
        out.bulk_embed_passages_per_s = len(texts) / (time.perf_counter() - t)
    settings = Settings(corpus=corpus, index=index_dir, embedder=embedder_kind)
    t = time.perf_counter()
    assistant = open_assistant(settings, index, embedder, private=True)
    out.assistant_create_s = time.perf_counter() - t
    sample = list(asked[: profile.inproc_runs])
    _breakdown(out, assistant, index, sample, covered[: profile.floor_runs], probe, tmp)
    out.other_cpu_cores = other.cores()
    return out, probe
