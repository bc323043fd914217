"""The iframe embed, an axe-core accessibility scan, and screenshots for a human to look at.

axe-core is loaded with `inject_axe` (browser_helpers): the file is served at
`<page origin>/__axe.js` through `page.route` and added as an external script, so the
bot's strict CSP (`script-src 'self'`, `style-src 'self'`) stays in force and the scan
sees exactly what users see. `bypass_csp=True` would have worked too, but it would also
let inline styles apply that real browsers block, so the scan could pass on a page users
never get.
"""

from __future__ import annotations

import pytest
from browser_helpers import (
    SEED_LEVEL,
    SEED_QUESTION,
    WIDGET,
    ask_page,
    ask_widget,
    describe_violations,
    inject_axe,
    open_widget,
    real_console_errors,
    screenshot,
    serious_violations,
)
from playwright.sync_api import Page, expect

IFRAME = "iframe[title='Evidence assistant']"


def test_the_iframe_on_an_allowed_site_answers(page: Page, page_log, sites) -> None:
    page.goto(sites.host.url("iframe.html"))
    frame = page.frame_locator(IFRAME)
    reply, data = ask_page(page, SEED_QUESTION, scope=frame)
    assert data["status"] == "answered"
    expect(reply.locator(".badge")).to_contain_text(SEED_LEVEL)
    expect(reply.locator("p.citation")).to_be_visible()
    expect(reply.locator("p.disclaimer")).to_be_visible()
    screenshot(page, "embed-iframe-desktop.png")
    assert not real_console_errors(page_log), page_log.console_errors


def test_the_iframe_is_refused_on_another_site(page: Page, page_log, sites) -> None:
    page.goto(sites.stranger.url("iframe.html"))
    page.wait_for_load_state("load")
    [child] = [f for f in page.frames if f is not page.main_frame]
    assert child.locator("#chat-form").count() == 0, "the bot rendered inside a stranger's frame"
    assert any("frame-ancestors" in e for e in page_log.console_errors), page_log.console_errors


def test_embed_frame_ancestors_match_the_setting(sites) -> None:
    status, headers, _ = sites.bot.get("/embed")
    assert status == 200
    directives = dict(
        [*d.strip().split(" ", 1), ""][:2]
        for d in headers["content-security-policy"].split(";")
        if d.strip()
    )
    assert directives["frame-ancestors"] == f"'self' {sites.host.origin}"
    assert sites.bot.settings.origins == [sites.host.origin]
    assert "x-frame-options" not in headers
    _, page_headers, _ = sites.bot.get("/")
    assert "frame-ancestors 'none'" in page_headers["content-security-policy"]
    assert page_headers["x-frame-options"] == "DENY"


def test_axe_chat_page_after_an_answer(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/")
    ask_page(page, SEED_QUESTION)
    inject_axe(page, sites.bot.url)
    violations = serious_violations(page)
    assert not violations, "axe on /:\n" + describe_violations(violations)


def test_axe_open_widget_on_the_host_page(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    ask_widget(page, SEED_QUESTION)
    inject_axe(page, sites.host.origin)
    violations = serious_violations(page)
    assert not violations, "axe on the open widget:\n" + describe_violations(violations)


def test_axe_embed_page(page: Page, sites) -> None:
    page.goto(sites.bot.url + "/embed")
    ask_page(page, SEED_QUESTION)
    inject_axe(page, sites.bot.url)
    violations = serious_violations(page)
    assert not violations, "axe on /embed:\n" + describe_violations(violations)


@pytest.mark.parametrize("width", [320, 375])
def test_the_chat_page_fits_a_phone(new_page, sites, width: int) -> None:
    page, _ = new_page(viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True)
    page.goto(sites.bot.url + "/")
    ask_page(page, SEED_QUESTION)
    overflow = page.evaluate(
        "() => document.scrollingElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"


SIZES = {"desktop": {"width": 1280, "height": 900}, "375": {"width": 375, "height": 812}}


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots(new_page, sites, size: str) -> None:
    options = {"is_mobile": True, "has_touch": True} if size != "desktop" else {}
    # Reduced motion: the smooth scroll to the new answer is done before the screenshot.
    options["reduced_motion"] = "reduce"
    page, _ = new_page(viewport=SIZES[size], **options)
    page.goto(sites.bot.url + "/")
    ask_page(page, SEED_QUESTION)
    screenshot(page, f"chat-{size}.png", full_page=True)

    page, _ = new_page(viewport=SIZES[size], **options)
    open_widget(page, sites.host.url("widget.html"))
    ask_widget(page, SEED_QUESTION)
    screenshot(page, f"widget-open-{size}.png")
    panel_box = page.locator(f"{WIDGET} .ebw-panel").bounding_box()
    assert panel_box is not None
    assert panel_box["x"] >= 0 and panel_box["x"] + panel_box["width"] <= SIZES[size]["width"] + 1
    assert panel_box["y"] >= 0 and panel_box["y"] + panel_box["height"] <= SIZES[size]["height"] + 1

    page, _ = new_page(viewport=SIZES[size], **options)
    page.goto(sites.host.url("widget.html"))
    expect(page.locator(f"{WIDGET} button.ebw-launcher")).to_be_visible()
    screenshot(page, f"widget-closed-{size}.png")

    page, _ = new_page(viewport=SIZES[size], **options)
    open_widget(page, sites.stranger.url("widget.html"))
    screenshot(page, f"widget-not-enabled-{size}.png")
