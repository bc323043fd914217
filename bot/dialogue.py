"""Conversation context: what a chat is about so far, where it is kept between turns, and
how a follow-up ("and how does it work?", "the second one") is completed from it.
Pure core: no web imports; redis is imported only when a Redis store is made."""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from cachetools import TTLCache
from rapidfuzz import fuzz, utils

from bot import rules
from bot.model import ConditionMatch, Entities, Relation, Status

log = logging.getLogger(__name__)
T = TypeVar("T")
Clock = Callable[[], float]

FORMAT_VERSION = 1  # stored contexts of another version are dropped, not misread
FUZZY_MIN, FUZZY_MARGIN = 80, 10  # an option chosen by its text: score, lead over runner-up
# Words that choose nothing, dropped from answer and option before comparing: otherwise a
# bare "for" would be a perfect match (a token subset) of every "X for Y".
STOPWORDS = frozenset(
    re.findall(r"\w+", "a about an and for i in is it mean of one option or please the to what")
)


@dataclass(frozen=True)
class Option:
    compound: str
    condition: str


def _strings(*values: object, optional: bool = False) -> bool:
    return all(isinstance(v, str) or (optional and v is None) for v in values)


@dataclass(frozen=True)
class Context:
    """What a conversation is about so far."""

    compound: str | None = None
    condition: str | None = None
    options: tuple[Option, ...] = ()  # offered by the last `clarify` reply, or listed
    rest: tuple[Option, ...] = ()  # a listing's pages not shown yet ("show me more")
    earlier: tuple[Option, ...] = ()  # the page discussed before this one ("the two")
    # Every page condition that fits the condition the person named, best first: "sorry, I
    # meant orsecanib" after a question about pancreatic cancer that a Stage IV Cancer page
    # answered is about orsecanib's pancreatic cancer page, not the page's condition.
    fits: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.compound or self.condition or self.options)

    @property
    def fitting(self) -> tuple[str, ...]:
        """The page conditions that fit what was asked, best first (at least the topic's)."""
        if self.condition is None:
            return ()
        return self.fits if self.condition in self.fits else (self.condition,)

    def to_json(self) -> str:
        options = [[o.compound, o.condition] for o in self.options]
        rest = [[o.compound, o.condition] for o in self.rest]
        earlier = [[o.compound, o.condition] for o in self.earlier]
        data = {"v": FORMAT_VERSION, "compound": self.compound, "condition": self.condition}
        more = {"options": options, "rest": rest, "earlier": earlier, "fits": list(self.fits)}
        return json.dumps({**data, **more}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Context:
        """Tolerant: a corrupt, foreign or older record is an empty context, never an error."""
        try:
            data = json.loads(text)
            compound, condition, pairs = data["compound"], data["condition"], data["options"]
            # Absent from contexts stored before they existed.
            rest, earlier = data.get("rest", []), data.get("earlier", [])
            fits = data.get("fits", [])
            # A string pair would unpack into letters: only [str, str] lists are options.
            if (
                data["v"] == FORMAT_VERSION
                and _strings(compound, condition, optional=True)
                and isinstance(fits, list)
                and _strings(*fits)
                and all(
                    isinstance(p, list) and len(p) == 2 and _strings(*p)
                    for p in (*pairs, *rest, *earlier)
                )
            ):
                return cls(
                    compound,
                    condition,
                    tuple(Option(*p) for p in pairs),
                    tuple(Option(*p) for p in rest),
                    tuple(Option(*p) for p in earlier),
                    tuple(fits),
                )
        except (ValueError, TypeError, KeyError, RecursionError):
            pass
        return cls()


class SessionStore(Protocol):
    backend: str  # "memory" | "redis"

    def get(self, session_id: str) -> Context | None: ...
    def put(self, session_id: str, context: Context) -> None: ...
    def health(self) -> dict[str, object]: ...


class MemorySessionStore:
    """One process's sessions, least recently used evicted first; a put restarts the TTL."""

    backend = "memory"

    def __init__(
        self, ttl_seconds: float = 1800, max_sessions: int = 100_000, timer: Clock = time.monotonic
    ) -> None:
        self._cache: TTLCache[str, Context] = TTLCache(max_sessions, ttl_seconds, timer=timer)
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    def get(self, session_id: str) -> Context | None:
        with self._lock:
            return self._cache.get(session_id)

    def put(self, session_id: str, context: Context) -> None:
        with self._lock:
            self._cache[session_id] = context

    def pop(self, session_id: str) -> Context | None:
        with self._lock:
            return self._cache.pop(session_id, None)

    def health(self) -> dict[str, object]:
        with self._lock:
            self._cache.expire()
            return {"backend": self.backend, "ok": True, "sessions": len(self._cache)}


class RedisSessionStore:
    """Sessions every server instance shares. Raises redis errors: see FallbackSessionStore."""

    backend = "redis"

    def __init__(self, url: str, ttl_seconds: float = 1800, prefix: str = "bot:session:") -> None:
        import redis  # here, so that memory-only deployments never load it

        # Short timeouts: a hung Redis may cost a reply half a second, not minutes.
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.ttl_seconds = max(1, math.ceil(ttl_seconds))  # EX takes whole seconds
        self.prefix = prefix

    def get(self, session_id: str) -> Context | None:
        raw = self.client.get(self.prefix + session_id)
        return None if raw is None else Context.from_json(raw)

    def put(self, session_id: str, context: Context) -> None:
        self.client.set(self.prefix + session_id, context.to_json(), ex=self.ttl_seconds)

    def health(self) -> dict[str, object]:
        from redis.exceptions import RedisError

        try:
            self.client.ping()
        except RedisError as exc:
            return {"backend": self.backend, "ok": False, "error": str(exc) or repr(exc)}
        return {"backend": self.backend, "ok": True}


class FallbackSessionStore:
    """The primary store, or memory while it is unreachable: a Redis outage costs follow-ups
    their context across instances, never a reply."""

    def __init__(
        self,
        primary: SessionStore,
        memory: MemorySessionStore,
        retry_seconds: float = 5.0,
        clock: Clock = time.monotonic,
    ) -> None:
        from redis.exceptions import RedisError

        self._errors = (RedisError,)
        self.primary, self.memory, self.backend = primary, memory, primary.backend
        self.retry_seconds, self._clock = retry_seconds, clock
        self._lock = threading.Lock()
        self._error: str | None = None  # set while degraded
        self._next_try = 0.0

    def _set_error(self, error: str | None) -> None:
        with self._lock:
            was, self._error = self._error, error
            self._next_try = self._clock() + self.retry_seconds
        if was is None and error is not None:  # one warning per outage, not per request
            log.warning("%s session store unavailable, using memory: %s", self.backend, error)
        elif was is not None and error is None:
            log.warning("%s session store answers again", self.backend)

    def _attempt(self, call: Callable[[], T]) -> tuple[bool, T | None]:
        """(True, result) when the primary answered. While degraded one caller per
        `retry_seconds` probes it; the others use memory rather than each wait for a timeout."""
        with self._lock:
            if self._error is not None:
                if self._clock() < self._next_try:
                    return False, None
                self._next_try = self._clock() + self.retry_seconds
        try:
            result = call()
        except self._errors as exc:
            self._set_error(str(exc) or repr(exc))
            return False, None
        self._set_error(None)
        return True, result

    def get(self, session_id: str) -> Context | None:
        ok, context = self._attempt(lambda: self.primary.get(session_id))
        if not ok:
            return self.memory.get(session_id)
        kept = self.memory.pop(session_id)  # stored during an outage: newer than the primary's
        if kept is not None:
            self.put(session_id, kept)
            return kept
        return context

    def put(self, session_id: str, context: Context) -> None:
        ok, _ = self._attempt(lambda: self.primary.put(session_id, context))
        if ok:
            self.memory.pop(session_id)  # an outage copy must not win over this turn later
        else:
            self.memory.put(session_id, context)

    def health(self) -> dict[str, object]:
        def probe() -> None:
            report = self.primary.health()
            if not report.get("ok"):  # RedisSessionStore reports a failed ping, not raises it
                raise self._errors[0](str(report.get("error") or "unavailable"))

        self._attempt(probe)
        with self._lock:
            error = self._error
        if error is None:
            return {"backend": self.backend, "ok": True}
        return {"backend": self.backend, "ok": False, "fallback": "memory", "error": error}


def make_store(kind: str, redis_url: str, ttl_seconds: float) -> SessionStore:
    if kind == "memory":
        return MemorySessionStore(ttl_seconds)
    if kind == "redis":
        primary = RedisSessionStore(redis_url, ttl_seconds)
        return FallbackSessionStore(primary, MemorySessionStore(ttl_seconds))
    raise ValueError(f"unknown session store {kind!r}: expected 'memory' or 'redis'")


_NTH = {
    w: i
    for ws in ("first second third fourth fifth", "1st 2nd 3rd 4th 5th")
    for i, w in enumerate(ws.split())
}
_NUMBERS = {
    w: i for ws in ("1 2 3 4 5", "one two three four five") for i, w in enumerate(ws.split())
}
# "second", "the second one", "2nd option"...; numbers only bare or labelled ("option 2",
# "number two"): "the one" would be vague. -1 stands for the last option.
ORDINALS: dict[str, int] = {
    f"{the}{word}{tail}": i
    for word, i in [*_NTH.items(), ("last", -1)]
    for the in ("", "the ")
    for tail in ("", " one", " option")
} | {f"{label}{word}": i for word, i in _NUMBERS.items() for label in ("", "option ", "number ")}
# Inside a longer answer only a clear phrase counts: "the second one, how does it work?".
_ORDINAL_IN_TEXT = re.compile(
    r"\b(?:(first|second|third|fourth|fifth|last|1st|2nd|3rd|4th|5th) (?:one|option)"
    r"|(?:option|number) ([1-5]))\b"
)


def _ordinal(question: str, count: int) -> int | None:
    text = " ".join(re.findall(r"[a-z0-9]+", question.lower()))
    text = text.removeprefix("please ").removesuffix(" please")
    if text in ORDINALS:
        found = {ORDINALS[text]}
    else:
        found = {ORDINALS[a or b] for a, b in _ORDINAL_IN_TEXT.findall(text)}
    index = found.pop() if len(found) == 1 else None
    if index == -1:
        return count - 1
    return index if index is not None and index < count else None


def _content(text: str) -> str:
    return " ".join(w for w in utils.default_process(text).split() if w not in STOPWORDS)


def _similarity(text: str, o: Option) -> float:
    """How well an answer matches an option's words (0-100), a typo or two forgiven."""
    targets = (f"{o.compound} for {o.condition}", o.condition)
    return max(fuzz.token_set_ratio(text, t, processor=_content) for t in targets)


def pick_option(question: str, entities: Entities, options: Sequence[Option]) -> Option | None:
    """The clarify option this answer chooses, if it clearly chooses one."""
    if not options or entities.unknown_compounds or entities.unknown_conditions:
        return None  # a name we have no page for starts a new question, it is no choice
    e = entities
    fits = [
        o
        for o in options
        if (not e.compounds or o.compound in e.compounds)
        and (not e.conditions or o.condition in e.conditions)
    ]
    index = _ordinal(question, len(options))
    if index is not None:  # unless the names contradict it: "the first one, for fakeitis"
        return options[index] if options[index] in fits else None
    if (e.compounds or e.conditions) and len(fits) == 1:
        return fits[0]
    if not fits or not _content(question):
        return None
    scores = sorted(((_similarity(question, o), i) for i, o in enumerate(fits)), reverse=True)
    runner_up = scores[1][0] if len(scores) > 1 else 0.0
    best, i = scores[0]
    return fits[i] if best >= FUZZY_MIN and best - runner_up >= FUZZY_MARGIN else None


CONTINUATION = re.compile(
    r"^\W*(ok(ay)?\W+|so\W+|well\W+)?(and|also|what\s+about|how\s+about|same\s+for|"
    r"and\s+what\s+about|and\s+how\s+about)\b",
    re.IGNORECASE,
)


THE_OTHER = re.compile(r"\bthe\s+other\s+(one|page|assessment)\b|\bthe\s+other\s*\W*$")


def _the_other(question: str, entities: Entities, context: Context) -> Option | None:
    """ "the other one": of two pages just offered (or the page discussed before), the one
    not being discussed."""
    if not entities.empty or not THE_OTHER.search(question.lower()):
        return None
    here = Option(context.compound, context.condition) if context.compound else None
    if here is None or not context.condition:
        return None
    offered = [o for o in context.options if o != here]
    if here in context.options and len(offered) == 1:
        return offered[0]
    if not context.options and len(context.earlier) == 1:
        return context.earlier[0]
    return None


def asks(kind: str, question: str) -> bool:
    """Whether the folded message asks to `compare` pages, `list` what is covered, or see
    `more` of a listing (bot/data/rules/scope.yaml)."""
    return any(r.kind == kind and r.matches(question) for r in rules.load("scope"))


def _inherit(entities: Entities, condition: str) -> Entities:
    """The entities with the conversation's condition, which fits as named before."""
    match = ConditionMatch(condition, Relation.EXACT, condition, (condition,), (1, 3, 0))
    return replace(entities, conditions=(condition,), matches=(match,))


def _matched(conditions: Sequence[str]) -> tuple[ConditionMatch, ...]:
    """Conditions from the conversation, each fitting as named before."""
    return tuple(ConditionMatch(c, Relation.EXACT, c, (c,), (1, 3, 0)) for c in conditions)


def _inherit_fits(entities: Entities, fits: Sequence[str]) -> Entities:
    """The entities with every condition that fit the one named before, in the order they
    fit it (the first of them the compound has a page for is answered)."""
    matches = tuple(
        ConditionMatch(c, Relation.EXACT, c, (c,), (1, 3, -i)) for i, c in enumerate(fits)
    )
    return replace(entities, conditions=tuple(fits), matches=matches)


def _compared(
    entities: Entities, context: Context, covered: Callable[[str, str], bool]
) -> Entities | None:
    """A comparison asked as a follow-up: "is it better than X?" (the compound discussed and
    X), "is that better than the general one?" (the page discussed and another of its
    compound's), "which of the two is stronger?" (the pages just listed or compared)."""
    e = entities
    if e.empty and context.compound and context.condition and context.earlier:
        # "which of the two is stronger?": the page discussed and the one before it.
        pairs = (Option(context.compound, context.condition), *context.earlier)
        conditions = tuple(dict.fromkeys(o.condition for o in pairs))
        return Entities(
            compounds=tuple(dict.fromkeys(o.compound for o in pairs)),
            conditions=conditions,
            matches=_matched(conditions),
        )
    if context.compound is None:
        if not e.empty or len(context.options) < 2:
            return None
        conditions = tuple(dict.fromkeys(o.condition for o in context.options))
        return Entities(
            compounds=tuple(dict.fromkeys(o.compound for o in context.options)),
            conditions=conditions,
            matches=_matched(conditions),
        )
    if e.unknown_compounds and not e.compounds:
        return None  # "is it better than keytruda?": the reply says we have no page for it
    if len(e.compounds) + len(e.unknown_compounds) > 1:
        return None  # "brevalyn vs avastin for colon cancer" compares what it names
    compounds = tuple(dict.fromkeys((context.compound, *e.compounds)))
    names_condition = bool(e.conditions or e.unknown_conditions)
    if context.condition and not names_condition:
        # Each compound's page that best fits the condition asked about ("is it better than
        # X?" after stage 4 lung cancer: X's stage IV page when X has no lung cancer page).
        e = _inherit_fits(e, context.fitting)
    elif context.condition and compounds == (context.compound,):
        here = _matched((context.condition,))[0]
        if context.condition not in e.conditions:
            e = replace(
                e, conditions=(*e.conditions, context.condition), matches=(*e.matches, here)
            )
    if len(compounds) < 2 and len({m.mention for m in e.matches}) < 2:
        return None
    return replace(e, compounds=compounds)


def follow_up(
    entities: Entities,
    context: Context | None,
    covered: Callable[[str, str], bool],
    question: str = "",
    refers: bool = False,
) -> Entities:
    """Entities for this turn, completed from the conversation so far. Never invents a pair:
    a named page name only inherits the other half when an assessment covers the pair."""
    if context is None or context.empty:
        return entities
    if asks("compare", question):
        compared = _compared(entities, context, covered)
        if compared is not None:
            return compared
    other = _the_other(question, entities, context)
    if other is not None:
        return _inherit(Entities(compounds=(other.compound,)), other.condition)
    if context.options:
        picked = pick_option(question, entities, context.options)
        if picked is not None:
            return _inherit(Entities(compounds=(picked.compound,)), picked.condition)
    if entities.empty and asks("list", question) and context.condition:
        # "what DO you have for that then?": the condition, with whatever we have for it.
        return _inherit(Entities(), context.condition)
    if entities.empty:  # "and how does it work?"
        inherited = Entities(compounds=(context.compound,) if context.compound else ())
        return _inherit(inherited, context.condition) if context.condition else inherited
    names_compound = bool(entities.compounds or entities.unknown_compounds)
    names_condition = bool(entities.conditions or entities.unknown_conditions)
    # "and for MS?" / "what about brimadol?" continue the topic even where we have no page
    # for the pair (the reply then says so); so does "could it help her lung cancer?", where
    # "it" is the compound discussed. A fresh question only inherits a covered pair.
    continuing = bool(CONTINUATION.match(question)) or refers
    if names_compound and not names_condition and context.condition:
        known = entities.compounds
        fits = context.fitting
        if len(known) == 1 and any(covered(known[0], c) for c in fits):
            return _inherit_fits(entities, [c for c in fits if covered(known[0], c)])
        if not known or (continuing and len(known) == 1):
            return _inherit(entities, context.condition)
    if names_condition and not names_compound and context.compound:
        # Several conditions may fit what is named ("bowel cancer that went to the liver":
        # a colorectal page and the stage IV pages): the compound stays if it covers one.
        known = entities.conditions
        named = {m.mention for m in entities.matches if m.condition in known} or set(known)
        if (
            not known
            or (continuing and len(known) == 1)
            or (len(named) <= 1 and any(covered(context.compound, c) for c in known))
        ):
            return replace(entities, compounds=(context.compound,))
    return entities


def next_context(
    previous: Context | None,
    status: Status,
    compound: str | None,
    condition: str | None,
    options: Sequence[Option] = (),
    rest: Sequence[Option] = (),
    fits: Sequence[str] | None = None,
) -> Context:
    """Context to store after a reply with this status. `fits`: the page conditions that fit
    the condition this message named, best first; None when it named none (the ones named
    before stay while the topic's condition is one of them)."""
    previous, status = previous or Context(), Status(status)
    if fits is None:
        fits = previous.fits
    if status is Status.ANSWERED and options:
        # A listing or a comparison: "the second one" picks from it; the condition listed
        # stays the topic; "show me more" shows the rest of a long listing.
        conditions = {o.condition for o in options}
        shared = conditions.pop() if len(conditions) == 1 else condition
        return Context(None, shared, tuple(options), tuple(rest), fits=_kept(fits, shared))
    if status in (Status.ANSWERED, Status.DECLINED):
        # A declined reply with no single assessment may be about a new, unclear subject.
        if not compound:
            return Context()
        here = Option(compound, condition) if condition else None
        before = Option(previous.compound, previous.condition) if previous.condition else None
        earlier = (before,) if before and previous.compound and before != here else ()
        kept = _kept(fits, condition)
        if here is not None and here in previous.options:
            # Picked from a listing: "and the third one?" still picks from it.
            return Context(
                compound,
                condition,
                previous.options,
                previous.rest,
                earlier or previous.earlier,
                kept,
            )
        return Context(compound, condition, earlier=earlier or previous.earlier, fits=kept)
    if status is Status.CLARIFY:
        # The topic becomes what every option shares ("Brimadol: for which condition?"): the
        # earlier one is dropped, or "how does it work?" would answer for a compound left.
        if not options:
            return replace(previous, options=())
        compounds, conditions = {o.compound for o in options}, {o.condition for o in options}
        shared = conditions.pop() if len(conditions) == 1 else None
        return Context(
            compounds.pop() if len(compounds) == 1 else None,
            shared,
            tuple(options),
            fits=_kept(fits, shared),
        )
    if status is Status.NOT_FOUND:
        # Keep the pair the person asked about, even if we have no page for it ("ketamine for
        # depression"): "and how does it work?" then gets the same honest not_found, and "what
        # about stage 4 cancer then?" continues with ketamine. Never the older topic.
        return Context(compound, condition, fits=_kept(fits, condition)) if compound else Context()
    if status in (Status.URGENT, Status.SUPPORT):
        return previous
    raise ValueError(f"unknown reply status {status!r}")


def _kept(fits: Sequence[str], condition: str | None) -> tuple[str, ...]:
    """What fitted the condition named, while the topic is still one of them."""
    return tuple(fits) if condition is not None and condition in fits else ()
