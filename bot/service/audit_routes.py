"""The staff side's JSON API: bearer tokens; every read is itself an audit event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from bot.audit import AuditFilter
from bot.service.deps import AuditDep
from bot.service.query import single_valued
from bot.service.schemas import ANSWER_ID, NO_NUL, errors
from bot.staff import Staff

router = APIRouter(
    prefix="/api/audit",
    tags=["audit"],
    responses=errors(401, 403, 422, 503),
    dependencies=[Depends(single_valued)],
)

UNAUTHORISED = HTTPException(
    status_code=401,
    detail="staff API token required (Authorization: Bearer <token from `bot staff token`)",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_staff(request: Request) -> Staff:
    return request.app.state.staff


def staff_member(request: Request, staff: Annotated[Staff, Depends(get_staff)]) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    name = staff.by_token(token.strip()) if scheme.lower() == "bearer" and token else None
    if name is None:
        raise UNAUTHORISED
    return name


StaffMember = Annotated[str, Depends(staff_member)]


def _iso(value: str | None, name: str) -> str | None:
    """An ISO date or time, as the log stores it (UTC text), or a clear 422."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC)  # OverflowError past year 9999
    except (ValueError, OverflowError) as exc:
        raise HTTPException(422, detail=f"{name}: not an ISO date or time ({value!r})") from exc
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@router.get("/answers")
def list_answers(
    who: StaffMember,
    audit: AuditDep,
    q: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_NUL, description="Text in question or answer"),
    ] = None,
    status: Annotated[
        str | None, Query(pattern="^(answered|info|clarify|not_found|urgent|support|declined)$")
    ] = None,
    since: Annotated[str | None, Query(description="ISO date or time (UTC)")] = None,
    until: Annotated[str | None, Query(description="ISO date or time (UTC)")] = None,
    channel: Annotated[str | None, Query(max_length=16, pattern=NO_NUL)] = None,
    session: Annotated[
        str | None,
        Query(pattern="^[0-9a-f]{32}$", description="A session's pseudonym: one conversation"),
    ] = None,
    cursor: Annotated[
        # Positions are 64-bit (seq): a larger one fails in the database, not here.
        int | None, Query(ge=0, le=2**63 - 1, description="`next` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Logged answers, newest first, filtered; `next` is the cursor of the following page."""
    filters = {
        "q": q,
        "status": status,
        "since": _iso(since, "since"),
        "until": _iso(until, "until"),
        "channel": channel,
        "session": session,
    }
    items, following = audit.search(AuditFilter(**filters), cursor=cursor, limit=limit)
    audit.event("view", None, {"what": "answers", **filters, "cursor": cursor}, actor=who)
    return {"items": items, "next": following}


@router.get("/answers/{answer_id}", responses=errors(404))
def get_answer(
    answer_id: Annotated[str, Path(max_length=64, pattern=ANSWER_ID)],
    who: StaffMember,
    audit: AuditDep,
) -> dict[str, Any]:
    """One logged answer with everything that produced it and its events."""
    found = audit.answer(answer_id)
    if found is None:
        raise HTTPException(404, detail=f"no answer with answer_id {answer_id}")
    audit.event("view", answer_id, {"what": "answer"}, actor=who)
    return found
