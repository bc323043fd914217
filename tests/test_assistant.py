"""End-to-end replies over the fixture corpus, and the invariants every reply keeps."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.answer import Reply, Status
from bot.assistant import Assistant, clean_message
from bot.embedding import FakeEmbedder
from bot.evaluate import invariant_violations
from bot.index import Index, build
from bot.pages import corpus_hash, load_corpus
from bot.settings import Settings

QUESTIONS = [
    "What is the evidence level for zelnoprine in stage IV testcase syndrome?",
    "How does brimadol work?",
    "Are there clinical trials for quorvastin?",
    "What does the evidence for quorvastin mean for patients?",
    "Is turmeric good for stage 4 testcase syndrome?",
    "Does brimadol help with chronic fakeitis?",
    "What is the best pizza in town?",
    "What about stage IV testcase syndrome?",
    "I want to end my life",
    "How much zelnoprine should I take?",
    "Should I stop my chemo and take brimadol instead?",
    "Is zelnoprine studied for suicidal thoughts?",
    "zelnoprine <img src=x onerror=alert(1)>",
    "quorvastin",
    "?",
]


def assert_invariants(reply: Reply, assistant: Assistant) -> None:
    # The rules every reply keeps are written once, in bot/invariants.py; the fixture
    # pages' own disclaimer says "not medical advice".
    assert invariant_violations(reply, assistant) == []
    assert "not medical advice" in reply.html


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_reply_keeps_the_invariants(assistant: Assistant, question: str) -> None:
    assert_invariants(assistant.reply(question), assistant)


def test_answers_the_evidence_level_verbatim(assistant: Assistant) -> None:
    reply = assistant.reply(
        "What is the evidence level for zelnoprine in stage IV testcase syndrome?"
    )
    assert reply.status is Status.ANSWERED
    assert reply.evidence_level == "Preclinical only; two Phase I fixture studies"
    assert reply.citations[0].section.startswith("Current Evidence Classification")
    assert reply.template == "answered_evidence_level"
    assert len(reply.suggestions) == 3


def test_mechanism_question_answers_from_the_mechanism_section(assistant: Assistant) -> None:
    reply = assistant.reply("How does brimadol work?")
    assert reply.status is Status.ANSWERED
    assert reply.citations[0].section == "Mechanistic Evidence"
    assert "imaginary ion exchange" in reply.answer
    assert (
        reply.citations[0].url
        == "https://example.org/assessments/brimadol-stage-iv-testcase-syndrome"
    )


def test_uncovered_compound_is_named_and_never_answered_with_another_page(
    assistant: Assistant,
) -> None:
    reply = assistant.reply(
        "What is the evidence level for turmeric in stage IV testcase syndrome?"
    )
    assert reply.status is Status.NOT_FOUND
    assert "We have no assessment of turmeric yet." in reply.answer
    # What is covered for the condition is listed, as names only.
    assert "Brimadol (Low-Dose) for Stage IV Testcase Syndrome" in reply.answer
    assert reply.suggestions


def test_same_compound_other_condition_is_not_found(assistant: Assistant) -> None:
    reply = assistant.reply("Does brimadol help with chronic fakeitis?")
    assert reply.status is Status.NOT_FOUND
    assert "no assessment of Brimadol (Low-Dose) for chronic fakeitis" in reply.answer
    unknown = assistant.reply("Does brimadol help with depression?")
    assert unknown.status is Status.NOT_FOUND
    assert "Brimadol (Low-Dose) for depression" in unknown.answer


def test_condition_only_question_lists_what_we_have(assistant: Assistant) -> None:
    """Only a condition named: every page for it, each with its own level next to its title;
    no page is picked for a compound the question did not name."""
    reply = assistant.reply("What do you have on stage IV testcase syndrome?")
    assert reply.status is Status.ANSWERED
    assert reply.template == "answered_listing" and reply.evidence_level is None
    pages = assistant.index.assessments
    assert {c.compound for c in reply.citations} == {
        "Brimadol (Low-Dose)",
        "Zelnoprine (Oral / Inhaled)",
    }
    for c in reply.citations:
        line = f"{c.compound} for {c.condition} — Evidence level: {pages[c.page_id].evidence_level}"
        assert line in reply.answer
    assert sorted(reply.suggestions) == [
        "What is the evidence level for Brimadol (Low-Dose) in Stage IV Testcase Syndrome?",
        "What is the evidence level for Zelnoprine (Oral / Inhaled) in Stage IV Testcase Syndrome?",
    ]


def test_bare_compound_with_two_assessments_gets_clarify(tmp_path: Path, corpus_dir: Path) -> None:
    page = (corpus_dir / "zelnoprine--stage-iv-testcase-syndrome.txt").read_text()
    (corpus_dir / "zelnoprine--chronic-fakeitis.txt").write_text(
        page.replace("Stage IV Testcase Syndrome", "Chronic Fakeitis")
    )
    embedder = FakeEmbedder()
    settings = Settings(corpus=corpus_dir, index=tmp_path / "ix", embedder="fake")
    index = build(
        load_corpus(corpus_dir).assessments, embedder, settings.index, corpus_hash(corpus_dir)
    )
    assistant = Assistant.create(settings, index, embedder)
    reply = assistant.reply("What's the evidence for zelnoprine?")
    assert reply.status is Status.CLARIFY
    assert len(reply.suggestions) == 2 and all("Zelnoprine" in s for s in reply.suggestions)
    assert_invariants(reply, assistant)
    assert assistant.reply("zelnoprine for chronic fakeitis evidence").status is Status.ANSWERED


def test_off_topic_question_is_not_found(assistant: Assistant) -> None:
    reply = assistant.reply("What is the best pizza in town?")
    assert reply.status is Status.NOT_FOUND
    assert "Quorvastin for Chronic Fakeitis" in reply.answer


def test_question_the_page_does_not_address_is_not_found(assistant: Assistant) -> None:
    reply = assistant.reply("quorvastin pizza delivery opening hours")
    assert reply.status is Status.NOT_FOUND
    assert "does not cover that question" in reply.answer


@pytest.mark.parametrize(
    ("question", "subject"),
    [
        ("What are the side effects of quorvastin for chronic fakeitis?", "side effects"),
        ("How much does quorvastin cost, is it covered by insurance?", "costs or insurance"),
        ("How long does quorvastin take to start working?", "how soon it works"),
    ],
)
def test_subject_the_page_never_discusses_is_not_found(
    assistant: Assistant, question: str, subject: str
) -> None:
    # Not the nearest passage passed off as an answer about side effects or cost.
    reply = assistant.reply(question)
    assert reply.status is Status.NOT_FOUND and not reply.citations
    assert f"does not discuss {subject}" in reply.answer
    assert "Quorvastin for Chronic Fakeitis" in reply.answer
    assert reply.trace.missing_subject == subject
    assert_invariants(reply, assistant)


def test_urgent_comes_before_everything_and_cites_nothing(assistant: Assistant) -> None:
    reply = assistant.reply("How does brimadol work? I want to kill myself")
    assert reply.status is Status.URGENT
    assert reply.answer.startswith(assistant.contacts[0].text)
    assert not reply.citations and reply.evidence_level is None


def test_dosing_is_declined_with_a_pointer_to_the_doctor(assistant: Assistant) -> None:
    reply = assistant.reply("How much zelnoprine should I take?")
    assert reply.status is Status.DECLINED
    assert "oncologist or doctor" in reply.answer
    assert reply.evidence_level == "Preclinical only; two Phase I fixture studies"
    assert not any(ch.isdigit() for ch in reply.answer.split("Evidence level:")[0])


def test_research_question_mentioning_suicide_is_answered_with_contacts(
    assistant: Assistant,
) -> None:
    reply = assistant.reply("Is zelnoprine studied in people with suicidal thoughts?")
    assert reply.status is Status.ANSWERED
    assert reply.answer.startswith(assistant.contacts[0].text)


def test_session_and_answer_ids(assistant: Assistant) -> None:
    first = assistant.reply("How does brimadol work?")
    assert len(first.session_id) == 32 and first.answer_id != first.session_id
    again = assistant.reply("How does brimadol work?", session_id=first.session_id)
    assert again.session_id == first.session_id and again.answer_id != first.answer_id


def test_trace_records_what_produced_the_reply(assistant: Assistant) -> None:
    reply = assistant.reply("How does brimadol work?")
    assert reply.trace.intent == "mechanism"
    assert reply.trace.entities["compounds"] == ["Brimadol (Low-Dose)"]
    assert reply.trace.hits[0][0] == reply.citations[0].passage_id
    assert reply.trace.latency_ms >= 0


@pytest.mark.parametrize("bad", ["", "   ", "x" * 1001])
def test_clean_message_rejects_empty_and_long(bad: str) -> None:
    with pytest.raises(ValueError, match="1-1000 characters"):
        clean_message(bad)


def test_clean_message_trims() -> None:
    assert clean_message("  hi \n") == "hi"
    assert clean_message(" " + "x" * 1000 + " ") == "x" * 1000


def test_follow_up_inherits_the_compound(assistant: Assistant) -> None:
    first = assistant.reply("What is the evidence level for quorvastin?")
    follow = assistant.reply("and how does it work?", first.session_id)
    assert follow.status is Status.ANSWERED
    assert follow.citations[0].compound == "Quorvastin"
    assert follow.citations[0].section == "Mechanistic Evidence"
    # A new conversation has no topic to inherit.
    assert assistant.reply("and how does it work?").status is Status.NOT_FOUND


def test_a_repeated_first_message_gets_the_same_reply_under_new_ids(
    assistant: Assistant,
) -> None:
    question = "What is the evidence level for quorvastin?"
    first = assistant.reply(question)
    again = assistant.reply(question)
    assert again == replace(first, session_id=again.session_id, answer_id=again.answer_id)
    assert again.session_id != first.session_id and again.answer_id != first.answer_id
    assert again.trace.repeat_of == first.answer_id and first.trace.repeat_of is None
    # The repeat starts its own conversation, as the first one did.
    follow = assistant.reply("and how does it work?", again.session_id)
    assert follow.citations[0].compound == "Quorvastin"


def test_a_message_within_a_conversation_is_answered_in_its_context(
    assistant: Assistant,
) -> None:
    fresh = assistant.reply("how does it work?")
    assert fresh.status is Status.NOT_FOUND
    topic = assistant.reply("What is the evidence level for quorvastin?")
    in_context = assistant.reply("how does it work?", topic.session_id)
    assert in_context.status is Status.ANSWERED and in_context.trace.repeat_of is None
    assert assistant.reply("how does it work?").status is Status.NOT_FOUND


def test_listing_then_pick_continues_the_conversation(assistant: Assistant) -> None:
    ask = assistant.reply("What do you have for stage IV testcase syndrome?")
    assert ask.status is Status.ANSWERED and len(ask.citations) == 2
    picked = assistant.reply("the second one", ask.session_id)
    assert picked.status is Status.ANSWERED
    assert picked.citations[0].compound == "Zelnoprine (Oral / Inhaled)"
    assert assistant.reply("how does it work?", ask.session_id).citations[0].compound == (
        "Zelnoprine (Oral / Inhaled)"
    )


def test_after_not_found_the_uncovered_pair_stays_the_topic(assistant: Assistant) -> None:
    first = assistant.reply("Does quorvastin help with depression?")
    assert first.status is Status.NOT_FOUND
    again = assistant.reply("and how does it work?", first.session_id)
    assert again.status is Status.NOT_FOUND and "Quorvastin for depression" in again.answer
    back = assistant.reply("what about chronic fakeitis then?", first.session_id)
    assert back.status is Status.ANSWERED and back.citations[0].compound == "Quorvastin"


def test_crisis_reply_keeps_the_topic_for_later(assistant: Assistant) -> None:
    first = assistant.reply("How does brimadol work?")
    assert assistant.reply("I want to die", first.session_id).status is Status.URGENT
    later = assistant.reply("what does this mean for patients?", first.session_id)
    assert later.status is Status.ANSWERED and later.citations[0].compound == "Brimadol (Low-Dose)"


@pytest.mark.redis
def test_two_instances_share_context_through_redis(
    settings: Settings, fixture_index, fake_embedder
) -> None:
    """A follow-up answered by another instance keeps its context (real Redis)."""
    shared = settings.model_copy(update={"session_store": "redis"})
    one = Assistant.create(shared, fixture_index, fake_embedder)
    two = Assistant.create(shared, fixture_index, fake_embedder)
    assert one.sessions.health()["ok"], "Redis at 127.0.0.1:6379 must be running for this test"
    first = one.reply("What is the evidence level for quorvastin?")
    follow = two.reply("and how does it work?", first.session_id)
    assert follow.status is Status.ANSWERED and follow.citations[0].compound == "Quorvastin"


def test_greeting_gets_a_friendly_pointer(assistant: Assistant) -> None:
    reply = assistant.reply("hello")
    assert reply.status is Status.NOT_FOUND and reply.template == "smalltalk"
    assert "Quorvastin for Chronic Fakeitis" in reply.answer and reply.suggestions


def test_site_url_links_citations_of_pages_without_an_address(
    settings: Settings, fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    site = settings.model_copy(update={"site_url": "https://evidence.example.org/a/{slug}/"})
    bot = Assistant.create(site, fixture_index, fake_embedder)
    # The .txt fixture page has no URL of its own: the setting gives it one.
    reply = bot.reply("How does zelnoprine work?")
    url = "https://evidence.example.org/a/zelnoprine--stage-iv-testcase-syndrome/"
    assert reply.to_json()["citations"][0]["url"] == url
    assert f'<a href="{url}" rel="noopener">Read the full assessment</a>' in reply.html
    # The .md fixture names its own URL, which comes first.
    own = bot.reply("How does quorvastin work?").to_json()["citations"][0]["url"]
    assert own == "https://example.org/assessments/quorvastin-chronic-fakeitis"
