"""Comparisons and listings as readers see them: each page's title beside its own level,
readable on the chat page, in the widget and in the iframe (screenshots for a person to
look at: test-artifacts/screenshots/compare-*.png, listing-*.png)."""

from __future__ import annotations

from browser_helpers import SCREENSHOTS, ask_page, ask_widget, open_widget, screenshot
from playwright.sync_api import Locator, Page, expect

IFRAME = "iframe[title='Evidence assistant']"
COMPARE = "zelnoprine or brimadol for testcase syndrome, which has more evidence?"
LISTING = "what do you have for chronic fakeitis?"


def _check_rows(reply: Locator, data: dict, rows: int) -> None:
    assert data["status"] == "answered" and data["evidence_level"] is None
    assert len(data["citations"]) == rows
    listed = reply.locator("p.listing")
    expect(listed).to_have_count(rows)
    for i, c in enumerate(data["citations"]):
        row = listed.nth(i)
        expect(row).to_be_visible()
        # The title and its own level, verbatim, on one line.
        expect(row).to_contain_text(f"{c['compound']} for {c['condition']}")
        expect(row).to_contain_text(f"Evidence level: {c['evidence_level']}")
    expect(reply.get_by_text("we do not rank treatments", exact=False)).to_be_visible()
    expect(reply.locator("p.disclaimer")).to_be_visible()


def test_a_comparison_on_the_chat_page(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    reply, data = ask_page(page, COMPARE)
    _check_rows(reply, data, 2)
    screenshot(page, "compare-page.png", full_page=True)


def test_a_comparison_in_the_widget(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, _, data = ask_widget(page, COMPARE)
    _check_rows(reply, data, 2)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reply.screenshot(path=str(SCREENSHOTS / "compare-widget.png"), animations="disabled")


def test_a_listing_in_the_iframe(page: Page, sites) -> None:
    page.goto(sites.host.url("iframe.html"))
    reply, data = ask_page(page, LISTING, scope=page.frame_locator(IFRAME))
    assert data["status"] == "answered" and len(data["citations"]) == 2  # Quorvastin, Tavilor
    listed = reply.locator("p.listing")
    expect(listed).to_have_count(2)
    for i, c in enumerate(data["citations"]):
        expect(listed.nth(i)).to_contain_text(f"Evidence level: {c['evidence_level']}")
    screenshot(page, "listing-iframe.png")
