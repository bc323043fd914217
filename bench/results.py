"""What the benchmark measures, as types: one `SizeResult` per corpus size in a `Report`.

Field names are the JSON keys of bench/results/*.json (`to_json`), so runs before and
after this module stay comparable; a field whose JSON key differs says so in its metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


def to_json(value: Any) -> Any:
    """Dataclasses (nested in lists and dicts) as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.metadata.get("json", f.name): to_json(getattr(value, f.name)) for f in fields(value)
        }
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


@dataclass(frozen=True)
class Idle:
    """How busy the rest of the machine was before a stage, and how long we waited."""

    other_cpu_cores: float | None
    waited_s: float


@dataclass
class SpySummary:
    """py-spy's samples: the top functions by self and by inclusive share (%)."""

    samples: int = 0
    # `self` cannot be a parameter name of the generated __init__.
    own: list[tuple[str, float]] = field(default_factory=list, metadata={"json": "self"})
    inclusive: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Build:
    """One `bot build` subprocess."""

    ok: bool
    seconds: float | None
    error: str | None = None
    reported_seconds: float | None = None  # what the build printed
    passages: int | None = None
    assessments: int | None = None
    passages_per_s: float | None = None
    model: str | None = None
    other_cpu_cores: float | None = None
    profiled: bool = False
    profile: SpySummary | None = None


@dataclass
class IndexSize:
    current_build_bytes: int | None = None
    index_dir_bytes: int | None = None
    files: dict[str, int] = field(default_factory=dict)


@dataclass
class Extrapolation:
    """Real-model build times of a size whose real build was not measured."""

    seconds: float
    passages: int
    passages_per_s: float
    rebuild_seconds: float
    rebuild_is_full: bool
    basis: str


@dataclass
class InProcess:
    """The floor (one query embedding + scoped search) and the breakdown of a reply,
    measured in the benchmark's own process before the server starts."""

    index_load_s: float | None = None
    model_load_s: float | None = None
    embed_ms_p50: float | None = None
    scoped_search_ms_p50: float | None = None
    flat_search_ms_p50: float | None = None
    flat_search_1thread_ms_p50: float | None = None
    faiss_threads: int | None = None
    floor_ms_p50: float | None = None
    floor_definition: str = "one query embedding + search scoped to the page's passages"
    floor_runs: int = 0
    bulk_embed_passages_per_s: float | None = None
    assistant_create_s: float | None = None
    bm25_build_s: float | None = None
    entities_ms_p50: float | None = None
    candidates_ms_p50: float | None = None
    bm25_scoped_ms_p50: float | None = None
    reply_ms_p50: float | None = None
    reply_ms_p99: float | None = None
    audit_record_ms_p50: float | None = None
    audit_record_ms_p99: float | None = None
    reply_statuses: dict[str, int] = field(default_factory=dict)
    other_cpu_cores: float | None = None
    ivf_recall: dict[str, Any] | None = None  # bench.recall.ivf_recall's result


@dataclass
class Tally:
    """Requests sent and how their replies came back."""

    requests: int = 0
    ok: int = 0  # 2xx
    non2xx: int = 0
    errors: int = 0  # no reply: connection error or timeout
    mismatched: int = 0  # 2xx, but not as the question's label says


@dataclass
class Sequential(Tally):
    """One client, one request at a time; floor samples taken between its requests."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    max_ms: float | None = None
    server_cpu_cores: float | None = None
    other_cpu_cores: float | None = None
    floor_samples: int = 0
    floor_embed_ms_p50: float | None = None
    floor_search_ms_p50: float | None = None
    floor_ms_p50: float | None = None


@dataclass
class Phase(Tally):
    """N concurrent clients for a fixed time, unique or repeated questions."""

    kind: str = ""  # "unique" | "repeated"
    concurrency: int = 0
    seconds: float = 0.0
    replies_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    server_cpu_cores: float | None = None
    client_cpu_cores: float | None = None
    other_cpu_cores: float | None = None
    question_pool_exhausted: bool = False


@dataclass
class Http:
    """`bot serve` driven over real HTTP."""

    cold_start_s: float | None = None
    rebuilt_index_at_start: bool | None = None
    rss_at_healthy_mb: float | None = None
    first_reply_ms: float | None = None
    rss_after_warmup_mb: float | None = None
    sequential: Sequential | None = None
    phases: list[Phase] = field(default_factory=list)
    profile: dict[str, SpySummary] = field(default_factory=dict)  # by phase kind, at 8 clients
    profile_error: str | None = None
    rss_after_load_mb: float | None = None
    rss_peak_mb: float | None = None
    pss_after_load_mb: float | None = None
    workers: int = 1
    server_alive_after_load: bool | None = None
    audit_rows: int | None = None
    audit_error: str | None = None
    replies_2xx: int = 0

    def phase(self, kind: str, concurrency: int) -> Phase | None:
        return next(
            (p for p in self.phases if p.kind == kind and p.concurrency == concurrency), None
        )


@dataclass
class SizeResult:
    """Everything measured for one corpus size (or the error that stopped it)."""

    pages: int
    tmp: str | None = None
    error: str | None = None
    generate_s: float | None = None
    grid: dict[str, int] = field(default_factory=dict)
    real_build_estimate_s: float | None = None
    idle_before_builds: Idle | None = None
    build_fake: Build | None = None
    build_real: Build | None = None
    edited_page: str | None = None
    rebuild_fake: Build | None = None
    rebuild_real: Build | None = None
    surrogate_build_s: float | None = None
    serving_index: str | None = None  # "real" | "fake" | "surrogate"
    index_size: IndexSize | None = None
    idle_before_in_process: Idle | None = None
    in_process: InProcess | None = None
    idle_before_serve: Idle | None = None
    http: Http | None = None
    build_real_extrapolated: Extrapolation | None = None

    @property
    def real_build_ok(self) -> bool:
        return self.build_real is not None and self.build_real.ok


@dataclass
class Meta:
    started_at: str
    profile: str  # "full" | "quick"
    args: dict[str, Any]
    cpu: str
    cores: int | None
    python: str
    torch: str
    torch_threads: int
    commit: str | None
    warm_up_s: float | None = None
    loadavg_at_start: list[float] = field(default_factory=list)


@dataclass
class Report:
    meta: Meta
    sizes: dict[str, SizeResult] = field(default_factory=dict)
    table: list[str] | None = None
    partial: bool = False
