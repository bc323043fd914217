"""One reply to one message: triage, entities, conversation, scope, retrieval, template.

The order is the safety argument: triage runs before anything is retrieved, and a page
is only cited when its compound and condition fit what the question (or the conversation)
names.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cachetools import LRUCache

from bot.answer import Citation, Renderer, Reply, Status
from bot.chunks import Passage
from bot.dialogue import Context, Option, SessionStore, follow_up, make_store, next_context
from bot.embedding import Embedder, make_embedder
from bot.entities import Entities, Lexicon
from bot.index import Index, load
from bot.pages import Assessment
from bot.retrieval import Hit, Retriever, intent_of, missing_subject
from bot.settings import Settings
from bot.triage import Contact, Triage, crisis_contacts, triage

MAX_LISTED = 8
FIRST_TURNS = 2048  # first messages whose replies are kept (a few KB each)
MAX_MESSAGE = 1000

FOLLOW_UPS = {
    "evidence_level": "What is the evidence level for {c} in {d}?",
    "mechanism": "How does {c} work?",
    "meaning": "What does this evidence level mean for patients?",
    "trials": "Are there clinical trials for {c} in {d}?",
    "consider": "Is the evidence strong enough to consider {c}?",
}
# Greetings and thanks get a friendly pointer, not "I couldn't tell what you asked".
SMALLTALK = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?( very much| so much)?"
    r"|thank you|ok(ay)?|great|cheers|bye|goodbye)\W*$",
    re.IGNORECASE,
)


def clean_message(value: str) -> str:
    """The message as answered: trimmed, 1-MAX_MESSAGE characters, else ValueError."""
    text = value.strip()
    if not 1 <= len(text) <= MAX_MESSAGE:
        raise ValueError(
            f"message must be 1-{MAX_MESSAGE} characters after trimming (got {len(text)})"
        )
    if "\x00" in text:  # no text column of PostgreSQL can store it, so it can't be logged
        raise ValueError("message must not contain NUL characters")
    return text


def new_id() -> str:
    return uuid.uuid4().hex


def short_title(a: Assessment) -> str:
    return f"{a.compound} for {a.condition}"


def _ask_about(a: Assessment) -> str:
    return f"What is the evidence level for {a.compound} in {a.condition}?"


class RetrievalUnavailable(Exception):
    """The model or the index failed while answering: no answer can be given (a 503).
    Triage runs before retrieval, so `urgent` replies never get here."""


@dataclass
class Outcome:
    """A rendered reply and the assessment(s) it settled on, for the session context."""

    reply: Reply
    assessment: Assessment | None = None
    options: list[Assessment] = field(default_factory=list)
    # For a not_found about a named pair: the names asked about, kept as the topic.
    topic: tuple[str | None, str | None] = (None, None)


@dataclass
class Assistant:
    index: Index
    embedder: Embedder
    settings: Settings
    lexicon: Lexicon
    renderer: Renderer
    sessions: SessionStore
    contacts: tuple[Contact, ...]

    @classmethod
    def create(
        cls,
        settings: Settings,
        index: Index | None = None,
        embedder: Embedder | None = None,
        sessions: SessionStore | None = None,
    ) -> Assistant:
        index = index or load(settings.index)
        return cls(
            index=index,
            embedder=embedder or make_embedder(settings.embedder),
            settings=settings,
            lexicon=Lexicon.build(index.assessments.values()),
            renderer=Renderer(),
            sessions=sessions
            or make_store(settings.session_store, settings.redis_url, settings.session_ttl),
            contacts=crisis_contacts(settings.locale, settings.crisis_contacts_file),
        )

    def __post_init__(self) -> None:
        self.retriever = Retriever(self.index, self.embedder, self.lexicon, self.settings.top_k)
        self._pairs = {(a.compound, a.condition) for a in self.index.assessments.values()}
        self._compounds = {c for c, _ in self._pairs}
        self._conditions = {d for _, d in self._pairs}
        self._everything = sorted(self.index.assessments.values(), key=lambda a: a.title)
        # First messages already answered from this index (the same text, the same reply).
        self._first_turns: LRUCache[str, tuple[Reply, Context]] = LRUCache(FIRST_TURNS)
        self._first_turns_lock = threading.Lock()

    def covered(self, compound: str, condition: str) -> bool:
        return (compound, condition) in self._pairs

    def _sorted(self, entities: Entities) -> Entities:
        """Names inherited from the conversation may be ones we have no page for."""
        compounds, conditions = self._compounds, self._conditions

        def split(names: tuple[str, ...], pages: set[str]) -> tuple[tuple[str, ...], ...]:
            return tuple(n for n in names if n in pages), tuple(n for n in names if n not in pages)

        known_c, unknown_c = split(entities.compounds, compounds)
        known_d, unknown_d = split(entities.conditions, conditions)
        return Entities(
            compounds=known_c,
            conditions=known_d,
            unknown_compounds=tuple(dict.fromkeys(unknown_c + entities.unknown_compounds)),
            unknown_conditions=tuple(dict.fromkeys(unknown_d + entities.unknown_conditions)),
        )

    def warm_up(self) -> None:
        """Load the model and build BM25 now rather than on the first person's question."""
        self.embedder.encode(["warm up"])
        _ = self.index.lexical

    def reply(self, message: str, session_id: str | None = None) -> Reply:
        started = time.perf_counter()
        text = message.strip()
        session_id = session_id or new_id()
        base = {
            "session_id": session_id,
            "answer_id": new_id(),
            "disclaimer": self.settings.disclaimer,
        }
        check = triage(text)
        trace: dict[str, Any] = {"triage": check.reason if check else None}
        if check and check.kind == "urgent":
            # Nothing is retrieved and the conversation's topic is left as it was.
            reply = self.renderer.render(
                "urgent", status=Status.URGENT, crisis=self.contacts, trace=trace, **base
            )
            return self._timed(reply, started)

        context = self.sessions.get(session_id)
        if context is None:
            # A first message depends on nothing but its text and this index: the same
            # question asked again gets the same reply, under its own ids.
            with self._first_turns_lock:
                known = self._first_turns.get(text)
            if known is not None:
                reply, after = known
                self.sessions.put(session_id, after)
                trace = {**reply.trace, "repeat_of": reply.answer_id}
                reply = replace(
                    reply, session_id=session_id, answer_id=base["answer_id"], trace=trace
                )
                return self._timed(reply, started)
        reply, after = self._respond(text, check, context, trace, base)
        self.sessions.put(session_id, after)
        if context is None:
            with self._first_turns_lock:
                self._first_turns[text] = (reply, after)
        return self._timed(reply, started)

    def _respond(
        self,
        text: str,
        check: Triage | None,
        context: Context | None,
        trace: dict[str, Any],
        base: dict[str, str],
    ) -> tuple[Reply, Context]:
        """The reply to a message that is not urgent, and the conversation's next context."""
        analysis = self.lexicon.analyse(text)
        asked = analysis.entities
        entities = self._sorted(follow_up(asked, context, self.covered, text))
        candidates = self.retriever.candidates(entities)
        trace["entities"] = _entities_trace(asked)
        if entities != asked:
            trace["from_context"] = _entities_trace(entities)
        crisis = self.contacts if check and check.kind == "mention" else ()

        if check and check.kind == "declined":
            outcome = self._declined(candidates, crisis, trace, base)
        elif SMALLTALK.match(text) and asked.empty:
            reply = self.renderer.render(
                "smalltalk",
                status=Status.NOT_FOUND,
                covered=[short_title(a) for a in self._everything[:MAX_LISTED]],
                suggestions=[_ask_about(a) for a in self._everything[:3]],
                trace=trace,
                **base,
            )
            # Thanks or hello keeps the conversation's topic.
            return reply, context or Context()
        else:
            # Nothing but names and filler ("velorin", "the second one"): the overview.
            intent = intent_of(text) if analysis.leftover else "evidence_level"
            outcome = self._answer(text, intent, entities, candidates, crisis, trace, base)

        a = outcome.assessment
        compound, condition = (a.compound, a.condition) if a else outcome.topic
        after = next_context(
            context,
            outcome.reply.status.value,
            compound,
            condition,
            [Option(o.compound, o.condition) for o in outcome.options],
        )
        return outcome.reply, after

    @staticmethod
    def _timed(reply: Reply, started: float) -> Reply:
        reply.trace["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return reply

    def _declined(
        self,
        candidates: list[Assessment],
        crisis: tuple[Contact, ...],
        trace: dict[str, Any],
        base: dict[str, str],
    ) -> Outcome:
        a = candidates[0] if len(candidates) == 1 else None
        if a is not None:
            base = {**base, "disclaimer": a.disclaimer or base["disclaimer"]}
        reply = self.renderer.render(
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
        return Outcome(reply, a)

    def _passages_of(self, a: Assessment) -> list[Passage]:
        return [self.index.passages[int(r)] for r in self.index.rows_of(a.id)]

    def _classification_citation(self, a: Assessment) -> Citation:
        passages = self._passages_of(a)
        chosen = next(
            (p for p in passages if p.section.startswith("Current Evidence Classification")),
            passages[0],
        )
        return Citation.from_hit(Hit(chosen, a, 1.0, True))

    def _not_found(
        self,
        missing: str | None,
        covered: list[Assessment],
        intro: str,
        crisis: tuple[Contact, ...],
        trace: dict[str, Any],
        base: dict[str, str],
        off_scope: Assessment | None = None,
        topic: tuple[str | None, str | None] = (None, None),
        subject: str | None = None,
    ) -> Outcome:
        reply = self.renderer.render(
            "not_found",
            status=Status.NOT_FOUND,
            missing=missing,
            off_scope=off_scope,
            subject=subject,
            covered=[short_title(a) for a in covered[:MAX_LISTED]],
            covered_intro=intro,
            more=max(0, len(covered) - MAX_LISTED),
            suggestions=[_ask_about(a) for a in covered[:3]],
            crisis=crisis,
            trace=trace,
            **base,
        )
        return Outcome(reply, off_scope, topic=topic)

    def _answer(
        self,
        text: str,
        intent: str,
        entities: Entities,
        candidates: list[Assessment],
        crisis: tuple[Contact, ...],
        trace: dict[str, Any],
        base: dict[str, str],
    ) -> Outcome:
        everything = self._everything
        args = (crisis, trace, base)
        compound = (entities.compounds + entities.unknown_compounds or (None,))[0]
        condition = (entities.conditions + entities.unknown_conditions or (None,))[0]
        topic = (compound, condition)
        if not entities.compounds and entities.unknown_compounds:
            names = " or ".join(entities.unknown_compounds)
            scope = [a for a in everything if a.condition in entities.conditions] or everything
            where = f" for {entities.conditions[0]}" if entities.conditions else ""
            return self._not_found(
                names, scope, f"Assessments we do have{where}:", *args, topic=topic
            )
        if entities.compounds and not entities.conditions and entities.unknown_conditions:
            pair = f"{entities.compounds[0]} for {' or '.join(entities.unknown_conditions)}"
            scope = [a for a in everything if a.compound in entities.compounds]
            return self._not_found(
                pair, scope, f"For {entities.compounds[0]} we have:", *args, topic=topic
            )
        if not entities.compounds and not entities.conditions:
            missing = " or ".join(entities.unknown_conditions) or None
            return self._not_found(missing, everything, "Assessments we have:", *args)
        if not candidates:
            pair = f"{entities.compounds[0]} for {entities.conditions[0]}"
            scope = [a for a in everything if a.compound in entities.compounds]
            return self._not_found(
                pair, scope, f"For {entities.compounds[0]} we have:", *args, topic=topic
            )
        if len(candidates) > 1:
            options = candidates[:MAX_LISTED]
            reply = self.renderer.render(
                "clarify",
                status=Status.CLARIFY,
                options=[short_title(a) for a in options],
                suggestions=[_ask_about(a) for a in options],
                crisis=crisis,
                trace=trace,
                **base,
            )
            return Outcome(reply, options=options)

        a = candidates[0]
        subject = missing_subject(text, self._passages_of(a))
        if subject is not None:
            trace["missing_subject"] = subject
            return self._not_found(
                None, [a], "You can ask me about:", *args, off_scope=a, subject=subject
            )
        try:
            hits = self.retriever.search(text, [a], intent)
        except Exception as exc:  # the embedding model or the index, not the question
            raise RetrievalUnavailable(f"retrieval failed: {exc!r}") from exc
        trace.update(
            intent=intent,
            min_score=self.settings.min_score,
            hits=[(h.passage.id, round(h.score, 4)) for h in hits],
        )
        best = hits[0] if hits else None
        relevance = max((h.score for h in hits), default=0.0)
        if best is None or (not best.on_target and relevance < self.settings.min_score):
            return self._not_found(None, [a], "You can ask me about:", *args, off_scope=a)

        notes = [f"We have no assessment of {n} yet." for n in entities.unknown_compounds]
        notes += [
            f"We have no assessment of {a.compound} for {n} specifically."
            for n in entities.unknown_conditions
        ]
        template, extra = _template_for(intent, best)
        suggestions = [
            q.format(c=a.compound, d=a.condition) for i, q in FOLLOW_UPS.items() if i != intent
        ][:3]
        reply = self.renderer.render(
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
        return Outcome(reply, a)


def _entities_trace(entities: Entities) -> dict[str, Any]:
    return {k: list(v) for k, v in asdict(entities).items()}


# Section title prefix -> template, for sections with a template of their own.
SECTION_TEMPLATES = (
    ("Current Evidence Classification", "answered_evidence_level"),
    ("Evidence Hierarchy", "answered_hierarchy"),
    ("What This Evidence Level Means", "answered_meaning"),
    ("How Evidence Levels Evolve", "answered_evolve"),
)


def _template_for(intent: str, hit: Hit) -> tuple[str, dict[str, object]]:
    """The template for the passage the answer quotes, and its context."""
    p = hit.passage
    if p.kind == "faq":
        question = (p.question or "").lower()
        if "trial" in question:
            return "answered_trials", {"passage": p.text}
        if "consider" in question or "strong enough" in question:
            return "answered_consider", {"passage": p.text}
        return "answered_faq", {"passage": p.text, "question": p.question}
    if intent == "mechanism" and p.section.startswith("Mechanis"):
        return "answered_mechanism", {"passage": p.text}
    for prefix, template in SECTION_TEMPLATES:
        if p.section.startswith(prefix):
            # The level itself is printed by the layout: quote what surrounds it.
            lines = [
                ln for ln in p.text.splitlines() if not ln.lower().startswith("evidence level:")
            ]
            return template, {"passage": "\n".join(lines)}
    return "answered_section", {"passage": p.text, "section": p.section}
