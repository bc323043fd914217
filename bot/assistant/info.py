"""Replies about what every page shares (the evidence scale and its terms, the disclaimer,
the authors, clinical trials): quoted from a page and cited, with no assessment's level."""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from urllib.parse import urlencode

from bot import page_schema, rules
from bot.answer import Citation, Reply
from bot.assistant.base import Parts, ask_about
from bot.dialogue import Context
from bot.model import Status, Trace
from bot.retrieval import Hit
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
from bot.triage import Contact


class InfoReplies(Parts):
    """Shared content: a topic quoted from the page in the conversation, or the shared
    passage nearest the message."""

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
            suggestions=[ask_about(p) for p in self._everything[:2]],
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
            suggestions=[ask_about(p) for p in self._everything[:2]],
            crisis=crisis,
            trace=trace,
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
        )


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


def info_topic(norm: Normalised) -> str | None:
    """The shared-content topic a message asks about (bot/data/rules/info.yaml), if any."""
    found = info_match(norm)
    return found[0] if found else None


def info_match(norm: Normalised) -> tuple[str, str] | None:
    """The topic and the words its rule read ("how does the grading work"), if any."""
    found = rules.first(rules.load("info"), norm.folded)
    if found is None:
        return None
    span = found.pattern.search(norm.folded)
    return found.kind, span.group(0) if span else ""
