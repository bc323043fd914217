"""Reading the log for the staff pages and the staff API: one typed filter for both."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.audit.schema import records
from bot.audit.writer import AuditUnavailable

ReviewLabel = Literal["correct", "wrong_assessment", "unsafe", "content_missing"]
FeedbackFilter = Literal["helpful", "not_helpful", "any", "none"]
CommentFilter = Literal["yes", "no"]
REVIEW_LABELS: tuple[str, ...] = get_args(ReviewLabel)
FEEDBACK_FILTERS: tuple[str, ...] = get_args(FeedbackFilter)
COMMENT_FILTERS: tuple[str, ...] = get_args(CommentFilter)
GAP_STATUSES = ("not_found", "clarify")


@dataclass(frozen=True)
class AuditFilter:
    """Which answers to list. Every field is optional; times are stored-format UTC text.

    q: text in the question or the answer; assessment: text in a cited page's title,
    compound, condition or page id; feedback: has a helpful / not_helpful vote, any or
    none; review: the latest review's label, any or none (unreviewed); session: the
    session's pseudonym (its conversation); comment: has feedback with a comment, or not.
    """

    q: str | None = None
    status: str | None = None
    since: str | None = None
    until: str | None = None
    channel: str | None = None
    assessment: str | None = None
    feedback: FeedbackFilter | None = None
    review: ReviewLabel | Literal["any", "none"] | None = None
    session: str | None = None
    comment: CommentFilter | None = None

    def __post_init__(self) -> None:
        if self.feedback not in (None, *FEEDBACK_FILTERS):
            raise ValueError(f"feedback filter must be one of {FEEDBACK_FILTERS}")
        if self.comment not in (None, *COMMENT_FILTERS):
            raise ValueError(f"comment filter must be one of {COMMENT_FILTERS}")
        if self.review not in (None, "any", "none", *REVIEW_LABELS):
            raise ValueError("review filter must be a label, 'any' or 'none'")


def _contains(text: str) -> str:
    """A LIKE pattern for `text` anywhere (its % and _ taken literally; escape '\\')."""
    for char in ("\\", "%", "_"):
        text = text.replace(char, "\\" + char)
    return f"%{text}%"


def _has(kind: str, latest: bool = False, **column: Any) -> Any:
    """An answer has an event of this kind (its newest one, if `latest`) with these values."""
    ev, last = records.alias("ev"), records.alias("last")
    found = select(ev.c.seq).where(ev.c.answer_id == records.c.answer_id, ev.c.kind == kind)
    for name, value in column.items():
        found = found.where(ev.c[name] == value)
    if latest:  # the label of the newest review counts, earlier ones were revised
        newest = (
            select(func.max(last.c.seq))
            .where(last.c.answer_id == records.c.answer_id, last.c.kind == kind)
            .correlate(records)
            .scalar_subquery()
        )
        found = found.where(ev.c.seq == newest)
    return found.correlate(records).exists()


def _has_comment() -> Any:
    """An answer has feedback with a non-empty comment. Feedback data is canonical JSON
    (bot/audit/schema.py: sorted keys, no spaces), so the key reads `"comment":"` exactly
    when the comment is a string; a quote inside a comment is escaped (\\"), so no text
    of the comment can look like the key."""
    ev = records.alias("ev")
    return (
        select(ev.c.seq)
        .where(
            ev.c.answer_id == records.c.answer_id,
            ev.c.kind == "feedback",
            ev.c.data.like('%"comment":"_%'),
            ~ev.c.data.like('%"comment":""%'),
        )
        .correlate(records)
        .exists()
    )


def answers_query(f: AuditFilter) -> Any:
    """Answers the filter keeps, newest first (every condition on a real column)."""
    query = select(records).where(records.c.kind == "answer")
    if f.q:
        like = _contains(f.q.lower())
        query = query.where(
            func.lower(records.c.question).like(like, escape="\\")
            | func.lower(records.c.answer).like(like, escape="\\")
        )
    if f.status:
        query = query.where(records.c.status == f.status)
    if f.channel:
        query = query.where(records.c.channel == f.channel)
    if f.since:
        query = query.where(records.c.created_at >= f.since)
    if f.until:
        query = query.where(records.c.created_at <= f.until)
    if f.feedback in ("helpful", "not_helpful"):
        query = query.where(_has("feedback", helpful=f.feedback == "helpful"))
    elif f.feedback in ("any", "none"):
        query = query.where(_has("feedback") if f.feedback == "any" else ~_has("feedback"))
    if f.review in REVIEW_LABELS:
        query = query.where(_has("review", latest=True, label=f.review))
    elif f.review in ("any", "none"):
        query = query.where(_has("review") if f.review == "any" else ~_has("review"))
    if f.session:
        query = query.where(records.c.session == f.session)
    if f.comment in COMMENT_FILTERS:
        query = query.where(_has_comment() if f.comment == "yes" else ~_has_comment())
    needle = (f.assessment or "").strip().lower()
    if needle:
        query = query.where(records.c.cited.like(_contains(needle), escape="\\"))
    return query.order_by(records.c.seq.desc())


def decode(row: dict[str, Any]) -> dict[str, Any]:
    row["data"] = json.loads(row["data"])
    if row["kind"] == "answer":
        row.update(
            citations=row["data"].get("citations", []),
            suggestions=row["data"].get("suggestions", []),
            trace=row["data"].get("trace", {}),
        )
    return row


def search(
    engine: Engine, f: AuditFilter, cursor: int | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of answers below `cursor` with their events; `next` is the following cursor.

    Items carry seq, session, origin, latency_ms, the helpful / not_helpful vote counts and
    `review`, the latest label."""
    query = answers_query(f)
    if cursor is not None:
        query = query.where(records.c.seq < cursor)
    try:
        with engine.connect() as conn:
            rows = [decode(dict(r._mapping)) for r in conn.execute(query.limit(limit + 1))]
            page, more = rows[:limit], len(rows) > limit
            events = _events_of(conn, [r["answer_id"] for r in page])
    except SQLAlchemyError as exc:
        raise AuditUnavailable(str(exc)) from exc
    items = [_item(r, events.get(r["answer_id"], [])) for r in page]
    return items, (page[-1]["seq"] if more and page else None)


def neighbour(
    engine: Engine, f: AuditFilter, seq: int, older: bool, wrap: bool = False
) -> str | None:
    """The answer next to record `seq` in the filtered list (newest first): the next older
    one, or the next newer one. `wrap`: with none older, the newest one (a queue)."""
    query = answers_query(f).with_only_columns(records.c.answer_id).limit(1)
    if older:
        query = query.where(records.c.seq < seq)
    else:
        query = query.where(records.c.seq > seq).order_by(None).order_by(records.c.seq)
    try:
        with engine.connect() as conn:
            found = conn.execute(query).scalar()
            if found is None and older and wrap:
                newest = answers_query(f).with_only_columns(records.c.answer_id)
                found = conn.execute(newest.where(records.c.seq > seq).limit(1)).scalar()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(str(exc)) from exc
    return found


def conversation(engine: Engine, session: str, seq: int, around: int = 50) -> dict[str, Any]:
    """The turns of one session around record `seq`, oldest first: up to `around` before
    and after it, with how many there are in all and how many earlier ones were left out."""
    cols = (
        records.c.answer_id,
        records.c.seq,
        records.c.created_at,
        records.c.question,
        records.c.status,
        records.c.channel,
    )
    mine = select(*cols).where(records.c.kind == "answer", records.c.session == session)
    total = (
        select(func.count())
        .select_from(records)
        .where(records.c.kind == "answer", records.c.session == session)
    )
    try:
        with engine.connect() as conn:
            before = conn.execute(
                mine.where(records.c.seq < seq).order_by(records.c.seq.desc()).limit(around)
            ).all()
            rest = conn.execute(
                mine.where(records.c.seq >= seq).order_by(records.c.seq).limit(around + 1)
            ).all()
            count = int(conn.execute(total).scalar_one())
            earlier = int(conn.execute(total.where(records.c.seq < seq)).scalar_one())
    except SQLAlchemyError as exc:
        raise AuditUnavailable(str(exc)) from exc
    turns = [dict(r._mapping) for r in (*reversed(before), *rest)]
    first = earlier - len(before)  # turns left out before the first one shown
    for i, turn in enumerate(turns):
        turn["number"] = first + i + 1
    return {"turns": turns, "count": count, "skipped": first}


def answer(engine: Engine, answer_id: str) -> dict[str, Any] | None:
    """An answer record with its events, JSON fields decoded."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(records).where(records.c.answer_id == answer_id).order_by(records.c.seq)
        ).all()
    found = [decode(dict(r._mapping)) for r in rows]
    first = next((r for r in found if r["kind"] == "answer"), None)
    if first is None:
        return None
    first["events"] = [
        {
            "kind": r["kind"],
            "created_at": r["created_at"],
            "actor": r["actor"],
            "payload": r["data"],
            "seq": r["seq"],
        }
        for r in found
        if r["kind"] != "answer"
    ]
    return first


def known(engine: Engine, answer_id: str) -> bool:
    try:
        with engine.connect() as conn:
            found = conn.execute(
                select(records.c.seq).where(
                    records.c.kind == "answer", records.c.answer_id == answer_id
                )
            ).first()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(str(exc)) from exc
    return found is not None


def count(engine: Engine, kind: str = "answer") -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(records).where(records.c.kind == kind)
        return int(conn.execute(query).scalar_one())


def _events_of(conn: Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The events (feedback, reviews, views...) of these answers, oldest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not ids:
        return found
    rows = conn.execute(
        select(
            records.c.answer_id,
            records.c.kind,
            records.c.data,
            records.c.actor,
            records.c.created_at,
        )
        .where(records.c.answer_id.in_(ids), records.c.kind != "answer")
        .order_by(records.c.seq)
    )
    for answer_id, kind, data, actor, created_at in rows:
        found.setdefault(answer_id, []).append(
            {"kind": kind, "payload": json.loads(data), "actor": actor, "created_at": created_at}
        )
    return found


def _item(r: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    feedback = [e["payload"] for e in events if e["kind"] == "feedback"]
    reviews = [
        {
            "label": e["payload"].get("label"),
            "note": e["payload"].get("note"),
            "actor": e["actor"],
            "created_at": e["created_at"],
        }
        for e in events
        if e["kind"] == "review"
    ]
    keep = "answer_id seq created_at channel origin session question status answer"
    keep += " evidence_level citations template latency_ms"
    return {k: r[k] for k in keep.split()} | {
        "feedback": feedback,
        "helpful": sum(1 for f in feedback if f.get("helpful") is True),
        "not_helpful": sum(1 for f in feedback if f.get("helpful") is False),
        "reviews": reviews,
        "review": reviews[-1]["label"] if reviews else None,
    }


def gaps(
    engine: Engine, since: str | None = None, until: str | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """`not_found` and `clarify` questions (not greetings) grouped by their normalised
    text (lowercase, spacing and end punctuation ignored), most frequent first, with
    the compound/condition names the bot had no assessment for."""
    query = select(
        records.c.answer_id,
        records.c.created_at,
        records.c.question,
        records.c.status,
        records.c.data,
    ).where(
        records.c.kind == "answer",
        records.c.status.in_(GAP_STATUSES),
        records.c.template.is_(None) | (records.c.template != "smalltalk"),
    )
    if since:
        query = query.where(records.c.created_at >= since)
    if until:
        query = query.where(records.c.created_at <= until)
    try:
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(records.c.seq)).all()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(str(exc)) from exc
    groups: dict[str, dict[str, Any]] = {}
    for answer_id, created_at, question, status, data in rows:
        key = " ".join((question or "").lower().split()).strip(" ?!.,;:")
        group = groups.setdefault(
            key, {"question": key, "count": 0, "statuses": {}, "unknown": set()}
        )
        group["count"] += 1
        group["statuses"][status] = group["statuses"].get(status, 0) + 1
        group.setdefault("first_seen", created_at)
        group.update(last_seen=created_at, answer_id=answer_id)
        entities = json.loads(data).get("trace", {}).get("entities") or {}
        for kind in ("unknown_compounds", "unknown_conditions"):
            group["unknown"].update(n.lower() for n in entities.get(kind) or ())
    found = sorted(groups.values(), key=lambda g: g["last_seen"], reverse=True)
    found.sort(key=lambda g: g["count"], reverse=True)  # stable: newest first on ties
    return [g | {"unknown": sorted(g["unknown"])} for g in found[:limit]]


def daily(
    engine: Engine, since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """Replies per UTC day by status, and the feedback on them (votes on that day's
    answers: helpful, not_helpful, helpful_ratio or None without votes). With both
    `since` and `until`, every day between them is listed, also days without replies."""
    day = func.substr(records.c.created_at, literal_column("1"), literal_column("10"))
    per_status = select(day, records.c.status, func.count()).where(records.c.kind == "answer")
    ans, vote = records.alias("answer"), records.alias("vote")
    answer_day = func.substr(ans.c.created_at, literal_column("1"), literal_column("10"))
    helpful = case((vote.c.helpful.is_(True), 1), else_=0)
    per_vote = (
        select(answer_day, func.sum(helpful), func.count())
        .select_from(
            vote.join(ans, and_(ans.c.answer_id == vote.c.answer_id, ans.c.kind == "answer"))
        )
        .where(vote.c.kind == "feedback")
    )
    if since:
        per_status = per_status.where(records.c.created_at >= since)
        per_vote = per_vote.where(ans.c.created_at >= since)
    if until:
        per_status = per_status.where(records.c.created_at <= until)
        per_vote = per_vote.where(ans.c.created_at <= until)
    days: dict[str, dict[str, Any]] = {}
    if since and until:
        first, end = datetime.fromisoformat(since[:10]), datetime.fromisoformat(until[:10])
        while first <= end and len(days) < 3660:
            days[first.strftime("%Y-%m-%d")] = {}
            first += timedelta(days=1)
    try:
        with engine.connect() as conn:
            counted = conn.execute(per_status.group_by(day, records.c.status)).all()
            voted = conn.execute(per_vote.group_by(answer_day)).all()
    except SQLAlchemyError as exc:
        raise AuditUnavailable(str(exc)) from exc
    for when, status, n in counted:
        days.setdefault(when, {})[status] = int(n)
    votes = {when: (int(good or 0), int(n)) for when, good, n in voted}
    out = []
    for when in sorted(days):
        good, total = votes.get(when, (0, 0))
        out.append(
            {
                "day": when,
                "total": sum(days[when].values()),
                "statuses": days[when],
                "helpful": good,
                "not_helpful": total - good,
                "helpful_ratio": round(good / total, 4) if total else None,
            }
        )
    return out
