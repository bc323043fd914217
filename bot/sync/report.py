"""What a sync reports: counts, URLs and errors (for `bot sync`, the audit event, /healthz
and last-run.json), and the progress a caller may follow page by page."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

REPORT_LIMIT = 50  # URLs listed per kind in a report (the counts are always whole)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SyncReport:
    sitemap: str
    started_at: str
    finished_at: str | None = None
    listed: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    skipped_robots: int = 0
    excluded: int = 0
    not_modified: int = 0  # unchanged pages that cost a 304 and nothing more
    requests: int = 0
    refused_drop: int = 0  # pages that would have been dropped, kept for want of --force
    forced: bool = False
    cancelled: bool = False
    build_failed: bool = False
    index: str | None = None  # digest of the index serving the synced corpus
    errors: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    removed_urls: list[str] = field(default_factory=list)
    changed_urls: list[str] = field(default_factory=list)

    @property
    def synced(self) -> int:
        return self.new + self.changed + self.unchanged

    @property
    def ok(self) -> bool:
        """Something was synced and is served (a run with every page failing, or the
        sitemap unreachable, or an index that could not be built, is not)."""
        return self.synced > 0 and not self.build_failed and not self.cancelled

    def counts(self) -> dict[str, int]:
        return {
            "listed": self.listed,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "not_modified": self.not_modified,
            "removed": self.removed,
            "failed": self.failed,
            "skipped_robots": self.skipped_robots,
            "excluded": self.excluded,
            "requests": self.requests,
        }

    def summary(self) -> str:
        return (
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged "
            f"({self.not_modified} not modified: 304), {self.removed} removed, "
            f"{self.failed} failed, {self.skipped_robots} skipped by robots.txt, "
            f"{self.excluded} excluded; {self.requests} requests"
        )

    def to_json(self) -> dict[str, Any]:
        """For the audit event, /healthz and last-run.json (lists cut at REPORT_LIMIT)."""
        return {
            "sitemap": self.sitemap,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "ok": self.ok,
            "counts": self.counts(),
            "refused_drop": self.refused_drop,
            "forced": self.forced,
            "cancelled": self.cancelled,
            "index": self.index,
            "errors": self.errors[:REPORT_LIMIT],
            "failures": self.failures[:REPORT_LIMIT],
            "removed_urls": self.removed_urls[:REPORT_LIMIT],
            "changed_urls": self.changed_urls[:REPORT_LIMIT],
        }


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, url: str, outcome: str) -> None: ...
