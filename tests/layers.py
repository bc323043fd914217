"""Stand-ins for the semantic layer of triage, for tests of what the assistant does with
its verdicts."""

from __future__ import annotations

import numpy as np

from bot.triage.semantic import Verdict


class Says:
    """A semantic layer that returns one verdict for every message (an own-care verdict
    only where the assistant lets the head speak)."""

    def __init__(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.model = None

    def check(self, vectors: np.ndarray, texts: list[str], own_care: bool = True) -> Verdict | None:
        return None if self.verdict.category == "declined" and not own_care else self.verdict
