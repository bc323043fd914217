"""Replies about several pages, or about none: not_found with what we do have, a listing
(in parts, "show me more"), a comparison side by side, and the question of which page."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.assistant.base import Outcome, Parts, ask_about, short_title
from bot.chunks import Passage
from bot.model import Entities, SectionKind, Status, Trace
from bot.pages import PageSummary
from bot.policy import Decision
from bot.triage import Contact

MAX_LISTED = 8


class PageListings(Parts):
    """not_found, listings, comparisons and the question of which page."""

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
            suggestions=[ask_about(a) for a in covered[:3]],
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
            suggestions=((["Show me more"] if rest else []) + [ask_about(a) for a in shown])[:3],
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
            suggestions=[ask_about(a) for a in pages[:3]],
            crisis=crisis,
            notes=[f"We have no assessment of {n}." for n in decision.absent],
            trace=trace,
            more=max(0, len(decision.pages) - MAX_LISTED),
            inline_citations=True,
            **base,
        )
        return Outcome(reply, None, options=pages, topic=decision.topic)

    def _clarify(
        self,
        decision: Decision,
        crisis: tuple[Contact, ...],
        trace: Trace,
        base: dict[str, str],
    ) -> Outcome:
        """Which of the pages it could mean: their titles as options."""
        options = list(decision.pages[:MAX_LISTED])
        reply = self.renderer.render(
            "clarify",
            status=Status.CLARIFY,
            options=[short_title(a) for a in options],
            suggestions=[ask_about(a) for a in options],
            crisis=crisis,
            trace=trace,
            **base,
        )
        return Outcome(reply, options=options)


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
