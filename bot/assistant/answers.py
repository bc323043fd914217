"""Replies about one page: its evidence level or the section asked about, quoted and
cited, with notes on what we have no assessment of; and declined requests (dosing, a
treatment decision, symptoms), which may cite the page discussed."""

from __future__ import annotations

from urllib.parse import urlencode

from bot import page_schema
from bot.answer import Citation
from bot.assistant.base import Outcome, RetrievalUnavailable, ask_about
from bot.assistant.listings import MAX_LISTED, PageListings
from bot.dialogue import Context, asks
from bot.model import CrisisKind, Entities, SectionKind, Status, Trace
from bot.pages import PageSummary
from bot.policy import Decision, Verdict, hierarchy_note
from bot.retrieval import Hit, missing_subject
from bot.text import Normalised
from bot.triage import Contact, Triage

FOLLOW_UPS = {
    "evidence_level": "What is the evidence level for {c} in {d}?",
    "mechanism": "How does {c} work?",
    "meaning": "What does this evidence level mean for patients?",
    "trials": "Are there clinical trials for {c} in {d}?",
    "consider": "Is the evidence strong enough to consider {c}?",
}


class PageAnswers(PageListings):
    """What a message that names a page (or pages) is told; declined requests."""

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
        """The reply the policy's decision calls for."""
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
            return self._clarify(decision, *args)
        return self._one_page(norm, asked_text, intent, entities, decision, *args)

    def _one_page(
        self,
        norm: Normalised,
        asked_text: str,
        intent: str,
        entities: Entities,
        decision: Decision,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
    ) -> Outcome:
        """The page decided on: the passage that answers, quoted with the page's level,
        or not_found when the page does not discuss what was asked."""
        args = (crisis, trace, base)
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
        template, extra = _template_for(intent, best)
        if intent == "trials" or template == "answered_trials":
            extra["trials_url"] = trials_search(a)
        suggestions = [ask_about(o) for o in decision.also[:2]]
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
            notes=_missing_notes(a, entities, decision),
            lead_notes=lead,
            trace=trace,
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
            **extra,
        )
        return Outcome(reply, a)


def _missing_notes(a: PageSummary, entities: Entities, decision: Decision) -> list[str]:
    """What else the question named that we have no assessment of."""
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
    return notes


def trials_search(a: PageSummary) -> str:
    """A ClinicalTrials.gov search for the page's compound and condition, as the pages tell
    readers to search there (the compound without its bracketed forms or brands)."""
    query = urlencode({"cond": a.condition, "intr": a.bare_compound})
    return f"https://clinicaltrials.gov/search?{query}"


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
