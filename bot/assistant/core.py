"""The Assistant: one reply to one message. A first message asked before gets the same
reply again; triage runs first, and an urgent message is answered with the crisis
contacts alone; every other message goes to the routing (bot/assistant/routing.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from cachetools import LRUCache

from bot.answer import Renderer, Reply
from bot.assistant.base import new_id
from bot.assistant.info import info_topic
from bot.assistant.routing import Routing
from bot.dialogue import Context, SessionStore, make_store
from bot.embedding import Embedder, make_embedder
from bot.entities import Lexicon
from bot.index import Index, load
from bot.model import CrisisKind, Status, Trace, TriageKind
from bot.policy import Catalogue
from bot.retrieval import Retriever
from bot.settings import Settings
from bot.shared import SharedContent
from bot.text import Normalised
from bot.triage import Contact, ContactBook, Triage, load_contacts, triage
from bot.triage import semantic as semantic_triage
from bot.triage.language import detect
from bot.triage.language import warm_up as load_language_model
from bot.triage.semantic import SemanticTriage

log = logging.getLogger(__name__)

FIRST_TURNS = 2048  # first messages whose replies are kept (a few KB each)


@dataclass
class Assistant(Routing):
    """Answers messages from one index build; created by Assistant.create (or
    bot.usecases.open_assistant), shared by every request."""

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

    def warm_up(self) -> None:
        """Load the models (the embedder and the language detector's, half a second and
        about 115 MB at peak) and build BM25 now rather than on the first person's question."""
        self.embedder.encode(["warm up"])
        load_language_model()
        _ = self.index.lexical

    def warm(self, messages: Sequence[str]) -> None:
        """Encode in batches what replying to these messages will embed (each message, and
        the sentences triage judges alone), so the replies find the vectors in the
        retriever's cache: `bot eval` and `bot eval-safety` then call the model a few times
        per file rather than once per message. Results are the same, up to float rounding
        of a vector encoded in a batch rather than alone."""
        texts: list[str] = []
        for message in messages:
            norm = self.lexicon.normalise_message(message.strip())
            texts.append(norm.raw)
            if self.semantic is not None:
                texts += semantic_triage.sentences_to_embed(norm.raw, norm.sentences)
        self.retriever.warm(texts)

    def warmed(self, messages: Sequence[str], chunk: int = 256) -> Iterator[int]:
        """The positions of `messages` in order, each chunk of them warmed (`warm`) just
        before its first: a caller replying to many messages in a row (`bot eval`,
        `bot eval-safety`) makes a few batched model calls, not one per message."""
        for start in range(0, len(messages), chunk):
            self.warm(messages[start : start + chunk])
            yield from range(start, min(start + chunk, len(messages)))

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
        if language == "en" and check and check.lang:
            language = check.lang
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
        """Rules first; then the semantic layer on the message and its sentences, which may
        raise a message the rules let pass (never lower one), tell self-harm behind an
        emergency the rules read, and, where nothing else spoke, read a question for one's
        own doctor (the own-care head)."""
        check = triage(norm)
        if check is not None and check.kind is TriageKind.URGENT:
            return (
                self._taken_to_die(norm, check) if check.crisis is CrisisKind.EMERGENCY else check
            )
        verdict = semantic_triage.safe_check(
            self.semantic,
            self.retriever.embed_many,
            norm.raw,
            norm.sentences,
            # "can I use this instead of asking my GP" asks about the site, not one's care.
            own_care=check is None and info_topic(norm) is None,
        )
        if verdict is None:
            return check
        rule = f"semantic:{verdict.source}:{verdict.category}"
        if verdict.crisis is not None:
            reason = f"{verdict.category} by {verdict.source} ({verdict.score}, +{verdict.margin})"
            return Triage(TriageKind.URGENT, reason, (rule,), verdict.crisis)
        if check is not None:
            return check
        if verdict.category == "declined":
            reason = f"for one's own doctor ({verdict.topic}) by {verdict.source} ({verdict.score})"
            return Triage(TriageKind.DECLINED, reason, (rule,), topic=verdict.topic)
        return Triage(TriageKind.SUPPORT, "close to distress exemplars", (rule,))

    def _taken_to_die(self, norm: Normalised, check: Triage) -> Triage:
        """An emergency the rules read (an overdose, someone not answering) that the
        classifier reads as self-harm ("swallowed a handful on purpose", "texted 'sorry for
        everything'") is self-harm, with the emergency's contacts still first."""
        verdict = semantic_triage.safe_check(
            self.semantic, self.retriever.embed_many, norm.raw, norm.sentences, own_care=False
        )
        if verdict is None or verdict.crisis is not CrisisKind.SELF_HARM:
            return check
        rule = f"semantic:{verdict.source}:{verdict.category}"
        reason = f"{check.reason}; self-harm by {verdict.source} ({verdict.score})"
        return replace(
            check,
            reason=reason,
            rules=(*check.rules, rule),
            crisis=CrisisKind.SELF_HARM,
            lead=CrisisKind.EMERGENCY,
        )

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
        book = book or self._book
        return self.renderer.render(
            "urgent",
            status=Status.URGENT,
            crisis=book.led_by(check.lead, crisis, language)
            if check.lead
            else book.for_kind(crisis, language),
            crisis_kind=crisis,
            language=language,
            trace=trace,
            **base,
        )

    @staticmethod
    def _timed(reply: Reply, started: float) -> Reply:
        reply.trace.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return reply


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
