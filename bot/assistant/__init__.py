"""One reply to one message: triage, entities, conversation, scope, retrieval, template.

The order is the safety argument: triage runs before anything is retrieved, and a page
is only cited when its compound and condition fit what the question (or the conversation)
names.

One module per step: core (the Assistant: repeated first messages, triage, urgent
replies), routing (which kind of reply a message gets, and the next context), answers
(one page, declined requests), listings (not_found, listings, comparisons, clarify), info
(what every page shares), base (what they all use).
"""

from __future__ import annotations

from bot.assistant.answers import _template_for, trials_search
from bot.assistant.base import (
    MAX_MESSAGE,
    RetrievalUnavailable,
    clean_message,
    new_id,
    short_title,
)
from bot.assistant.core import Assistant
from bot.assistant.listings import MAX_LISTED, scale_line

__all__ = [
    "MAX_LISTED",
    "MAX_MESSAGE",
    "Assistant",
    "RetrievalUnavailable",
    "_template_for",
    "clean_message",
    "new_id",
    "scale_line",
    "short_title",
    "trials_search",
]
