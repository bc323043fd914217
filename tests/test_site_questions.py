"""Questions about the site itself (the scale, trials in general, what a term means, the
site instead of a doctor), and subjects no page discusses, over the policy's fixture
pages (tests/policy_world.py): answered from what every page shares, never with a page's
level."""

from __future__ import annotations

import pytest
from policy_world import ask, make_bot

from bot.assistant import Assistant
from bot.model import Status


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return make_bot(tmp_path_factory.mktemp("site"))


def test_how_to_find_trials_at_all_is_info_with_a_registry_search(bot: Assistant) -> None:
    reply = ask(bot, "how do i find clinical trials in general? my mum has stage 4 ovarian cancer")
    assert reply.status is Status.INFO and not reply.evidence_level
    assert "https://clinicaltrials.gov/search?cond=stage+4+ovarian+cancer" in reply.answer
    # Trials of the page being discussed stay that page's answer.
    first = ask(bot, "velbrex for glioblastoma")
    about = ask(bot, "how do i find trials for it?", first.session_id)
    assert about.status is not Status.INFO  # (these fixture pages have no trials passage)
    assert "Velbrazine (Velbrex) for Glioblastoma" in about.answer


def test_how_common_suicide_is_in_a_condition_is_no_page_s_subject(bot: Assistant) -> None:
    # The condition's pages are not listed as if they answered a question about rates.
    reply = ask(bot, "what's the suicide rate in people with stage 4 cancer? for an essay")
    assert reply.status is Status.NOT_FOUND and not reply.evidence_level, reply.answer
    assert "how common suicide" in reply.answer


def test_a_word_guessed_as_a_name_inside_a_question_about_the_site_is_no_compound(
    bot: Assistant,
) -> None:
    reply = ask(bot, "who decides the levels? how does the grading work in general")
    assert reply.status is Status.INFO, reply.answer
    # A name guessed outside those words is still one we have no page for.
    assert ask(bot, "does zorblaxine work? what level is it").status is Status.NOT_FOUND


def test_an_evidence_term_the_pages_do_not_define_is_said_to_be_undefined(
    bot: Assistant,
) -> None:
    reply = ask(bot, "what does double blind mean")
    assert reply.status is Status.INFO
    assert "Our pages do not explain what “double blind” means" in reply.answer


def test_reading_the_site_instead_of_a_doctor_is_answered_as_not_medical_advice(
    bot: Assistant,
) -> None:
    reply = ask(bot, "can i just use this site instead of bothering my oncologist")
    assert reply.status is Status.INFO and reply.answer.startswith("No. The assessments")
    # Changing a treatment stays declined.
    assert ask(bot, "should I take pemtarol instead of my chemo").status is Status.DECLINED
