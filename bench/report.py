"""The table: rows are metrics, columns are sizes, then the issue's target and PASS/MISS
for the 10k column (the largest column when there is none)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bench.common import CONCURRENCY, TARGET_SIZE
from bench.results import Http, InProcess, Sequential, SizeResult, Tally

Rows = dict[str, tuple[Any, str]]  # metric -> (value, mark)


def _build_rows(r: SizeResult, rows: Rows) -> None:
    real, ext = r.build_real, r.build_real_extrapolated
    rows["passages"] = (r.build_fake.passages if r.build_fake else None, "")
    rows["serving"] = (r.serving_index, "")
    if real and real.ok:
        rows["build_real_s"] = (real.seconds, "")
        rows["build_rate"] = (real.passages_per_s, "")
        rows["rebuild_real_s"] = (r.rebuild_real.seconds if r.rebuild_real else None, "")
    elif ext:
        rows["build_real_s"] = (ext.seconds, "*")
        rows["build_rate"] = (ext.passages_per_s, "*")
        rows["rebuild_real_s"] = (ext.rebuild_seconds, "*")
    rows["build_fake_s"] = (r.build_fake.seconds if r.build_fake else None, "f")
    rows["rebuild_fake_s"] = (r.rebuild_fake.seconds if r.rebuild_fake else None, "f")
    size = r.index_size.current_build_bytes if r.index_size else None
    rows["index_mb"] = (size / 1e6 if size else None, "")


def _floor_rows(inproc: InProcess, seq: Sequential, rows: Rows) -> None:
    rows["bulk_embed"] = (inproc.bulk_embed_passages_per_s, "")
    # The floor measured between the sequential client's requests (same machine state);
    # before the server started when there is none.
    rows["embed_ms_p50"] = (seq.floor_embed_ms_p50 or inproc.embed_ms_p50, "")
    rows["scoped_search_ms_p50"] = (seq.floor_search_ms_p50 or inproc.scoped_search_ms_p50, "")
    rows["floor_ms_p50"] = (seq.floor_ms_p50 or inproc.floor_ms_p50, "")
    rows["embed_before_ms"] = (inproc.embed_ms_p50, "")
    for key in (
        "flat_search_ms_p50",
        "flat_search_1thread_ms_p50",
        "bm25_build_s",
        "entities_ms_p50",
        "candidates_ms_p50",
        "bm25_scoped_ms_p50",
        "reply_ms_p50",
        "audit_record_ms_p50",
    ):
        rows[key] = (getattr(inproc, key), "")
    ivf = inproc.ivf_recall
    rows["ivf_recall"] = (100 * ivf["recall_at_k"] if ivf else None, "")
    rows["ivf_search"] = (
        f"{ivf['ivf_search_ms_p50']:.2f} ({ivf['nprobe']}/{ivf['lists']})" if ivf else None,
        "",
    )


def _http_rows(http: Http, seq: Sequential, rows: Rows) -> None:
    rows["cold_start_s"] = (http.cold_start_s, "")
    rows["first_reply_ms"] = (http.first_reply_ms, "")
    rows["rss_warm_mb"] = (http.rss_after_warmup_mb, "")
    rows["rss_load_mb"] = (http.rss_after_load_mb, "")
    rows["rss_peak_mb"] = (http.rss_peak_mb, "")
    rows["pss_load_mb"] = (http.pss_after_load_mb, "")
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        rows[f"seq_{key}"] = (getattr(seq, key), "")
    floor = rows["floor_ms_p50"][0]
    rows["ratio"] = (seq.p50_ms / floor if floor and seq.p50_ms else None, "")

    def phase(kind: str, c: int, key: str = "replies_per_s") -> Any:
        found = http.phase(kind, c)
        return getattr(found, key) if found else None

    for kind in ("unique", "repeated"):
        for c in CONCURRENCY:
            rows[f"{kind}_{c}"] = (phase(kind, c), "")
    rows["p99_load"] = (phase("unique", 32, "p99_ms"), "")
    rows["server_cpu"] = (phase("unique", 32, "server_cpu_cores"), "")
    rows["client_cpu"] = (phase("unique", 32, "client_cpu_cores"), "")


def _check_rows(r: SizeResult, http: Http, seq: Sequential, rows: Rows) -> None:
    """Noise (other processes' CPU), failures, labels, audit rows."""
    phases: list[Tally] = [*http.phases, seq]
    stages: list[Any] = [*phases, r.build_fake, r.build_real, r.rebuild_fake, r.rebuild_real]
    stages.append(r.in_process)
    others = [s.other_cpu_cores for s in stages if s and s.other_cpu_cores is not None]
    rows["other_cpu"] = (max(others) if others else None, "")
    rows["non2xx"] = (sum(p.non2xx + p.errors for p in phases), "")
    done = sum(p.ok for p in phases)
    wrong = sum(p.mismatched for p in phases)
    rows["labelled"] = (100 * (done - wrong) / done if done else None, "")
    audited = f"{http.audit_rows}/{http.replies_2xx}" if http.audit_rows is not None else None
    rows["audited"] = (audited, "")


def metric_rows(r: SizeResult) -> Rows:
    """metric -> (value, mark); mark: '' measured, '*' extrapolated, 'f' fake embedder."""
    rows: Rows = {}
    http = r.http or Http()
    seq = http.sequential or Sequential()
    _build_rows(r, rows)
    _floor_rows(r.in_process or InProcess(), seq, rows)
    _http_rows(http, seq, rows)
    _check_rows(r, http, seq, rows)
    return rows


# (key, label, target text, verdict function on the value or None)
TABLE: tuple[tuple[str, str, str, Callable[[Any], bool] | None], ...] = (
    ("passages", "passages", "", None),
    ("serving", "serving index (vectors)", "", None),
    ("build_real_s", "full build, real model (s)", "<= 900", lambda v: v <= 900),
    ("build_rate", "  passages/s (whole build)", "", None),
    ("rebuild_real_s", "edit 1 page -> rebuild, real (s)", "<= 10", lambda v: v <= 10),
    ("build_fake_s", "full build, fake embedder (s)", "", None),
    ("rebuild_fake_s", "edit 1 page -> rebuild, fake (s)", "", None),
    ("bulk_embed", "bulk embedding, in-process (passages/s)", "", None),
    ("index_mb", "index on disk, one build (MB)", "", None),
    ("cold_start_s", "cold start to /healthz 200 (s)", "<= 5", lambda v: v <= 5),
    ("first_reply_ms", "first reply after healthy (ms)", "", None),
    ("rss_warm_mb", "server RSS after warm-up (MB)", "<= 700", lambda v: v <= 700),
    ("rss_load_mb", "server RSS after load (MB)", "<= 700", lambda v: v <= 700),
    ("rss_peak_mb", "server RSS peak, VmHWM (MB)", "", None),
    ("pss_load_mb", "  PSS after load (MB, shared pages split)", "", None),
    ("embed_ms_p50", "floor: embed 1 question (ms)", "", None),
    ("scoped_search_ms_p50", "floor: search in the page (ms)", "", None),
    ("floor_ms_p50", "floor: embed + search (ms)", "", None),
    ("embed_before_ms", "  embed, before the server started (ms)", "", None),
    ("flat_search_ms_p50", "whole-index FAISS search (ms)", "", None),
    ("flat_search_1thread_ms_p50", "  same, 1 OpenMP thread (ms)", "", None),
    ("ivf_recall", "IVF recall@5 vs flat, real vectors (%)", ">= 98", lambda v: v >= 98),
    ("ivf_search", "  IVF search (ms) (nprobe/lists)", "", None),
    ("bm25_build_s", "BM25 ready after index load (s)", "", None),
    ("entities_ms_p50", "in-proc: entities (ms)", "", None),
    ("candidates_ms_p50", "in-proc: candidate pages (ms)", "", None),
    ("bm25_scoped_ms_p50", "in-proc: BM25 for 1 page (ms)", "", None),
    ("reply_ms_p50", "in-proc: Assistant.reply (ms)", "", None),
    ("audit_record_ms_p50", "in-proc: audit record (ms)", "", None),
    ("seq_p50_ms", "HTTP sequential p50 (ms)", "", None),
    ("seq_p95_ms", "HTTP sequential p95 (ms)", "", None),
    ("seq_p99_ms", "HTTP sequential p99 (ms)", "<= 30", lambda v: v <= 30),
    ("ratio", "HTTP p50 / floor", "<= 2.0", lambda v: v <= 2.0),
    ("unique_1", "unique, 1 client (replies/s)", "", None),
    ("unique_8", "unique, 8 clients (replies/s)", ">= 150", lambda v: v >= 150),
    ("unique_32", "unique, 32 clients (replies/s)", ">= 150", lambda v: v >= 150),
    ("repeated_1", "repeated, 1 client (replies/s)", "", None),
    ("repeated_8", "repeated, 8 clients (replies/s)", ">= 800", lambda v: v >= 800),
    ("repeated_32", "repeated, 32 clients (replies/s)", ">= 800", lambda v: v >= 800),
    ("p99_load", "unique, 32 clients p99 (ms)", "", None),
    ("server_cpu", "  server CPU at 32 (cores)", "", None),
    ("client_cpu", "  load client CPU at 32 (cores)", "", None),
    ("other_cpu", "other processes' CPU, worst stage (cores)", "< 0.3", None),
    ("non2xx", "non-2xx or failed requests", "0", lambda v: v == 0),
    ("labelled", "replies as labelled (%)", "", None),
    ("audited", "audit rows / 2xx replies", "equal", None),
)


def fmt(value: Any, mark: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value + mark
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    if isinstance(value, int) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + mark


def table(results: dict[int, SizeResult]) -> str:
    sizes = sorted(results)
    judged = TARGET_SIZE if TARGET_SIZE in results else sizes[-1]
    columns = {s: metric_rows(results[s]) for s in sizes}
    header = ["metric", *[f"{s:,} pages" for s in sizes], "target", f"@{judged:,}"]
    lines = []
    for key, label, target, verdict in TABLE:
        cells = [fmt(*columns[s].get(key, (None, ""))) for s in sizes]
        value, _ = columns[judged].get(key, (None, ""))
        if key == "audited" and isinstance(value, str):
            a, _, b = value.partition("/")
            mark = "PASS" if a == b else "MISS"
        elif verdict and value is not None and not isinstance(value, str):
            mark = "PASS" if verdict(value) else "MISS"
        else:
            mark = ""
        lines.append([label, *cells, target, mark])
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header))]

    def render(row: list[str]) -> str:
        first = str(row[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [render(header), "  ".join("-" * w for w in widths)]
    out += [render(row) for row in lines]
    notes = [
        "",
        "* extrapolated: not measured at this size (see build_real_extrapolated.basis in "
        "the JSON); f: measured with BOT_EMBEDDER=fake (pipeline without the model).",
        "serving index: real = built by `bot build` with the real model; surrogate = same "
        "pages and passages, seeded random vectors under the real model's name, questions "
        "embedded by the real model (see bench/README.md).",
        "floor = one query embedding + search scoped to the question's page, in-process, "
        "median of samples taken between the sequential client's requests.",
        "IVF recall: bot.index's IVF index forced on at this size vs exact search, on the "
        "real build's vectors, in-process questions (bench/recall.py).",
        "other processes' CPU above ~0.3 cores means the machine was shared: the timings "
        "are then pessimistic. Targets are the issue's, for 10k pages;",
        f"the last column judges the {judged:,}-page column"
        + ("" if judged == TARGET_SIZE else " (no 10k column in this run)")
        + ".",
    ]
    return "\n".join(out + notes)
