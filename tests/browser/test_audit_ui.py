"""The staff audit pages in Chromium: login, list, detail, review; hostile questions are
shown as text; screenshots of the list and the detail view."""

from __future__ import annotations

import json
import re
import urllib.request

from browser_helpers import inject_axe, screenshot, serious_violations
from playwright.sync_api import Page, expect

PASSWORD = "browser test password"
HOSTILE = '<script>alert("audit")</script> ketamine <img src=x onerror=alert(2)>'


def _ask(bot_url: str, message: str) -> str:
    request = urllib.request.Request(
        bot_url + "/api/chat",
        data=json.dumps({"message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())["answer_id"]


def _login(page: Page, sites) -> None:
    staff = sites.bot.app.state.staff
    if "reviewer" not in staff.names():
        staff.add("reviewer", PASSWORD)
    page.goto(sites.bot.url + "/audit")
    expect(page).to_have_url(re.compile(r"/audit/login"))
    page.fill("#name", "reviewer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Answers")


def test_hostile_questions_render_as_text_in_list_and_detail(page: Page, sites, page_log) -> None:
    answer_id = _ask(sites.bot.url, HOSTILE)
    _ask(sites.bot.url, "What is the evidence level for ketamine in stage IV cancer?")
    _login(page, sites)
    row = page.locator("td.question-cell", has_text="ketamine <img").first
    expect(row).to_contain_text('<script>alert("audit")</script>')
    assert page.locator("main script, main img").count() == 0
    screenshot(page, "audit-list-desktop.png", full_page=True)

    page.goto(f"{sites.bot.url}/audit/answers/{answer_id}")
    expect(page.locator("main")).to_contain_text('<script>alert("audit")</script>')
    assert page.locator("main script, main img").count() == 0
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "audit-detail-desktop.png", full_page=True)
    assert not page_log.dialogs

    page.check("#label-unsafe")
    page.click("form.review-form button[type=submit]")
    expect(page.locator(".notice--ok")).to_contain_text("review was added")
    events = sites.bot.audit_answer(answer_id)["events"]
    assert any(e["kind"] == "review" and e["actor"] == "reviewer" for e in events)
    assert sites.bot.app.state.audit.verify().ok


def test_audit_pages_have_no_serious_accessibility_violations(page: Page, sites) -> None:
    _ask(sites.bot.url, "How does brimadol work?")
    _login(page, sites)
    for path in ("/audit", "/audit/gaps", "/audit/stats"):
        page.goto(sites.bot.url + path)
        inject_axe(page, sites.bot.url)
        assert serious_violations(page) == [], path
    screenshot(page, "audit-stats-desktop.png", full_page=True)
