"""Request and reply models of the HTTP contract (also the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot.assistant import MAX_MESSAGE, clean_message

# Ids are ours (hex): anything else names no answer. Also keeps a NUL out of queries.
ANSWER_ID = r"^[A-Za-z0-9_.:-]+$"
# Text filters: anything but NUL, which PostgreSQL cannot compare with text.
NO_NUL = r"^[^\x00]*$"
# A contacts-file locale ("gb") or a BCP 47 language tag ("en-GB", "es-US", "es").
LOCALE_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"


def storable(value: object) -> object:
    """Text that can be logged: JSON may carry lone surrogates ("\\ud800"), which are not
    Unicode text and which no database column can store."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("text must be valid Unicode (it has a lone surrogate)") from exc
    return value


class ChatRequest(BaseModel):
    message: str = Field(description=f"The question, 1-{MAX_MESSAGE} characters after trimming.")
    session_id: str | None = Field(
        None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Returned by a previous reply; omit or null to start a conversation.",
    )
    locale: str | None = Field(
        None,
        max_length=35,
        pattern=LOCALE_PATTERN,
        description="Optional: the visitor's locale, which picks the crisis contacts of an "
        "urgent reply: a locale of the contacts file (`gb`) or a language tag whose region "
        "picks it (`en-GB`). Omitted or unknown: BOT_LOCALE's.",
    )

    _storable = field_validator("message", "session_id", mode="before")(storable)
    _clean = field_validator("message")(clean_message)


class CitationOut(BaseModel):
    page_id: str
    title: str
    compound: str
    condition: str
    evidence_level: str
    section: str
    url: str | None
    passage: str
    score: float


class ChatReply(BaseModel):
    status: Literal["answered", "info", "clarify", "not_found", "urgent", "support", "declined"]
    answer: str
    html: str
    evidence_level: str | None
    disclaimer: str
    citations: list[CitationOut]
    suggestions: list[str]
    crisis_kind: Literal["self_harm", "emergency", "violence"] | None = None
    session_id: str
    answer_id: str


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="`degraded`: the audit log cannot be reached, so no reply can be given."
    )
    assessments: int
    passages: int
    model: str
    built_at: str
    index: str
    sessions: dict[str, object] = Field(
        description="Conversation store: backend, ok, and the fallback in use while degraded."
    )
    sync: dict[str, object] | None = Field(
        None,
        description="Site sync (BOT_SYNC_SITEMAP): schedule, whether one is running, and the "
        "last sync's time, counts and errors; null when the corpus was never synced.",
    )
    audit: dict[str, bool | int] = Field(
        description="Whether the audit database answers (`ok`); records of urgent replies "
        "waiting to be written (`pending`), kept so far (`kept`) and written late "
        "(`written_late`)."
    )


class FeedbackRequest(BaseModel):
    answer_id: str = Field(
        min_length=1, max_length=64, pattern=ANSWER_ID, description="From the reply."
    )
    helpful: bool = Field(description="Thumbs up (true) or down (false).")
    comment: str | None = Field(
        None, max_length=MAX_MESSAGE, description="Optional words from the person."
    )

    _storable = field_validator("comment", mode="before")(storable)


class FeedbackReply(BaseModel):
    status: Literal["recorded"]


class ErrorOut(BaseModel):
    """Every error response: `detail` says what went wrong, in words."""

    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None


class InvalidOut(BaseModel):
    """A request that cannot be answered as sent (422)."""

    detail: str = Field(description="What is wrong, in words.")
    errors: list[FieldError] | None = Field(
        None, description="Each invalid field (absent when the value itself is unusable)."
    )


# The error responses a route can give, for its `responses=` (the OpenAPI schema).
ERRORS: dict[int, dict[str, object]] = {
    400: {"model": ErrorOut, "description": "The body could not be read (not UTF-8)."},
    401: {"model": ErrorOut, "description": "A staff API token is required."},
    403: {"model": ErrorOut, "description": "Called from a site that is not allowed."},
    404: {"model": ErrorOut, "description": "No answer with this answer_id."},
    413: {"model": ErrorOut, "description": "Request body too large."},
    422: {"model": InvalidOut, "description": "Invalid request."},
    429: {"model": ErrorOut, "description": "Too many requests: wait `Retry-After` seconds."},
    503: {
        "model": ErrorOut,
        "description": "The reply could not be logged or the service cannot answer right "
        "now: try again after `Retry-After` seconds.",
    },
}


def errors(*codes: int) -> dict[int | str, dict[str, object]]:
    return {code: ERRORS[code] for code in codes}
