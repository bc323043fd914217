"""One reply to one message: triage, entities, scope, retrieval, template.

The order is the safety argument: triage runs before anything is retrieved, and a page
is only cited when its compound and condition fit what the question names.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from bot.answer import Citation, Renderer, Reply, Status
from bot.embedding import Embedder, make_embedder
from bot.entities import Entities, Lexicon
from bot.index import Index, load
from bot.pages import Assessment
from bot.retrieval import Hit, Retriever, intent_of
from bot.settings import Settings
from bot.triage import triage

MAX_LISTED = 8
MAX_MESSAGE = 1000

FOLLOW_UPS = {
    "evidence_level": "What is the evidence level for {c} in {d}?",
    "mechanism": "How does {c} work?",
    "meaning": "What does this evidence level mean for patients?",
    "trials": "Are there clinical trials for {c} in {d}?",
}


def clean_message(value: str) -> str:
    """The message as answered: trimmed, 1-MAX_MESSAGE characters, else ValueError."""
    text = value.strip()
    if not 1 <= len(text) <= MAX_MESSAGE:
        raise ValueError(
            f"message must be 1-{MAX_MESSAGE} characters after trimming (got {len(text)})"
        )
    return text


def new_id() -> str:
    return uuid.uuid4().hex


def _ask_about(a: Assessment) -> str:
    return f"What is the evidence level for {a.compound} in {a.condition}?"


@dataclass
class Assistant:
    index: Index
    embedder: Embedder
    settings: Settings
    lexicon: Lexicon
    renderer: Renderer

    @classmethod
    def create(
        cls, settings: Settings, index: Index | None = None, embedder: Embedder | None = None
    ) -> Assistant:
        index = index or load(settings.index)
        return cls(
            index=index,
            embedder=embedder or make_embedder(settings.embedder),
            settings=settings,
            lexicon=Lexicon.build(index.assessments.values()),
            renderer=Renderer(),
        )

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.index, self.embedder, self.lexicon, self.settings.top_k)

    def warm_up(self) -> None:
        """Load the model now rather than on the first person's question."""
        self.embedder.encode(["warm up"])

    def reply(self, message: str, session_id: str | None = None) -> Reply:
        started = time.perf_counter()
        text = message.strip()
        base = {
            "session_id": session_id or new_id(),
            "answer_id": new_id(),
            "disclaimer": self.settings.disclaimer,
        }
        check = triage(text)
        trace: dict[str, object] = {"triage": check.reason if check else None}
        if check and check.kind == "urgent":
            reply = self.renderer.render(
                "urgent",
                status=Status.URGENT,
                crisis=self.settings.crisis_contacts,
                suggestions=(),
                trace=trace,
                **base,
            )
            return self._timed(reply, started)

        retriever = self.retriever
        entities = retriever.entities(text)
        candidates = retriever.candidates(entities)
        trace["entities"] = {
            "compounds": entities.compounds,
            "conditions": entities.conditions,
            "unknown_compounds": entities.unknown_compounds,
            "unknown_conditions": entities.unknown_conditions,
        }
        crisis = self.settings.crisis_contacts if check and check.kind == "mention" else None

        if check and check.kind == "declined":
            reply = self._declined(candidates, crisis, trace, base)
        else:
            reply = self._answer(text, entities, candidates, retriever, crisis, trace, base)
        return self._timed(reply, started)

    @staticmethod
    def _timed(reply: Reply, started: float) -> Reply:
        reply.trace["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return reply

    def _declined(
        self,
        candidates: list[Assessment],
        crisis: str | None,
        trace: dict[str, object],
        base: dict[str, str],
    ) -> Reply:
        a = candidates[0] if len(candidates) == 1 else None
        if a is not None:
            base = {**base, "disclaimer": a.disclaimer or base["disclaimer"]}
        return self.renderer.render(
            "declined",
            status=Status.DECLINED,
            a=a,
            evidence_level=a.evidence_level if a else None,
            citations=[self._classification_citation(a)] if a else [],
            suggestions=[f"How does {a.compound} work?"] if a else [],
            crisis=crisis,
            trace=trace,
            **base,
        )

    def _classification_citation(self, a: Assessment) -> Citation:
        rows = self.index.rows_of(a.id)
        passages = [self.index.passages[int(r)] for r in rows]
        chosen = next(
            (p for p in passages if p.section.startswith("Current Evidence Classification")),
            passages[0],
        )
        return Citation.from_hit(Hit(chosen, a, 1.0, True))

    def _answer(
        self,
        text: str,
        entities: Entities,
        candidates: list[Assessment],
        retriever: Retriever,
        crisis: str | None,
        trace: dict[str, object],
        base: dict[str, str],
    ) -> Reply:
        def not_found(
            missing: str | None, covered: list[Assessment], intro: str, **extra: object
        ) -> Reply:
            return self.renderer.render(
                "not_found",
                status=Status.NOT_FOUND,
                missing=missing,
                off_scope=extra.pop("off_scope", None),
                covered=[a.title.split(":")[0] for a in covered[:MAX_LISTED]],
                covered_intro=intro,
                more=max(0, len(covered) - MAX_LISTED),
                suggestions=[_ask_about(a) for a in covered[:3]],
                crisis=crisis,
                trace=trace,
                **base,
            )

        everything = sorted(self.index.assessments.values(), key=lambda a: a.title)
        if not entities.compounds and entities.unknown_compounds:
            names = " or ".join(entities.unknown_compounds)
            scope = [a for a in everything if a.condition in entities.conditions] or everything
            where = f" for {entities.conditions[0]}" if entities.conditions else ""
            return not_found(names, scope, f"Assessments we do have{where}:")
        if entities.compounds and not entities.conditions and entities.unknown_conditions:
            pair = f"{entities.compounds[0]} for {' or '.join(entities.unknown_conditions)}"
            scope = [a for a in everything if a.compound in entities.compounds]
            return not_found(pair, scope, f"For {entities.compounds[0]} we have:")
        if not entities.compounds and not entities.conditions:
            return not_found(None, everything, "Assessments we have:")
        if not candidates:
            pair = f"{entities.compounds[0]} for {entities.conditions[0]}"
            scope = [a for a in everything if a.compound in entities.compounds]
            return not_found(pair, scope, f"For {entities.compounds[0]} we have:")
        if len(candidates) > 1:
            return self.renderer.render(
                "clarify",
                status=Status.CLARIFY,
                options=[a.title.split(":")[0] for a in candidates[:MAX_LISTED]],
                suggestions=[_ask_about(a) for a in candidates[:MAX_LISTED]],
                crisis=crisis,
                trace=trace,
                **base,
            )

        a = candidates[0]
        intent = intent_of(text)
        hits = retriever.search(text, [a], intent)
        trace.update(
            intent=intent,
            min_score=self.settings.min_score,
            hits=[(h.passage.id, round(h.score, 4)) for h in hits],
        )
        best = hits[0] if hits else None
        if best is None or (not best.on_target and best.score < self.settings.min_score):
            return not_found(None, [a], "You can ask me about:", off_scope=a)

        notes = [f"We have no assessment of {n} yet." for n in entities.unknown_compounds]
        template, extra = self._template_for(intent, best)
        suggestions = [
            q.format(c=a.compound, d=a.condition) for i, q in FOLLOW_UPS.items() if i != intent
        ][:3]
        return self.renderer.render(
            template,
            status=Status.ANSWERED,
            a=a,
            evidence_level=a.evidence_level,
            citations=[Citation.from_hit(best)],
            suggestions=suggestions,
            crisis=crisis,
            notes=notes,
            trace=trace,
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
            **extra,
        )

    @staticmethod
    def _template_for(intent: str, hit: Hit) -> tuple[str, dict[str, object]]:
        p = hit.passage
        if p.kind == "faq":
            return "answered_faq", {"passage": p.text, "question": p.question}
        if intent == "mechanism" and p.section.startswith("Mechanis"):
            return "answered_mechanism", {"passage": p.text}
        if p.section.startswith("Current Evidence Classification"):
            # The level itself is printed by the layout; quote what surrounds it.
            rest = "\n".join(
                ln for ln in p.text.splitlines() if not ln.lower().startswith("evidence level:")
            )
            return "answered_evidence_level", {"passage": rest}
        return "answered_section", {"passage": p.text, "section": p.section}
