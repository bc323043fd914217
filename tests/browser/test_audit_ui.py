"""The staff audit pages in Chromium: login, list, detail, review; hostile questions are
shown as text; a conversation walked turn by turn; the review queue (save & next
unreviewed); short list rows; filters folded on a phone; screenshots of each (desktop and
phone) and axe-core scans."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from browser_helpers import (
    SEED_LEVEL,
    SEED_QUESTION,
    describe_violations,
    inject_axe,
    screenshot,
    serious_violations,
)
from playwright.sync_api import Page, expect

from bot.answer import Reply, Status, Trace
from bot.audit import pseudonym as _pseudonym

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


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _say(bot_url: str, message: str, session_id: str) -> str:
    request = urllib.request.Request(
        bot_url + "/api/chat",
        data=json.dumps({"message": message, "session_id": session_id}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())["answer_id"]


def _in_first_screen(page: Page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] + box["height"] <= page.viewport_size["height"]


def test_a_conversation_is_shown_and_walked_turn_by_turn(new_page, sites) -> None:
    session = f"browser-conv-{uuid.uuid4().hex}"
    turns = [
        _say(sites.bot.url, m, session)
        for m in ("How does brimadol work?", "and what is its evidence level?", "thanks!")
    ]
    for viewport, name in ((None, "desktop"), (PHONE, "phone")):
        page, _ = new_page(**(viewport or {}))
        _login(page, sites)
        page.goto(f"{sites.bot.url}/audit/answers/{turns[1]}")
        talk = page.locator("section.detail-conversation")
        expect(talk).to_contain_text("Turn 2 of 3 in this session.")
        expect(talk.locator("ol.turns > li")).to_have_count(3)
        current = talk.locator("li[aria-current='true']")
        expect(current).to_contain_text("and what is its evidence level?")
        expect(current.locator("a")).to_have_count(0)  # the turn shown is not a link
        screenshot(page, f"audit-detail-conversation-{name}.png", full_page=True)
        talk.scroll_into_view_if_needed()
        screenshot(page, f"audit-detail-conversation-{name}-view.png")
    # The last page open is the phone's: walk the turns there.
    page.get_by_role("link", name="Next turn", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/audit/answers/{turns[2]}$"))
    expect(page.locator("section.detail-conversation")).to_contain_text("Turn 3 of 3")
    expect(page.get_by_role("link", name="Next turn", exact=True)).to_have_count(0)
    page.locator("ol.turns a", has_text="How does brimadol work?").click()
    expect(page).to_have_url(re.compile(rf"/audit/answers/{turns[0]}$"))
    # ... and the whole session as a list.
    page.get_by_role("link", name="List its 3 answers").click()
    expect(page).to_have_url(re.compile(r"/audit\?session=[0-9a-f]{32}$"))
    rows = page.locator("table.answers tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#filter-panel > summary")).to_contain_text("1 set: session")


def test_review_controls_come_first_and_save_and_next_walks_the_unreviewed(new_page, sites) -> None:
    session = f"browser-queue-{uuid.uuid4().hex}"
    ids = [_say(sites.bot.url, f"turmeric {n}?", session) for n in range(3)]
    page, _ = new_page()
    _login(page, sites)
    # From the list of this session (newest first), open the newest answer.
    page.goto(f"{sites.bot.url}/audit?session={_pseudonym(session)}")
    page.locator("td.question-cell a", has_text="turmeric 2?").click()
    expect(page).to_have_url(re.compile(rf"/audit/answers/{ids[2]}\?session="))
    # The review controls are on the first screen, above the trace and the hashes.
    form = page.locator("form.review-form")
    expect(form).to_be_visible()
    assert _in_first_screen(page, page.locator("form.review-form button[name=then]"))
    hashes = page.get_by_text("Record hash", exact=True)
    assert form.bounding_box()["y"] < hashes.bounding_box()["y"]
    screenshot(page, "audit-detail-review-first-desktop.png")
    expect(page.get_by_role("link", name="Next (older)", exact=True)).to_have_attribute(
        "href", re.compile(rf"/audit/answers/{ids[1]}\?session=")
    )

    page.check("#label-correct")
    page.get_by_role("button", name="Save & next unreviewed").click()
    expect(page).to_have_url(re.compile(rf"/audit/answers/{ids[1]}\?session=.*&saved={ids[2]}"))
    expect(page.locator(".notice--ok")).to_contain_text("This is the next unreviewed answer.")
    page.check("#label-content_missing")
    page.fill("#note", "no page on turmeric")
    page.get_by_role("button", name="Save & next unreviewed").click()
    expect(page).to_have_url(re.compile(rf"/audit/answers/{ids[0]}\?"))
    page.get_by_role("link", name="Previous (newer)", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/audit/answers/{ids[1]}\?"))
    expect(page.locator("section.review-panel")).to_contain_text("no page on turmeric")
    page.get_by_role("link", name="Next (older)", exact=True).click()
    page.check("#label-correct")
    page.get_by_role("button", name="Save & next unreviewed").click()
    expect(page.locator(".notice--ok")).to_contain_text(
        "No unreviewed answers are left in this list."
    )
    expect(page).to_have_url(re.compile(rf"/audit/answers/{ids[0]}\?.*left=0#reviews$"))
    reviews = [sites.bot.audit_answer(i)["events"] for i in ids]
    assert [[e["payload"]["label"] for e in ev if e["kind"] == "review"] for ev in reviews] == [
        ["correct"],
        ["content_missing"],
        ["correct"],
    ]
    # On a phone, the review controls follow the question and the answer, before the
    # passages.
    phone, _ = new_page(**PHONE)
    _login(phone, sites)
    phone.goto(f"{sites.bot.url}/audit/answers/{ids[1]}")
    answer_box = phone.locator(".as-shown").bounding_box()
    review_box = phone.locator("section.review-panel").bounding_box()
    passages_box = phone.locator("#h-passages").bounding_box()
    assert answer_box["y"] < review_box["y"] < passages_box["y"]
    screenshot(phone, "audit-detail-phone.png", full_page=True)
    phone.locator("section.review-panel").scroll_into_view_if_needed()
    screenshot(phone, "audit-detail-phone-review.png")


def test_list_rows_stay_short_and_the_filters_fold_on_a_phone(new_page, sites) -> None:
    _ask(sites.bot.url, SEED_QUESTION)  # the longest verbatim level of the corpus
    answer_id = _ask(sites.bot.url, "turmeric for my cat?")
    sites.bot.app.state.audit.feedback(answer_id, False, "Comment with «unicode» and <b>tags</b>")
    page, _ = new_page()
    _login(page, sites)
    expect(page.locator("#status")).to_be_visible()  # the filters are open on a desktop
    seed_row = page.locator("table.answers tbody tr", has_text=SEED_QUESTION).first
    line = float(seed_row.evaluate("r => parseFloat(getComputedStyle(r).lineHeight)"))
    # At most three lines of text (a clamped question), plus the cell padding.
    assert seed_row.bounding_box()["height"] <= 3 * line + 16, seed_row.bounding_box()
    level = seed_row.locator("td.level-cell .clamp")
    assert level.evaluate("e => e.scrollHeight > e.clientHeight")  # clamped, text all there
    expect(level).to_have_attribute("title", SEED_LEVEL)
    comment = page.locator("tr", has_text="turmeric for my cat?").locator("td.comment-cell")
    expect(comment).to_contain_text("Comment with «unicode» and <b>tags</b>")
    screenshot(page, "audit-list-rows-desktop.png")

    phone, _ = new_page(**PHONE)
    _login(phone, sites)
    panel = phone.locator("#filter-panel")
    expect(panel.locator("#status")).to_be_hidden()
    assert _in_first_screen(phone, phone.locator("table.answers tbody tr").first)
    screenshot(phone, "audit-list-phone.png")
    panel.locator("summary").click()
    expect(panel.locator("#status")).to_be_visible()
    phone.fill("#since", "2025-01-31")
    phone.select_option("#comment", "yes")
    phone.get_by_role("button", name="Filter").click()
    expect(phone).to_have_url(re.compile(r"since=2025-01-31.*comment=yes"))
    expect(phone.locator("#since")).to_have_value("2025-01-31")
    expect(panel.locator("summary")).to_contain_text("2 set: since, comment")
    expect(panel.locator("#status")).to_be_hidden()  # folded again: results first


def test_a_failed_login_keeps_the_deep_link_and_focuses_the_error(new_page, sites) -> None:
    answer_id = _ask(sites.bot.url, "How does brimadol work?")
    staff = sites.bot.app.state.staff
    if "reviewer" not in staff.names():
        staff.add("reviewer", PASSWORD)
    page, _ = new_page()
    deep = f"/audit/answers/{answer_id}?status=answered"
    page.goto(sites.bot.url + deep)
    expect(page).to_have_url(re.compile(r"/audit/login\?next="))
    page.fill("#name", "reviewer")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    error = page.locator("#login-error")
    expect(error).to_have_text("Wrong name or password.")
    expect(error).to_be_focused()
    inject_axe(page, sites.bot.url)
    assert serious_violations(page) == []
    screenshot(page, "audit-login-failed-desktop.png")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(sites.bot.url + deep)


def test_the_detail_and_the_phone_views_have_no_serious_accessibility_violations(
    new_page, sites
) -> None:
    session = f"browser-axe-{uuid.uuid4().hex}"
    first = _say(sites.bot.url, "How does brimadol work?", session)
    answer_id = _say(sites.bot.url, "and what is its evidence level?", session)
    sites.bot.app.state.audit.feedback(answer_id, False, "not what I asked")
    sites.bot.app.state.audit.review(first, "correct", "fine", actor="reviewer")
    for viewport in ({}, PHONE):
        page, _ = new_page(**viewport)
        _login(page, sites)
        for path in (f"/audit/answers/{answer_id}?review=none", "/audit?comment=yes"):
            page.goto(sites.bot.url + path)
            inject_axe(page, sites.bot.url)
            violations = serious_violations(page)
            assert violations == [], f"{path}:\n" + describe_violations(violations)


def _past_replies(sites, days_ago: int, statuses: list[Status], votes: list[bool]) -> None:
    """Answers logged on an earlier day (as the backlog writes late ones), with votes."""
    audit = sites.bot.app.state.audit
    day = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT12:00:00.000000Z")
    for i, status in enumerate(statuses):
        reply = Reply(
            status=status,
            answer="a",
            html="<p>a</p>",
            evidence_level=None,
            disclaimer="Medical Disclaimer: d",
            citations=(),
            suggestions=(),
            session_id=f"chart-{days_ago}-{i}",
            answer_id=uuid.uuid4().hex,
            template="not_found",
            trace=Trace(),
        )
        row = audit.answer_row(reply, f"chart fixture {days_ago}", "api", None, "d", "m")
        audit.append_row(row | {"created_at": day})
        if i < len(votes):
            audit.feedback(reply.answer_id, votes[i], None)


def test_the_daily_chart_is_readable_with_a_helpful_share_line(new_page, sites) -> None:
    mix = [Status.ANSWERED, Status.NOT_FOUND, Status.DECLINED, Status.INFO]
    for days_ago in (20, 12, 9, 8, 7, 3):
        _past_replies(sites, days_ago, mix * (1 + days_ago % 3), [True, days_ago % 2 == 0])
    page, _ = new_page()
    _login(page, sites)
    # Up to yesterday: today's feedback depends on which other tests ran.
    today = datetime.now(UTC).date()
    span = f"since={today - timedelta(days=29)}&until={today - timedelta(days=1)}"
    page.goto(f"{sites.bot.url}/audit/stats?{span}")
    svg = page.locator("svg.chart-svg")
    assert svg.bounding_box()["width"] >= 900  # 29 days across the page, not 400 px
    for tick in (svg.locator("text.tick").first, svg.locator("text.tick--share").last):
        size = tick.evaluate("t => parseFloat(getComputedStyle(t).fontSize)")
        assert size >= 13, size
    expect(svg.locator("text.tick--share")).to_have_text(["0%", "50%", "100%"])
    # Days 9, 8 and 7 have votes in a row: one stretch of the helpful-share line.
    expect(svg.locator("polyline.ratio-line")).to_have_count(1)
    expect(svg.locator("circle.ratio-dot")).to_have_count(6)
    expect(page.locator(".legend")).to_contain_text("helpful share")
    screenshot(page, "audit-stats-chart-desktop.png")
    inject_axe(page, sites.bot.url)
    assert serious_violations(page) == []

    phone, _ = new_page(**PHONE)
    _login(phone, sites)
    phone.goto(f"{sites.bot.url}/audit/stats?{span}")
    scroll = phone.locator(".chart-scroll")
    # The chart scrolls inside its own (keyboard-focusable) region, not the whole page.
    assert scroll.evaluate("e => e.scrollWidth > e.clientWidth")
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    scroll.focus()
    expect(scroll).to_be_focused()
    screenshot(phone, "audit-stats-chart-phone.png")
