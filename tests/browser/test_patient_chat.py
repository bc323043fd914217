"""The chat as patients live with it (issue 14): a neutral evidence badge, clarify
questions with their options right under them, sentences that point at something
visible, the conversation kept for the tab, sizes from the reader's font size, links to
the full assessment, starter questions and a printable conversation. Screenshots for a
person to look at: test-artifacts/screenshots/patient-*.png."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import (
    SEED_QUESTION,
    ask_page,
    ask_widget,
    open_widget,
    screenshot,
)
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
