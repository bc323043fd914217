"""What the /audit pages show, without the web layer: the list's filters (from a query
string, back to links), the CSV and JSONL exports, and the chart's geometry."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bot.audit import AuditFilter, AuditLog
from bot.model import Status
from bot.service.query import repeated

# Every reply status, in the order the staff pages list them (from the model's enum).
STATUSES = tuple(s.value for s in Status)
CHANNELS = ("page", "form", "widget", "embed", "api", "cli")
LABELS = {
    "correct": "Correct",
    "wrong_assessment": "Wrong assessment",
    "unsafe": "Unsafe",
    "content_missing": "Content missing",
}
FEEDBACK = {
    "helpful": "Helpful",
    "not_helpful": "Not helpful",
    "any": "Any feedback",
    "none": "No feedback",
}
REVIEWS = LABELS | {"any": "Reviewed (any label)", "none": "Not reviewed"}
COMMENTS = {"yes": "With a comment", "no": "Without a comment"}
SESSION = re.compile(r"[0-9a-f]{32}")  # bot.audit.pseudonym
MAX_TEXT = 200
MAX_DAYS = 366


def _day(value: str, name: str, errors: list[str]) -> str:
    if not value:
        return ""
    try:
        if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    errors.append(f"{name}: not a date like 2025-01-31")
    return ""


@dataclass(frozen=True)
class Filters:
    """The list's filters as the form sends them; empty strings are "no filter"."""

    since: str = ""  # YYYY-MM-DD, from the start of that UTC day
    until: str = ""  # YYYY-MM-DD, to the end of that UTC day
    status: str = ""
    channel: str = ""
    assessment: str = ""
    feedback: str = ""
    review: str = ""
    comment: str = ""  # yes / no: feedback with a comment
    session: str = ""  # a session's pseudonym: one conversation
    q: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> tuple[Filters, list[str]]:
        errors = [f"{name}: given more than once" for name in repeated(params)]
        raw = {f.name: str(params.get(f.name) or "").strip() for f in fields(cls)}
        for name in ("since", "until"):
            raw[name] = _day(raw[name], name, errors)
        allowed = {
            "status": STATUSES,
            "feedback": FEEDBACK,
            "review": REVIEWS,
            "comment": COMMENTS,
        }
        for name, values in allowed.items():
            if raw[name] and raw[name] not in values:
                errors.append(f"{name}: unknown value")
                raw[name] = ""
        if raw["channel"] and not re.fullmatch(r"[a-z_]{1,16}", raw["channel"]):
            errors.append("channel: unknown value")
            raw["channel"] = ""
        if raw["session"] and not SESSION.fullmatch(raw["session"]):
            errors.append("session: not a session pseudonym (32 characters 0-9 and a-f)")
            raw["session"] = ""
        for name in ("q", "assessment"):
            if "\x00" in raw[name]:  # no PostgreSQL text can hold it
                errors.append(f"{name}: must not contain NUL characters")
                raw[name] = raw[name].replace("\x00", "")
            if len(raw[name]) > MAX_TEXT:
                errors.append(f"{name}: at most {MAX_TEXT} characters")
                raw[name] = raw[name][:MAX_TEXT]
        if raw["since"] and raw["until"] and raw["since"] > raw["until"]:
            errors.append("the start date is after the end date")
        return cls(**raw), errors

    def audit_filter(self) -> AuditFilter:
        """The audit log's filter (dates become the bounds of their UTC days)."""
        args: dict[str, Any] = {
            k: v or None for k, v in asdict(self).items() if k not in ("since", "until")
        }
        args["since"] = f"{self.since}T00:00:00.000000Z" if self.since else None
        args["until"] = f"{self.until}T23:59:59.999999Z" if self.until else None
        return AuditFilter(**args)

    def used(self) -> dict[str, str]:
        """The filters set, as logged in the view and export events."""
        return {k: v for k, v in asdict(self).items() if v}

    def query(self, **extra: Any) -> str:
        """This list's query string (with `extra`, e.g. a cursor), for links."""
        return urlencode(self.used() | {k: v for k, v in extra.items() if v is not None})


def day_range(params: Mapping[str, str], default_days: int = 30) -> tuple[str, str, list[str]]:
    """A since/until pair of dates for the gaps and stats pages (default: the last 30 days)."""
    errors = [f"{name}: given more than once" for name in repeated(params)]
    today = datetime.now(UTC).date()
    since = _day(str(params.get("since") or ""), "since", errors)
    until = _day(str(params.get("until") or ""), "until", errors) or today.isoformat()
    since = since or (date.fromisoformat(until) - timedelta(days=default_days - 1)).isoformat()
    span = (date.fromisoformat(until) - date.fromisoformat(since)).days
    if span < 0:
        errors.append("the start date is after the end date")
    elif span >= MAX_DAYS:
        errors.append(f"at most {MAX_DAYS} days at a time")
    return since, until, errors


# -- Exports ---------------------------------------------------------------------------


def all_items(
    audit: AuditLog,
    filters: Filters,
    page: int = 500,
    first: tuple[list[dict[str, Any]], int | None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every answer the filters match, newest first, read a page at a time (`first`: the
    first page, already read)."""
    items, cursor = first or audit.search(filters.audit_filter(), limit=page)
    while True:
        yield from items
        if cursor is None:
            return
        items, cursor = audit.search(filters.audit_filter(), cursor=cursor, limit=page)


CSV_COLUMNS = (
    "created_at answer_id session channel status question evidence_level assessments scores "
    "helpful not_helpful comment review reviewer template latency_ms answer"
).split()
# Excel takes a CSV file without a byte order mark for its local code page (mojibake).
BOM = "\ufeff"


def comments(item: Mapping[str, Any]) -> list[str]:
    """The feedback comments on an answer, oldest first."""
    return [str(f["comment"]) for f in item["feedback"] if f.get("comment")]


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_row(item: Mapping[str, Any]) -> dict[str, Any]:
    cited = item["citations"]
    reviews = item["reviews"]
    row = {k: item.get(k) for k in CSV_COLUMNS} | {
        "assessments": "; ".join(c.get("title") or "" for c in cited),
        "scores": "; ".join(str(c.get("score")) for c in cited),
        "review": reviews[-1]["label"] if reviews else "",
        "reviewer": reviews[-1]["actor"] if reviews else "",
        "comment": "\n".join(comments(item)),
    }
    return {k: _cell(v) for k, v in row.items()}


def csv_lines(items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    buffer.write(BOM)
    writer.writeheader()
    for item in items:
        writer.writerow(csv_row(item))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def jsonl_lines(items: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for item in items:
        yield json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n"


# -- Chart -----------------------------------------------------------------------------

# SVG user units are CSS pixels (the SVG is drawn at its own size and scrolls sideways on
# a narrow screen), so labels keep a readable size instead of shrinking with the chart.
PLOT_HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 240, 52, 56, 14, 46
PLOT_WIDTH = 900  # what 30 days take; more days get thinner bars, down to MIN_SLOT
MIN_SLOT, MAX_SLOT, LABEL_SPACING = 6, 36, 96


def _count_ticks(peak: int) -> list[int]:
    """Round steps (1, 2 or 5 times a power of ten) from 0 past `peak`, at most 6 lines."""
    step = 1
    while peak / step > 5:
        for factor in (2, 5 / 2, 2):  # 1 -> 2 -> 5 -> 10 ...
            step = int(step * factor)
            if peak / step <= 5:
                break
    top = -(-peak // step) * step
    return list(range(0, top + 1, step))


def chart(days: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the stacked bars (replies per day by status, left scale) and the
    helpful-share line (votes on that day's answers, right scale 0-100%), in CSS pixels;
    the template only draws it."""
    n = max(1, len(days))
    slot = max(MIN_SLOT, min(MAX_SLOT, PLOT_WIDTH / n))
    bar = max(3.0, slot * 0.7)
    peak = max((d["total"] for d in days), default=0)
    ticks = _count_ticks(max(peak, 1))
    scale = PLOT_HEIGHT / ticks[-1]
    base = TOP + PLOT_HEIGHT
    bars, points, segments, current = [], [], [], []
    every = max(1, -(-LABEL_SPACING // int(slot)))  # days between two date labels
    labels = []
    for i, d in enumerate(days):
        x = LEFT + i * slot + (slot - bar) / 2
        y = float(base)
        for status in STATUSES:
            count = d["statuses"].get(status, 0)
            if not count:
                continue
            height = count * scale
            y -= height
            bars.append(
                {"x": round(x, 2), "y": round(y, 2), "height": round(height, 2)}
                | {"status": status, "n": count, "day": d["day"]}
            )
        if (len(days) - 1 - i) % every == 0:  # the last day is always labelled
            labels.append({"x": round(LEFT + i * slot + slot / 2, 2), "day": d["day"]})
        if d["helpful_ratio"] is None:  # no votes that day: the line breaks
            if current:
                segments.append(current)
            current = []
            continue
        point = {**d, "x": round(LEFT + i * slot + slot / 2, 2)}
        point["y"] = round(TOP + (1 - d["helpful_ratio"]) * PLOT_HEIGHT, 2)
        points.append(point)
        current.append(point)
    if current:
        segments.append(current)
    width = LEFT + n * slot + RIGHT
    return {
        "width": round(width),
        "height": base + BOTTOM,
        "left": LEFT,
        "right": round(LEFT + n * slot, 2),
        "top": TOP,
        "base": base,
        "bar": round(bar, 2),
        "bars": bars,
        "points": points,
        "lines": [" ".join(f"{p['x']},{p['y']}" for p in seg) for seg in segments if len(seg) > 1],
        "count_ticks": [{"value": t, "y": round(base - t * scale, 2)} for t in ticks],
        "share_ticks": [
            {"value": v, "y": round(TOP + (1 - v / 100) * PLOT_HEIGHT, 2)} for v in (0, 50, 100)
        ],
        "labels": labels,
        "peak": peak,
    }
