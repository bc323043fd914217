"""The embeddable widget (`<script src=BOT/widget.js>`) on a host site of another origin."""

from __future__ import annotations

import gzip

import pytest
from browser_helpers import (
    NOT_ENABLED,
    SEED_LEVEL,
    SEED_QUESTION,
    WIDGET,
    ask_widget,
    focused,
    launcher,
    open_widget,
    panel,
    real_console_errors,
)
from playwright.sync_api import Page, expect


def _text(locator) -> str:
    return " ".join(locator.inner_text().split())


def test_widget_answers_the_seed_question_and_a_follow_up_in_one_session(
    page: Page, page_log, sites
) -> None:
    open_widget(page, sites.host.url("widget.html"))
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")

    reply, request, data = ask_widget(page, SEED_QUESTION)
    assert data["status"] == "answered" and data["evidence_level"] == SEED_LEVEL
    assert request["session_id"] in (None, "")  # a new conversation
    badge = reply.locator(".badge")
    expect(badge).to_be_visible()
    assert _text(badge).removeprefix("Evidence level:").strip() == SEED_LEVEL
    expect(reply.locator("p.citation")).to_contain_text(
        "Ketamine (IV / Esketamine) for Stage IV Cancer"
    )
    expect(reply.locator("p.disclaimer")).to_be_visible()
    expect(reply.locator("p.disclaimer")).to_contain_text("not medical advice")
    session = data["session_id"]

    follow, request2, data2 = ask_widget(page, "how does it work?")
    assert request2["session_id"] == session
    assert data2["status"] == "answered" and data2["session_id"] == session
    expect(follow).to_contain_text("NMDA receptor antagonism")
    expect(follow.locator(".badge")).to_contain_text(SEED_LEVEL)
    stored = page.evaluate("() => JSON.stringify(Object.entries(sessionStorage))")
    assert session in stored, f"session_id not in the host tab's sessionStorage: {stored}"

    # The tab keeps its conversation across a reload of the host page.
    open_widget(page, sites.host.url("widget.html"))
    _, request3, _ = ask_widget(page, "how does it work?")
    assert request3["session_id"] == session

    # Every asset comes from the bot or the host: no CDN, no web fonts.
    foreign = [
        u for u in page_log.requests if not u.startswith(("http://127.0.0.1:", "data:", "blob:"))
    ]
    assert not foreign, foreign
    assert not real_console_errors(page_log), page_log.console_errors


def test_host_css_does_not_change_the_widget(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    ask_widget(page, SEED_QUESTION)
    styles = page.evaluate(
        """(sel) => {
            const root = document.querySelector(sel).shadowRoot;
            const pick = (q) => {
                const el = root.querySelector(q);
                const s = getComputedStyle(el);
                return {bg: s.backgroundColor, color: s.color, fontSize: s.fontSize,
                        font: s.fontFamily, lineHeight: s.lineHeight, width: s.width,
                        border: s.borderTopWidth + ' ' + s.borderTopStyle + ' ' + s.borderTopColor};
            };
            return {send: pick('.ebw-send'), launcher: pick('.ebw-launcher'),
                    panel: pick('.ebw-panel'), textarea: pick('#ebw-message'),
                    reply: pick('.reply')};
        }""",
        WIDGET,
    )
    red, yellow, lime = "rgb(255, 0, 0)", "rgb(255, 255, 0)", "rgb(0, 255, 0)"
    for name in ("send", "launcher"):
        assert styles[name]["bg"] != red, (name, styles[name])
        assert styles[name]["color"] != yellow, (name, styles[name])
        assert styles[name]["fontSize"] != "30px", (name, styles[name])
    for name in ("panel", "reply", "textarea"):
        assert lime not in styles[name]["border"], (name, styles[name])
    for name in ("panel", "textarea", "send", "reply"):
        # `* { font-family: serif }` on the host element is inherited into the shadow tree
        # unless the widget sets its own font; same for `line-height: 3`.
        assert styles[name]["font"].strip().lower() != "serif", (name, styles[name])
        size = float(styles[name]["fontSize"].removesuffix("px"))
        lh = styles[name]["lineHeight"]
        assert lh == "normal" or float(lh.removesuffix("px")) < 2.5 * size, (name, styles[name])
    assert styles["textarea"]["width"] != "50px", styles["textarea"]


def test_host_css_does_not_style_the_widget_host_element(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    host = page.evaluate(
        """(sel) => {
            const el = document.querySelector(sel);
            const s = getComputedStyle(el), r = el.getBoundingClientRect();
            return {border: s.borderTopWidth, display: s.display,
                    width: r.width, height: r.height};
        }""",
        WIDGET,
    )
    assert host["border"] == "0px", host
    # It takes no room in the host's layout (its parts are position: fixed).
    assert host["display"] == "contents" or (host["width"] == 0 and host["height"] == 0), host


def test_keyboard_only(page: Page, sites) -> None:
    page.goto(sites.host.url("widget.html"))
    expect(launcher(page)).to_be_attached()
    for _ in range(12):
        page.keyboard.press("Tab")
        if "ebw-launcher" in focused(page)["cls"]:
            break
    else:
        raise AssertionError(f"Tab never reached the launcher; focus: {focused(page)}")
    assert focused(page)["inWidget"]
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    page.wait_for_function("() => (" + _FOCUS_ID_JS + ") === 'ebw-message'")

    replies = panel(page).locator(".reply")
    page.keyboard.type(SEED_QUESTION)
    page.keyboard.press("Enter")
    expect(replies).to_have_count(1)
    expect(replies.first.locator(".badge")).to_contain_text(SEED_LEVEL)

    seen = []
    for key in ["Tab"] * 14 + ["Shift+Tab"] * 6:
        page.keyboard.press(key)
        now = focused(page)
        seen.append(f"{now['tag']}#{now['id']}.{now['cls']}")
        assert now["inPanel"], f"focus left the open panel after {key}: {now}; path {seen}"
    assert len(set(seen)) >= 3, f"Tab should visit several controls: {seen}"

    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    now = focused(page)
    assert now["inWidget"] and "ebw-launcher" in now["cls"], f"focus not returned: {now}"


_FOCUS_ID_JS = """(() => { let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el && el.id; })()"""


def test_replies_are_announced_in_the_live_region(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    live = panel(page).locator(".ebw-live")
    expect(live).to_be_attached()
    politeness = live.get_attribute("aria-live") or ""
    role = live.get_attribute("role") or ""
    assert politeness in ("polite", "assertive") or role in ("status", "log", "alert")
    ask_widget(page, SEED_QUESTION)
    expect(live).to_contain_text("Ketamine")
    expect(live).to_contain_text(SEED_LEVEL)


def test_a_site_not_on_the_list_gets_a_clear_message_and_no_api_call(
    page: Page, page_log, sites
) -> None:
    page.goto(sites.stranger.url("widget.html"))
    launcher(page).click()
    expect(panel(page)).to_be_visible()
    expect(panel(page)).to_contain_text(NOT_ENABLED)
    box = panel(page).locator("#ebw-message")
    if box.count() and box.is_visible() and box.is_enabled():
        box.fill(SEED_QUESTION)
        box.press("Enter")
        send = panel(page).locator(".ebw-send")
        if send.is_visible() and send.is_enabled():
            send.click()
    page.wait_for_timeout(300)
    assert not page_log.api_calls(), page_log.api_calls()
    assert not real_console_errors(page_log), page_log.console_errors


@pytest.mark.parametrize("failure", ["429", "down"])
def test_widget_errors_are_shown_in_the_panel(page: Page, sites, failure: str) -> None:
    def handle(route) -> None:
        if failure == "429":
            route.fulfill(
                status=429,
                headers={"Retry-After": "30", "Access-Control-Allow-Origin": sites.host.origin},
                content_type="application/json",
                body='{"detail": "Too Many Requests"}',
            )
        else:
            route.abort("connectionrefused")

    open_widget(page, sites.host.url("widget.html"))
    page.route("**/api/chat", handle)
    panel(page).locator("#ebw-message").fill(SEED_QUESTION)
    panel(page).locator(".ebw-send").click()
    alert = panel(page).get_by_role("alert")
    expect(alert).to_be_visible()
    text = " ".join(alert.inner_text().split()).lower()
    assert text and "{" not in text and "typeerror" not in text and "failed to fetch" not in text
    assert (
        ("wait" in text or "too many" in text or "moment" in text)
        if failure == "429"
        else ("try again" in text or "reached" in text)
    ), text
    expect(panel(page).locator(".reply")).to_have_count(0)
    assert panel(page).locator("#ebw-message").input_value() == SEED_QUESTION


def test_the_browser_refuses_cross_origin_calls_from_other_sites(page: Page, sites) -> None:
    call = """async (url) => {
        try {
            const r = await fetch(url, {
                method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({message: 'quorvastin?'})});
            return 'status ' + r.status;
        } catch (e) { return 'blocked'; }
    }"""
    page.goto(sites.stranger.url("iframe.html"))
    assert page.evaluate(call, sites.bot.url + "/api/chat") == "blocked"
    page.goto(sites.host.url("iframe.html"))
    assert page.evaluate(call, sites.bot.url + "/api/chat") == "status 200"


def test_a_thumbs_up_is_recorded_with_one_click(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, _, data = ask_widget(page, SEED_QUESTION)
    reply.locator(".feedback-yes").click()
    expect(reply).to_contain_text("Thank you", timeout=3_000)
    events = sites.bot.audit_answer(data["answer_id"])["events"]
    assert [(e["kind"], e["payload"]["helpful"]) for e in events] == [("feedback", True)]


def test_feedback_with_a_comment_is_stored_against_the_answer(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    reply, _, data = ask_widget(page, SEED_QUESTION)
    reply.locator(".feedback-no").click()
    reply.locator("textarea.feedback-comment").fill("I wanted <b>dosing</b> info")
    send = reply.locator(".feedback-send")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as info:
        send.click()
    assert info.value.status == 200
    expect(reply).to_contain_text("Thank you")
    events = sites.bot.audit_answer(data["answer_id"])["events"]
    # The click records the vote; the comment follows as its own event.
    assert [e["payload"] for e in events] == [
        {"helpful": False, "comment": None},
        {"helpful": False, "comment": "I wanted <b>dosing</b> info"},
    ]


def test_widget_answers_are_logged_as_the_widget_channel(page: Page, sites) -> None:
    open_widget(page, sites.host.url("widget.html"))
    _, _, data = ask_widget(page, SEED_QUESTION)
    row = sites.bot.audit_answer(data["answer_id"])
    assert row["origin"] == sites.host.origin
    assert row["channel"] == "widget"


def test_widget_js_is_small_and_carries_the_allowed_origins(sites) -> None:
    status, headers, body = sites.bot.get("/widget.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    size = len(gzip.compress(body, compresslevel=9))
    assert size < 30 * 1024, f"widget.js is {size} bytes gzipped"
    assert sites.host.origin.encode() in body and b"/*BOT_CONFIG*/" not in body
