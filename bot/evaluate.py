"""Evaluation harness: labelled questions -> accuracy, retrieval quality and invariants.

The product (entity-scoped hybrid ranking, dialogue, triage) is compared with two classic
FAQ-bot baselines that rank the whole index with one method and answer from the top
passage's page whenever it clears a threshold: dense only, and BM25 only.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from bot import invariants, page_schema
from bot.answer import Citation, Reply, Status, Trace
from bot.assistant import MAX_LISTED, Assistant, _template_for, new_id, short_title
from bot.model import SectionKind
from bot.retrieval import Hit, intent_of
from bot.triage import triage

STATUSES = tuple(s.value for s in Status)
RECALL_AT = (1, 3, 5)


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    status: str
    assessment: str | None = None  # "<Compound> for <Condition>"
    section: str | None = None  # a heading (its section kind), or "FAQ:<word>"
    missing: str | None = None  # uncovered name the answer must name
    session: str | None = None
    tags: tuple[str, ...] = ()
    # Comparisons and listings: every page the reply must cite (a listing longer than a
    # page of replies may show its first MAX_LISTED; "more" shows some of the rest).
    assessments: tuple[str, ...] | None = None
    contains: tuple[str, ...] = ()  # lowercase text the reply must hold (a trials link)


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            case = Case(
                id=str(data["id"]),
                question=str(data["question"]),
                status=str(data["status"]),
                assessment=data.get("assessment"),
                section=data.get("section"),
                missing=data.get("missing"),
                session=data.get("session"),
                tags=tuple(data.get("tags", ())),
                assessments=(
                    tuple(data["assessments"]) if data.get("assessments") is not None else None
                ),
                contains=tuple(str(t).lower() for t in data.get("contains", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a labelled question ({exc})") from exc
        if case.status not in STATUSES:
            raise ValueError(f"{path}:{number}: unknown status {case.status!r}")
        if case.id in seen:
            raise ValueError(f"{path}:{number}: duplicate id {case.id!r}")
        seen.add(case.id)
        cases.append(case)
    return cases


class Responder(Protocol):
    def reply(self, message: str, session_id: str | None = None) -> Reply: ...


class Baseline:
    """A classic FAQ bot over the same index, triage and templates, without entities."""

    def __init__(self, assistant: Assistant, method: str) -> None:
        if method not in ("dense", "bm25"):
            raise ValueError(f"unknown baseline {method!r}")
        self.assistant = assistant
        self.method = method

    def reply(self, message: str, session_id: str | None = None) -> Reply:
        check = triage(message)
        if check and check.kind in ("urgent", "declined"):
            return self.assistant.reply(message, session_id)
        index = self.assistant.index
        if self.method == "dense":
            ranked = index.search(self.assistant.retriever.embed(message), 10)
            floor = self.assistant.settings.min_score
        else:
            ranked = index.lexical_search(message, 10)
            floor = 0.0
        trace = Trace(hits=[(p.id, round(s, 4)) for p, s in ranked])
        base = {
            "session_id": session_id or new_id(),
            "answer_id": new_id(),
            "disclaimer": self.assistant.settings.disclaimer,
            "trace": trace,
        }
        if not ranked or ranked[0][1] <= floor:
            everything = sorted(index.assessments.values(), key=lambda a: a.title)
            return self.assistant.renderer.render(
                "not_found",
                status=Status.NOT_FOUND,
                missing=None,
                off_scope=None,
                covered=[short_title(a) for a in everything],
                covered_intro="We have:",
                more=0,
                **base,
            )
        passage, score = ranked[0]
        a = index.assessments[passage.assessment_id]
        hit = Hit(passage, a, score)
        template, extra = _template_for(intent_of(message), hit)
        return self.assistant.renderer.render(
            template,
            status=Status.ANSWERED,
            a=a,
            evidence_level=a.evidence_level,
            citations=[Citation.from_hit(hit)],
            **{**base, "disclaimer": a.disclaimer or base["disclaimer"]},
            **extra,
        )


@dataclass
class Result:
    case: Case
    reply: Reply
    cited: str | None  # short title of the first citation
    section: str | None
    ranked: list[tuple[str, str, str | None]]  # (short title, section, faq question)
    violations: list[str] = field(default_factory=list)
    cited_all: tuple[str, ...] = ()  # short titles of every citation, in order
    before: tuple[str, ...] = ()  # the last listing or comparison of the conversation

    @property
    def assessments_ok(self) -> bool:
        want, got = self.case.assessments, set(self.cited_all)
        if "ordinal" in self.case.tags:
            n = _ordinal(self.case.question)
            n = len(self.before) if n == -1 else n
            return (
                n is not None
                and 1 <= n <= len(self.before)
                and self.cited_all == (self.before[n - 1],)
            )
        if want is None:
            return True
        if "more" in self.case.tags:
            return bool(got) and got <= set(want)
        if got == set(want):
            return True
        paged = "listing" in self.case.tags and len(want) > MAX_LISTED
        return paged and len(got) == MAX_LISTED and got <= set(want)

    @property
    def status_ok(self) -> bool:
        return self.reply.status.value == self.case.status

    @property
    def assessment_ok(self) -> bool:
        return self.case.assessment is None or self.cited == self.case.assessment

    @property
    def correct(self) -> bool:
        answer = self.reply.answer.lower()
        missing_ok = not self.case.missing or self.case.missing.lower() in answer
        holds = all(t in answer for t in self.case.contains)
        return (
            self.status_ok and self.assessment_ok and self.assessments_ok and missing_ok and holds
        )


ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")


def _ordinal(question: str) -> int | None:
    """1 for "the first one", 2 for "tell me about the second"...; -1 for "the last one"."""
    words = re.findall(r"[a-z]+", question.lower())
    if "last" in words:
        return -1
    return next((ORDINALS.index(w) + 1 for w in words if w in ORDINALS), None)


def section_matches(expected: str, section: str | None, question: str | None) -> bool:
    """Whether a cited section is the labelled one. A label names a part of the page by its
    heading ("Mechanistic Evidence"), or "FAQ:<word>" for a pair whose question has the
    word; both sides are read through the page schema, so a label means the same part of
    the page whatever the site calls it. A label the schema does not know is compared as
    a heading prefix."""
    if section is None:
        return False
    schema = page_schema.load()
    if expected.startswith("FAQ:"):
        word = expected[4:].lower()
        return schema.kind_of(section) is SectionKind.FAQ and word in (question or "").lower()
    kind = schema.kind_of(expected)
    if kind is SectionKind.OTHER:
        return section.startswith(expected)
    return schema.kind_of(section) is kind


def invariant_violations(reply: Reply | Mapping[str, Any], assistant: Assistant) -> list[str]:
    """The rules no reply may break, whatever the question (bot/invariants.py), checked on
    a reply or on the HTTP object the API sent for one."""
    data = reply.to_json() if isinstance(reply, Reply) else reply
    return invariants.violations(data, assistant.index.assessments, assistant._book)


def run(cases: Sequence[Case], responder: Responder, assistant: Assistant) -> list[Result]:
    """Each case replied to in order (a session's messages in one conversation). The texts
    the replies will embed are encoded first in batches, a chunk of cases at a time
    (Assistant.warmed): `bot eval` calls the model a few times, not once per question."""
    sessions: dict[str, str] = {}
    last: dict[str, tuple[str, ...]] = {}
    passages = {p.id: p for p in assistant.index.passages}
    results = []
    for i in assistant.warmed([c.question for c in cases]):
        case = cases[i]
        reply = responder.reply(case.question, sessions.get(case.session or ""))
        if case.session:
            sessions[case.session] = reply.session_id
        first = reply.citations[0] if reply.citations else None
        cited = tuple(f"{c.compound} for {c.condition}" for c in reply.citations)
        ranked = []
        for pid, _ in reply.trace.get("hits", []):
            p = passages[pid]
            a = assistant.index.assessments[p.assessment_id]
            ranked.append((short_title(a), p.section, p.question))
        results.append(
            Result(
                case=case,
                reply=reply,
                cited=f"{first.compound} for {first.condition}" if first else None,
                section=first.section if first else None,
                ranked=ranked,
                violations=invariant_violations(reply, assistant),
                cited_all=cited,
                before=last.get(case.session or "", ()),
            )
        )
        if case.session and len(cited) > 1:
            last[case.session] = cited  # "the third one" picks from the last listing
    return results


@dataclass
class Report:
    name: str
    results: list[Result]

    def _rate(self, items: Iterable[bool]) -> tuple[int, int]:
        values = list(items)
        return sum(values), len(values)

    @property
    def correct(self) -> tuple[int, int]:
        return self._rate(r.correct for r in self.results)

    def status_accuracy(self) -> dict[str, tuple[int, int]]:
        out: dict[str, list[bool]] = defaultdict(list)
        for r in self.results:
            out[r.case.status].append(r.status_ok)
        return {s: self._rate(v) for s, v in sorted(out.items())}

    @property
    def right_assessment(self) -> tuple[int, int]:
        return self._rate(r.assessment_ok for r in self.results if r.case.assessment)

    @property
    def right_section(self) -> tuple[int, int]:
        return self._rate(
            section_matches(r.case.section, r.section, _faq_question(r))
            for r in self.results
            if r.case.section and r.case.status == "answered"
        )

    def _first_relevant(self, r: Result) -> int | None:
        for rank, (title, section, question) in enumerate(r.ranked, 1):
            if title == r.case.assessment and (
                not r.case.section or section_matches(r.case.section, section, question)
            ):
                return rank
        return None

    def _ranked_cases(self) -> list[Result]:
        return [r for r in self.results if r.case.status == "answered" and r.case.assessment]

    def recall(self, k: int) -> float:
        cases = self._ranked_cases()
        hits = [(rank := self._first_relevant(r)) is not None and rank <= k for r in cases]
        return sum(hits) / len(hits) if hits else 0.0

    @property
    def mrr(self) -> float:
        cases = self._ranked_cases()
        ranks = [self._first_relevant(r) for r in cases]
        return sum(1 / r for r in ranks if r) / len(ranks) if ranks else 0.0

    @property
    def violations(self) -> int:
        return sum(len(r.violations) for r in self.results)

    def tagged(self, tag: str) -> tuple[int, int]:
        return self._rate(r.correct for r in self.results if tag in r.case.tags)

    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.correct or r.violations]


def _faq_question(r: Result) -> str | None:
    c = r.reply.citations[0] if r.reply.citations else None
    return c.section.partition(": ")[2] if c else None


def _pct(pair: tuple[int, int]) -> str:
    ok, total = pair
    return f"{100 * ok / total:5.1f}% ({ok}/{total})" if total else "   n/a"


def table(reports: Sequence[Report]) -> str:
    """One row per metric, one column per ranking method."""
    rows: list[tuple[str, list[str]]] = [
        ("expected status + assessment", [_pct(r.correct) for r in reports]),
    ]
    for status in STATUSES:
        rows.append(
            (f"  status {status}", [_pct(r.status_accuracy().get(status, (0, 0))) for r in reports])
        )
    rows += [
        ("right assessment", [_pct(r.right_assessment) for r in reports]),
        ("right section", [_pct(r.right_section) for r in reports]),
    ]
    rows += [(f"recall@{k}", [f"{r.recall(k):.3f}" for r in reports]) for k in RECALL_AT]
    rows += [
        ("MRR", [f"{r.mrr:.3f}" for r in reports]),
        ("invariant violations", [str(r.violations) for r in reports]),
    ]
    tags = sorted({t for r in reports for res in r.results for t in res.case.tags})
    rows += [(f"  tag {t}", [_pct(r.tagged(t)) for r in reports]) for t in tags]
    width = max(len(name) for name, _ in rows)
    col = max(18, *(len(r.name) for r in reports))
    lines = [f"{'metric':<{width}}  " + "  ".join(f"{r.name:>{col}}" for r in reports)]
    lines.append("-" * len(lines[0]))
    lines += [f"{name:<{width}}  " + "  ".join(f"{v:>{col}}" for v in vals) for name, vals in rows]
    return "\n".join(lines)


def evaluate(cases: Sequence[Case], assistant: Assistant, baselines: bool = True) -> list[Report]:
    reports = [Report("hybrid+entities", run(cases, assistant, assistant))]
    if baselines:
        for method in ("dense", "bm25"):
            reports.append(
                Report(f"{method} only", run(cases, Baseline(assistant, method), assistant))
            )
    return reports


def by_embedder(
    cases: Sequence[Case], assistants: Mapping[str, Assistant], baselines: bool = False
) -> dict[str, list[Report]]:
    """evaluate() once per assistant, e.g. one per embedder over the same corpus."""
    return {name: evaluate(cases, a, baselines=baselines) for name, a in assistants.items()}


def embedder_table(runs: Mapping[str, Sequence[Report]]) -> str:
    """The product's (hybrid+entities) metrics with one column per embedder."""
    return table([replace(reports[0], name=name) for name, reports in runs.items()])
