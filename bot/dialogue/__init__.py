"""Conversation context: what a chat is about so far, where it is kept between turns, and
how a follow-up ("and how does it work?", "the second one") is completed from it.
Pure core: no web imports; redis is imported only when a Redis store is made.

- context.py    Context (the topic, the options offered, what fits), stored as JSON, and
                what the next turn keeps after a reply (next_context)
- sessions.py   where contexts are kept: memory, Redis, Redis with memory as a fallback
- choices.py    an answer choosing among the options offered ("the second one")
- followups.py  a follow-up completed from the context (follow_up)
"""

from bot.dialogue.choices import ORDINALS, pick_option
from bot.dialogue.context import Context, Option, next_context
from bot.dialogue.followups import CONTINUATION, asks, follow_up
from bot.dialogue.sessions import (
    FallbackSessionStore,
    MemorySessionStore,
    RedisSessionStore,
    SessionStore,
    make_store,
)

__all__ = [
    "CONTINUATION",
    "ORDINALS",
    "Context",
    "FallbackSessionStore",
    "MemorySessionStore",
    "Option",
    "RedisSessionStore",
    "SessionStore",
    "asks",
    "follow_up",
    "make_store",
    "next_context",
    "pick_option",
]
