"""Crisis contacts for every error state: in the pages' HTML, in widget.js's config, from
`GET /api/crisis-contacts`, and on the no-JavaScript form's 429, 503 and 500 pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.service import create_app
from bot.service.crisis import help_contacts
from bot.settings import Settings
from bot.triage import load_contacts

US = ["tel:911", "tel:988", "sms:988", "https://988lifeline.org/chat/"]
GB = ["tel:999", "tel:116123"]
ALLOWED = "https://partner.example"


def _client(settings: Settings, assistant: Assistant, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), assistant))


@pytest.fixture
def client(settings: Settings, assistant: Assistant) -> TestClient:
    return _client(settings, assistant, allowed_origins=ALLOWED)


def _hrefs(contacts: list[dict]) -> list[str | None]:
    return [c["href"] for c in contacts]


def _help_block(html: str) -> str:
    """The page's crisis-help block (opening tag to the end of its list)."""
    match = re.search(r'<div id="crisis-help"[^>]*>.*?</ul>', html, re.S)
    assert match, "the page carries no crisis-help block"
    return match.group(0)


# --------------------------------------------------------------------------- the list


def test_the_error_list_is_the_emergency_number_then_the_crisis_lines() -> None:
    assert [c.href for c in help_contacts(load_contacts("us"))] == US
    assert [c.href for c in help_contacts(load_contacts("gb"))] == GB
    spanish = help_contacts(load_contacts("us"), "es")
    assert spanish[1].text.startswith("Llame al 988")


def test_a_file_in_the_older_shape_lists_each_contact_once(tmp_path: Path) -> None:
    path = tmp_path / "contacts.yaml"
    path.write_text(
        "zz:\n  contacts:\n"
        "    - {text: 'Call the test line', href: 'tel:+15550100'}\n"
        "    - {text: 'Emergency: 000-TEST', href: 'tel:000'}\n",
        encoding="utf-8",
    )
    book = load_contacts("zz", path)
    assert [c.href for c in help_contacts(book)] == ["tel:+15550100", "tel:000"]


# --------------------------------------------------------------------------- endpoint


def test_the_endpoint_serves_bot_locale_by_default(client: TestClient) -> None:
    r = client.get("/api/crisis-contacts")
    assert r.status_code == 200
    data = r.json()
    assert (data["locale"], data["name"], data["language"]) == ("us", "United States", "en")
    assert _hrefs(data["contacts"]) == US
    assert set(data["kinds"]) == {"self_harm", "emergency", "violence", "support"}
    assert _hrefs(data["kinds"]["emergency"])[0] == "tel:911"
    assert "max-age" in r.headers["cache-control"]


@pytest.mark.parametrize(
    ("locale", "expected", "language"),
    [
        ("gb", GB, "en"),
        ("GB", GB, "en"),
        ("en-GB", GB, "en"),
        ("en_gb", GB, "en"),
        ("es-US", US, "es"),
        ("es", US, "es"),
        ("en", US, "en"),
        ("ca", ["tel:911", "tel:988"], "en"),  # a locale of the file wins: Canada
        ("fr-CA", ["tel:911", "tel:988"], "en"),  # no French text: English
        ("zh-Hant-AU", ["tel:000", "tel:131114"], "en"),  # the script is skipped
    ],
)
def test_a_locale_or_a_language_tag_picks_the_contacts(
    client: TestClient, locale: str, expected: list[str], language: str
) -> None:
    r = client.get("/api/crisis-contacts", params={"locale": locale})
    assert r.status_code == 200, r.text
    assert _hrefs(r.json()["contacts"]) == expected
    assert r.json()["language"] == language
    if language == "es":
        assert r.json()["contacts"][1]["text"].startswith("Llame al 988")


def test_a_locale_given_twice_is_refused(client: TestClient) -> None:
    # One of them would win silently: the client asked for something unclear.
    r = client.get("/api/crisis-contacts?locale=gb&locale=us")
    assert r.status_code == 422 and "locale" in r.json()["detail"]


@pytest.mark.parametrize("locale", ["xx", "fr", "fr-FR", "en-ZZ"])
def test_an_unknown_locale_is_a_clear_404(client: TestClient, locale: str) -> None:
    r = client.get("/api/crisis-contacts", params={"locale": locale})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "no crisis contacts" in detail and locale in detail
    assert "gb" in detail and "us" in detail  # says which locales exist
    assert "/" not in detail  # no server path


@pytest.mark.parametrize("locale", ["<script>", "e n", "x" * 40, "1234", ""])
def test_a_malformed_locale_is_a_422(client: TestClient, locale: str) -> None:
    r = client.get("/api/crisis-contacts", params={"locale": locale})
    assert r.status_code == 422 and "locale" in r.json()["detail"]


def test_the_endpoint_has_the_api_routes_cors(client: TestClient) -> None:
    ok = client.get("/api/crisis-contacts", headers={"Origin": ALLOWED})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    other = client.get("/api/crisis-contacts", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


# --------------------------------------------------------------------------- pages


@pytest.mark.parametrize(("path", "template"), [("/", "chat.html"), ("/embed", "embed.html")])
def test_the_pages_carry_the_contacts_hidden_until_an_error(
    client: TestClient, path: str, template: str
) -> None:
    r = client.get(path)
    assert r.template.name == template
    assert _hrefs(r.context["crisis_contacts"]) == US
    block = _help_block(r.text)
    assert block.startswith('<div id="crisis-help" class="crisis-help" hidden>')
    assert re.findall(r'href="([^"]+)"', block) == US
    # Inside the role="alert" region, so showing it is announced.
    assert r.text.index('role="alert"') < r.text.index('id="crisis-help"')


def test_the_pages_follow_bot_locale_and_the_contacts_file(
    settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    gb = _client(settings, assistant, locale="gb").get("/")
    assert _hrefs(gb.context["crisis_contacts"]) == GB
    path = tmp_path / "contacts.yaml"
    path.write_text(
        "zz:\n  contacts:\n    - {text: 'Call <the> test line', href: 'tel:+15550100'}\n",
        encoding="utf-8",
    )
    own = _client(settings, assistant, locale="zz", crisis_contacts_file=path).get("/embed")
    block = _help_block(own.text)
    assert 'href="tel:+15550100"' in block and "Call &lt;the&gt; test line" in block


def test_widget_js_carries_the_contacts_in_its_config(client: TestClient) -> None:
    r = client.get("/widget.js")
    config = json.loads(re.search(r"var CONFIG = (\{.*?\});\n", r.text).group(1))
    assert config["crisis"]["locale"] == "us"
    assert _hrefs(config["crisis"]["contacts"]) == US


# --------------------------------------------------------------------------- no-JS form


def _form_page_shows_help(r) -> None:
    assert r.headers["content-type"].startswith("text/html")
    block = _help_block(r.text)
    assert " hidden" not in block.split(">", 1)[0], "the contacts are hidden on an error page"
    assert re.findall(r'href="([^"]+)"', block) == US
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_the_form_over_the_rate_limit_gets_a_page_with_the_contacts(
    settings: Settings, assistant: Assistant
) -> None:
    client = _client(settings, assistant, rate_limit="1/minute")
    first = client.post("/chat", data={"message": "quorvastin?", "session_id": "s-1"})
    assert first.status_code == 200
    question = "I can't go on <b>any more</b>"
    r = client.post("/chat", data={"message": question, "session_id": "s-1"})
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert r.template.name == "chat.html"
    assert re.search(r"Too many questions right now; please wait \d+ seconds?", r.text)
    _form_page_shows_help(r)
    # The question is kept (escaped) and the conversation goes on.
    assert "I can&#39;t go on &lt;b&gt;any more&lt;/b&gt;</textarea>" in r.text
    assert 'name="session_id" value="s-1"' in r.text
    # The API's 429 stays JSON.
    api = client.post("/api/chat", json={"message": "quorvastin?"})
    assert api.status_code == 429 and "please wait" in api.json()["detail"]


def test_the_form_gets_a_page_with_the_contacts_when_answers_cannot_be_logged(
    client: TestClient,
) -> None:
    with client.app.state.audit.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE records")
    r = client.post("/chat", data={"message": "How does brimadol work?", "embed": "1"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.template.name == "embed.html"
    assert "can’t answer right now" in r.text and "How does brimadol work?</textarea>" in r.text
    assert "{" not in r.text.split('id="chat-error"', 1)[1].split("</div>", 1)[0]
    _form_page_shows_help(r)
    api = client.post("/api/chat", json={"message": "How does brimadol work?"})
    assert api.status_code == 503 and "cannot record answers" in api.json()["detail"]


def test_the_form_gets_a_page_with_the_contacts_on_an_unexpected_error(
    settings: Settings, assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(assistant, "reply", broken)
    client = TestClient(create_app(settings, assistant), raise_server_exceptions=False)
    r = client.post("/chat", data={"message": "quorvastin?"})
    assert r.status_code == 500
    _form_page_shows_help(r)
    assert "quorvastin?</textarea>" in r.text


# --------------------------------------------------------------------------- /api/chat locale

URGENT = "I want to kill myself tonight"


def _crisis_hrefs(reply: dict) -> list[str]:
    return re.findall(r'<ul class="crisis">.*?</ul>', reply["html"], re.S)[0].split('href="')[1:]


@pytest.mark.parametrize(
    ("locale", "first"),
    [("gb", "tel:116123"), ("en-GB", "tel:116123"), ("en_gb", "tel:116123"), ("ca", None)],
)
def test_a_chat_request_s_locale_picks_the_urgent_reply_s_contacts(
    client: TestClient, locale: str, first: str | None
) -> None:
    r = client.post("/api/chat", json={"message": URGENT, "locale": locale})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["status"] == "urgent" and reply["crisis_kind"] == "self_harm"
    region = "gb" if locale.lower().endswith("gb") else locale
    want = [c.href for c in load_contacts(region).for_kind("self_harm")]
    hrefs = [h.split('"')[0] for h in _crisis_hrefs(reply)]
    assert hrefs == want, (locale, hrefs)
    if first:
        assert hrefs[0] == first
    # Not BOT_LOCALE's (us), which the reply would carry without the field.
    assert hrefs != [c.href for c in load_contacts("us").for_kind("self_harm")], hrefs


@pytest.mark.parametrize("body", [{}, {"locale": None}, {"locale": "fr-FR"}, {"locale": "xx"}])
def test_no_locale_or_an_unknown_one_gets_bot_locale_s_contacts(
    client: TestClient, body: dict
) -> None:
    r = client.post("/api/chat", json={"message": URGENT, **body})
    assert r.status_code == 200, r.text
    hrefs = [h.split('"')[0] for h in _crisis_hrefs(r.json())]
    assert hrefs == [c.href for c in load_contacts("us").for_kind("self_harm")]


@pytest.mark.parametrize("locale", ["<script>", "e n", "x" * 40, "1234", "", 7])
def test_a_malformed_chat_locale_is_a_422(client: TestClient, locale: object) -> None:
    r = client.post("/api/chat", json={"message": URGENT, "locale": locale})
    assert r.status_code == 422, r.text
    assert "locale" in json.dumps(r.json()["detail"])


def test_a_locale_changes_nothing_but_an_urgent_reply_s_contacts(client: TestClient) -> None:
    question = "What is the evidence level for zelnoprine?"
    plain = client.post("/api/chat", json={"message": question}).json()
    local = client.post("/api/chat", json={"message": question, "locale": "gb"}).json()
    assert plain["status"] == local["status"] == "answered", plain["answer"]
    assert plain["answer"] == local["answer"]
