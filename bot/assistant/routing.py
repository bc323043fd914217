"""Which kind of reply a message that is not urgent gets, in order: support for distress
with no question about a page, what every page shares, a pointer to English, declined
requests, smalltalk, then the page(s) the policy decides on; and the conversation's next
context."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.answer import Reply
from bot.assistant.answers import PageAnswers
from bot.assistant.base import Outcome, ask_about, short_title
from bot.assistant.info import InfoReplies, info_match
from bot.assistant.listings import MAX_LISTED
from bot.dialogue import CONTINUATION, Context, Option, asks, follow_up, next_context
from bot.entities import Analysis
from bot.model import CrisisKind, Entities, Status, Trace, TriageKind
from bot.policy import Decision, Verdict, decide
from bot.retrieval import SUBJECTS, intent_of
from bot.text import Normalised
from bot.triage import Contact, Triage

# Said first when a message both shows distress and asks about a page.
SUPPORT_LINE = (
    "I'm sorry you're going through this. Your care team can help with how you're feeling "
    "too, not only with treatment."
)
# Greetings and thanks get a friendly pointer, not "I couldn't tell what you asked".
SMALLTALK = re.compile(
    r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?( very much| so much)?"
    r"|thank you|ok(ay)?|great|cheers|bye|goodbye)\W*$",
    re.IGNORECASE,
)


@dataclass
class Turn:
    """A message that is not urgent, as every step of its reply reads it."""

    norm: Normalised
    check: Triage | None
    language: str
    context: Context | None
    trace: Trace
    base: dict[str, str]
    analysis: Analysis
    entities: Entities  # what it names, with what the conversation adds, sorted
    cues: set[str]  # what it asks of the catalogue: to compare, to list, to see more
    crisis: tuple[Contact, ...] = ()  # the crisis line, for a message that mentions one

    @property
    def asked(self) -> Entities:
        """What the message itself names."""
        return self.analysis.entities

    def triaged(self, kind: TriageKind) -> bool:
        return self.check is not None and self.check.kind is kind


class Routing(PageAnswers, InfoReplies):
    """The reply to a message that is not urgent."""

    _pairs: set[tuple[str, str]]
    _compounds: set[str]
    _conditions: set[str]

    def covered(self, compound: str, condition: str) -> bool:
        return (compound, condition) in self._pairs

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
        turn = self._understand(norm, check, language, context, trace, base)
        decision = self._decide(turn)
        aside = self._aside(turn)
        if aside is not None:
            # Thanks, distress or what every page shares: the conversation's topic is kept
            # (unless the step gives the context to go on with).
            reply, after = aside
            return reply, after if after is not None else context or Context()
        if check is not None and check.kind is TriageKind.DECLINED:
            outcome = self._declined(decision, context, check, turn.crisis, trace, base)
        else:
            outcome = self._on_pages(turn, decision)
        return outcome.reply, self._after(turn, decision, outcome)

    def _understand(
        self,
        norm: Normalised,
        check: Triage | None,
        language: str,
        context: Context | None,
        trace: Trace,
        base: dict[str, str],
    ) -> Turn:
        """The names the message gives (and those the conversation adds), in the trace."""
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
        cues = {kind for kind in ("compare", "list", "more") if asks(kind, norm.folded)}
        return Turn(norm, check, language, context, trace, base, analysis, entities, cues, crisis)

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

    def _decide(self, turn: Turn) -> Decision:
        """The page(s) the reply may cite (bot/policy.py), or the next part of a listing."""
        context, cues = turn.context, turn.cues
        decision = decide(
            turn.entities, self.catalogue, listing="list" in cues, compare="compare" in cues
        )
        if turn.asked.empty and context is not None and context.rest and "more" in cues:
            # "show me more": the next part of the listing before.
            rest = [self.catalogue.page(o.compound, o.condition) for o in context.rest]
            pages = tuple(a for a in rest if a is not None)
            if pages:
                decision = Decision(Verdict.LIST, "more", pages=pages, topic=decision.topic)
        rule = turn.analysis.rule
        turn.trace.policy = decision.rule if rule is None else f"{decision.rule}/{rule}"
        return decision

    def _aside(self, turn: Turn) -> tuple[Reply, Context | None] | None:
        """A reply that is about no page (and the context after it, None to keep the
        conversation's): support, shared content, a pointer to English, smalltalk."""
        norm, asked, trace, base = turn.norm, turn.asked, turn.trace, turn.base
        # Distress next to a compound's name is answered (with a warm word), or told we
        # have no page on a drug the vocabularies know (not a word a name's slot guessed:
        # "mentioned something odd"); a condition alone ("just got the diagnosis, stage 4
        # pancreatic, I'm overwhelmed") is support.
        known_drug = bool(asked.unknown_compounds) and turn.analysis.rule is None
        if turn.triaged(TriageKind.SUPPORT) and not (asked.compounds or known_drug):
            return self._support(turn)
        declined = turn.triaged(TriageKind.DECLINED)
        topic, asking = info_match(norm) or (None, "")
        # A name's slot that guessed a word inside the very words asking about the site
        # ("how does the grading work") guessed no compound.
        words = set(re.findall(r"[\w'-]+", asking))
        guessed = turn.analysis.rule is not None and all(
            w.lower() in words for w in asked.unknown_compounds
        )
        unknown = asked.unknown_compounds and not guessed
        if topic and not (asked.compounds or unknown) and not declined:
            # About what every page shares (the scale, the disclaimer, the authors), in
            # whatever language it was asked: the shared passage is cited in English.
            trace.intent = f"info:{topic}"
            named = [m.mention for m in asked.matches] + list(asked.unknown_conditions)
            reply = self._info(
                topic,
                turn.context,
                turn.crisis,
                trace,
                base,
                asked=norm.folded,
                condition=next(iter(named), None),
            )
            return reply, None
        if not declined and self._about_the_pages(turn):
            # Names no page and asks nothing of the page discussed: what the pages share
            # ("are case reports good evidence?"), when one of their passages is near.
            shared = self._nearest_shared(norm)
            if shared is not None:
                trace.intent = f"info:shared:{shared.section}"
                return self._info_shared(shared, turn.crisis, trace, base), None
        if turn.language != "en" and not turn.check and not asked.compounds:
            # Written in another language, with no crisis in it and no compound we know (a
            # condition alone, "quarto stadio", says too little of what is asked): say we
            # answer in English.
            reply = self.renderer.render(
                "other_language",
                status=Status.NOT_FOUND,
                support_contacts=self._book.for_kind(CrisisKind.SELF_HARM, turn.language),
                language=turn.language,
                trace=trace,
                **base,
            )
            return reply, None
        if not declined and SMALLTALK.match(norm.raw) and asked.empty:
            reply = self.renderer.render(
                "smalltalk",
                status=Status.NOT_FOUND,
                covered=[short_title(a) for a in self._everything[:MAX_LISTED]],
                suggestions=[ask_about(a) for a in self._everything[:3]],
                trace=trace,
                **base,
            )
            return reply, None
        return None

    def _support(self, turn: Turn) -> tuple[Reply, Context | None]:
        """Distress with no question about a page: a warm word, the topic kept."""
        context, asked = turn.context, turn.asked
        reply = self.renderer.render(
            "support",
            status=Status.SUPPORT,
            support_contacts=self._book.for_kind("support", turn.language),
            language=turn.language,
            trace=turn.trace,
            **turn.base,
        )
        if (context is None or context.empty) and asked.conditions:
            # "just told it's stage 4 and I can't stop crying": what they have becomes
            # the topic, so "what do you have for it?" lists its pages.
            return reply, Context(None, asked.conditions[0], fits=asked.conditions)
        return reply, None

    def _about_the_pages(self, turn: Turn) -> bool:
        """An English question that names nothing and asks nothing of the page discussed:
        it may be about what every page shares."""
        norm, context = turn.norm, turn.context
        return (
            turn.asked.empty
            and turn.language == "en"
            and not SMALLTALK.match(norm.raw)
            and not turn.cues
            and (
                context is None
                or context.empty
                # "and what side effects does it have?", "is it worth asking about?" ask
                # of the page discussed, even where it has nothing on them.
                or (
                    intent_of(norm) == "general" and not turn.analysis.refers and not _subject(norm)
                )
            )
        )

    def _on_pages(self, turn: Turn, decision: Decision) -> Outcome:
        """The page(s) decided on; a warm word first for a distressed question."""
        norm = turn.norm
        # A message in another language that names a page gets its evidence level.
        if turn.language == "en":
            intent = _intent(norm, turn.analysis, turn.entities)
        else:
            intent = "evidence_level"
        outcome = self._answer(
            norm, intent, turn.entities, decision, turn.crisis, turn.trace, turn.base
        )
        if turn.triaged(TriageKind.SUPPORT) and outcome.reply.status is Status.ANSWERED:
            outcome.reply = replace(
                outcome.reply,
                answer=f"{SUPPORT_LINE}\n\n{outcome.reply.answer}",
                html=f'<p class="note">{SUPPORT_LINE}</p>\n{outcome.reply.html}',
            )
        return outcome

    def _after(self, turn: Turn, decision: Decision, outcome: Outcome) -> Context:
        """The conversation's context after this reply."""
        context, asked = turn.context, turn.asked
        if decision.rule == "more" and context is not None:
            # The next part of a listing: "the one for MS" may still be in an earlier part.
            earlier = [self.catalogue.page(o.compound, o.condition) for o in context.options]
            outcome.options += [p for p in earlier if p is not None and p not in outcome.options]
        a = outcome.assessment
        compound, condition = (a.compound, a.condition) if a else outcome.topic
        return next_context(
            context,
            outcome.reply.status,
            compound,
            condition,
            [Option(o.compound, o.condition) for o in outcome.options],
            [Option(o.compound, o.condition) for o in outcome.rest],
            fits=turn.entities.conditions if asked.conditions or asked.unknown_conditions else None,
        )


def _subject(norm: Normalised) -> bool:
    """Whether the message asks about a subject pages may not discuss (side effects, cost)."""
    return any(r.matches(norm.folded) for r in SUBJECTS)


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
