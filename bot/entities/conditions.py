"""Conditions as a hierarchy: which page conditions fit the condition a question names.

A page's condition title is read into facets: "Stage IV Cancer" is any cancer that has
spread; "Cancer-Related Anxiety and Depression" is anxiety or depression in someone with
cancer; "Cancer Pain" is cancer pain, or pain with a cancer mentioned; a title no
vocabulary knows ("Chronic Fakeitis") is itself. A question's condition mentions come from
the same vocabularies (MeSH headings with their tree numbers), so:

- "stage 4 lung cancer" fits "Stage IV Cancer" (the page is BROADER: it covers stage IV
  cancer in general), and fits a "Lung Cancer" page EXACTLY, which then comes first;
- "depression" fits "Treatment-Resistant Depression" (the page is NARROWER), which an
  answer must say;
- "stage 2 breast cancer" does not fit a stage IV page, nor "diabetes" a cancer page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bot.model import ConditionMatch, Relation
from bot.text.normalise import basic
from bot.vocab import Disease

PAGE_DEPTH = 99  # a page's own name is the most specific thing a question can say


class Stage(Enum):
    IV = "iv"
    EARLY = "early"


@dataclass(frozen=True)
class Concept:
    key: str  # "mesh:<heading>" or "page:<condition name as words>"
    disease: Disease | None = None

    @property
    def cancer(self) -> bool:
        return self.disease is not None and self.disease.cancer

    @property
    def ident(self) -> str:
        """What it is, however it was named: a page's condition and the vocabulary's name
        for the same disease are one thing."""
        return f"mesh:{self.disease.heading}" if self.disease is not None else self.key

    @property
    def depth(self) -> int:
        if self.disease is None or self.key.startswith("page:"):
            return PAGE_DEPTH
        return max((t.count(".") + 1 for t in self.disease.trees), default=0)

    def relation(self, page: Concept) -> Relation | None:
        """How a page's concept relates to this (asked-about) one."""
        if self.key == page.key:
            return Relation.EXACT
        if self.disease is None or page.disease is None:
            return None
        if self.disease.within(page.disease):
            return Relation.BROADER
        if page.disease.within(self.disease):
            return Relation.NARROWER
        return None

    @property
    def tree_depth(self) -> int:
        """How deep its disease sits in the vocabulary's tree (0 when none is known)."""
        if self.disease is None:
            return 0
        return max((t.count(".") + 1 for t in self.disease.trees), default=0)

    @property
    def roots(self) -> frozenset[str]:
        own = {self.key} if self.key.startswith(("page:", "stage:")) else set()
        if self.disease is None:
            return frozenset(own)
        return frozenset(own | {t.split(".")[0] for t in self.disease.trees})


# "halvorene for stage 4": a stage with no disease named fits the pages about stage IV
# disease (Stage IV Cancer, Stage IV Testcase Syndrome), and only those.
STAGE_IV = Concept("stage:iv")


def mesh_concept(disease: Disease) -> Concept:
    return Concept(f"mesh:{disease.heading}", disease)


def page_concept(words: str, disease: Disease | None = None) -> Concept:
    """A page's own condition: its name, and the disease that is when a vocabulary knows it."""
    return Concept(f"page:{words}", disease)


@dataclass(frozen=True)
class Facet:
    head: Concept
    needs_cancer: bool = False  # the page is about the head in people with cancer


@dataclass(frozen=True)
class PageCondition:
    name: str  # as written on the page
    facets: tuple[Facet, ...]
    stage_iv: bool = False


@dataclass(frozen=True)
class Mention:
    """A condition a question names."""

    words: str  # the question's words (normalised)
    concept: Concept
    start: int
    end: int
    treatment: bool = False  # "chemo": says there is a cancer, names no condition
    stage_iv: bool = False  # says the cancer has spread ("mets", "stage 4")

    @property
    def cancer(self) -> bool:
        return self.concept.cancer or self.treatment

    @property
    def context(self) -> bool:
        """Says something about a cancer ("chemo", "mets") rather than name a condition."""
        return self.treatment or self.stage_iv


# A vocabulary lookup: words -> a disease, or None.
Lookup = Callable[[str], Disease | None]


def _spans(
    terms: Sequence[str], lookup: Lookup, longest: int = 5
) -> list[tuple[int, int, Disease]]:
    """Longest vocabulary names in terms (at most `longest` terms), left to right."""
    found, i = [], 0
    while i < len(terms):
        for n in range(min(longest, len(terms) - i), 0, -1):
            disease = lookup(" ".join(terms[i : i + n]))
            if disease is not None:
                found.append((i, i + n, disease))
                i += n
                break
        else:
            i += 1
    return found


def _split(terms: Sequence[str]) -> list[list[str]]:
    parts: list[list[str]] = [[]]
    for t in terms:
        if t in ("and", "or"):
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def read_page_condition(name: str, terms: Sequence[str], lookup: Lookup) -> PageCondition:
    """A page condition title (its terms after synonyms) read into facets."""
    terms = list(terms)
    stage_iv = False
    for i in range(len(terms) - 1):
        if terms[i : i + 2] == ["stage", "iv"]:
            stage_iv = True
            del terms[i : i + 2]
            break
    whole = lookup(" ".join(terms)) if terms else None
    facets = [Facet(page_concept(basic(name), whole))]
    if whole is not None:
        facets.append(Facet(mesh_concept(whole)))
    # "Cancer Pain" is also pain in cancer; "Cancer-Related Anxiety and Depression" is
    # anxiety or depression in cancer: the cancer words qualify every part of the title.
    # (A title that is one vocabulary name is read again in shorter names for this.)
    longest = len(terms) - 1 if whole is not None else 5
    parts = [_spans(p, lookup, longest) for p in _split(terms)]
    context = any(d.cancer for spans in parts for *_, d in spans) and any(
        not d.cancer for spans in parts for *_, d in spans
    )
    for spans in parts:
        heads = [d for *_, d in spans if not d.cancer] if context else []
        if not heads and whole is None and len(spans) == 1:
            heads = [spans[0][2]]
        facets += [Facet(mesh_concept(d), needs_cancer=context) for d in heads]
    return PageCondition(name, tuple(dict.fromkeys(facets)), stage_iv)


@dataclass
class ConditionIndex:
    """Every page condition of the corpus, found by the concepts a question names."""

    pages: list[PageCondition] = field(default_factory=list)
    _by_root: dict[str, list[tuple[PageCondition, Facet]]] = field(default_factory=dict)

    def add(self, page: PageCondition) -> None:
        self.pages.append(page)
        for facet in page.facets:
            for root in facet.head.roots:
                self._by_root.setdefault(root, []).append((page, facet))
        if page.stage_iv:
            self._by_root.setdefault(STAGE_IV.key, []).append((page, page.facets[0]))

    def matches(
        self, mentions: Sequence[Mention], stage: Stage | None, no_cancer: bool = False
    ) -> list[ConditionMatch]:
        """Page conditions that fit the mentions, best first (see `ConditionMatch.rank`).
        `no_cancer`: the message says it is not about a cancer ("not from chemo")."""
        heads = [m for m in mentions if not m.context] or list(mentions)
        best: dict[str, ConditionMatch] = {}
        for m in heads:
            seen: set[int] = set()
            for root in m.concept.roots:
                for page, facet in self._by_root.get(root, ()):
                    if id(facet) in seen:
                        continue
                    seen.add(id(facet))
                    found = _fit(page, facet, m, mentions, stage, no_cancer)
                    if found and (page.name not in best or found.rank > best[page.name].rank):
                        best[page.name] = found
        return sorted(
            best.values(), key=lambda c: (-c.rank[0], -c.rank[1], -c.rank[2], c.condition)
        )


def _fit(
    page: PageCondition,
    facet: Facet,
    m: Mention,
    mentions: Sequence[Mention],
    stage: Stage | None,
    no_cancer: bool = False,
) -> ConditionMatch | None:
    if m.concept == STAGE_IV:
        # Says nothing of the disease: any stage IV page fits, the most general best
        # ("orsecanib for stage 4": Stage IV Cancer before Metastatic Pancreatic Cancer).
        head = page.facets[-1].head if len(page.facets) > 1 else page.facets[0].head
        general = 1 if head.disease is None else head.depth
        if head.disease is not None and head.disease.cancer and head.tree_depth > 1:
            # A page about one kind of cancer that has spread (Metastatic Pancreatic
            # Cancer) is narrower than "stage 4": answered with a note that says so, and
            # left out of a listing that has pages about stage IV cancer itself.
            rank = (1, int(Relation.NARROWER), -general)
            return ConditionMatch(page.name, Relation.NARROWER, m.words, (m.words,), rank)
        return ConditionMatch(page.name, Relation.EXACT, m.words, (m.words,), (1, 3, -general))
    relation = m.concept.relation(facet.head)
    if relation is None:
        return None
    if page.stage_iv and stage is Stage.EARLY:
        return None  # "stage 2 breast cancer" is not what a stage IV page covers
    explains = [m.words]
    if facet.needs_cancer:
        context = [c for c in mentions if c.cancer and c is not m]
        if not context and not m.treatment:  # "chemo sickness" says the cancer itself
            if relation is not Relation.EXACT or no_cancer:
                return None
            # "depression" alone: the page is about depression in people with cancer, a
            # kind of what was asked; it fits below every page that fits as asked.
            rank = (0, int(Relation.NARROWER), facet.head.depth)
            return ConditionMatch(page.name, Relation.NARROWER, m.words, (m.words,), rank)
        if context:
            explains.append(context[0].words)
    # Of the pages that cover more than was asked, the one about the narrowest disease fits
    # best ("metastatic colon cancer": Colorectal Cancer before Stage IV Cancer).
    depth = facet.head.tree_depth if relation is Relation.BROADER else facet.head.depth
    rank = (len(explains), int(relation), depth)
    # A page about a kind of cancer the question did not name ("liver cancer" ->
    # Hepatocellular Carcinoma) fits below every page that fits as asked, and is answered
    # with a note that it is about that kind only (policy.hierarchy_note).
    subtype = relation is Relation.NARROWER and facet.head.cancer
    unstaged = relation is Relation.BROADER and page.stage_iv and stage is None and m.cancer
    return ConditionMatch(
        page.name,
        relation,
        m.words,
        tuple(explains),
        rank,
        unstaged=unstaged and not m.stage_iv,
        subtype=subtype,
    )
