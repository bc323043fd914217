"""Constants and helpers shared by the browser tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Dialog, Page

from bot.settings import ROOT

HERE = Path(__file__).parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

SEED_QUESTION = "What is the evidence level for ketamine in stage IV cancer?"
SEED_LEVEL = (
    "Strong data for treatment-resistant depression; Phase II for neuropathic pain; "
    "cancer anxiety studies"
)
NOT_ENABLED = "This assistant is not enabled on this site."


@dataclass
class PageLog:
    """What happened in one page: console errors, dialogs, requests."""

    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        self.console_errors.append(f"{msg.text} ({where})")

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def api_calls(self, path: str = "/api/chat") -> list[str]:
        return [u for u in self.requests if u.split("?")[0].endswith(path)]


# --------------------------------------------------------------------------- helpers


def screenshot(page: Page, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


def inject_axe(page: Page, origin: str) -> None:
    """Load axe-core as an external script *from the page's own origin*.

    The bot's pages send `script-src 'self'`: `add_script_tag(path=...)` would inject an
    inline script and be blocked. Serving the file at `<origin>/__axe.js` through
    `page.route` keeps the real CSP in force, so the scan sees exactly what users see
    (`bypass_csp=True` would also let the page's blocked inline styles apply)."""
    url = f"{origin}/__axe.js"
    page.route(
        url,
        lambda route: route.fulfill(
            status=200, content_type="text/javascript", body=AXE_JS.read_text(encoding="utf-8")
        ),
    )
    page.add_script_tag(url=url)
    page.wait_for_function("() => typeof window.axe === 'object'")


def serious_violations(page: Page, context: Any = None) -> list[dict[str, Any]]:
    results = page.evaluate(
        """async (context) => {
            const r = await axe.run(context || document, {resultTypes: ['violations']});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary,
                                          impact: n.impact}))}));
        }""",
        context,
    )
    return [v for v in results if v["impact"] in ("serious", "critical")]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for n in v["nodes"][:8]:
            summary = " ".join(str(n["summary"] or "").split())
            lines.append(f"    {json.dumps(n['target'])}: {summary}")
    return "\n".join(lines)


def real_console_errors(log: PageLog) -> list[str]:
    return [e for e in log.console_errors if "favicon.ico" not in e]


# --------------------------------------------------------------------------- chat page


def ask_page(page: Page, question: str, scope: Any = None) -> tuple[Any, dict[str, Any]]:
    """Type a question on the chat page (or an embed frame: `scope`), send it, wait for
    the reply. Returns (the new `.reply` locator, the /api/chat JSON reply)."""
    scope = scope or page
    replies = scope.locator("#conversation .reply")
    before = replies.count()
    scope.locator("#message").fill(question)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as info:
        scope.locator("#chat-form button[type=submit]").click()
    data = info.value.json()
    expect_count(replies, before + 1)
    return replies.nth(before), data


def expect_count(locator: Any, n: int) -> None:
    from playwright.sync_api import expect

    expect(locator).to_have_count(n)


def expect_printed_address(page: Page, link: Any, href: str) -> None:
    """The link's address is written out after it in print (`::after`): waited for, since a
    window just opened may not have applied its print stylesheet yet."""
    page.wait_for_function(
        "([a, href]) => getComputedStyle(a, '::after').content.includes(href)",
        arg=[link.element_handle(), href],
    )
    after = link.evaluate("a => getComputedStyle(a, '::after').content")
    assert href in after, (href, after)


# --------------------------------------------------------------------------- widget

WIDGET = "#evidence-bot-widget"


def launcher(page: Page) -> Any:
    return page.locator(f"{WIDGET} button.ebw-launcher")


def panel(page: Page) -> Any:
    return page.locator(f"{WIDGET} .ebw-panel[role=dialog]")


def open_panel(page: Page) -> None:
    """Open the widget's panel unless the tab kept it open (it reopens on the next page
    when it was open on the last: the launcher would close it)."""
    from playwright.sync_api import expect

    expect(launcher(page)).to_be_attached()
    # build() adds the launcher and reopens a kept panel in one task: settled by now.
    if launcher(page).get_attribute("aria-expanded") != "true":
        launcher(page).click()
    expect(panel(page)).to_be_visible()


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    open_panel(page)


def ask_widget(page: Page, question: str) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Ask in the open widget panel. Returns (the new reply locator, request JSON, reply
    JSON)."""
    replies = panel(page).locator(".reply")
    before = replies.count()
    panel(page).locator("#ebw-message").fill(question)
    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as info:
        panel(page).locator(".ebw-send").click()
    response = info.value
    expect_count(replies, before + 1)
    return replies.nth(before), response.request.post_data_json, response.json()


FOCUS_JS = """() => {
    let el = document.activeElement;
    const host = document.getElementById('evidence-bot-widget');
    const inHost = !!host && el === host;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) { el = el.shadowRoot.activeElement; }
    const panel = host && host.shadowRoot && host.shadowRoot.querySelector('.ebw-panel');
    return {
        inWidget: inHost,
        inPanel: !!(inHost && panel && panel.contains(el)),
        tag: el ? el.tagName.toLowerCase() : null,
        id: el ? el.id : null,
        cls: el && typeof el.className === 'string' ? el.className : '',
        text: el ? (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 60) : '',
    };
}"""


def focused(page: Page) -> dict[str, Any]:
    """The element with focus, looking through the widget's shadow root."""
    return page.evaluate(FOCUS_JS)
