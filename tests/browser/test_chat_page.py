"""The chat page `GET /` on the bot's own origin."""

from __future__ import annotations

import re

import pytest
from browser_helpers import SEED_LEVEL, SEED_QUESTION, ask_page, real_console_errors
from playwright.sync_api import Page, Route, expect

XSS_QUESTION = "brimadol <img src=x onerror=alert(1)> evidence"
# The FAQ answer of the Brimadol fixture page that quotes an (escaped) script tag.
XSS_FAQ_QUESTION = (
    "Is the evidence strong enough to consider brimadol for stage IV testcase syndrome?"
)
SCRIPT_TEXT = '<script>alert("xss")</script>'


def _text(locator) -> str:
    return " ".join(locator.inner_text().split())


def test_the_seed_question_gets_badge_citation_disclaimer_and_chips(
    page: Page, page_log, sites
) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, SEED_QUESTION)
    assert data["status"] == "answered"
    assert "reply--answered" in reply.get_attribute("class").split()
    badge = reply.locator(".badge")
    expect(badge).to_be_visible()
    assert _text(badge).removeprefix("Evidence level:").strip() == SEED_LEVEL
    expect(reply.locator("p.citation")).to_contain_text(
        "Ketamine (IV / Esketamine) for Stage IV Cancer"
    )
    expect(reply.locator("p.disclaimer")).to_be_visible()
    chips = reply.locator(".chip")
    expect(chips).to_have_count(len(data["suggestions"]))
    assert data["suggestions"] and chips.first.is_visible()
    expect(page.locator("#typing")).to_be_hidden()
    assert not real_console_errors(page_log), page_log.console_errors

    # A chip asks its question.
    chip_text = chips.nth(0).inner_text().strip()
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as info:
        chips.nth(0).click()
    assert info.value.request.post_data_json["message"] == chip_text
    assert info.value.request.post_data_json["session_id"] == data["session_id"]
    expect(page.locator("#conversation .reply")).to_have_count(2)
    expect(page.locator("#conversation .reply").nth(1).locator("p.disclaimer")).to_be_visible()


def test_the_typing_indicator_shows_while_waiting(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    release: list[Route] = []
    page.route("**/api/chat", lambda route: release.append(route))
    page.locator("#message").fill(SEED_QUESTION)
    page.locator("#chat-form button[type=submit]").click()
    expect(page.locator("#typing")).to_be_visible()
    for _ in range(100):  # the route handler runs while Playwright waits
        if release:
            break
        page.wait_for_timeout(20)
    assert release, "no /api/chat request was made"
    release[0].continue_()
    expect(page.locator("#conversation .reply")).to_have_count(1)
    expect(page.locator("#typing")).to_be_hidden()


def test_user_html_is_shown_as_text(page: Page, page_log, sites) -> None:
    page.goto(sites.bot.url + "/")
    ask_page(page, XSS_QUESTION)
    question = page.locator("#conversation").get_by_text("<img src=x onerror=alert(1)>")
    expect(question.first).to_be_visible()
    assert page.locator("#conversation img").count() == 0
    page.wait_for_timeout(200)
    assert not page_log.dialogs


def test_a_page_that_quotes_a_script_tag_is_shown_as_text(page: Page, page_log, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, XSS_FAQ_QUESTION)
    assert data["status"] == "answered"
    assert data["evidence_level"] == "Level 5: Expert fixture opinion"
    expect(reply.get_by_text(SCRIPT_TEXT, exact=False)).to_be_visible()
    assert page.locator("#conversation script").count() == 0
    page.wait_for_timeout(200)
    assert not page_log.dialogs
    # The citation links to the FAQ's anchor on the assessment page.
    link = reply.locator("p.citation a")
    expect(link).to_have_attribute(
        "href",
        "https://example.org/assessments/brimadol-stage-iv-testcase-syndrome#faq-strong-enough",
    )


def test_an_urgent_message_puts_crisis_contacts_first(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, "I want to end my life")
    assert data["status"] == "urgent"
    assert "reply--urgent" in reply.get_attribute("class").split()
    call = reply.locator('ul.crisis a[href^="tel:"]')
    expect(call.first).to_be_visible()
    first = reply.evaluate(
        """(reply) => {
            const nested = (el) => {
                const list = el.parentElement.closest('ul, ol');
                return !!list && reply.contains(list);
            };
            const blocks = [...reply.querySelectorAll('p, ul, ol, blockquote')].filter(el =>
                el.getClientRects().length && el.innerText.trim() &&
                !el.closest('.visually-hidden') && !nested(el));
            const b = blocks[0];
            return b ? b.tagName.toLowerCase() + '.' + b.className : null;
        }"""
    )
    assert first == "ul.crisis", f"first visible block of the urgent reply: {first}"
    expect(reply.locator("p.disclaimer")).to_be_visible()


def test_a_message_over_the_limit_is_refused_with_a_visible_message(
    page: Page, page_log, sites
) -> None:
    page.goto(sites.bot.url + "/")
    box, counter = page.locator("#message"), page.locator("#counter")
    normal_color = counter.evaluate("el => getComputedStyle(el).color")
    normal_class = counter.get_attribute("class")
    # 1001 characters at once (as a paste would insert them).
    box.click()
    page.keyboard.insert_text("x" * 1001)
    if len(box.input_value()) < 1001:  # maxlength held: force it, as an old browser would
        box.evaluate(
            "el => { el.value = 'y'.repeat(1001);"
            " el.dispatchEvent(new Event('input', {bubbles: true})); }"
        )
    expect(counter).to_contain_text("1001")
    warned = counter.evaluate("el => getComputedStyle(el).color") != normal_color or (
        counter.get_attribute("class") != normal_class
    )
    assert warned, "the counter looks the same over the limit"
    # Refused: either the Ask button is disabled, or pressing it shows the error; Enter
    # in the box must not send either.
    send = page.locator("#chat-form button[type=submit]")
    if send.is_enabled():
        send.click()
    box.press("Enter")
    message = page.get_by_text(re.compile(r"too long|under 1000|1000 characters", re.I))
    expect(message.first).to_be_visible()
    page.wait_for_timeout(200)
    assert not page_log.api_calls()
    expect(page.locator("#conversation .reply")).to_have_count(0)


def test_the_form_works_without_javascript(new_page, sites) -> None:
    page, log = new_page(java_script_enabled=False)
    page.goto(sites.bot.url + "/")
    page.locator("#message").fill(SEED_QUESTION)
    with page.expect_navigation():
        page.locator("#chat-form button[type=submit]").click()
    reply = page.locator("#conversation .reply")
    expect(reply).to_have_count(1)
    assert _text(reply.locator(".badge")).removeprefix("Evidence level:").strip() == SEED_LEVEL
    expect(reply.locator("p.citation")).to_be_visible()
    expect(reply.locator("p.disclaimer")).to_be_visible()
    assert page.locator("#session_id").input_value()
    # A suggestion chip is a submit button: it asks its question, under the first
    # exchange (the page shows the whole conversation, not only the last exchange).
    chip_text = reply.locator(".chip").first.inner_text().strip()
    with page.expect_navigation():
        reply.locator(".chip").first.click()
    expect(page.locator("#conversation .reply")).to_have_count(2)
    expect(page.locator("#conversation .question p")).to_have_text([SEED_QUESTION, chip_text])
    expect(page.locator("#conversation .reply p.disclaimer").last).to_be_visible()
    assert not log.api_calls()


def test_429_shows_a_friendly_message(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "30"},
            content_type="application/json",
            body='{"detail": "Too Many Requests"}',
        ),
    )
    page.locator("#message").fill(SEED_QUESTION)
    page.locator("#chat-form button[type=submit]").click()
    error = page.locator("#chat-error")
    expect(error).to_be_visible()
    text = _text(error).lower()
    assert "wait" in text or "too many" in text or "moment" in text, text
    assert "{" not in text and "429" not in text, text
    expect(page.locator("#conversation .reply")).to_have_count(0)
    # The question is not lost.
    assert page.locator("#message").input_value() == SEED_QUESTION


def test_server_down_shows_a_friendly_message(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    page.route("**/api/chat", lambda route: route.abort("connectionrefused"))
    page.locator("#message").fill(SEED_QUESTION)
    page.locator("#chat-form button[type=submit]").click()
    error = page.locator("#chat-error")
    expect(error).to_be_visible()
    text = _text(error).lower()
    assert "try again" in text or "not reachable" in text or "unavailable" in text, text
    assert "typeerror" not in text and "failed to fetch" not in text, text
    expect(page.locator("#typing")).to_be_hidden()
    assert page.locator("#message").input_value() == SEED_QUESTION


def test_a_thumbs_up_is_recorded_with_one_click(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, SEED_QUESTION)
    reply.locator(".feedback-yes").click()
    expect(reply).to_contain_text("Thank you", timeout=3_000)
    events = sites.bot.audit_answer(data["answer_id"])["events"]
    assert [(e["kind"], e["payload"]["helpful"]) for e in events] == [("feedback", True)]


def test_feedback_with_a_comment_is_stored_against_the_answer(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, SEED_QUESTION)
    reply.locator(".feedback-yes").click()
    reply.locator(".feedback textarea").fill("clear, thanks")
    send = reply.locator(".feedback-send")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as info:
        send.click()
    assert info.value.status == 200
    expect(reply).to_contain_text("Thank you")
    events = sites.bot.audit_answer(data["answer_id"])["events"]
    # The click records the vote; the comment follows as its own event.
    assert [e["payload"] for e in events] == [
        {"helpful": True, "comment": None},
        {"helpful": True, "comment": "clear, thanks"},
    ]


@pytest.mark.parametrize(("path", "channel"), [("/", "page"), ("/embed", "embed")])
def test_answers_are_logged_with_their_channel(page: Page, sites, path: str, channel: str) -> None:
    page.goto(sites.bot.url + path)
    _, data = ask_page(page, SEED_QUESTION)
    assert sites.bot.audit_answer(data["answer_id"])["channel"] == channel
