"""Starter questions for the empty chat come from the corpus and are all answerable."""

from __future__ import annotations

from bot.assistant import Assistant
from bot.model import Status
from bot.pages import load_corpus
from bot.service.starters import SCALE_QUESTION, starter_questions, starters_for
from bot.settings import ROOT


def test_every_starter_is_answered_from_the_fixture_corpus(assistant: Assistant) -> None:
    questions = starters_for(assistant)
    assert len(questions) == 4 and questions[-1] == SCALE_QUESTION
    names = {a.bare_compound for a in assistant.index.assessments.values()}
    assert sum(any(n in q for n in names) for q in questions) >= 2, questions
    for q in questions:
        reply = assistant.reply(q)
        assert reply.status in (Status.ANSWERED, Status.INFO), (q, reply.status, reply.answer)
    # The same on every visit.
    assert starters_for(assistant) == questions


def test_starters_of_the_shipped_corpus() -> None:
    pages = load_corpus(ROOT / "corpus").assessments
    assert starter_questions(pages) == [
        "What is the evidence level for Ketamine in Stage IV Cancer?",
        "How does Ketamine work in Stage IV Cancer?",
        SCALE_QUESTION,
    ]


def test_no_pages_no_starters() -> None:
    assert starter_questions([]) == []
