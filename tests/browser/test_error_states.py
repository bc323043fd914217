"""Crisis contacts in every error state, in real Chromium: the chat page, the iframe on an
allowed site and the widget on another origin each show the locale's emergency number and
crisis lines as tap-to-call links under a real 429 (the rate limiter refuses), a real 503
(the audit log cannot be written) and offline (the browser context loses its network),
without fetching anything at the moment of failure. Also the no-JS form's error pages,
and which replies ask for feedback (not `urgent`, not `clarify`; `support` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from browser_helpers import (
    AXE_JS,
    SCREENSHOTS,
    SEED_QUESTION,
    ask_page,
    ask_widget,
    describe_violations,
    inject_axe,
    open_panel,
    open_widget,
    panel,
    screenshot,
    serious_violations,
)
from limits import parse
from playwright.sync_api import Frame, Locator, Page, expect

from bot.audit import AuditUnavailable

# BOT_LOCALE=us (the default): the emergency number first, then the 988 Lifeline.
US = ["tel:911", "tel:988", "sms:988", "https://988lifeline.org/chat/"]
GB = ["tel:999", "tel:116123"]
IFRAME = "iframe[title='Evidence assistant']"
QUESTION = "How does zelnoprine work?"  # needs retrieval: the audit fault gives a 503
SAYS = {"429": "please wait 30 seconds", "503": "try again", "offline": "offline"}

# The focused element's link, looking through the widget's shadow root.
ACTIVE_HREF = """() => { let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el ? el.getAttribute('href') : null; }"""


@dataclass
class Surface:
    """One way people reach the bot, with the parts these tests use."""

    name: str
    page: Page
    target: Page | Frame  # where the chat's document is (scripts, focus, axe)
    box: Locator
    send: Locator
    alert: Locator
    replies: Locator
    axe_origin: str


def open_surface(page: Page, sites: Any, name: str) -> Surface:
    if name == "page":
        page.goto(sites.bot.url + "/")
        expect(page.locator("html.js")).to_be_attached()  # chat.js is running
        return Surface(
            name,
            page,
            page,
            page.locator("#message"),
            page.locator("#chat-form button[type=submit]"),
            page.locator("#chat-error"),
            page.locator("#conversation .reply"),
            sites.bot.url,
        )
    if name == "embed":
        page.goto(sites.host.url("iframe.html"))
        frame = page.frame_locator(IFRAME)
        expect(frame.locator("html.js")).to_be_attached()
        [target] = [f for f in page.frames if f.url.startswith(sites.bot.url + "/embed")]
        return Surface(
            name,
            page,
            target,
            frame.locator("#message"),
            frame.locator("#chat-form button[type=submit]"),
            frame.locator("#chat-error"),
            frame.locator("#conversation .reply"),
            sites.bot.url,
        )
    open_widget(page, sites.host.url("widget.html"))
    box = panel(page)
    return Surface(
        name,
        page,
        page,
        box.locator("#ebw-message"),
        box.locator(".ebw-send"),
        box.locator(".ebw-error"),
        box.locator(".reply"),
        sites.host.origin,
    )


def load_axe(surface: Surface) -> None:
    """axe-core from the chat document's own origin (the CSP allows only 'self')."""
    if isinstance(surface.target, Page):
        inject_axe(surface.page, surface.axe_origin)
        return
    url = f"{surface.axe_origin}/__axe.js"
    surface.page.route(
        url,
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=AXE_JS.read_text(encoding="utf-8")
        ),
    )
    surface.target.add_script_tag(url=url)
    surface.target.wait_for_function("() => typeof window.axe === 'object'")


@pytest.fixture
def fail(sites: Any, monkeypatch: pytest.MonkeyPatch):
    """Make the next question fail for real: the rate limiter refuses (429), the audit log
    cannot be written (503), or the browser loses its network."""

    def unavailable(*args: object, **kwargs: object) -> None:
        raise AuditUnavailable("audit database unreachable (test)")

    def apply(failure: str, page: Page) -> None:
        if failure == "429":
            limiter = sites.bot.app.state.rate_limiter
            # The shared test server runs with limits off; turn them on, over the limit.
            monkeypatch.setattr(limiter, "item", parse("1/minute"))
            monkeypatch.setattr(limiter, "check", lambda client: 30)
        elif failure == "503":
            monkeypatch.setattr(sites.bot.app.state.audit, "append_row", unavailable)
        else:
            page.context.set_offline(True)

    return apply


def expect_contacts(alert: Locator, hrefs: list[str]) -> None:
    """Visible tap-to-call links, in order, inside the role=alert region (announced)."""
    expect(alert).to_be_visible()
    assert alert.get_attribute("role") == "alert"
    links = alert.locator("ul.crisis a")
    expect(links).to_have_count(len(hrefs))
    assert [links.nth(i).get_attribute("href") for i in range(len(hrefs))] == hrefs
    for i in range(len(hrefs)):
        link = links.nth(i)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["height"] >= 44, f"tap target too small: {box}"
        assert link.inner_text().strip(), "a contact without words"


@pytest.mark.parametrize("failure", ["429", "503", "offline"])
@pytest.mark.parametrize("surface_name", ["page", "embed", "widget"])
def test_every_error_state_shows_tap_to_call_crisis_contacts(
    new_page, sites, fail, surface_name: str, failure: str
) -> None:
    page, log = new_page(reduced_motion="reduce")
    s = open_surface(page, sites, surface_name)
    expect(s.alert).to_be_hidden()
    load_axe(s)  # before any offline: axe comes through the network stack
    fail(failure, page)
    if failure == "offline":
        # Losing the network is an error state before anything is sent.
        expect(s.alert).to_contain_text("offline")
        expect_contacts(s.alert, US)

    s.box.fill(QUESTION)
    s.send.click()
    expect(s.alert).to_contain_text(SAYS[failure])
    expect_contacts(s.alert, US)
    expect(s.replies).to_have_count(0)
    assert s.box.input_value() == QUESTION, "the question was lost"
    text = " ".join(s.alert.inner_text().split()).lower()
    assert "{" not in text and "typeerror" not in text and "failed to fetch" not in text, text

    # Keyboard: the contacts come right before the question box.
    s.box.focus()
    page.keyboard.press("Shift+Tab")
    assert s.target.evaluate(ACTIVE_HREF) == US[-1]
    # Nothing was fetched for them: they were in the page (or the widget's config).
    assert not log.api_calls("/api/crisis-contacts"), log.api_calls("/api/crisis-contacts")

    screenshot(page, f"error-{surface_name}-{failure}.png")
    violations = serious_violations(s.target)
    assert not violations, f"axe, {surface_name} {failure}:\n" + describe_violations(violations)

    if failure == "offline":
        page.context.set_offline(False)
        expect(s.alert).to_be_hidden()


def test_any_other_failure_shows_the_contacts_too(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    page.route(
        "**/api/chat",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad</h1>"),
    )
    page.locator("#message").fill(QUESTION)
    page.locator("#chat-form button[type=submit]").click()
    expect(page.locator("#chat-error")).to_contain_text("try again")
    expect_contacts(page.locator("#chat-error"), US)


def test_an_empty_question_is_a_hint_not_a_crisis(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    expect(page.locator("html.js")).to_be_attached()
    page.locator("#message").fill("   ")
    page.locator("#chat-form button[type=submit]").click()
    alert = page.locator("#chat-error")
    expect(alert).to_contain_text("Please type a question first.")
    expect(alert.locator("#crisis-help")).to_be_hidden()


@pytest.mark.parametrize("surface_name", ["page", "widget"])
def test_the_error_state_fits_a_phone(new_page, sites, fail, surface_name: str) -> None:
    page, _ = new_page(
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    s = open_surface(page, sites, surface_name)
    fail("503", page)
    s.box.fill(QUESTION)
    s.send.click()
    expect_contacts(s.alert, US)
    # Where the person was looking when they sent: the first number is on screen.
    expect(s.alert.locator("ul.crisis a").first).to_be_in_viewport()
    if surface_name == "widget":
        # The full-screen panel keeps the question box on screen under the contacts.
        expect(s.box).to_be_in_viewport()
    overflow = page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"sideways scroll of {overflow}px"
    screenshot(page, f"error-{surface_name}-503-375.png")


# --------------------------------------------------------------------------- widget locale


def _locale_page(bot_origin: str, locale: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner Clinic ({locale})</title>
<link rel="icon" href="data:,"></head>
<body><main><h1>Partner Clinic</h1></main>
<script src="{bot_origin}/widget.js" async data-locale="{locale}"></script></body></html>
"""


def test_the_widget_keeps_its_locales_contacts_from_load_for_when_the_network_is_gone(
    new_page, sites
) -> None:
    (sites.host.root / "widget-en-gb.html").write_text(
        _locale_page(sites.bot.url, "en-GB"), encoding="utf-8"
    )
    page, log = new_page(reduced_motion="reduce")
    page.goto(sites.host.url("widget-en-gb.html"))
    # Fetched once at load and kept for the tab.
    page.wait_for_function(
        "() => Object.keys(sessionStorage).some(k => k.startsWith('evidence-bot-crisis:'))"
    )
    assert len(log.api_calls("/api/crisis-contacts")) == 1
    page.context.set_offline(True)
    page.locator("#evidence-bot-widget button.ebw-launcher").click()
    expect(panel(page)).to_be_visible()
    panel(page).locator("#ebw-message").fill(QUESTION)
    panel(page).locator(".ebw-send").click()
    alert = panel(page).locator(".ebw-error")
    expect(alert).to_contain_text("offline")
    expect_contacts(alert, GB)
    screenshot(page, "error-widget-offline-en-gb.png")

    # A reload in the same tab uses the kept contacts (the config's would be US ones),
    # without asking again.
    page.context.set_offline(False)
    page.reload()
    open_panel(page)  # the tab kept it open
    page.context.set_offline(True)
    expect_contacts(panel(page).locator(".ebw-error"), GB)
    assert len(log.api_calls("/api/crisis-contacts")) == 1, log.api_calls("/api/crisis-contacts")


def test_a_widget_locale_the_bot_does_not_know_keeps_bot_locales_contacts(
    new_page, sites, fail
) -> None:
    (sites.host.root / "widget-fr-fr.html").write_text(
        _locale_page(sites.bot.url, "fr-FR"), encoding="utf-8"
    )
    page, _ = new_page(reduced_motion="reduce")
    with page.expect_response(lambda r: "/api/crisis-contacts" in r.url) as info:
        page.goto(sites.host.url("widget-fr-fr.html"))
    assert info.value.status == 404
    page.locator("#evidence-bot-widget button.ebw-launcher").click()
    fail("429", page)
    panel(page).locator("#ebw-message").fill(QUESTION)
    panel(page).locator(".ebw-send").click()
    expect_contacts(panel(page).locator(".ebw-error"), US)


URGENT = "I want to kill myself tonight"
GB_SELF_HARM = ["tel:116123", "tel:999"]  # bot/data/crisis_contacts.yaml, gb: self_harm
US_SELF_HARM = ["tel:988", "sms:988", "https://988lifeline.org/chat/", "tel:911"]


def _urgent_hrefs(reply: Locator) -> list[str | None]:
    links = reply.locator(".reply-body > ul.crisis a")
    expect(links.first).to_be_visible()
    return [links.nth(i).get_attribute("href") for i in range(links.count())]


@pytest.mark.parametrize(
    ("locale", "sent", "hrefs"),
    [
        ("en-GB", "en-GB", GB_SELF_HARM),
        ("fr-FR", "fr-FR", US_SELF_HARM),  # unknown: BOT_LOCALE's, not an error
        ("en GB!", None, US_SELF_HARM),  # malformed: left out, the question still answered
    ],
)
def test_the_widgets_locale_picks_the_crisis_numbers_of_an_urgent_reply(
    new_page, sites, locale: str, sent: str | None, hrefs: list[str]
) -> None:
    name = f"widget-urgent-{locale.replace(' ', '').replace('!', '')}.html"
    (sites.host.root / name).write_text(_locale_page(sites.bot.url, locale), encoding="utf-8")
    page, _ = new_page(reduced_motion="reduce")
    open_widget(page, sites.host.url(name))
    reply, request, data = ask_widget(page, URGENT)
    assert request.get("locale") == sent, request
    assert data["status"] == "urgent", data["status"]
    assert _urgent_hrefs(reply) == hrefs
    if locale == "en-GB":
        screenshot(page, "widget-urgent-en-gb.png")


def test_a_widget_without_data_locale_sends_none(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, request, _ = ask_widget(page, URGENT)
    assert "locale" not in request, request
    assert _urgent_hrefs(reply) == US_SELF_HARM


def test_a_widget_on_a_site_not_allowed_still_shows_the_contacts(page: Page, sites) -> None:
    open_widget(page, sites.stranger.url("widget.html"))
    expect(panel(page)).to_contain_text("not enabled on this site")
    links = panel(page).locator(".ebw-crisis ul.crisis a")
    expect(links).to_have_count(len(US))
    assert [links.nth(i).get_attribute("href") for i in range(len(US))] == US


# --------------------------------------------------------------------------- no-JS form


@pytest.mark.parametrize("failure", ["429", "503"])
def test_the_form_without_javascript_shows_the_contacts(
    new_page, sites, fail, failure: str
) -> None:
    page, log = new_page(java_script_enabled=False)
    page.goto(sites.bot.url + "/")
    expect(page.locator("#crisis-help")).to_be_hidden()
    fail(failure, page)
    page.locator("#message").fill(QUESTION)
    with page.expect_navigation() as nav:
        page.locator("#chat-form button[type=submit]").click()
    assert nav.value.status == int(failure)
    alert = page.locator("#chat-error")
    expect(alert).to_contain_text("Too many questions" if failure == "429" else "try again")
    expect_contacts(alert, US)
    assert page.locator("#message").input_value() == QUESTION
    screenshot(page, f"error-form-{failure}.png")
    assert not log.api_calls()


# --------------------------------------------------------------------------- feedback


REPLIES = [
    ("I want to end my life", "urgent", False),
    ("tavilor?", "clarify", False),
    ("zelnoprine or brimadol?", "answered", True),  # a comparison
    ("I'm so scared", "support", True),
]


def _check_reply(reply: Locator, status: str, feedback: bool) -> None:
    assert f"reply--{status}" in (reply.get_attribute("class") or "").split()
    expect(reply.locator("p.disclaimer")).to_be_visible()
    if feedback:
        expect(reply.locator(".feedback-yes")).to_be_visible()
    else:
        expect(reply.locator(".feedback")).to_have_count(0)
    if status == "urgent":
        # Contacts first, the disclaimer after them and last.
        order = reply.evaluate(
            """(r) => [...r.querySelectorAll('.reply-body > *')]
                .filter(el => el.getClientRects().length).map(el => el.className)"""
        )
        assert order[0] == "crisis" and order[-1] == "disclaimer", order
    if status == "support":
        expect(reply.locator('ul.crisis a[href^="tel:"]').first).to_be_visible()


@pytest.mark.parametrize(("question", "status", "feedback"), REPLIES)
def test_which_replies_ask_for_feedback_on_the_page(
    page: Page, sites, question: str, status: str, feedback: bool
) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, question)
    assert data["status"] == status
    _check_reply(reply, status, feedback)
    if status == "support":
        screenshot(page, "reply-support-page.png")


@pytest.mark.parametrize(("question", "status", "feedback"), REPLIES)
def test_which_replies_ask_for_feedback_in_the_widget(
    page: Page, sites, question: str, status: str, feedback: bool
) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, _, data = ask_widget(page, question)
    assert data["status"] == status
    _check_reply(reply, status, feedback)
    if status == "support":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        reply.screenshot(path=str(SCREENSHOTS / "reply-support-widget.png"), animations="disabled")


def test_an_answer_still_asks_for_feedback(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, SEED_QUESTION)
    assert data["status"] == "answered"
    expect(reply.locator(".feedback-yes")).to_be_visible()
