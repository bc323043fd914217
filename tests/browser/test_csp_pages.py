"""Pages that must still work under the bot's strict CSP (finding 12): Swagger UI at
/docs, and the iframe's no-JavaScript form post, whose reply must be framable."""

from __future__ import annotations

from browser_helpers import SEED_LEVEL, SEED_QUESTION, real_console_errors
from playwright.sync_api import Page, expect

IFRAME = "iframe[title='Evidence assistant']"


def test_docs_load_under_the_csp(page: Page, page_log, sites) -> None:
    page.goto(sites.bot.url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Evidence FAQ bot")
    expect(page.locator(".opblock-summary-path", has_text="/api/chat")).to_be_visible()
    csp = [e for e in page_log.console_errors if "Content Security Policy" in e]
    assert not csp and not real_console_errors(page_log), page_log.console_errors


def test_the_iframe_form_answers_without_javascript(new_page, sites) -> None:
    page, log = new_page(java_script_enabled=False)
    page.goto(sites.host.url("iframe.html"))
    frame = page.frame_locator(IFRAME)
    frame.locator("#message").fill(SEED_QUESTION)
    frame.locator("button.send").click()
    # The reply page replaced the form inside the frame: allowed to be framed there.
    expect(frame.locator("#conversation .reply .badge")).to_contain_text(SEED_LEVEL)
    assert not any("frame-ancestors" in e for e in log.console_errors), log.console_errors
