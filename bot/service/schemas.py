"""Request and reply models of the HTTP contract (also the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot.assistant import MAX_MESSAGE, clean_message


class ChatRequest(BaseModel):
    message: str = Field(description=f"The question, 1-{MAX_MESSAGE} characters after trimming.")
    session_id: str | None = Field(
        None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Returned by a previous reply; omit or null to start a conversation.",
    )

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
    status: Literal["answered", "clarify", "not_found", "urgent", "declined"]
    answer: str
    html: str
    evidence_level: str | None
    disclaimer: str
    citations: list[CitationOut]
    suggestions: list[str]
    session_id: str
    answer_id: str


class Health(BaseModel):
    status: Literal["ok"]
    assessments: int
    passages: int
    model: str
    built_at: str
    index: str
    sessions: dict[str, object] = Field(
        description="Conversation store: backend, ok, and the fallback in use while degraded."
    )


class FeedbackRequest(BaseModel):
    answer_id: str = Field(min_length=1, max_length=64, description="From the reply.")
    helpful: bool = Field(description="Thumbs up (true) or down (false).")
    comment: str | None = Field(
        None, max_length=MAX_MESSAGE, description="Optional words from the person."
    )


class FeedbackReply(BaseModel):
    status: Literal["recorded"]
