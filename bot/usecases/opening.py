"""One way to open the assistant that answers, whoever asks for it."""

from __future__ import annotations

from bot.assistant import Assistant
from bot.dialogue import MemorySessionStore, SessionStore
from bot.embedding import Embedder
from bot.index import Index
from bot.settings import Settings


def open_assistant(
    settings: Settings,
    index: Index | None = None,
    embedder: Embedder | None = None,
    *,
    sessions: SessionStore | None = None,
    private: bool = False,
    warm: bool = False,
) -> Assistant:
    """The assistant over `index` (else the build published in settings.index), with
    `embedder` (else the configured model) and `sessions` (else the configured store).

    `private`: a memory session store of its own, so that evaluation and replay
    conversations never touch real ones. `warm`: load the model and build BM25 now, not on
    the first person's question (a server about to take requests)."""
    if private:
        if sessions is not None:
            raise ValueError("a private assistant has its own sessions: give one or the other")
        sessions = MemorySessionStore()
    assistant = Assistant.create(settings, index, embedder, sessions=sessions)
    if warm:
        assistant.warm_up()
    return assistant
