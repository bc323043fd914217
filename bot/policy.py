"""Which page(s) a reply may cite, decided once, from what the question names.

The rules, in the order they are tried (each decision names its rule in the trace):

1. `unknown-compound`  A compound no page covers is named, and no covered one: not_found
   naming it ("We have no assessment of Keytruda (pembrolizumab)"), never another page.
2. `no-names`          Nothing we know is named: not_found (off-topic), or smalltalk;
   `everything`        asked for a list ("list all your pages"): every page.
3. `unknown-condition` A covered compound for a condition none of its pages fits:
   not_found naming the pair ("Metformin for diabetes").
4. `condition-only`    Only a condition: the pages that fit it, listed with their levels;
   a page is never picked for a compound the question did not name.
5. `compound-only`     Only a compound: its page, or a listing when asked "what do you
   have on X", or clarify when it has several.
6. `compare`           Two compounds named (or one compound for two conditions, asked to
   compare): each compound's best fitting page, side by side; a compound with no page
   for the condition is named as missing. Never a ranking.
7. `pair`              A compound and a condition: the compound's page whose condition fits
   best. A page for the specific condition wins over a general one (offered as a
   suggestion); a general page (Stage IV Cancer for stage 4 lung cancer) is used with a
   note that it is not specific; equally good fits -> clarify; none -> not_found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bot.model import ConditionMatch, Entities, Relation
from bot.pages import PageSummary

Topic = tuple[str | None, str | None]  # the compound and condition asked about


class Verdict(Enum):
    ANSWER = "answer"  # one page
    LIST = "list"  # several pages, each with its level
    COMPARE = "compare"  # the pages asked about side by side, each with its level
    CLARIFY = "clarify"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    rule: str
    pages: tuple[PageSummary, ...] = ()  # the page answered, listed or offered
    match: ConditionMatch | None = None  # how the answered page's condition fits
    missing: str | None = None  # what we have no assessment of, as the reply names it
    also: tuple[PageSummary, ...] = ()  # other pages to suggest (a general page, ...)
    scope: tuple[PageSummary, ...] = ()  # for not_found: what we do have, nearest first
    scope_intro: str = ""
    topic: Topic = (None, None)  # the pair asked about
    absent: tuple[str, ...] = ()  # pairs of a comparison we have no page for


@dataclass
class Catalogue:
    """The corpus's pages by compound and by condition (looked up by name, so a decision
    costs the same whatever the corpus size)."""

    pages: list[PageSummary]
    by_compound: dict[str, list[PageSummary]] = field(default_factory=dict)
    by_condition: dict[str, list[PageSummary]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pages = sorted(self.pages, key=lambda a: a.title)
        for a in self.pages:
            self.by_compound.setdefault(a.compound, []).append(a)
            self.by_condition.setdefault(a.condition, []).append(a)

    @classmethod
    def of(cls, pages: Iterable[PageSummary]) -> Catalogue:
        return cls(list(pages))

    def page(self, compound: str | None, condition: str | None) -> PageSummary | None:
        """The page of this compound for this condition, if there is one."""
        return next(
            (a for a in self.by_compound.get(compound or "", ()) if a.condition == condition), None
        )

    def of_compounds(self, names: Sequence[str]) -> list[PageSummary]:
        return [a for n in names for a in self.by_compound.get(n, ())]

    def of_conditions(self, names: Sequence[str]) -> list[PageSummary]:
        return [a for n in names for a in self.by_condition.get(n, ())]

    def fitting(self, entities: Entities) -> list[PageSummary]:
        """Pages whose compound and condition fit every half the question names."""
        if entities.compounds and entities.conditions:
            wanted = set(entities.conditions)
            return [a for a in self.of_compounds(entities.compounds) if a.condition in wanted]
        if entities.compounds:
            return self.of_compounds(entities.compounds)
        return self.of_conditions(entities.conditions)


def decide(
    entities: Entities, catalogue: Catalogue, listing: bool = False, compare: bool = False
) -> Decision:
    """The rules above, tried in their order: the first that applies decides."""
    e = entities
    topic = (
        (e.compounds + e.unknown_compounds or (None,))[0],
        (e.conditions + e.unknown_conditions or (None,))[0],
    )
    if e.unknown_compounds and not e.compounds:
        return _unknown_compound(e, catalogue, topic)
    if not e.compounds and not e.matches:
        return _no_names(e, catalogue, listing)
    if not e.compounds:
        return _condition_only(e, catalogue, topic)
    across = compare and not e.unknown_compounds and len(catalogue.fitting(e)) > 1
    if len(e.compounds) > 1 or across:
        return _compare(e, catalogue, topic)
    own = catalogue.of_compounds(e.compounds)
    if not e.conditions and not e.matches:
        return _compound_only(e, own, listing, topic)
    return _pair(e, own, topic)


def _unknown_compound(e: Entities, catalogue: Catalogue, topic: Topic) -> Decision:
    """Rule 1: a compound no page covers, and no covered one, is named."""
    listed = _listed(e, catalogue)
    where = f" for {e.matches[0].mention}" if e.matches else ""
    return Decision(
        Verdict.NOT_FOUND,
        "unknown-compound",
        missing=" or ".join(e.unknown_compounds),
        scope=tuple(listed or catalogue.pages),
        scope_intro=f"Assessments we do have{where}:",
        topic=topic,
    )


def _no_names(e: Entities, catalogue: Catalogue, listing: bool) -> Decision:
    """Rule 2: nothing we know is named (or every page is asked for)."""
    if listing and not e.unknown_conditions:
        return Decision(Verdict.LIST, "everything", pages=tuple(catalogue.pages))
    missing = " or ".join(e.unknown_conditions) or None
    return Decision(
        Verdict.NOT_FOUND,
        "no-names",
        missing=missing,
        scope=tuple(catalogue.pages),
        scope_intro="Assessments we have:",
    )


def _condition_only(e: Entities, catalogue: Catalogue, topic: Topic) -> Decision:
    """Rule 4: only a condition is named."""
    listed = _listed(e, catalogue)
    fits = [m for m in e.matches if m.condition in _conditions(listed)]
    if listed and not any(m.answerable and not (m.subtype or m.unstaged) for m in fits):
        # Nothing about the condition as asked: pages about a kind of it ("early breast
        # cancer": a subtype's page), or about stage IV cancer in general when the
        # question does not say it has spread. Named, not listed with their levels.
        mention = e.matches[0].mention
        kinds = [f"a particular kind of {mention}"] if any(m.subtype for m in fits) else []
        if any(m.unstaged for m in fits) or not kinds:
            kinds.append("stage IV cancer in general (if the cancer has spread)")
        return Decision(
            Verdict.NOT_FOUND,
            "condition-only",
            missing=mention,
            scope=tuple(listed),
            scope_intro=f"Assessments about {' or '.join(kinds)}:",
            topic=topic,
        )
    return Decision(Verdict.LIST, "condition-only", pages=tuple(listed), topic=topic)


def _compound_only(e: Entities, own: list[PageSummary], listing: bool, topic: Topic) -> Decision:
    """Rules 3 and 5: one compound, with no condition we know (or a condition none of its
    pages fits)."""
    if e.unknown_conditions:
        return Decision(
            Verdict.NOT_FOUND,
            "unknown-condition",
            missing=f"{e.compounds[0]} for {' or '.join(e.unknown_conditions)}",
            scope=tuple(own),
            scope_intro=f"For {e.compounds[0]} we have:",
            topic=topic,
        )
    if len(own) == 1:
        return Decision(Verdict.ANSWER, "compound-only", pages=(own[0],), topic=topic)
    verdict = Verdict.LIST if listing else Verdict.CLARIFY
    return Decision(verdict, "compound-only", pages=tuple(own), topic=topic)


def _pair(e: Entities, own: list[PageSummary], topic: Topic) -> Decision:
    """Rule 7: one compound and a condition: its page whose condition fits best."""
    rank = {m.condition: m for m in e.matches if m.answerable and not m.unstaged}
    fitting = sorted(
        (a for a in own if a.condition in rank),
        key=lambda a: rank[a.condition].rank,
        reverse=True,
    )
    if not fitting:
        asked = e.matches[0].mention if e.matches else e.conditions[0]
        return Decision(
            Verdict.NOT_FOUND,
            "pair",
            missing=f"{e.compounds[0]} for {asked}",
            scope=tuple(own),
            scope_intro=f"For {e.compounds[0]} we have:",
            topic=topic,
        )
    best = rank[fitting[0].condition].rank
    top = [a for a in fitting if rank[a.condition].rank == best]
    if len(top) > 1:
        return Decision(Verdict.CLARIFY, "pair", pages=tuple(top), topic=topic)
    chosen = top[0]
    others = [a for a in own if a is not chosen and (a in fitting or e.match(a.condition))]
    return Decision(
        Verdict.ANSWER,
        "pair",
        pages=(chosen,),
        match=rank[chosen.condition],
        also=tuple(others),
        topic=topic,
    )


def _compare(e: Entities, catalogue: Catalogue, topic: Topic) -> Decision:
    """Each compound's pages that fit the condition(s) named: the best fitting one per
    compound when several compounds are compared, every fitting one when one compound is
    compared across conditions. A compound with no fitting page is named, never replaced."""
    rank = {m.condition: m for m in e.matches if m.answerable and not m.unstaged}
    asked = " or ".join([m.mention for m in e.matches][:1] + list(e.unknown_conditions)[:1])
    pages: list[PageSummary] = []
    absent: list[str] = []
    for compound in e.compounds:
        own = catalogue.by_compound.get(compound, [])
        if not (e.matches or e.unknown_conditions):
            pages += own
            continue
        fitting = sorted(
            (a for a in own if a.condition in rank),
            key=lambda a: rank[a.condition].rank,
            reverse=True,
        )
        if len(e.compounds) == 1:
            # Across conditions: every page of the compound that fits one of them.
            pages += fitting
        elif not fitting:
            absent.append(f"{e.as_said(compound)} for {asked}")
        else:
            best = rank[fitting[0].condition].rank
            pages += [a for a in fitting if rank[a.condition].rank == best]
    pages = list(dict.fromkeys(pages))
    absent += list(e.unknown_compounds)  # "brevalyn or avastin": we have no page for avastin
    if not pages:
        return Decision(
            Verdict.NOT_FOUND,
            "compare",
            missing=" or ".join(absent),
            scope=tuple(catalogue.of_compounds(e.compounds)),
            scope_intro="For these compounds we have:",
            topic=topic,
        )
    if len(pages) == 1:
        chosen = pages[0]
        return Decision(
            Verdict.ANSWER,
            "compare",
            pages=(chosen,),
            match=rank.get(chosen.condition),
            topic=topic,
            absent=tuple(absent),
        )
    return Decision(
        Verdict.COMPARE, "compare", pages=tuple(pages), topic=topic, absent=tuple(absent)
    )


def _conditions(pages: Iterable[PageSummary]) -> set[str]:
    return {a.condition for a in pages}


def _listed(e: Entities, catalogue: Catalogue) -> list[PageSummary]:
    """Pages for the conditions named, the best fitting first (specific before general)."""
    # "what do you have for pancreatic cancer": its own pages; the pages about every stage
    # IV cancer only where the question says stage IV or nothing fits that mention closer.
    # And for a stage IV cancer asked about, pages about a kind of it ("stage 4 cancer": a
    # glioblastoma page) only where no page is about exactly what was named.
    closer = {
        m.mention
        for m in e.matches
        if m.relation is not Relation.BROADER and m.answerable and not m.subtype
    }
    exact = {m.mention for m in e.matches if m.relation is Relation.EXACT and m.answerable}
    # The stage IV pages for a cancer given no stage only where nothing else fits it.
    fitted = {m.mention for m in e.matches if not m.unstaged}
    matches = [
        m
        for m in e.matches
        if not (m.unstaged and m.mention in fitted)
        and (e.stage_iv or m.relation is not Relation.BROADER or m.mention not in closer)
        and not (e.stage_iv and m.relation is Relation.NARROWER and m.mention in exact)
    ]
    order = {m.condition: i for i, m in enumerate(matches)}
    pages = catalogue.of_conditions([m.condition for m in matches])
    return sorted(pages, key=lambda a: (order[a.condition], a.title))


def hierarchy_note(a: PageSummary, match: ConditionMatch | None) -> str | None:
    """What the reply must say when the page fits the question's condition only broadly
    or narrowly."""
    if match is None or match.relation is Relation.EXACT:
        return None
    if match.relation is Relation.BROADER:
        return (
            f"This assessment is about {a.condition} in general; it is not specific to "
            f"{match.mention}."
        )
    return f"This assessment is about {a.condition} specifically, not {match.mention} in general."
