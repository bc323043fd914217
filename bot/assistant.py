"""One reply to one message: triage, entities, conversation, scope, retrieval, template.

The order is the safety argument: triage runs before anything is retrieved, and a page
is only cited when its compound and condition fit what the question (or the conversation)
names.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from cachetools import LRUCache

from bot import page_schema, rules
from bot.answer import Citation, Renderer, Reply
from bot.chunks import Passage
from bot.dialogue import (
    CONTINUATION,
    Context,
    Option,
    SessionStore,
    asks,
    follow_up,
    make_store,
    next_context,
)
from bot.embedding import Embedder, make_embedder
from bot.entities import Analysis, Lexicon
from bot.index import Index, load
from bot.model import CrisisKind, Entities, SectionKind, Status, Trace, TriageKind
from bot.pages import PageSummary
from bot.policy import Catalogue, Decision, Verdict, decide, hierarchy_note
from bot.retrieval import SUBJECTS, Hit, Retriever, intent_of, missing_subject
from bot.settings import Settings
from bot.shared import (
    BYLINE,
    DISCLAIMER,
    INFO_MIN,
    SharedContent,
    SharedPassage,
    own_names,
    shared_sentences,
)
from bot.text import Normalised
from bot.triage import Contact, ContactBook, Triage, load_contacts, triage
from bot.triage import semantic as semantic_triage
from bot.triage.language import detect
from bot.triage.semantic import SemanticTriage

log = logging.getLogger(__name__)

MAX_LISTED = 8
# Said first when a message both shows distress and asks about a page.
SUPPORT_LINE = (
    "I'm sorry you're going through this. Your care team can help with how you're feeling "
    "too, not only with treatment."
)
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


def short_title(a: PageSummary) -> str:
    return f"{a.compound} for {a.condition}"


def _ask_about(a: PageSummary) -> str:
    return f"What is the evidence level for {a.compound} in {a.condition}?"


class RetrievalUnavailable(Exception):
    """The model or the index failed while answering: no answer can be given (a 503).
    Triage runs before retrieval, so `urgent` replies never get here."""


@dataclass
class Outcome:
    """A rendered reply and the assessment(s) it settled on, for the session context."""

    reply: Reply
    assessment: PageSummary | None = None
    options: list[PageSummary] = field(default_factory=list)
    # For a not_found about a named pair: the names asked about, kept as the topic.
    topic: tuple[str | None, str | None] = (None, None)
    rest: list[PageSummary] = field(default_factory=list)  # a listing's pages not yet shown


@dataclass
class Assistant:
    index: Index
    embedder: Embedder
    settings: Settings
    lexicon: Lexicon
    renderer: Renderer
    sessions: SessionStore
    contacts: tuple[Contact, ...]  # the self-harm crisis line, added to "mention" answers
    book: ContactBook | None = None  # every kind's contacts, in each language
    semantic: SemanticTriage | None = None  # triage by exemplars (None: rules alone)

    @classmethod
    def create(
        cls,
        settings: Settings,
        index: Index | None = None,
        embedder: Embedder | None = None,
        sessions: SessionStore | None = None,
    ) -> Assistant:
        index = index or load(settings.index)
        embedder = embedder or make_embedder(settings.embedder)
        book = load_contacts(settings.locale, settings.crisis_contacts_file)
        return cls(
            index=index,
            embedder=embedder,
            settings=settings,
            lexicon=Lexicon.build(index.assessments.values()),
            renderer=Renderer(settings.site_url, index.assessments),
            sessions=sessions
            or make_store(settings.session_store, settings.redis_url, settings.session_ttl),
            contacts=book.for_kind(CrisisKind.SELF_HARM),
            book=book,
            semantic=_semantic(settings, embedder),
        )

    def __post_init__(self) -> None:
        self.retriever = Retriever(self.index, self.embedder, self.lexicon, self.settings.top_k)
        self._pairs = {(a.compound, a.condition) for a in self.index.assessments.values()}
        self._compounds = {c for c, _ in self._pairs}
        self._conditions = {d for _, d in self._pairs}
        self.catalogue = Catalogue.of(self.index.assessments.values())
        self._everything = self.catalogue.pages
        # First messages already answered from this index (the same text, the same reply).
        self._first_turns: LRUCache[str, tuple[Reply, Context]] = LRUCache(FIRST_TURNS)
        self._first_turns_lock = threading.Lock()
        self._shared: SharedContent | None = None
        self._shared_lock = threading.Lock()

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
            matches=tuple(m for m in entities.matches if m.condition in conditions),
            stage_iv=entities.stage_iv,
            said=entities.said,
        )

    def warm_up(self) -> None:
        """Load the model and build BM25 now rather than on the first person's question."""
        self.embedder.encode(["warm up"])
        _ = self.index.lexical

    def reply(
        self, message: str, session_id: str | None = None, book: ContactBook | None = None
    ) -> Reply:
        """`book`: the visitor's locale's contacts for an urgent reply (else BOT_LOCALE's)."""
        started = time.perf_counter()
        text = message.strip()
        session_id = session_id or new_id()
        base = {
            "session_id": session_id,
            "answer_id": new_id(),
            "disclaimer": self.settings.disclaimer,
        }
        # A first message depends on nothing but its text and this index: the same
        # question asked again gets the same reply, under its own ids. Only replies that
        # were not urgent are kept, so a known text has been triaged already.
        with self._first_turns_lock:
            known = self._first_turns.get(text)
        context = self.sessions.get(session_id) if known is not None else None
        if known is not None and context is None:
            reply, after = known
            self.sessions.put(session_id, after)
            trace = replace(reply.trace, repeat_of=reply.answer_id)
            reply = replace(reply, session_id=session_id, answer_id=base["answer_id"], trace=trace)
            return self._timed(reply, started)

        # One normalisation for every stage: triage, names, intent and dialogue read it.
        norm = self.lexicon.normalise_message(text)
        check = self._triage(norm)
        language = detect(text, self._english)
        trace = Trace(
            triage=check.reason if check else None,
            rules=list(check.rules) if check else [],
            language=None if language == "en" else language,
            corrections=list(norm.corrections),
        )
        if check and check.kind is TriageKind.URGENT:
            # Nothing is retrieved and the conversation's topic is left as it was.
            reply = self._urgent(check, language, trace, base, book)
            return self._timed(reply, started)

        if known is None:
            context = self.sessions.get(session_id)
        reply, after = self._respond(norm, check, language, context, trace, base)
        self.sessions.put(session_id, after)
        if context is None:
            with self._first_turns_lock:
                self._first_turns[text] = (reply, after)
        return self._timed(reply, started)

    def _triage(self, norm: Normalised) -> Triage | None:
        """Rules first; then each sentence against the exemplars, which may raise a message
        the rules let pass (never lower one)."""
        check = triage(norm)
        if check is not None and check.kind is TriageKind.URGENT:
            return check
        verdict = semantic_triage.safe_check(
            self.semantic, self.retriever.embed_many, norm.raw, norm.sentences
        )
        if verdict is None:
            return check
        rule = f"semantic:{verdict.source}:{verdict.category}"
        if verdict.crisis is not None:
            reason = f"{verdict.category} by {verdict.source} ({verdict.score}, +{verdict.margin})"
            return Triage(TriageKind.URGENT, reason, (rule,), verdict.crisis)
        if check is None:
            return Triage(TriageKind.SUPPORT, "close to distress exemplars", (rule,))
        return check

    @property
    def _book(self) -> ContactBook:
        if self.book is None:
            self.book = load_contacts(self.settings.locale, self.settings.crisis_contacts_file)
        return self.book

    def _english(self, word: str) -> bool:
        vocab = self.lexicon.vocabulary
        return vocab is None or word in vocab.english

    def _urgent(
        self,
        check: Triage,
        language: str,
        trace: Trace,
        base: dict[str, str],
        book: ContactBook | None = None,
    ) -> Reply:
        crisis = check.crisis or CrisisKind.SELF_HARM
        return self.renderer.render(
            "urgent",
            status=Status.URGENT,
            crisis=(book or self._book).for_kind(crisis, language),
            crisis_kind=crisis,
            language=language,
            trace=trace,
            **base,
        )

    def _respond(
        self,
        norm: Normalised,
        check: Triage | None,
        language: str,
        context: Context | None,
        trace: Trace,
        base: dict[str, str],
    ) -> tuple[Reply, Context]:
        """The reply to a message that is not urgent, and the conversation's next context."""
        text = norm.raw
        analysis = self.lexicon.analyse(norm)
        asked = analysis.entities
        entities = self._sorted(
            follow_up(asked, context, self.covered, norm.folded, analysis.refers)
        )
        trace.entities = asked.to_trace()
        trace.corrections = list(dict.fromkeys([*trace.corrections, *analysis.corrections]))
        trace.negated = list(analysis.negated)
        trace.conditions = [
            {"condition": m.condition, "relation": m.relation.name.lower(), "mention": m.mention}
            for m in entities.matches
        ]
        if entities != asked:
            trace.from_context = entities.to_trace()
        crisis = self.contacts if check and check.kind is TriageKind.MENTION else ()
        # What the message asks of the catalogue: to compare, to list, to see more.
        cues = {kind for kind in ("compare", "list", "more") if asks(kind, norm.folded)}
        decision = decide(
            entities, self.catalogue, listing="list" in cues, compare="compare" in cues
        )
        if asked.empty and context is not None and context.rest and "more" in cues:
            # "show me more": the next part of the listing before.
            rest = [self.catalogue.page(o.compound, o.condition) for o in context.rest]
            pages = tuple(a for a in rest if a is not None)
            if pages:
                decision = Decision(Verdict.LIST, "more", pages=pages, topic=decision.topic)
        trace.policy = (
            decision.rule if analysis.rule is None else f"{decision.rule}/{analysis.rule}"
        )
        # Distress next to a compound's name is answered (with a warm word); a condition
        # alone ("just got the diagnosis, stage 4 pancreatic, I'm overwhelmed") is support.
        names_a_page = bool(asked.compounds)

        if check and check.kind is TriageKind.SUPPORT and not names_a_page:
            # Distress with no question about a page: a warm word, the topic kept.
            reply = self.renderer.render(
                "support",
                status=Status.SUPPORT,
                support_contacts=self._book.for_kind("support", language),
                language=language,
                trace=trace,
                **base,
            )
            if (context is None or context.empty) and asked.conditions:
                # "just told it's stage 4 and I can't stop crying": what they have becomes
                # the topic, so "what do you have for it?" lists its pages.
                return reply, Context(None, asked.conditions[0], fits=asked.conditions)
            return reply, context or Context()
        topic = _info_topic(norm)
        if (
            topic
            and not (asked.compounds or asked.unknown_compounds)
            and not (check and check.kind is TriageKind.DECLINED)
        ):
            # About what every page shares (the scale, the disclaimer, the authors), in
            # whatever language it was asked: the shared passage is cited in English.
            trace.intent = f"info:{topic}"
            named = [m.mention for m in asked.matches] + list(asked.unknown_conditions)
            reply = self._info(
                topic,
                context,
                crisis,
                trace,
                base,
                asked=norm.folded,
                condition=next(iter(named), None),
            )
            return reply, context or Context()
        if (
            asked.empty
            and language == "en"
            and not (check and check.kind is TriageKind.DECLINED)
            and not SMALLTALK.match(text)
            and not cues
            and (
                context is None
                or context.empty
                # "and what side effects does it have?", "is it worth asking about?" ask
                # of the page discussed, even where it has nothing on them.
                or (intent_of(norm) == "general" and not analysis.refers and not _subject(norm))
            )
        ):
            # Names no page and asks nothing of the page discussed: what the pages share
            # ("are case reports good evidence?"), when one of their passages is near.
            shared = self._nearest_shared(norm)
            if shared is not None:
                trace.intent = f"info:shared:{shared.section}"
                reply = self._info_shared(shared, crisis, trace, base)
                return reply, context or Context()
        if language != "en" and not check and asked.empty:
            # Written in another language, with no crisis in it: say we answer in English.
            reply = self.renderer.render(
                "other_language",
                status=Status.NOT_FOUND,
                support_contacts=self._book.for_kind(CrisisKind.SELF_HARM, language),
                language=language,
                trace=trace,
                **base,
            )
            return reply, context or Context()
        if check and check.kind is TriageKind.DECLINED:
            outcome = self._declined(decision, context, check, crisis, trace, base)
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
            # A message in another language that names a page gets its evidence level.
            intent = _intent(norm, analysis, entities) if language == "en" else "evidence_level"
            outcome = self._answer(norm, intent, entities, decision, crisis, trace, base)
            if (
                check
                and check.kind is TriageKind.SUPPORT
                and outcome.reply.status is Status.ANSWERED
            ):
                outcome.reply = replace(
                    outcome.reply,
                    answer=f"{SUPPORT_LINE}\n\n{outcome.reply.answer}",
                    html=f'<p class="note">{SUPPORT_LINE}</p>\n{outcome.reply.html}',
                )

        if decision.rule == "more" and context is not None:
            # The next part of a listing: "the one for MS" may still be in an earlier part.
            earlier = [self.catalogue.page(o.compound, o.condition) for o in context.options]
            outcome.options += [p for p in earlier if p is not None and p not in outcome.options]
        a = outcome.assessment
        compound, condition = (a.compound, a.condition) if a else outcome.topic
        after = next_context(
            context,
            outcome.reply.status,
            compound,
            condition,
            [Option(o.compound, o.condition) for o in outcome.options],
            [Option(o.compound, o.condition) for o in outcome.rest],
            fits=entities.conditions if asked.conditions or asked.unknown_conditions else None,
        )
        return outcome.reply, after

    @staticmethod
    def _timed(reply: Reply, started: float) -> Reply:
        reply.trace.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return reply

    def _declined(
        self,
        decision: Decision,
        context: Context | None,
        check: Triage,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
    ) -> Outcome:
        a = decision.pages[0] if decision.verdict is Verdict.ANSWER else None
        if a is None and context is not None and context.compound and context.condition:
            # "can she take it with her morphine?": "it" is the page being discussed.
            a = self.catalogue.page(context.compound, context.condition)
        if a is not None:
            base = {**base, "disclaimer": a.disclaimer or base["disclaimer"]}
        symptom = check.topic == "symptom"
        reply = self.renderer.render(
            "declined_symptom" if symptom else "declined",
            status=Status.DECLINED,
            emergency=self._book.for_kind(CrisisKind.EMERGENCY)[:1] if symptom else (),
            a=a,
            evidence_level=a.evidence_level if a else None,
            citations=[self._classification_citation(a)] if a else [],
            suggestions=[f"How does {a.compound} work?"] if a else [],
            crisis=crisis,
            trace=trace,
            **base,
        )
        return Outcome(reply, a)

    def _info(
        self,
        topic: str,
        context: Context | None,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
        asked: str = "",
        condition: str | None = None,
    ) -> Reply:
        """Shared content, quoted from the page in the conversation (else the first page),
        cited, with no assessment's level. `asked`: the folded message (a term the pages
        do not define is said to be undefined); `condition`: as the message named it (the
        trials search)."""
        here = context or Context()
        a = self.catalogue.page(here.compound, here.condition) or self._everything[0]
        # The section every page has that the topic is quoted from (bot/data/page_schema.yaml).
        kind = page_schema.load().info_kind(topic)
        citation: Citation | None = None
        passage = ""
        undefined = None
        if kind is not None:
            found = next((p for p in self._passages_of(a) if p.section_kind is kind), None)
            if found is not None:
                citation = Citation.from_hit(Hit(found, a, 1.0, True))
                passage = found.text
                if topic == "trials":
                    # Only what every page says of the registry, never this page's names.
                    free = shared_sentences(found.text, own_names(a))
                    passage = " ".join(
                        x for x in re.split(r"(?<=[.!?])\s+", free) if "clinicaltrials" in x.lower()
                    )
                    if not passage:
                        citation = None
            if topic == "hierarchy":
                undefined = _undefined_term(asked, passage)
        elif topic in ("advice", "authors"):
            text = a.disclaimer if topic == "advice" else a.byline
            if text:
                passage = text if topic == "advice" else ""
                citation = Citation(
                    page_id=a.id,
                    title=a.title,
                    compound=a.compound,
                    condition=a.condition,
                    evidence_level=a.evidence_level,
                    section=DISCLAIMER if topic == "advice" else BYLINE,
                    url=a.url,
                    passage=text,
                    score=1.0,
                )
        return self.renderer.render(
            "info",
            status=Status.INFO,
            topic=topic,
            passage=passage,
            unexplained=undefined,
            condition=condition,
            trials_search=_registry_search(condition) if topic == "trials" else None,
            byline=a.byline if topic == "authors" else None,
            citations=[citation] if citation else [],
            suggestions=[_ask_about(p) for p in self._everything[:2]],
            crisis=crisis,
            trace=trace,
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
        )

    def _nearest_shared(self, norm: Normalised) -> SharedPassage | None:
        """The shared passage near enough to the message to answer it, if any (never with
        the tests' fake embedder, whose vectors mean nothing)."""
        if self.embedder.name.startswith("fake"):
            return None
        with self._shared_lock:
            if self._shared is None:
                self._shared = SharedContent.build(
                    self._everything, self._passages_of, self.retriever.embed_many
                )
        found = self._shared.nearest(norm.folded, self.retriever.embed(norm.raw))
        return found[0] if found is not None and found[1] >= INFO_MIN else None

    def _info_shared(
        self, shared: SharedPassage, crisis: tuple[Contact, ...], trace: Trace, base: dict[str, str]
    ) -> Reply:
        """A shared passage quoted and cited: no assessment's level is in it."""
        a = shared.page
        hit = Hit(shared.passage, a, 1.0, True) if shared.passage is not None else None
        citation = replace(
            Citation.from_hit(hit) if hit else self._classification_citation(a),
            section=shared.section,
            passage=shared.text,
        )
        topic = page_schema.load().info_topic(shared.kind)
        return self.renderer.render(
            "info",
            status=Status.INFO,
            topic=topic or ("authors" if shared.section == BYLINE else "shared"),
            passage=shared.text,
            unexplained=None,
            condition=None,
            trials_search=None,
            byline=a.byline,
            citations=[citation],
            suggestions=[_ask_about(p) for p in self._everything[:2]],
            crisis=crisis,
            trace=trace,
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
        )

    def _passages_of(self, a: PageSummary) -> list[Passage]:
        return [self.index.passages[int(r)] for r in self.index.rows_of(a.id)]

    def _classification_citation(self, a: PageSummary) -> Citation:
        passages = self._passages_of(a)
        chosen = next(
            (p for p in passages if p.section_kind is SectionKind.CLASSIFICATION),
            passages[0],
        )
        return Citation.from_hit(Hit(chosen, a, 1.0, True))

    def _not_found(
        self,
        missing: str | None,
        covered: Sequence[PageSummary],
        intro: str,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
        off_scope: PageSummary | None = None,
        topic: tuple[str | None, str | None] = (None, None),
        subject: str | None = None,
    ) -> Outcome:
        compounds = {a.compound for a in covered}
        reply = self.renderer.render(
            "not_found",
            status=Status.NOT_FOUND,
            missing=missing,
            off_scope=off_scope,
            subject=subject,
            about=compounds.pop() if len(compounds) == 1 else "these compounds",
            covered=[short_title(a) for a in covered[:MAX_LISTED]],
            covered_intro=intro,
            more=max(0, len(covered) - MAX_LISTED),
            suggestions=[_ask_about(a) for a in covered[:3]],
            crisis=crisis,
            trace=trace,
            **base,
        )
        return Outcome(reply, off_scope, topic=topic)

    def _listing(
        self,
        pages: Sequence[PageSummary],
        entities: Entities,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
        topic: tuple[str | None, str | None],
        rule: str = "",
    ) -> Outcome:
        """Several assessments, each with its own level: what we have for a condition (or
        a compound's conditions). No page is picked for a compound nobody named."""
        shown, rest = list(pages[:MAX_LISTED]), list(pages[MAX_LISTED:])
        count = "one assessment" if len(pages) == 1 else f"{len(pages)} assessments"
        if rule == "more":
            intro = f"Here are {count} more:"
        elif rule == "everything":
            intro = f"We have {count}:"
        elif entities.compounds and not entities.conditions:
            what = entities.compounds[0]
            intro = f"We have {len(pages)} assessments of {what}:"
        else:
            what = entities.matches[0].mention if entities.matches else topic[1] or ""
            intro = f"For {what} we have {count}:"
        notes = []
        generic = [
            a for a in shown if (m := entities.match(a.condition)) and m.relation.name == "BROADER"
        ]
        if generic:
            notes.append(
                f"Assessments for {generic[0].condition} are about it in general, not specific "
                f"to {entities.match(generic[0].condition).mention}."  # type: ignore[union-attr]
            )
        only = shown[0] if len(pages) == 1 else None
        reply = self.renderer.render(
            "answered_listing",
            status=Status.ANSWERED,
            evidence_level=only.evidence_level if only else None,
            citations=[self._classification_citation(a) for a in shown],
            suggestions=((["Show me more"] if rest else []) + [_ask_about(a) for a in shown])[:3],
            crisis=crisis,
            notes=notes,
            trace=trace,
            intro=intro,
            more=len(rest),
            inline_citations=True,
            **{
                **base,
                "disclaimer": only.disclaimer if only and only.disclaimer else base["disclaimer"],
            },
        )
        options = shown if only is None else []
        return Outcome(reply, only, options=options, topic=topic, rest=rest)

    def _compare(
        self,
        decision: Decision,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
    ) -> Outcome:
        """The pages asked about side by side: each title with its own level verbatim, what
        that level's label means on the page's own scale where the page states one, and
        no ranking the pages do not make."""
        pages = list(decision.pages[:MAX_LISTED])
        rows = [
            (self._classification_citation(a), scale_line(self._passages_of(a), a)) for a in pages
        ]
        reply = self.renderer.render(
            "answered_compare",
            status=Status.ANSWERED,
            citations=[c for c, _ in rows],
            rows=rows,
            suggestions=[_ask_about(a) for a in pages[:3]],
            crisis=crisis,
            notes=[f"We have no assessment of {n}." for n in decision.absent],
            trace=trace,
            more=max(0, len(decision.pages) - MAX_LISTED),
            inline_citations=True,
            **base,
        )
        return Outcome(reply, None, options=pages, topic=decision.topic)

    def _answer(
        self,
        norm: Normalised,
        intent: str,
        entities: Entities,
        decision: Decision,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
    ) -> Outcome:
        args = (crisis, trace, base)
        topic = decision.topic
        if decision.verdict is Verdict.NOT_FOUND:
            return self._not_found(
                decision.missing, decision.scope, decision.scope_intro, *args, topic=topic
            )
        asked_text = " ".join(t for t, q in zip(norm.sentences, norm.asking, strict=True) if q)
        several = decision.verdict is Verdict.CLARIFY or (
            # "and what side effects does it have?" after a comparison: not a listing request.
            decision.verdict is Verdict.LIST and not asks("list", norm.folded)
        )
        if several:
            # A subject none of the pages it could mean discusses ("what are the side effects
            # of X?") is not_found now: asking which page, or listing them, only delays it.
            pages = list(decision.pages[:MAX_LISTED])
            passages = [p for o in pages for p in self._passages_of(o)]
            subject = missing_subject(asked_text or norm.folded, passages)
            if subject is not None:
                trace.missing_subject = subject
                return self._not_found(
                    None, pages, "You can ask me about:", *args, subject=subject, topic=topic
                )
        if decision.verdict is Verdict.LIST:
            return self._listing(decision.pages, entities, *args, topic=topic, rule=decision.rule)
        if decision.verdict is Verdict.COMPARE:
            return self._compare(decision, *args)
        if decision.verdict is Verdict.CLARIFY:
            options = list(decision.pages[:MAX_LISTED])
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

        a = decision.pages[0]
        text = norm.raw
        if decision.rule == "compare":
            intent = "evidence_level"  # the one page of a comparison: its level is asked
        subject = missing_subject(asked_text or norm.folded, self._passages_of(a))
        if subject is not None:
            trace.missing_subject = subject
            return self._not_found(
                None, [a], "You can ask me about:", *args, off_scope=a, subject=subject
            )
        try:
            hits = self.retriever.search(text, [a], intent)
        except Exception as exc:  # the embedding model or the index, not the question
            raise RetrievalUnavailable(f"retrieval failed: {exc!r}") from exc
        trace.intent = intent
        trace.min_score = self.settings.min_score
        trace.hits = [(h.passage.id, round(h.score, 4)) for h in hits]
        best = hits[0] if hits else None
        relevance = max((h.score for h in hits), default=0.0)
        if best is None or (not best.on_target and relevance < self.settings.min_score):
            return self._not_found(None, [a], "You can ask me about:", *args, off_scope=a)

        lead = [note] if (note := hierarchy_note(a, decision.match)) else []
        notes = [
            f"We have no assessment of {n} yet."
            for n in entities.unknown_compounds
            if n not in decision.absent
        ]
        notes += [f"We have no assessment of {n}." for n in decision.absent]
        notes += [
            f"We have no assessment of {a.compound} for {n} specifically."
            for n in entities.unknown_conditions
        ]
        template, extra = _template_for(intent, best)
        if intent == "trials" or template == "answered_trials":
            extra["trials_url"] = trials_search(a)
        suggestions = [_ask_about(o) for o in decision.also[:2]]
        suggestions += [
            q.format(c=a.compound, d=a.condition) for i, q in FOLLOW_UPS.items() if i != intent
        ]
        reply = self.renderer.render(
            template,
            status=Status.ANSWERED,
            a=a,
            evidence_level=a.evidence_level,
            citations=[Citation.from_hit(best)],
            suggestions=suggestions[:3],
            crisis=crisis,
            notes=notes,
            lead_notes=lead,
            trace=trace,
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
            **extra,
        )
        return Outcome(reply, a)


# "Level 2: Randomized controlled trials (RCTs)", "Preclinical: Animal and cell culture
# studies (...)": one step of the hierarchy as a page lists it.
SCALE_STEP = re.compile(r"^\s*(?:\d+\.\s*)?((?:level\s+\w+|preclinical)):\s*(.+?)\s*$", re.I | re.M)


def scale_line(passages: Sequence[Passage], a: PageSummary) -> str | None:
    """What the label that starts a page's level ("Level 2: ...") means on the scale that
    page itself lists, quoted; None when the level has no label or the page no scale."""
    label = re.match(r"\s*(level\s+\w+|preclinical)\b", a.evidence_level, re.I)
    if label is None:
        return None
    for p in passages:
        if p.section_kind is SectionKind.HIERARCHY:
            for m in SCALE_STEP.finditer(p.text):
                if m.group(1).lower() == label.group(1).lower():
                    return f"{m.group(1)}: {m.group(2)}"
    return None


def trials_search(a: PageSummary) -> str:
    """A ClinicalTrials.gov search for the page's compound and condition, as the pages tell
    readers to search there (the compound without its bracketed forms or brands)."""
    query = urlencode({"cond": a.condition, "intr": a.bare_compound})
    return f"https://clinicaltrials.gov/search?{query}"


def _registry_search(condition: str | None) -> str:
    """ClinicalTrials.gov, searched for the condition the message named (if any)."""
    if not condition:
        return "https://clinicaltrials.gov/"
    return f"https://clinicaltrials.gov/search?{urlencode({'cond': condition})}"


@functools.cache
def _evidence_term() -> re.Pattern[str]:
    return re.compile(rf"\b{rules.concepts()['EVIDENCE_TERM']}\b")


def _undefined_term(asked: str, passage: str) -> str | None:
    """The evidence term the message asks about, when the quoted scale does not use it
    ("what does placebo-controlled mean?"): the reply then says the pages do not define it."""
    found = _evidence_term().search(asked)
    if found is None:
        return None
    words = re.sub(r"[^a-z0-9]+", " ", found.group(0).lower()).strip()
    text = re.sub(r"[^a-z0-9]+", " ", passage.lower())
    stem = words.rstrip("s")
    return None if stem and stem in text else found.group(0)


def _subject(norm: Normalised) -> bool:
    """Whether the message asks about a subject pages may not discuss (side effects, cost)."""
    return any(r.matches(norm.folded) for r in SUBJECTS)


def _info_topic(norm: Normalised) -> str | None:
    """The shared-content topic a message asks about (bot/data/rules/info.yaml), if any."""
    found = rules.first(rules.load("info"), norm.folded)
    return found.kind if found else None


def _semantic(settings: Settings, embedder: Embedder) -> SemanticTriage | None:
    """The semantic layer of triage over this model, unless it is off or the embedder is
    the tests' fake (its vectors mean nothing)."""
    if not settings.triage_semantic or embedder.name.startswith("fake"):
        return None
    try:
        return semantic_triage.load(embedder.name, embedder.encode)
    except Exception:  # the model failing here must not stop the bot: rules still triage
        log.exception("semantic triage unavailable; triage by rules alone")
        return None


def _intent(norm: Normalised, analysis: Analysis, chosen: Entities | None = None) -> str:
    """What the message asks of a page. Read from the sentences that ask (a story around
    the question mentions trials and changes of its own); a message that names a page and
    asks nothing else ("orsecanib for colorectal, she had surgery", "the second one", "the
    lung one": words of the page `chosen` from the conversation) asks for its evidence
    level."""
    asking = [i for i, q in enumerate(norm.asking) if q]
    text = " ".join(norm.sentences[i] for i in asking) if asking else norm.folded
    kind = intent_of(text)
    if kind != "general" or CONTINUATION.match(norm.folded):
        # "and for other stage 4 cancers, like colon?" asks the same of another page.
        return "evidence_level" if kind == "general" else kind
    names = " ".join(chosen.compounds + chosen.conditions) if chosen is not None else ""
    own = set(re.findall(r"[a-z0-9]+", names.lower()))
    rest = [i for i in analysis.leftover_at if norm.terms[i] not in own]
    asked = [i for i in rest if asking and norm.asking[norm.sentence[i]]]
    named_condition = bool(analysis.entities.matches or analysis.entities.unknown_conditions)
    if not asked and (named_condition or not rest):
        return "evidence_level"
    return "general"


def _template_for(intent: str, hit: Hit) -> tuple[str, dict[str, object]]:
    """The template for the passage the answer quotes (bot/data/page_schema.yaml gives each
    section kind's, and the FAQ questions'), and its context."""
    p = hit.passage
    kind = p.section_kind or SectionKind.OTHER
    template = page_schema.load().template(kind, intent, p.question)
    if template is None:
        return "answered_section", {"passage": p.text, "section": p.section}
    if kind is SectionKind.FAQ and template == "answered_faq":
        return template, {"passage": p.text, "question": p.question}
    if kind in (SectionKind.FAQ, SectionKind.MECHANISM):
        return template, {"passage": p.text}
    # The level itself is printed by the layout: quote what surrounds it.
    lines = [ln for ln in p.text.splitlines() if not ln.lower().startswith("evidence level:")]
    return template, {"passage": "\n".join(lines)}
