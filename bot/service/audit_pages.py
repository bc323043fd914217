"""The staff audit UI under /audit: the answer list with filters and paging, one answer in
full with its review form, content gaps, replies per day, and CSV/JSONL exports.

Staff only (audit_login.py: pages redirect to the login, exports answer 401), and every
view and export is itself appended to the chain with the staff member's name and the
filters used. Templates are autoescaped; the one exception is an answer's stored HTML
(see detail.html).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.concurrency import run_in_threadpool

from bot.audit import AuditLog, AuditRefused
from bot.audit.redaction import marks as redaction_marks
from bot.service.audit_login import (
    NO_STORE,
    DownloadUser,
    PageUser,
    StaffUser,
    login_router,
    refusal,
    refused_post,
    render,
)
from bot.service.audit_views import (
    CHANNELS,
    COMMENTS,
    FEEDBACK,
    LABELS,
    REVIEWS,
    STATUSES,
    Filters,
    all_items,
    chart,
    comments,
    csv_lines,
    day_range,
    jsonl_lines,
)
from bot.service.deps import AssistantDep, AuditDep
from bot.service.schemas import ANSWER_ID

PAGE = 50
EXPORT_PAGE = 500
MAX_NOTE = 2000
MAX_SUGGESTIONS = 1000

router = APIRouter(prefix="/audit", include_in_schema=False)
router.include_router(login_router)


def _cursor(value: str | None, errors: list[str]) -> int | None:
    if not value:
        return None
    if value.isdigit() and len(value) < 19:
        return int(value)
    errors.append("cursor: not a page position")
    return None


def _day_bounds(since: str, until: str) -> tuple[str, str]:
    return f"{since}T00:00:00.000000Z", f"{until}T23:59:59.999999Z"


@router.get("", response_class=HTMLResponse)
def answers(request: Request, user: PageUser, audit: AuditDep, assistant: AssistantDep) -> Response:
    """Logged answers, newest first, filtered; "Older" pages on with a cursor."""
    filters, errors = Filters.parse(request.query_params)
    cursor = _cursor(request.query_params.get("cursor"), errors)
    items: list[dict[str, Any]] = []
    following = None
    if not errors:
        items, following = audit.search(filters.audit_filter(), cursor=cursor, limit=PAGE)
        payload = {"what": "answers", "filters": filters.used(), "cursor": cursor}
        audit.event("view", None, payload, actor=user.name)
    known = assistant.index.assessments.values()
    titles = sorted({f"{a.compound} for {a.condition}" for a in known})[:MAX_SUGGESTIONS]
    return render(
        request,
        "list.html",
        422 if errors else 200,
        user=user,
        section="list",
        filters=filters,
        errors=errors,
        items=items,
        cursor=cursor,
        older=filters.query(cursor=following) if following else None,
        statuses=STATUSES,
        channels=CHANNELS,
        feedback_options=FEEDBACK,
        review_options=REVIEWS,
        comment_options=COMMENTS,
        comments=comments,
        link=lambda answer_id: _link(answer_id, filters),  # keeps the list for next/previous
        labels=LABELS,
        titles=titles,
    )


def _hits(record: dict[str, Any], assistant: Any) -> list[dict[str, Any]]:
    """The retrieval hits of the trace, with their text when the loaded index has it."""
    hits = record["trace"].get("hits") or []
    wanted = {str(h[0]) for h in hits}
    found = assistant.index.passages_by_id(wanted) if wanted else {}
    cited = {c.get("passage_id") for c in record["citations"]}
    return [
        {"id": str(pid), "score": score, "cited": pid in cited, "passage": found.get(str(pid))}
        for pid, score in hits
    ]


def _link(answer_id: str | None, filters: Filters, **extra: Any) -> str | None:
    """An answer's detail page, keeping the list it was opened from (its filters)."""
    if answer_id is None:
        return None
    query = filters.query(**extra)
    return f"/audit/answers/{quote(answer_id, safe='')}" + (f"?{query}" if query else "")


def _next_unreviewed(audit: AuditLog, filters: Filters, seq: int) -> str | None:
    """The next answer of the list that nobody has reviewed: older first, then from the
    top of the list (the reviewer works down the list as a queue)."""
    unreviewed = replace(filters.audit_filter(), review="none")
    return audit.neighbour(unreviewed, seq, older=True, wrap=True)


@router.get("/answers/{answer_id}", response_class=HTMLResponse)
def answer_page(
    answer_id: str, request: Request, user: PageUser, audit: AuditDep, assistant: AssistantDep
) -> Response:
    """One answer as the person saw it, what produced it, and its events; the review
    controls first; its place in the list it was opened from and in its conversation."""
    record = audit.answer(answer_id) if re.fullmatch(ANSWER_ID, answer_id) else None
    if record is None:
        return refusal(request, 404, "There is no answer with this id.", user)
    filters, errors = Filters.parse(request.query_params)  # the list this was opened from
    if errors:
        return refusal(request, 422, "Please check the filters: " + "; ".join(errors), user)
    payload: dict[str, Any] = {"what": "answer"}
    if filters.used():
        payload["filters"] = filters.used()
    audit.event("view", answer_id, payload, actor=user.name)
    events = record["events"]
    seq, f = record["seq"], filters.audit_filter()
    saved = request.query_params.get("saved") or ""
    conversation = (
        audit.conversation(record["session"], seq)
        if record["session"]
        else {"turns": [], "count": 0, "skipped": 0}
    )
    turns = conversation["turns"]
    here = next((i for i, t in enumerate(turns) if t["seq"] == seq), None)
    return render(
        request,
        "detail.html",
        user=user,
        section="detail",
        r=record,
        intact=audit.intact(record),  # else its HTML is shown as text only
        hits=_hits(record, assistant),
        feedback=[e for e in events if e["kind"] == "feedback"],
        reviews=[e for e in events if e["kind"] == "review"],
        views=[e for e in events if e["kind"] == "view"],
        others=[e for e in events if e["kind"] not in ("feedback", "review", "view")],
        labels=LABELS,
        reviewed=request.query_params.get("reviewed") == "1",
        none_left=request.query_params.get("left") == "0",
        saved=saved if re.fullmatch(ANSWER_ID, saved) else None,
        filters=filters,
        list_link="/audit" + (f"?{filters.query()}" if filters.used() else ""),
        newer=_link(audit.neighbour(f, seq, older=False), filters),
        older=_link(audit.neighbour(f, seq, older=True), filters),
        unreviewed=_link(_next_unreviewed(audit, filters, seq), filters),
        conversation=conversation,
        earlier_turn=_link(turns[here - 1]["answer_id"], filters) if here else None,
        later_turn=(
            _link(turns[here + 1]["answer_id"], filters)
            if here is not None and here + 1 < len(turns)
            else None
        ),
        turn_link=lambda t: _link(t["answer_id"], filters),
        removed=redaction_marks(record["question"] or ""),
        error=None,
        note="",
    )


@router.post("/answers/{answer_id}/review", response_class=HTMLResponse)
async def review(answer_id: str, request: Request, user: PageUser, audit: AuditDep) -> Response:
    """Append a review label (and an optional note) as a chained event; "save & next"
    goes on to the next unreviewed answer of the list the form was opened from."""
    form = await request.form()
    # The audit write waits for its commit: not on the event loop.
    return await run_in_threadpool(_review, answer_id, request, form, user, audit)


def _review(
    answer_id: str, request: Request, form: Any, user: StaffUser, audit: AuditLog
) -> Response:
    refused = refused_post(request, form, user)
    if refused is not None:
        return refused
    filters, errors = Filters.parse(request.query_params)
    if errors:
        return refusal(request, 422, "Please check the filters: " + "; ".join(errors), user)
    label, note = str(form.get("label") or ""), str(form.get("note") or "").strip()
    if label not in LABELS or len(note) > MAX_NOTE:
        message = f"Choose a label; a note has at most {MAX_NOTE} characters."
        return refusal(request, 422, message, user)
    if not re.fullmatch(ANSWER_ID, answer_id):
        return refusal(request, 404, "There is no answer with this id.", user)
    try:
        reviewed = audit.review(answer_id, label, note or None, actor=user.name)
    except AuditRefused as exc:  # e.g. a NUL in the note
        return refusal(request, 422, f"The note cannot be stored: {exc}.", user)
    if reviewed is None:
        return refusal(request, 404, "There is no answer with this id.", user)
    if form.get("then") == "next":
        record = audit.answer(answer_id)
        following = _next_unreviewed(audit, filters, record["seq"]) if record else None
        if following is not None:
            target = _link(following, filters, saved=answer_id)
            return RedirectResponse(str(target), status_code=303, headers=NO_STORE)
        target = f"{_link(answer_id, filters, reviewed='1', left='0')}#reviews"
        return RedirectResponse(target, status_code=303, headers=NO_STORE)
    return RedirectResponse(
        f"{_link(answer_id, filters, reviewed='1')}#reviews", status_code=303, headers=NO_STORE
    )


@router.get("/gaps", response_class=HTMLResponse)
def gaps(request: Request, user: PageUser, audit: AuditDep) -> Response:
    """`not_found` and `clarify` questions grouped: what the corpus is missing."""
    since, until, errors = day_range(request.query_params)
    groups = [] if errors else audit.gaps(*_day_bounds(since, until))
    names: Counter[str] = Counter()
    for g in groups:
        for name in g["unknown"]:
            names[name] += g["count"]
    if not errors:
        payload = {"what": "gaps", "since": since, "until": until}
        audit.event("view", None, payload, actor=user.name)
    return render(
        request,
        "gaps.html",
        422 if errors else 200,
        user=user,
        section="gaps",
        since=since,
        until=until,
        errors=errors,
        groups=groups,
        names=names.most_common(100),
        total=sum(g["count"] for g in groups),
    )


@router.get("/stats", response_class=HTMLResponse)
def stats(request: Request, user: PageUser, audit: AuditDep) -> Response:
    """Replies per day by status, and the helpful ratio: a chart and its table."""
    since, until, errors = day_range(request.query_params)
    days = [] if errors else audit.daily(*_day_bounds(since, until))
    if not errors:
        payload = {"what": "stats", "since": since, "until": until}
        audit.event("view", None, payload, actor=user.name)
    votes = sum(d["helpful"] + d["not_helpful"] for d in days)
    helpful = sum(d["helpful"] for d in days)
    return render(
        request,
        "stats.html",
        422 if errors else 200,
        user=user,
        section="stats",
        since=since,
        until=until,
        errors=errors,
        days=days,
        chart=chart(days),
        statuses=STATUSES,
        totals={s: sum(d["statuses"].get(s, 0) for d in days) for s in STATUSES},
        replies=sum(d["total"] for d in days),
        votes=votes,
        ratio=helpful / votes if votes else None,
    )


def _export(request: Request, user: StaffUser, audit: AuditLog, kind: str) -> Response:
    filters, errors = Filters.parse(request.query_params)
    if errors:
        return PlainTextResponse("; ".join(errors), status_code=422, headers=NO_STORE)
    # The first page is read before the response starts: a failing database is a clear
    # status, not a download cut off after its header.
    first = audit.search(filters.audit_filter(), limit=EXPORT_PAGE)
    audit.event("export", None, {"format": kind, "filters": filters.used()}, actor=user.name)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    items = all_items(audit, filters, page=EXPORT_PAGE, first=first)
    lines, media = (
        (csv_lines(items), "text/csv; charset=utf-8")
        if kind == "csv"
        else (jsonl_lines(items), "application/x-ndjson; charset=utf-8")
    )
    disposition = f'attachment; filename="evidence-audit-{stamp}.{kind}"'
    return StreamingResponse(
        lines, media_type=media, headers={"Content-Disposition": disposition, **NO_STORE}
    )


@router.get("/export.csv")
def export_csv(request: Request, user: DownloadUser, audit: AuditDep) -> Response:
    """The filtered list (same filters as /audit, every page) as CSV."""
    return _export(request, user, audit, "csv")


@router.get("/export.jsonl")
def export_jsonl(request: Request, user: DownloadUser, audit: AuditDep) -> Response:
    """The filtered list (same filters as /audit, every page) as JSON Lines."""
    return _export(request, user, audit, "jsonl")
