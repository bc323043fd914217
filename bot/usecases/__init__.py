"""What the channels do, written once: open an assistant, answer a message and record it,
replay a recorded answer.

The command line, the web service, hot reload and the benchmark are thin adapters over
these: they turn their own input (options, a request) into typed arguments and the
results (or errors) into their own output. Nothing here knows of click or FastAPI.
"""

from __future__ import annotations

from bot.usecases.answering import Asked, answer_and_record
from bot.usecases.opening import open_assistant
from bot.usecases.replay import Difference, Replayed, ReplayError, replay

__all__ = [
    "Asked",
    "Difference",
    "ReplayError",
    "Replayed",
    "answer_and_record",
    "open_assistant",
    "replay",
]
