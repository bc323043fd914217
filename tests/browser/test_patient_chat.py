"""The chat as patients live with it (issue 14): a neutral evidence badge, clarify
questions with their options right under them, sentences that point at something
visible, the conversation kept for the tab, sizes from the reader's font size, links to
the full assessment, starter questions and a printable conversation. Screenshots for a
person to look at: test-artifacts/screenshots/patient-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import (
    SCREENSHOTS,
    SEED_QUESTION,
    WIDGET,
    ask_page,
    ask_widget,
    describe_violations,
    expect_printed_address,
    inject_axe,
    launcher,
    open_widget,
    panel,
    screenshot,
    serious_violations,
)
from cachetools import LRUCache
from playwright.sync_api import Locator, Page, expect

PRECLINICAL = "where does zelnoprine sit on the evidence hierarchy?"
DOSING = "How much zelnoprine should I take?"
CLARIFY = "tavilor?"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


def _new(new_page: Any, size: str) -> Page:
    options: dict[str, Any] = {"reduced_motion": "reduce", "viewport": SIZES[size]}
    if size == "phone":
        options.update(is_mobile=True, has_touch=True)
    page, _ = new_page(**options)
    return page


# --------------------------------------------------------------------------- item 2


def _badge_style(reply: Locator) -> dict[str, str]:
    return reply.locator(".badge").evaluate(
        """el => { const s = getComputedStyle(el);
            return {bg: s.backgroundColor, color: s.color, border: s.borderTopColor,
                     left: getComputedStyle(el.closest('.reply')).borderLeftColor}; }"""
    )


def _chroma(rgb: str) -> int:
    """max - min of the channels: 0 for greys, large for green, brown or red."""
    channels = [int(float(v)) for v in rgb[rgb.index("(") + 1 : -1].split(",")[:3]]
    return max(channels) - min(channels)


def _check_neutral(replies: list[tuple[Locator, dict[str, Any]]]) -> None:
    levels = {data["evidence_level"] for _, data in replies}
    statuses = {data["status"] for _, data in replies}
    assert len(levels) >= 2 and statuses == {"answered", "declined"}, (levels, statuses)
    styles = [_badge_style(reply) for reply, _ in replies]
    badge = [{k: v for k, v in s.items() if k != "left"} for s in styles]
    assert all(s == badge[0] for s in badge), f"the badge changes with level or status: {styles}"
    for key in ("bg", "color", "border"):
        assert _chroma(badge[0][key]) <= 24, f"badge {key} is a colour: {badge[0]}"
    # An answered reply's edge says nothing about strength either.
    pairs = zip(styles, replies, strict=True)
    answered = [s["left"] for s, (_, d) in pairs if d["status"] == "answered"]
    assert all(_chroma(c) <= 24 for c in answered), answered


def test_the_badge_is_one_neutral_style_on_the_chat_page(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    replies = [ask_page(page, q) for q in (SEED_QUESTION, PRECLINICAL, DOSING)]
    _check_neutral(replies)


def test_the_badge_is_one_neutral_style_in_the_widget(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    replies = [ask_widget(page, q) for q in (SEED_QUESTION, PRECLINICAL, DOSING)]
    _check_neutral([(reply, data) for reply, _, data in replies])
    screenshot(page, "patient-badges-widget.png")


# --------------------------------------------------------------------------- item 6


def _check_clarify(reply: Locator, data: dict[str, Any]) -> None:
    assert data["status"] == "clarify" and len(data["suggestions"]) == 2, data
    chips = reply.locator(".chip")
    expect(chips).to_have_count(2)
    # Each option once: as a chip, not also as a list item of the text.
    for option in ("Chronic Fakeitis", "Mock Migraine"):
        expect(reply.get_by_text(option, exact=False)).to_have_count(1)
    expect(reply.locator(".reply-body li:not(:has(.chip))")).to_have_count(0)
    # The chips sit right under the question, before the disclaimer.
    question = reply.get_by_text("Which one do you mean?")
    disclaimer = reply.locator("p.disclaimer")
    expect(disclaimer).to_be_visible()
    q_box, first, last, d_box = (
        question.bounding_box(),
        chips.first.bounding_box(),
        chips.last.bounding_box(),
        disclaimer.bounding_box(),
    )
    assert q_box and first and last and d_box
    assert 0 <= first["y"] - (q_box["y"] + q_box["height"]) <= 32, (q_box, first)
    assert last["y"] + last["height"] <= d_box["y"], (last, d_box)
    # Not an answer yet: nothing to rate.
    expect(reply.locator(".feedback")).to_have_count(0)
    expect(reply.get_by_text("Was this helpful?")).to_have_count(0)


@pytest.mark.parametrize("size", list(SIZES))
def test_clarify_options_are_chips_right_under_the_question_on_the_page(
    new_page, sites, size: str
) -> None:
    page = _new(new_page, size)
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, CLARIFY)
    _check_clarify(reply, data)
    screenshot(page, f"patient-clarify-page-{size}.png")
    # A chip answers the question.
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as info:
        reply.locator(".chip").first.click()
    assert info.value.json()["status"] == "answered"


@pytest.mark.parametrize("size", list(SIZES))
def test_clarify_options_are_chips_right_under_the_question_in_the_widget(
    new_page, sites, size: str
) -> None:
    page = _new(new_page, size)
    open_widget(page, sites.host.url("widget.html"))
    reply, _, data = ask_widget(page, CLARIFY)
    _check_clarify(reply, data)
    screenshot(page, f"patient-clarify-widget-{size}.png")


def test_clarify_options_are_chips_right_under_the_question_without_javascript(
    new_page, sites
) -> None:
    page, _ = new_page(java_script_enabled=False)
    page.goto(sites.bot.url + "/")
    page.locator("#message").fill(CLARIFY)
    with page.expect_navigation():
        page.locator("#chat-form button[type=submit]").click()
    reply = page.locator("#conversation .reply")
    _check_clarify(reply, {"status": "clarify", "suggestions": ["a", "b"]})


def test_only_answers_ask_whether_they_helped(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    answered, _, _ = ask_widget(page, SEED_QUESTION)
    urgent, _, data = ask_widget(page, "I want to end my life")
    assert data["status"] == "urgent"
    expect(answered.locator(".feedback")).to_have_count(1)
    expect(urgent.locator(".feedback")).to_have_count(0)


# --------------------------------------------------------------------------- item 3

# Each visible paragraph that ends with a colon, and the visible block right after it.
POINTERS_JS = """reply => {
    const shown = el => el.getClientRects().length > 0 &&
        !el.closest('.visually-hidden, .ebw-visually-hidden');
    const blocks = [...reply.querySelectorAll('.reply-body > *')].filter(shown);
    const out = [];
    blocks.forEach((el, i) => {
        const text = el.innerText.trim();
        if (el.tagName === 'P' && text.endsWith(':')) {
            const next = blocks[i + 1];
            out.push({text, next: next ? next.tagName + '.' + next.className : null,
                      nextText: next ? next.innerText.trim().slice(0, 60) : null});
        }
    });
    return out;
}"""


def _check_pointers(reply: Locator, level: str) -> None:
    """A sentence ending in a colon is followed by what it announces, not by another
    sentence (the level line it pointed at is hidden under the badge)."""
    for p in reply.evaluate(POINTERS_JS):
        assert p["next"] and p["next"].split(".")[0] in ("BLOCKQUOTE", "UL", "OL", "DIV"), p
    # The level shows first (the badge), the sentence that refers to it after it.
    text = " ".join(reply.inner_text().split())
    assert text.index(level) < text.index("That is where our assessment"), text


def test_the_hierarchy_answer_points_at_what_is_shown(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, PRECLINICAL)
    assert data["status"] == "answered"
    _check_pointers(reply, data["evidence_level"])

    widget = page.context.new_page()
    open_widget(widget, sites.host.url("widget.html"))
    reply, _, data = ask_widget(widget, PRECLINICAL)
    _check_pointers(reply, data["evidence_level"])
    screenshot(widget, "patient-hierarchy-widget.png")


# --------------------------------------------------------------------------- item 1


def _second_host_page(sites) -> str:
    """Another page of the partner site, with the same script tag."""
    page = sites.host.root / "another-page.html"
    if not page.exists():
        html = (sites.host.root / "widget.html").read_text(encoding="utf-8")
        page.write_text(html.replace("our patient information", "another page"), "utf-8")
    return sites.host.url("another-page.html")


def _next_request(page: Page, ask: Any, question: str) -> dict[str, Any]:
    with page.expect_request(lambda r: r.url.endswith("/api/chat")) as info:
        ask(question)
    return info.value.post_data_json


@pytest.mark.parametrize("size", list(SIZES))
def test_the_widget_keeps_the_conversation_across_pages_of_the_site(
    new_page, sites, size: str
) -> None:
    page = _new(new_page, size)
    open_widget(page, sites.host.url("widget.html"))
    first, _, data = ask_widget(page, SEED_QUESTION)
    first.locator(".feedback-yes").click()
    expect(first).to_contain_text("Thank you")
    _, _, data2 = ask_widget(page, "how does it work?")
    session = data["session_id"]
    assert data2["session_id"] == session

    # The next page of the site: the panel is still open and shows both exchanges, the
    # level of each, and when they were asked; the vote is not asked for again.
    page.goto(_second_host_page(sites))
    replies = panel(page).locator(".reply")
    expect(panel(page)).to_be_visible()
    expect(replies).to_have_count(2)
    expect(panel(page).locator(".question p")).to_have_text([SEED_QUESTION, "how does it work?"])
    expect(replies.nth(1)).to_contain_text("NMDA receptor antagonism")
    expect(replies.nth(0).locator(".badge")).to_contain_text(data["evidence_level"])
    expect(replies.nth(0).locator(".feedback")).to_have_count(0)
    expect(replies.nth(1).locator(".feedback-yes")).to_be_visible()
    expect(panel(page).locator("time.ebw-stamp")).to_have_count(2)
    # It opens where the conversation was: at the last exchange.
    expect(panel(page).locator(".question p").last).to_be_in_viewport()
    screenshot(page, f"patient-widget-restored-{size}.png")
    # ... and the follow-up continues the same server session.
    sent = _next_request(page, lambda q: ask_widget(page, q), "and what does it mean for patients?")
    assert sent["session_id"] == session

    # Closed stays closed on the next page; opening shows the conversation.
    panel(page).locator(".ebw-close").click()
    page.goto(sites.host.url("widget.html"))
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(panel(page)).to_be_hidden()
    launcher(page).click()
    expect(panel(page).locator(".reply")).to_have_count(3)


def test_new_conversation_in_the_widget_clears_it_and_starts_a_new_session(
    page: Page, sites
) -> None:
    open_widget(page, sites.host.url("widget.html"))
    new = panel(page).get_by_role("button", name="New conversation")
    expect(new).to_be_hidden()  # nothing to clear yet
    _, _, data = ask_widget(page, SEED_QUESTION)
    expect(new).to_be_visible()
    new.click()
    expect(panel(page).locator(".exchange")).to_have_count(0)
    expect(new).to_be_hidden()
    expect(panel(page).locator(".ebw-welcome")).to_be_visible()
    sent = _next_request(page, lambda q: ask_widget(page, q), "how does it work?")
    assert sent["session_id"] in (None, "")
    # A follow-up in the new session has nothing to follow: not about ketamine.
    reply = panel(page).locator(".reply").first
    expect(reply).not_to_contain_text("NMDA")
    page.reload()
    launcher_open = panel(page).locator(".exchange")
    expect(launcher_open).to_have_count(1)  # only the exchange after the new start
    assert data["session_id"] not in page.evaluate("() => JSON.stringify(sessionStorage)")


def test_the_chat_page_keeps_the_conversation_across_a_reload(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    _, data = ask_page(page, SEED_QUESTION)
    ask_page(page, "how does it work?")
    page.reload()
    replies = page.locator("#conversation .reply")
    expect(replies).to_have_count(2)
    expect(page.locator("#conversation .question p")).to_have_text(
        [SEED_QUESTION, "how does it work?"]
    )
    expect(replies.nth(0).locator(".badge")).to_contain_text(data["evidence_level"])
    expect(page.locator("#conversation time.stamp")).to_have_count(2)
    sent = _next_request(page, lambda q: ask_page(page, q), "what does it mean for patients?")
    assert sent["session_id"] == data["session_id"]

    page.get_by_role("button", name="New conversation").click()
    expect(page.locator("#conversation .exchange")).to_have_count(0)
    expect(page.get_by_role("button", name="New conversation")).to_be_hidden()
    page.reload()
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#conversation .exchange")).to_have_count(0)
    sent = _next_request(page, lambda q: ask_page(page, q), SEED_QUESTION)
    assert sent["session_id"] in (None, "")


def test_the_iframe_keeps_its_conversation_apart_from_the_chat_page(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/embed")
    ask_page(page, SEED_QUESTION)
    page.goto(sites.bot.url + "/")
    expect(page.locator("#chat-form")).to_be_visible()
    expect(page.locator("#conversation .exchange")).to_have_count(0)
    page.goto(sites.bot.url + "/embed")
    expect(page.locator("#conversation .reply")).to_have_count(1)


# --------------------------------------------------------------------------- item 5

TEXT_PARTS = (
    ".ebw-launcher",
    ".ebw-title",
    ".ebw-note",
    ".question p",
    ".reply",
    ".badge",
    ".reply-body p.citation",
    ".reply-body p.disclaimer",
    ".chip",
    ".feedback-question",
    ".ebw-label",
    "#ebw-message",
    ".ebw-hint",
)

SIZES_JS = """([sel, parts]) => {
    const root = document.querySelector(sel).shadowRoot;
    const out = {};
    for (const q of parts) {
        const el = root.querySelector(q);
        out[q] = el ? parseFloat(getComputedStyle(el).fontSize) : null;
    }
    out['host page text'] = parseFloat(getComputedStyle(document.querySelector('main p')).fontSize);
    return out;
}"""


def _font_sizes(new_page: Any, sites: Any, default_px: int | None, size: str) -> dict[str, float]:
    page = _new(new_page, size)
    if default_px:
        # The browser's "font size" setting (Settings > Appearance), as a reader sets it.
        cdp = page.context.new_cdp_session(page)
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": default_px, "fixed": default_px}})
    open_widget(page, sites.host.url("widget.html"))
    ask_widget(page, SEED_QUESTION)
    sizes = page.evaluate(SIZES_JS, [WIDGET, list(TEXT_PARTS)])
    if default_px:
        screenshot(page, f"patient-widget-font-{default_px}px-{size}.png")
    return sizes


@pytest.mark.parametrize("size", list(SIZES))
def test_the_widget_follows_the_readers_default_font_size(new_page, sites, size: str) -> None:
    normal = _font_sizes(new_page, sites, None, size)
    large = _font_sizes(new_page, sites, 24, size)
    assert large["host page text"] == 24, large  # the setting took effect on the page
    for part in (*TEXT_PARTS, "host page text"):
        assert normal[part] and large[part], (part, normal, large)
        # Everything grows by the same factor as the page's own text: 24 / 16.
        assert abs(large[part] / normal[part] - 1.5) < 0.05, (part, normal[part], large[part])
    assert normal[".reply"] >= 15 and normal[".ebw-note"] >= 13, normal


def test_the_widget_stylesheet_has_no_fixed_font_sizes(sites) -> None:
    # widget.css and the chat core it imports (shared with the chat page).
    for sheet in ("widget.css", "chat-core.css"):
        _, _, css = sites.bot.get(f"/static/{sheet}")
        rules = re.sub(r"/\*.*?\*/", "", css.decode(), flags=re.S)
        fixed = re.findall(r"font(?:-size)?:[^;]*\d(?:px|pt|rem)\b[^;]*;", rules)
        assert not fixed, (sheet, fixed)


# --------------------------------------------------------------------------- item 7

SITE_URL = "https://evidence.example.org/assessments/{slug}/"
SEED_URL = "https://evidence.example.org/assessments/ketamine-iv-esketamine--stage-iv-cancer/"
QUORVASTIN_URL = "https://example.org/assessments/quorvastin-chronic-fakeitis"


@pytest.fixture
def site_url(sites, monkeypatch: pytest.MonkeyPatch) -> str:
    """BOT_SITE_URL on the running server (tests/test_assistant.py checks that the setting
    reaches the renderer)."""
    assistant = sites.bot.app.state.assistant
    monkeypatch.setattr(assistant.renderer, "site_url", SITE_URL)
    # A repeated first question gets its earlier reply (rendered without the setting):
    # an empty cache while the setting is on, the old one back after.
    monkeypatch.setattr(assistant, "_first_turns", LRUCache(64))
    return SITE_URL


def _check_source_link(reply: Locator, href: str) -> None:
    link = reply.locator("p.citation a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", href)
    expect(link).to_have_accessible_name(re.compile(r"^Read the full assessment\b"))
    expect(link).to_be_visible()
    # The sentence around it names the page.
    expect(reply.locator("p.citation")).to_contain_text("Source:")


def test_every_citation_links_to_the_full_assessment_on_the_page(
    page: Page, sites, site_url: str
) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, SEED_QUESTION)  # a .txt page: no URL of its own
    assert data["citations"][0]["url"] == SEED_URL
    _check_source_link(reply, SEED_URL)
    # It opens beside the conversation.
    expect(reply.locator("p.citation a")).to_have_attribute("target", "_blank")
    reply, data = ask_page(page, "how does quorvastin work?")  # its front matter names one
    _check_source_link(reply, QUORVASTIN_URL)
    screenshot(page, "patient-source-link-page.png", full_page=True)


def test_every_citation_links_to_the_full_assessment_in_the_widget(
    page: Page, sites, site_url: str
) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, _, _ = ask_widget(page, SEED_QUESTION)
    _check_source_link(reply, SEED_URL)
    link = reply.locator("p.citation a")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_accessible_name("Read the full assessment (opens in a new tab)")


# --------------------------------------------------------------------------- item 8

FIXTURE_NAMES = re.compile(r"Brimadol|Ketamine|Quorvastin|Tavilor|Zelnoprine|Testcase|Fakeitis")


def _check_starters(page: Page, starters: Locator) -> None:
    chips = starters.locator(".chip")
    expect(chips.first).to_be_visible()
    assert chips.count() >= 3, chips.all_inner_texts()
    texts = [t.strip() for t in chips.all_inner_texts()]
    assert sum(bool(FIXTURE_NAMES.search(t)) for t in texts) >= 2, texts  # from the corpus
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as info:
        chips.first.click()
    assert info.value.request.post_data_json["message"] == texts[0]
    assert info.value.json()["status"] in ("answered", "info")
    expect(starters).to_be_hidden()  # a conversation has begun


@pytest.mark.parametrize("size", list(SIZES))
def test_the_empty_chat_page_offers_starter_questions(new_page, sites, size: str) -> None:
    page = _new(new_page, size)
    page.goto(sites.bot.url + "/")
    starters = page.locator("#starters")
    expect(starters).to_contain_text("Try asking")
    screenshot(page, f"patient-starters-page-{size}.png")
    _check_starters(page, starters)
    expect(page.locator("#conversation .reply")).to_have_count(1)
    page.get_by_role("button", name="New conversation").click()
    expect(starters).to_be_visible()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_empty_widget_offers_starter_questions(new_page, sites, size: str) -> None:
    page = _new(new_page, size)
    open_widget(page, sites.host.url("widget.html"))
    starters = panel(page).locator(".ebw-starters")
    expect(starters).to_contain_text("Try asking")
    screenshot(page, f"patient-starters-widget-{size}.png")
    _check_starters(page, starters)
    expect(panel(page).locator(".reply")).to_have_count(1)
    page.reload()  # still begun after a reload
    expect(panel(page).locator(".reply")).to_have_count(1)
    expect(panel(page).locator(".ebw-starters")).to_be_hidden()
    panel(page).get_by_role("button", name="New conversation").click()
    expect(panel(page).locator(".ebw-starters")).to_be_visible()


def test_starter_questions_work_without_javascript(new_page, sites) -> None:
    page, _ = new_page(java_script_enabled=False)
    page.goto(sites.bot.url + "/")
    chip = page.locator("#starters .chip").first
    text = chip.inner_text().strip()
    with page.expect_navigation():
        chip.click()
    expect(page.locator("#conversation .question p")).to_have_text(text)
    expect(page.locator("#conversation .reply p.disclaimer")).to_be_visible()
    expect(page.locator("#starters")).to_have_count(0)


# --------------------------------------------------------------------------- axe


def test_axe_on_the_new_states(new_page, sites) -> None:
    """Starters, a clarify with its chips, a kept conversation: no serious violations."""
    # Reduced motion: the panel's fade-in is over before the scan reads colours.
    page, _ = new_page(reduced_motion="reduce")
    page.goto(sites.bot.url + "/")
    inject_axe(page, sites.bot.url)
    found = serious_violations(page)
    assert not found, "empty chat page:\n" + describe_violations(found)
    ask_page(page, CLARIFY)
    page.reload()
    expect(page.locator("#conversation .reply")).to_have_count(1)
    inject_axe(page, sites.bot.url)
    found = serious_violations(page)
    assert not found, "kept clarify on the page:\n" + describe_violations(found)

    page, _ = new_page(reduced_motion="reduce")
    open_widget(page, sites.host.url("widget.html"))
    inject_axe(page, sites.host.origin)
    found = serious_violations(page)
    assert not found, "empty widget:\n" + describe_violations(found)
    ask_widget(page, CLARIFY)
    ask_widget(page, SEED_QUESTION)
    page.goto(_second_host_page(sites))
    expect(panel(page).locator(".reply")).to_have_count(2)
    inject_axe(page, sites.host.origin)
    found = serious_violations(page)
    assert not found, "kept conversation in the widget:\n" + describe_violations(found)


# --------------------------------------------------------------------------- item 9

DISCLAIMER_WORDS = re.compile(r"not medical advice", re.I)


def _check_print(page: Page, exchanges: int, hrefs: list[str]) -> None:
    page.emulate_media(media="print")
    # Nothing to press on paper: no buttons, chips, form or feedback.
    expect(page.locator("button:visible")).to_have_count(0)
    expect(page.locator("#chat-form")).to_be_hidden()
    expect(page.locator("textarea:visible")).to_have_count(0)
    # Each exchange with when it was asked, each answer with its level.
    expect(page.locator("#conversation time.stamp:visible")).to_have_count(exchanges)
    expect(page.locator("#conversation .reply .badge:visible")).to_have_count(exchanges)
    # Sources with their addresses written out.
    for href in hrefs:
        link = page.locator(f'#conversation p.citation a[href="{href}"]').first
        expect_printed_address(page, link, href)
    # The disclaimer once (each distinct one), not under every answer.
    expect(page.locator("#conversation .reply-body .disclaimer:visible")).to_have_count(0)
    end = page.locator(".print-disclaimer")
    expect(end).to_be_visible()
    texts = [" ".join(t.split()) for t in end.locator("p").all_inner_texts()]
    assert texts and len(texts) == len(set(texts)), texts
    assert all(DISCLAIMER_WORDS.search(t) for t in texts), texts
    body = " ".join(page.locator("body").inner_text().split())
    for text in texts:
        assert body.count(text) == 1, text
    expect(page.locator(".print-head")).to_contain_text("saved")


@pytest.mark.parametrize("size", list(SIZES))
def test_print_or_save_the_conversation_on_the_chat_page(
    new_page, sites, site_url: str, size: str
) -> None:
    page = _new(new_page, size)
    page.goto(sites.bot.url + "/")
    ask_page(page, SEED_QUESTION)
    ask_page(page, "how does quorvastin work?")
    ask_page(page, DOSING)
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed++; }; }")
    page.get_by_role("button", name="Print or save this conversation").click()
    page.wait_for_function("() => window.__printed === 1")
    _check_print(page, 3, [SEED_URL, QUORVASTIN_URL])
    screenshot(page, f"patient-print-page-{size}.png", full_page=True)
    if size == "desktop":
        page.pdf(path=str(SCREENSHOTS / "patient-print-page.pdf"))


def test_print_from_the_iframe_prints_the_whole_conversation(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/embed")
    for q in (SEED_QUESTION, "how does it work?", PRECLINICAL):
        ask_page(page, q)
    _check_print(page, 3, [])
    # Not only the part scrolled into the frame.
    last = page.locator("#conversation .exchange").last
    first = page.locator("#conversation .exchange").first
    expect(first).to_be_visible()
    expect(last).to_be_visible()
    log = page.locator("#log").evaluate("el => [el.scrollHeight, el.clientHeight]")
    assert log[0] <= log[1] + 1, log


@pytest.mark.parametrize("size", list(SIZES))
def test_print_or_save_the_conversation_from_the_widget(
    new_page, sites, site_url: str, size: str
) -> None:
    page = _new(new_page, size)
    open_widget(page, sites.host.url("widget.html"))
    button = panel(page).get_by_role("button", name="Print or save this conversation")
    expect(button).to_be_hidden()  # nothing to print yet
    ask_widget(page, SEED_QUESTION)
    ask_widget(page, DOSING)
    button.scroll_into_view_if_needed()  # at the end of the conversation
    expect(button).to_be_in_viewport()
    screenshot(page, f"patient-print-button-widget-{size}.png")
    with page.expect_popup() as info:
        button.click()
    popup = info.value
    expect(popup.locator("#conversation, ol.conversation").locator(".exchange")).to_have_count(2)
    popup.wait_for_load_state()
    popup.emulate_media(media="print")
    expect(popup.locator("button:visible")).to_have_count(0)
    expect(popup.locator(".exchange time.stamp:visible")).to_have_count(2)
    expect(popup.locator(".reply .badge:visible")).to_have_count(2)
    expect_printed_address(popup, popup.locator(f'p.citation a[href="{SEED_URL}"]'), SEED_URL)
    expect(popup.locator(".reply-body .disclaimer:visible")).to_have_count(0)
    texts = popup.locator(".print-disclaimer p").all_inner_texts()
    body = " ".join(popup.locator("body").inner_text().split())
    assert texts and all(body.count(" ".join(t.split())) == 1 for t in texts), texts
    # Screen-reader-only words stay so (the page's class, which chat.css hides).
    expect(popup.locator(".ebw-visually-hidden")).to_have_count(0)
    widths = popup.locator(".visually-hidden").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert widths and max(widths) <= 1, widths
    screenshot(popup, f"patient-print-widget-{size}.png", full_page=True)


# --------------------------------------------------------------------------- item 10

# Short replies (clarify, declined, greetings), several to a screen.
LONG = (
    CLARIFY,
    DOSING,
    "hello",
    "How much quorvastin should I take?",
    CLARIFY,
    DOSING,
    SEED_QUESTION,
    "thanks",
)

# Each reply's disclaimer in order: shortened or not, and where it is in the scrolled
# content (document for the page, the log for the widget).
DISCLAIMERS_JS = """(scope) => {
    const rootNode = scope ? document.querySelector(scope).shadowRoot : document;
    const log = scope ? rootNode.querySelector('.ebw-log') : null;
    const offset = log ? log.getBoundingClientRect().top - log.scrollTop : -window.scrollY;
    return [...rootNode.querySelectorAll('.reply-body > .disclaimer')].map(p => {
        const r = p.getBoundingClientRect();
        return {short: p.classList.contains('disclaimer--short'), top: r.top - offset,
                bottom: r.bottom - offset, height: r.height,
                text: p.textContent.trim().slice(0, 40)};
    });
}"""


def _check_once_per_screen(items: list[dict[str, Any]], screen: float) -> None:
    assert len(items) == len(LONG), items
    assert not items[0]["short"], items[0]
    assert any(i["short"] for i in items), f"nothing shortened in a long conversation: {items}"
    last_full = items[0]
    for item in items[1:]:
        assert item["height"] > 0 and "Disclaimer" in item["text"], item  # still there
        gap = item["top"] - last_full["bottom"]
        if item["short"]:
            assert gap < screen, (item, last_full, screen)
        else:
            assert gap >= screen, (item, last_full, screen)
            last_full = item


@pytest.mark.parametrize("size", list(SIZES))
def test_a_long_conversation_on_the_chat_page(new_page, sites, size: str) -> None:
    page = _new(new_page, size)
    page.goto(sites.bot.url + "/")
    for q in LONG:
        ask_page(page, q)
    _check_once_per_screen(page.evaluate(DISCLAIMERS_JS, None), SIZES[size]["height"])
    # A short one whose two lines hide the rest opens in place.
    shortened = page.locator(".reply-body > .disclaimer.disclaimer--short")
    clipped = shortened.evaluate_all("els => els.map(e => e.scrollHeight > e.clientHeight + 1)")
    assert True in clipped, "no shortened disclaimer hides any text"
    line_id = shortened.nth(clipped.index(True)).get_attribute("id")
    line = page.locator(f"#{line_id}")  # by id: it loses the class when opened
    toggle = page.locator(f'.disclaimer-toggle[aria-controls="{line_id}"]')
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert line.evaluate("e => e.scrollHeight <= e.clientHeight + 1"), "still clipped"
    # The question box stays on screen wherever the reader is.
    page.evaluate("() => window.scrollTo(0, 0)")
    expect(page.locator("#message")).to_be_in_viewport()
    expect(page.locator("#chat-form button[type=submit]")).to_be_in_viewport()
    screenshot(page, f"patient-long-page-{size}.png")
    # The shortened disclaimers, their buttons and the pinned box pass axe.
    inject_axe(page, sites.bot.url)
    found = serious_violations(page)
    assert not found, "long conversation:\n" + describe_violations(found)
    # After a reload the same rule holds for the kept conversation.
    page.reload()
    expect(page.locator("#conversation .reply")).to_have_count(len(LONG))
    _check_once_per_screen(page.evaluate(DISCLAIMERS_JS, None), SIZES[size]["height"])


# --------------------------------------------------------------------------- item 11


def test_the_launcher_has_the_panels_name_and_says_whether_it_is_open(page: Page, sites) -> None:
    page.goto(sites.host.url("widget.html"))
    title = "Ask about evidence"  # data-title of the test page
    expect(launcher(page)).to_have_accessible_name(title)
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    launcher(page).click()
    expect(panel(page)).to_have_accessible_name(title)
    expect(launcher(page)).to_have_accessible_name(title)  # not "Open ..." while open
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")


def test_a_refused_vote_says_ratings_not_questions(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, _, _ = ask_widget(page, SEED_QUESTION)
    page.route(
        "**/api/feedback",
        lambda route: route.fulfill(
            status=429,
            headers={
                "Retry-After": "20",
                "Access-Control-Allow-Origin": sites.host.origin,
                "Access-Control-Expose-Headers": "Retry-After",  # as the bot's CORS does
            },
            content_type="application/json",
            body='{"detail": "Too many ratings; please wait 20 seconds."}',
        ),
    )
    reply.locator(".feedback-yes").click()
    expect(reply.locator(".feedback-status")).to_have_text(
        "Too many ratings right now; please wait 20 seconds."
    )


def test_on_a_touch_screen_enter_adds_a_line(new_page, sites) -> None:
    page = _new(new_page, "phone")
    page.goto(sites.bot.url + "/")
    expect(page.locator("#message")).to_be_visible()
    expect(page.get_by_text("Enter sends")).to_be_hidden()
    page.locator("#message").fill("first line")
    page.locator("#message").press("End")
    page.locator("#message").press("Enter")
    page.locator("#message").type("second line")
    assert page.locator("#message").input_value() == "first line\nsecond line"
    expect(page.locator("#conversation .exchange")).to_have_count(0)

    open_widget(page, sites.host.url("widget.html"))
    box = panel(page).locator("#ebw-message")
    expect(panel(page).get_by_text("Enter sends")).to_have_count(0)
    box.fill("first line")
    box.press("End")
    box.press("Enter")
    box.type("second")
    assert box.input_value() == "first line\nsecond"
    expect(panel(page).locator(".exchange")).to_have_count(0)
    # The Send button sends.
    with page.expect_response(lambda r: r.url.endswith("/api/chat")):
        panel(page).locator(".ebw-send").click()


def test_data_open_yields_to_the_visitor_closing_the_panel(page: Page, sites) -> None:
    opened = sites.host.root / "widget-data-open.html"
    html = (sites.host.root / "widget.html").read_text(encoding="utf-8")
    opened.write_text(html.replace("<script ", '<script data-open="true" ', 1), "utf-8")
    page.goto(sites.host.url("widget-data-open.html"))
    expect(panel(page)).to_be_visible()  # data-open on a first visit
    panel(page).locator(".ebw-close").click()
    expect(panel(page)).to_be_hidden()
    page.reload()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(panel(page)).to_be_hidden()
