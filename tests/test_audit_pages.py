"""The staff audit UI (/audit): login, sessions, CSRF, throttling, list, detail, reviews,
content gaps, stats and exports; and the AuditLog queries behind them (SQLite and
PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from bot.answer import Citation, Reply, Status, Trace
from bot.assistant import Assistant
from bot.audit import AuditFilter, AuditLog, pseudonym, records
from bot.service import audit_pages, create_app
from bot.service.audit_login import COOKIE, LOGIN_COOKIE, LoginThrottle, throttle_of
from bot.settings import Settings

PASSWORD = "correct horse battery"
BASE = "http://127.0.0.1:8000"
OWN = {"Origin": BASE}
FOREIGN = {"Origin": "https://evil.example"}
SCRIPT = "<script>alert(1)</script> brimadol?"

PAGES = ["/audit", "/audit/answers/{id}", "/audit/gaps", "/audit/stats"]
DOWNLOADS = ["/audit/export.csv", "/audit/export.jsonl"]
POSTS = ["/audit/answers/{id}/review", "/audit/logout"]


def _client(settings: Settings, assistant: Assistant, base_url: str = BASE) -> TestClient:
    client = TestClient(create_app(settings, assistant), base_url=base_url)
    client.app.state.staff.add("ana", PASSWORD)
    return client


@pytest.fixture
def client(settings: Settings, assistant: Assistant) -> TestClient:
    return _client(settings, assistant)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def login(client: TestClient, name: str = "ana", password: str = PASSWORD, **headers: str):
    form = client.get("/audit/login")
    return client.post(
        "/audit/login",
        data={"name": name, "password": password, "csrf": _csrf(form.text), "next": "/audit"},
        headers=headers or OWN,
        follow_redirects=False,
    )


def ask(client: TestClient, message: str, channel: str | None = None) -> str:
    headers = {"X-Evidence-Channel": channel} if channel else {}
    r = client.post("/api/chat", json={"message": message}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["answer_id"]


@pytest.fixture
def asked(client: TestClient) -> dict[str, str]:
    """A few logged answers: question -> answer_id."""
    questions = {
        "How does brimadol work?": None,
        "turmeric?": None,
        "Turmeric": None,
        "brimadol or zelnoprine for testcase syndrome": None,
        "zelnoprine": "widget",
        SCRIPT: None,
        "=HYPERLINK(1) quorvastin?": None,
    }
    return {q: ask(client, q, channel) for q, channel in questions.items()}


def events(client: TestClient, *kinds: str) -> list[dict]:
    with client.app.state.audit.engine.connect() as conn:
        rows = conn.execute(
            select(records.c.kind, records.c.answer_id, records.c.actor, records.c.data)
            .where(records.c.kind.in_(kinds))
            .order_by(records.c.seq)
        ).all()
    return [
        {"kind": k, "answer_id": a, "actor": who, "payload": json.loads(d)} for k, a, who, d in rows
    ]


# -- Who may see the audit pages ---------------------------------------------------------


def test_every_audit_route_refuses_anonymous_users_and_patients(
    client: TestClient, asked: dict[str, str]
) -> None:
    answer_id = next(iter(asked.values()))
    patient = client.post("/api/chat", json={"message": "hello", "session_id": "patient-1"})
    token = client.app.state.staff.new_token("ana")  # an API token is not a login session
    for cookie in (None, patient.json()["session_id"], token, "x" * 500):
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        headers["Authorization"] = f"Bearer {token}"
        for path in PAGES:
            r = client.get(path.format(id=answer_id), headers=headers, follow_redirects=False)
            assert r.status_code == 303, (path, cookie)
            assert r.headers["location"].startswith("/audit/login?next=%2Faudit")
        for path in DOWNLOADS:
            r = client.get(path, headers=headers, follow_redirects=False)
            assert r.status_code == 401 and "ana" not in r.text, (path, cookie)
        for path in POSTS:
            r = client.post(
                path.format(id=answer_id),
                data={"label": "correct", "csrf": "x"},
                headers=headers | OWN,
                follow_redirects=False,
            )
            assert r.status_code == 303 and r.headers["location"].startswith("/audit/login")
    assert events(client, "view", "export", "review") == []


def test_the_login_page_redirects_only_to_audit_pages(client: TestClient) -> None:
    r = client.get("/audit/stats?since=2025-01-01", follow_redirects=False)
    assert r.headers["location"] == "/audit/login?next=%2Faudit%2Fstats%3Fsince%3D2025-01-01"
    for target, expected in (
        ("/audit/stats", "/audit/stats"),
        ("https://evil.example/audit", "/audit"),
        ("//evil.example/audit", "/audit"),
    ):
        browser = TestClient(client.app, base_url=BASE)
        form = browser.get("/audit/login", params={"next": target})
        assert f'name="next" value="{expected}"' in form.text
        r = browser.post(
            "/audit/login",
            data={"name": "ana", "password": PASSWORD, "csrf": _csrf(form.text), "next": target},
            headers=OWN,
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == expected


# -- Login, session cookie, logout -------------------------------------------------------


def _set_cookies(r) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in r.headers.get_list("set-cookie")}


def test_login_sets_a_strict_httponly_cookie_and_rotates_the_session(client: TestClient) -> None:
    form = client.get("/audit/login")
    pre = _set_cookies(form)[LOGIN_COOKIE]
    assert "HttpOnly" in pre and "SameSite=strict" in pre and "Path=/audit/login" in pre
    assert form.headers["cache-control"] == "no-store"
    first = login(client)
    assert first.status_code == 303 and first.headers["location"] == "/audit"
    cookie = _set_cookies(first)[COOKIE]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/audit" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1: local development
    old = client.cookies[COOKIE]
    assert client.get("/audit").status_code == 200
    # A new login (same browser) gets a new session id and ends the old one.
    assert login(client).status_code == 303
    new = client.cookies[COOKIE]
    staff = client.app.state.staff
    assert new != old and staff.session(old) is None and staff.session(new) is not None
    r = client.get("/audit", headers={"Cookie": f"{COOKIE}={old}"}, follow_redirects=False)
    assert r.status_code == 303
    assert [e["actor"] for e in events(client, "login")] == ["ana", "ana"]


@pytest.mark.parametrize("base_url", ["https://audit.example.org", "http://testserver"])
def test_cookies_are_secure_outside_local_development(
    settings: Settings, assistant: Assistant, base_url: str
) -> None:
    client = _client(settings, assistant, base_url)
    assert "Secure" in _set_cookies(client.get("/audit/login"))[LOGIN_COOKIE]
    if base_url.startswith("https"):  # over plain http the browser keeps Secure cookies back
        r = login(client, Origin=base_url)
        assert r.status_code == 303 and "Secure" in _set_cookies(r)[COOKIE]


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    login(client)
    session_id = client.cookies[COOKIE]
    page = client.get("/audit")
    refused = client.post("/audit/logout", headers=OWN, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: still signed in
    assert client.app.state.staff.session(session_id) is not None
    r = client.post(
        "/audit/logout", data={"csrf": _csrf(page.text)}, headers=OWN, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/audit/login"
    assert f'{COOKIE}=""' in _set_cookies(r)[COOKIE] and "Max-Age=0" in _set_cookies(r)[COOKIE]
    assert client.app.state.staff.session(session_id) is None
    again = client.get(
        "/audit", headers={"Cookie": f"{COOKIE}={session_id}"}, follow_redirects=False
    )
    assert again.status_code == 303
    assert [e["actor"] for e in events(client, "logout")] == ["ana"]


def test_a_wrong_password_or_name_gets_the_same_generic_message(client: TestClient) -> None:
    answers = [login(client, "ana", "wrong password!!"), login(client, "nobody", PASSWORD)]
    for r in answers:
        assert r.status_code == 401 and "Wrong name or password." in r.text
        assert COOKIE not in _set_cookies(r)
    # Nothing but the typed name differs between the two pages.
    first, second = (re.sub(r'value="[^"]*"', "", r.text) for r in answers)
    assert first == second


def test_logins_are_throttled_per_client_and_nobody_can_lock_out_a_name(
    client: TestClient,
) -> None:
    for _ in range(5):
        assert login(client, "ana", "wrong password!!").status_code == 401
    blocked = login(client)  # even the right password, from this client
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 800
    assert "Too many failed logins" in blocked.text and COOKIE not in _set_cookies(blocked)
    assert login(client, "bo", PASSWORD).status_code == 429  # the client is blocked too
    # The name is not: from another client the right password still gets in (finding 9).
    other = TestClient(client.app, base_url=BASE, client=("10.9.8.7", 4000))
    assert login(other).status_code == 303
    # No address or name is kept: only keyed hashes.
    keys = throttle_of(client.app).keys("ana", "10.9.8.7")
    assert not any("ana" in k.split(":", 1)[1] or "10.9.8.7" in k for k in keys)


def test_a_login_block_ends_with_its_window(client: TestClient) -> None:
    # Three seconds: the two failures (Argon2 each) end well inside the window even on a
    # loaded machine, where a one-second window had already passed before the third try.
    client.app.state.login_throttle = LoginThrottle(client.app.state.counters, 2, window=3)
    for _ in range(2):
        assert login(client, "ana", "wrong password!!").status_code == 401
    assert login(client).status_code == 429
    deadline = time.monotonic() + 8
    while (r := login(client)).status_code == 429:
        assert time.monotonic() < deadline, "the block did not end with its window"
        time.sleep(0.1)
    assert r.status_code == 303


@pytest.mark.redis
def test_login_failures_are_shared_by_instances_through_redis(
    settings: Settings, assistant: Assistant
) -> None:
    shared = settings.model_copy(update={"session_store": "redis", "secret_key": uuid.uuid4().hex})
    one, two = _client(shared, assistant), TestClient(create_app(shared, assistant), base_url=BASE)
    for _ in range(5):
        assert login(one, "ana", "wrong password!!").status_code == 401
    assert login(two).status_code == 429  # the other instance counts the same failures


def test_failures_per_client_are_counted_across_names(client: TestClient) -> None:
    for i in range(5):
        assert login(client, f"guess{i}", "wrong password!!").status_code == 401
    assert login(client).status_code == 429
    other = TestClient(client.app, base_url=BASE, client=("10.9.8.7", 4000))
    assert login(other).status_code == 303  # the name itself was not attacked


# -- CSRF and cross-site posts -----------------------------------------------------------


def test_the_login_form_refuses_cross_site_posts_and_missing_tokens(
    client: TestClient, settings: Settings, assistant: Assistant
) -> None:
    token = _csrf(client.get("/audit/login").text)
    data = {"name": "ana", "password": PASSWORD}
    cases = [
        (data, OWN),  # no token
        (data | {"csrf": "forged"}, OWN),
        (data | {"csrf": token}, FOREIGN),
        (data | {"csrf": token}, {"Origin": "null"}),
        (data | {"csrf": token}, {"Referer": "https://evil.example/audit/login"}),
        (data | {"csrf": token}, {}),  # neither Origin nor Referer
    ]
    for body, headers in cases:
        r = client.post("/audit/login", data=body, headers=headers, follow_redirects=False)
        assert r.status_code == 403, (body, headers)
        assert COOKIE not in _set_cookies(r)
    # A token without its pre-session cookie (another browser) is refused too.
    stranger = TestClient(client.app, base_url=BASE)
    r = stranger.post("/audit/login", data=data | {"csrf": token}, headers=OWN)
    assert r.status_code == 403
    token = _csrf(client.get("/audit/login").text)  # each form shown has a new token
    ok = client.post(
        "/audit/login",
        data=data | {"csrf": token},
        headers={"Referer": f"{BASE}/audit/login"},
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_review_posts_need_the_session_token_and_our_origin(
    client: TestClient, asked: dict[str, str]
) -> None:
    answer_id = asked["How does brimadol work?"]
    login(client)
    token = _csrf(client.get(f"/audit/answers/{answer_id}").text)
    url = f"/audit/answers/{answer_id}/review"
    body = {"label": "unsafe", "note": "forged"}
    for data, headers in [
        (body, OWN),
        (body | {"csrf": "not-the-token"}, OWN),
        (body | {"csrf": token}, FOREIGN),
        (body | {"csrf": token}, {"Referer": "https://evil.example/page"}),
        (body | {"csrf": token}, {}),
    ]:
        r = client.post(url, data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403, (data, headers)
    assert events(client, "review") == []


# -- Reviews -----------------------------------------------------------------------------


def test_reviews_are_appended_as_chained_events(client: TestClient, asked: dict[str, str]) -> None:
    answer_id = asked["How does brimadol work?"]
    login(client)
    url = f"/audit/answers/{answer_id}"
    for label, note in (("wrong_assessment", "cites the wrong page"), ("correct", "")):
        token = _csrf(client.get(url).text)
        r = client.post(
            f"{url}/review",
            data={"label": label, "note": note, "csrf": token},
            headers=OWN,
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == f"{url}?reviewed=1#reviews"
    logged = events(client, "review")
    assert [(e["payload"]["label"], e["actor"]) for e in logged] == [
        ("wrong_assessment", "ana"),
        ("correct", "ana"),
    ]
    assert logged[0]["payload"]["note"] == "cites the wrong page"
    assert logged[1]["payload"]["note"] is None
    page = client.get(f"{url}?reviewed=1").text
    assert "Your review was added." in page and "cites the wrong page" in page
    assert "Wrong assessment" in page and "Correct" in page
    assert client.app.state.audit.verify().ok
    # The list shows (and filters by) the latest label.
    assert answer_id in client.get("/audit?review=correct").text
    assert answer_id not in client.get("/audit?review=wrong_assessment").text
    token = _csrf(page)
    bad = client.post(f"{url}/review", data={"label": "great", "csrf": token}, headers=OWN)
    assert bad.status_code == 422
    missing = client.post(
        "/audit/answers/nope/review", data={"label": "correct", "csrf": token}, headers=OWN
    )
    assert missing.status_code == 404
    assert len(events(client, "review")) == 2


# -- List, filters, paging, detail -------------------------------------------------------


def _ids(html: str) -> list[str]:
    """The answers a list page links to (their links keep the list's filters)."""
    return re.findall(r'href="/audit/answers/([0-9a-f]+)(?:\?[^"#]*)?"', html)


def test_the_list_filters_and_pages(
    client: TestClient, asked: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = client.app.state.audit
    log.feedback(asked["turmeric?"], True, None)
    log.feedback(asked["zelnoprine"], False, "not what I asked")
    log.review(asked["zelnoprine"], "content_missing", None, actor="bo")
    login(client)
    everything = _ids(client.get("/audit").text)
    assert everything == list(reversed(asked.values()))

    def only(query: str) -> set[str]:
        r = client.get(f"/audit?{query}")
        assert r.status_code == 200, r.text
        return set(_ids(r.text))

    turmeric = {asked["turmeric?"], asked["Turmeric"]}
    # Two compounds for one condition are compared (answered), no longer a clarify.
    compared = asked["brimadol or zelnoprine for testcase syndrome"]
    assert compared in only("status=answered") and only("status=clarify") == set()
    assert only("status=not_found&q=TURMERIC") == turmeric
    assert only("channel=widget") == {asked["zelnoprine"]}
    # A comparison cites both pages: it is found under each.
    assert only("assessment=brimadol") == {asked["How does brimadol work?"], compared}
    assert only("assessment=Zelnoprine+(Oral") == {asked["zelnoprine"], compared}
    assert only("feedback=helpful") == {asked["turmeric?"]}
    assert only("feedback=not_helpful") == {asked["zelnoprine"]}
    assert only("feedback=any") == {asked["turmeric?"], asked["zelnoprine"]}
    assert asked["turmeric?"] not in only("feedback=none")
    assert only("review=content_missing") == {asked["zelnoprine"]}
    assert only("review=none") == set(asked.values()) - {asked["zelnoprine"]}
    assert only("since=2999-01-01") == set()
    assert only("until=2000-01-01") == set()
    today = client.get("/audit/stats").text
    day = re.search(r'href="/audit\?since=(\d{4}-\d\d-\d\d)', today).group(1)
    assert only(f"since={day}&until={day}") == set(asked.values())
    # A filter given twice would keep one value silently: refused like any bad filter.
    twice = ("status=answered&status=urgent", "cursor=1&cursor=2", "q=a&q=b")
    wrong = ("since=yesterday", "status=fine", "review=great", "cursor=abc", "q=" + "x" * 201)
    for bad in (*wrong, *twice):
        r = client.get(f"/audit?{bad}")
        assert r.status_code == 422 and "Please check the filters" in r.text, bad
        assert _ids(r.text) == []
    # Paging: "Older answers" carries the cursor and the filters.
    not_found = only("status=not_found")
    monkeypatch.setattr(audit_pages, "PAGE", 2)
    first = client.get("/audit?status=not_found").text
    older = re.search(r'href="/audit\?([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "status=not_found" in older and "cursor=" in older
    second = client.get(f"/audit?{older}").text
    assert len(_ids(first)) == 2 and _ids(second)
    assert set(_ids(first)).isdisjoint(_ids(second))
    assert set(_ids(first) + _ids(second)) <= not_found


def test_the_detail_shows_the_answer_and_why(client: TestClient, asked: dict[str, str]) -> None:
    answer_id = asked["How does brimadol work?"]
    record = client.app.state.audit.answer(answer_id)
    login(client)
    page = client.get(f"/audit/answers/{answer_id}")
    assert page.status_code == 200
    html = page.text
    assert record["html"] in html  # the answer exactly as the person saw it
    for shown in (
        "How does brimadol work?",
        "Level 5: Expert fixture opinion",
        "answered_mechanism",
        record["index_digest"],
        record["model"],
        record["hash"],
        record["prev_hash"],
        "Mechanistic Evidence",
        "mechanism",  # the intent
        "Minimum score",
        "Retrieval hits",
        "(matches its hash)",
    ):
        assert shown in html, shown
    for pid, score in record["trace"]["hits"]:
        assert pid in html and str(score) in html
    assert client.get("/audit/answers/nope").status_code == 404
    assert client.get("/audit/answers/" + "x" * 65).status_code == 404


def test_the_detail_of_a_comparison_shows_every_citation(
    client: TestClient, asked: dict[str, str]
) -> None:
    answer_id = asked["brimadol or zelnoprine for testcase syndrome"]
    record = client.app.state.audit.answer(answer_id)
    assert len(record["citations"]) == 2
    login(client)
    html = client.get(f"/audit/answers/{answer_id}").text
    for c in record["citations"]:
        assert c["title"] in html and c["evidence_level"] in html


def test_an_edited_record_is_flagged_and_its_html_not_trusted(
    client: TestClient, asked: dict[str, str]
) -> None:
    answer_id = asked["How does brimadol work?"]
    with client.app.state.audit.engine.begin() as conn:
        conn.execute(
            text("UPDATE records SET html = :h WHERE answer_id = :a AND kind = 'answer'"),
            {"h": "<p>edited</p><img src=x>", "a": answer_id},
        )
    login(client)
    html = client.get(f"/audit/answers/{answer_id}").text
    assert "no longer matches its hash" in html and "<img src=x>" not in html


def test_script_in_a_question_renders_as_text(client: TestClient, asked: dict[str, str]) -> None:
    login(client)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages = [
        client.get("/audit"),
        client.get(f"/audit/answers/{asked[SCRIPT]}"),
        client.get("/audit/gaps"),
        client.get("/audit?q=" + "<script>"),
    ]
    for r in pages:
        assert r.status_code == 200
        assert escaped in r.text and "<script" not in r.text, r.url
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert r.headers["cache-control"] == "no-store"


# -- Conversations, reviewing in order, comments ------------------------------------------


def _say(client: TestClient, message: str, session_id: str) -> str:
    r = client.post("/api/chat", json={"message": message, "session_id": session_id})
    assert r.status_code == 200, r.text
    return r.json()["answer_id"]


def _hrefs(html: str) -> dict[str, str]:
    """Link text (tags and spacing dropped) -> href, of every link on a page."""
    found = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', html, re.S)
    return {" ".join(re.sub(r"<[^>]+>", "", t).split()): h.replace("&amp;", "&") for h, t in found}


def test_the_detail_shows_its_conversation_and_the_list_filters_by_session(
    client: TestClient,
) -> None:
    turns = [
        _say(client, m, "conv-1")
        for m in ("How does brimadol work?", "and what is its evidence level?", "thanks!")
    ]
    other = _say(client, "How does brimadol work?", "conv-2")
    session = pseudonym("conv-1")
    login(client)
    html = client.get(f"/audit/answers/{turns[1]}").text
    assert "Turn 2 of 3 in this session." in html
    conversation = html[html.index('<ol class="turns"') : html.index('id="h-passages"')]
    assert _ids(conversation) == [turns[0], turns[2]] and other not in conversation
    current = re.search(
        r'<li class="turn turn--current" aria-current="true">(.*?)</li>', html, re.S
    )
    assert current and "and what is its evidence level?" in current.group(1)
    links = _hrefs(html)
    assert links["‹ Previous turn"] == f"/audit/answers/{turns[0]}"
    assert links["Next turn ›"] == f"/audit/answers/{turns[2]}"
    assert links["List its 3 answers"] == f"/audit?session={session}"
    first = client.get(f"/audit/answers/{turns[0]}").text
    assert "Turn 1 of 3" in first and "First turn" in first and "‹ Previous turn" not in first
    alone = client.get(f"/audit/answers/{other}").text
    assert "This is the only question of its session." in alone

    listed = client.get(f"/audit?session={session}")
    assert listed.status_code == 200 and _ids(listed.text) == list(reversed(turns))
    assert f'name="session" value="{session}"' in listed.text
    export = client.get(f"/audit/export.csv?session={session}")
    assert [row["session"] for row in csv.DictReader(io.StringIO(export.text))] == [session] * 3
    for bad in (
        "conv-1",
        session.upper(),
        session + "0",
        "x" * 500,
        f"{session}&session={session}",
    ):
        for path in ("/audit", f"/audit/answers/{turns[1]}", "/audit/export.csv"):
            r = client.get(f"{path}?session={bad}")
            assert r.status_code == 422 and "session" in r.text, (path, bad)


def test_next_previous_and_save_and_next_unreviewed_follow_the_list(
    client: TestClient, asked: dict[str, str]
) -> None:
    ids = list(asked.values())  # oldest first; the list shows them newest first
    log = client.app.state.audit
    log.review(ids[4], "correct", None, actor="bo")
    login(client)
    links = _hrefs(client.get(f"/audit/answers/{ids[5]}").text)
    assert links["‹ Previous (newer)"] == f"/audit/answers/{ids[6]}"
    assert links["Next (older) ›"] == f"/audit/answers/{ids[4]}"
    assert links["Next unreviewed ›"] == f"/audit/answers/{ids[3]}"  # ids[4] is reviewed
    newest = client.get(f"/audit/answers/{ids[6]}").text
    assert "No newer answer" in newest and "‹ Previous" not in newest
    # Opened from a filtered list, the links stay in it (and so do its rows' links).
    not_found = [i for i in reversed(ids) if log.answer(i)["status"] == "not_found"]
    assert len(not_found) >= 3
    listed = client.get("/audit?status=not_found").text
    assert f'href="/audit/answers/{not_found[0]}?status=not_found"' in listed
    page = client.get(f"/audit/answers/{not_found[1]}?status=not_found").text
    links = _hrefs(page)
    assert links["‹ Previous (newer)"] == f"/audit/answers/{not_found[0]}?status=not_found"
    assert links["Next (older) ›"] == f"/audit/answers/{not_found[2]}?status=not_found"
    assert links["Answers"] == "/audit?status=not_found"
    # The review controls come before the passages and the hashes.
    assert page.index('class="review-form"') < page.index('id="h-passages"')
    assert page.index('class="review-form"') < page.index("Record hash")

    # "Save & next unreviewed" appends the review, then opens the next one not reviewed.
    action = re.search(r'<form method="post" action="([^"]+)" class="review-form">', page)
    assert action and action.group(1).replace("&amp;", "&").endswith("/review?status=not_found")
    url = action.group(1).replace("&amp;", "&")
    data = {"label": "correct", "then": "next", "csrf": _csrf(page)}
    r = client.post(url, data=data, headers=OWN, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == (
        f"/audit/answers/{not_found[2]}?status=not_found&saved={not_found[1]}"
    )
    shown = client.get(r.headers["location"]).text
    assert "was added. This is the next unreviewed answer." in shown
    assert [e["answer_id"] for e in events(client, "review")] == [ids[4], not_found[1]]
    # The queue wraps to the top of the list; when every answer is reviewed, it says so.
    for answer_id in not_found:
        if answer_id != not_found[0]:
            log.review(answer_id, "correct", None, actor="bo")
    last = f"/audit/answers/{not_found[-1]}"
    r = client.post(f"{last}/review?status=not_found", data=data, headers=OWN)
    assert r.status_code == 200 and str(r.url).split("?")[0].endswith(not_found[0])
    r = client.post(
        f"/audit/answers/{not_found[0]}/review?status=not_found",
        data=data,
        headers=OWN,
        follow_redirects=False,
    )
    assert r.headers["location"] == (
        f"/audit/answers/{not_found[0]}?status=not_found&reviewed=1&left=0#reviews"
    )
    assert "No unreviewed answers are left in this list." in client.get(r.headers["location"]).text
    bad = client.post(f"{last}/review?status=fine", data=data, headers=OWN)
    assert bad.status_code == 422
    assert client.get(f"{last}?status=fine").status_code == 422
    assert client.get(f"{last}?review=none&review=any").status_code == 422
    assert log.verify().ok


def test_comments_in_the_list_its_filter_and_the_csv(
    client: TestClient, asked: dict[str, str]
) -> None:
    log = client.app.state.audit
    commented, voted = asked["turmeric?"], asked["zelnoprine"]
    log.feedback(commented, False, "=cmd| not what I asked <b>é</b>")
    log.feedback(commented, True, 'Then "comment":"" it helped')
    log.feedback(voted, True, None)
    login(client)
    listed = client.get("/audit").text
    cell = re.search(rf'{commented}".*?<td class="comment-cell">(.*?)</td>', listed, re.S).group(1)
    assert "=cmd| not what I asked &lt;b&gt;é&lt;/b&gt;" in cell and "it helped" in cell
    assert set(_ids(client.get("/audit?comment=yes").text)) == {commented}
    assert set(_ids(client.get("/audit?comment=no").text)) == set(asked.values()) - {commented}
    assert set(_ids(client.get("/audit?comment=yes&feedback=helpful").text)) == {commented}
    assert client.get("/audit?comment=maybe").status_code == 422
    assert client.get("/audit?comment=yes&comment=no").status_code == 422

    r = client.get("/audit/export.csv?comment=yes")
    assert r.content.startswith(b"\xef\xbb\xbfcreated_at,")  # a BOM: Excel reads UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["answer_id"] for row in rows] == [commented]
    assert rows[0]["comment"] == '\'=cmd| not what I asked <b>é</b>\nThen "comment":"" it helped'
    assert rows[0]["session"] == log.answer(commented)["session"]


def test_the_redaction_note_shows_only_when_something_was_removed(client: TestClient) -> None:
    plain = ask(client, "How does brimadol work?")
    private = ask(client, "I am jane@example.org, call 555-201-4567: how does brimadol work?")
    login(client)
    note = "Stored with redaction on"
    assert note not in client.get(f"/audit/answers/{plain}").text
    html = client.get(f"/audit/answers/{private}").text
    assert f"{note}: [email], [phone] stand where identifiers were removed" in html


def test_a_failed_login_keeps_the_deep_link_and_focuses_the_error(client: TestClient) -> None:
    deep = "/audit/answers/abc?status=not_found"
    form = client.get("/audit/login", params={"next": deep})
    data = {"name": "ana", "password": "wrong password!!", "next": deep}
    failed = client.post("/audit/login", data=data | {"csrf": _csrf(form.text)}, headers=OWN)
    assert failed.status_code == 401
    assert 'name="next" value="/audit/answers/abc?status=not_found"' in failed.text
    assert re.search(r'<p [^>]*id="login-error" tabindex="-1" autofocus>', failed.text)
    data["password"] = PASSWORD
    r = client.post(
        "/audit/login",
        data=data | {"csrf": _csrf(failed.text)},
        headers=OWN,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == deep


def test_date_filters_are_typed_as_iso_days(client: TestClient) -> None:
    login(client)
    for path in ("/audit?since=2025-01-31", "/audit/gaps", "/audit/stats"):
        html = client.get(path).text
        assert 'type="date"' not in html, path  # a picker shows the browser's locale
        since = re.search(r'<input type="text" id="since" name="since" value="([^"]*)"', html)
        assert since and re.fullmatch(r"\d{4}-\d\d-\d\d", since.group(1)), path
        label = '<label for="since">From <span class="label-hint">UTC day, yyyy-mm-dd</span>'
        assert label in html, path
    assert client.get("/audit?since=01/31/2025").status_code == 422


# -- Gaps and stats ----------------------------------------------------------------------


def test_content_gaps_group_unanswered_questions(client: TestClient, asked: dict[str, str]) -> None:
    ask(client, "thanks!")  # a greeting is not a gap
    # No question clarifies over this corpus (one page per compound): one is logged.
    _record(client.app.state.audit, "which one is it for?", Status.CLARIFY)
    login(client)
    r = client.get("/audit/gaps")
    assert r.status_code == 200
    rows = re.findall(r"<tr>\s*<td class=\"question-cell\">.*?</tr>", r.text, re.S)
    turmeric = next(row for row in rows if ">turmeric</a>" in row)
    assert '<td class="num">2</td>' in turmeric  # "turmeric?" and "Turmeric"
    assert any("which one is it for" in row and "clarify" in row for row in rows), rows
    assert not any("brimadol or zelnoprine" in row for row in rows)  # compared: answered
    assert not any("thanks" in row for row in rows)
    assert "Names we have no assessment for" in r.text
    assert client.get("/audit/gaps?since=2025-02-01&until=2025-01-01").status_code == 422
    assert client.get("/audit/gaps?until=2025-02-01&until=2025-01-01").status_code == 422


def test_stats_chart_and_table(client: TestClient, asked: dict[str, str]) -> None:
    client.app.state.audit.feedback(asked["turmeric?"], True, None)
    client.app.state.audit.feedback(asked["zelnoprine"], False, None)
    login(client)
    r = client.get("/audit/stats")
    assert r.status_code == 200
    html = r.text
    assert '<svg class="chart-svg" role="img"' in html and "style=" not in html
    assert html.count('<tr>\n      <th scope="row">') == 30  # the last 30 days
    assert f"{len(asked)} replies" in html and "50% of 2 feedback votes said helpful" in html
    assert 'class="bar bar--not_found"' in html and 'class="ratio-dot"' in html
    assert client.get("/audit/stats?since=2020-01-01&until=2025-01-01").status_code == 422
    days = [(datetime.now(UTC).date() - timedelta(days=n)).isoformat() for n in (3, 2)]
    assert client.get(f"/audit/stats?since={days[0]}").status_code == 200
    assert client.get(f"/audit/stats?since={days[0]}&since={days[1]}").status_code == 422


# -- Exports -----------------------------------------------------------------------------


def test_exports_contain_the_filtered_rows(client: TestClient, asked: dict[str, str]) -> None:
    login(client)
    r = client.get("/audit/export.csv?status=not_found")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="evidence-audit-')
    rows = list(csv.DictReader(io.StringIO(r.text)))
    expected = [i for q, i in asked.items() if q not in ("How does brimadol work?", "zelnoprine")]
    expected.remove(asked["brimadol or zelnoprine for testcase syndrome"])
    assert sorted(row["answer_id"] for row in rows) == sorted(expected)
    assert {row["status"] for row in rows} == {"not_found"}
    formula = next(row for row in rows if "HYPERLINK" in row["question"])
    assert formula["question"].startswith("'=")  # not run as a formula by a spreadsheet
    r = client.get("/audit/export.jsonl?channel=widget")
    assert r.headers["content-type"].startswith("application/x-ndjson")
    items = [json.loads(line) for line in r.text.splitlines()]
    assert [i["answer_id"] for i in items] == [asked["zelnoprine"]]
    assert items[0]["citations"][0]["compound"].startswith("Zelnoprine")
    assert client.get("/audit/export.csv?since=never").status_code == 422
    twice = client.get("/audit/export.jsonl?channel=widget&channel=page")
    assert twice.status_code == 422 and "channel: given more than once" in twice.text


def test_views_and_exports_are_logged_with_the_staff_name(
    client: TestClient, asked: dict[str, str]
) -> None:
    login(client)
    answer_id = asked["zelnoprine"]
    client.get("/audit?status=answered&q=zelno")
    client.get(f"/audit/answers/{answer_id}")
    client.get("/audit/gaps")
    client.get("/audit/stats")
    client.get("/audit/export.csv?channel=widget")
    client.get("/audit/export.jsonl")
    logged = events(client, "view", "export")
    assert {e["actor"] for e in logged} == {"ana"}
    assert [(e["kind"], e["payload"].get("what") or e["payload"]["format"]) for e in logged] == [
        ("view", "answers"),
        ("view", "answer"),
        ("view", "gaps"),
        ("view", "stats"),
        ("export", "csv"),
        ("export", "jsonl"),
    ]
    assert logged[0]["payload"]["filters"] == {"status": "answered", "q": "zelno"}
    assert logged[1]["answer_id"] == answer_id
    assert logged[4]["payload"]["filters"] == {"channel": "widget"}
    assert client.app.state.audit.verify().ok
    # The detail page lists earlier staff views of the answer.
    assert "1 earlier view" in client.get(f"/audit/answers/{answer_id}").text


# -- The queries behind the pages, on SQLite and PostgreSQL ------------------------------


@pytest.fixture
def log(audit_log: AuditLog) -> AuditLog:
    return audit_log


def _record(log: AuditLog, question: str, status: Status, compound: str | None = None) -> str:
    citations = ()
    if compound:
        citations = (
            Citation(
                page_id=f"p-{compound.lower()}",
                title=f"{compound} for Testcase: Evidence Level Assessment",
                compound=compound,
                condition="Testcase",
                evidence_level="Level 4",
                section="Mechanistic Evidence",
                url=None,
                passage="text",
                score=0.7,
                passage_id=f"x-{compound.lower()}",
            ),
        )
    reply = Reply(
        status=status,
        answer="a",
        html="<p>a</p>",
        evidence_level="Level 4" if compound else None,
        disclaimer="Medical Disclaimer: d",
        citations=citations,
        suggestions=(),
        session_id="s",
        answer_id=uuid.uuid4().hex,
        template="answered_faq" if compound else "not_found",
        trace=Trace(entities={"unknown_compounds": ["Turmeric"] if "turmeric" in question else []}),
    )
    log.record(reply, question, "api", None, "digest", "model")
    return reply.answer_id


def test_search_ui_gaps_and_daily_on_each_database(log: AuditLog) -> None:
    a = _record(log, "how does zelnoprine work", Status.ANSWERED, "Zelnoprine")
    b = _record(log, "brimadol 50% off_label", Status.ANSWERED, "Brimadol")
    c = _record(log, "Turmeric?", Status.NOT_FOUND)
    d = _record(log, "turmeric", Status.NOT_FOUND)
    log.feedback(a, True, None)
    log.feedback(c, False, None)
    assert log.review(b, "unsafe", "call 555-123-4567", actor="ana")
    assert log.review(b, "correct", None, actor="bo")
    assert log.review("unknown", "correct", None, actor="ana") is None
    with pytest.raises(ValueError):
        log.review(a, "great", None, actor="ana")

    def ids(**filters: object) -> list[str]:
        return [i["answer_id"] for i in log.search_ui(**filters)[0]]

    assert ids() == [d, c, b, a]
    assert ids(assessment="zelno") == [a] and ids(assessment="testcase") == [b, a]
    assert ids(assessment="p-brimadol") == [b] and ids(assessment="p_brimadol") == []
    assert ids(q="50%") == [b] and ids(q="f_l") == [b] and ids(q="5%0") == []
    assert ids(feedback="helpful") == [a] and ids(feedback="not_helpful") == [c]
    assert ids(feedback="none") == [d, b]
    assert ids(review="correct") == [b] and ids(review="unsafe") == []  # the latest counts
    assert ids(review="none") == [d, c, a]
    page, following = log.search_ui(assessment="testcase", limit=1)
    assert [i["answer_id"] for i in page] == [b] and following is not None
    assert ids(assessment="testcase", cursor=following, limit=1) == [a]
    item = log.search_ui(review="any")[0][0]
    assert item["review"] == "correct" and [r["actor"] for r in item["reviews"]] == ["ana", "bo"]
    assert item["reviews"][0]["note"] == "call [phone]"  # notes are redacted like comments

    [gap] = log.gaps()
    assert gap["question"] == "turmeric" and gap["count"] == 2 and gap["answer_id"] == d
    assert gap["unknown"] == ["turmeric"] and gap["statuses"] == {"not_found": 2}

    today = log.answer(a)["created_at"][:10]
    days = log.daily(f"{today}T00:00:00.000000Z", f"{today}T23:59:59.999999Z")
    assert days == [
        {
            "day": today,
            "total": 4,
            "statuses": {"answered": 2, "not_found": 2},
            "helpful": 1,
            "not_helpful": 1,
            "helpful_ratio": 0.5,
        }
    ]
    assert log.verify().ok


def test_sessions_comments_and_neighbours_on_each_database(log: AuditLog) -> None:
    def turn(question: str, session_id: str) -> str:
        reply = Reply(
            status=Status.NOT_FOUND,
            answer="a",
            html="<p>a</p>",
            evidence_level=None,
            disclaimer="Medical Disclaimer: d",
            citations=(),
            suggestions=(),
            session_id=session_id,
            answer_id=uuid.uuid4().hex,
            template="not_found",
            trace=Trace(),
        )
        log.record(reply, question, "api", None, "digest", "model")
        return reply.answer_id

    a1, b1, a2, a3 = turn("one", "a"), turn("other", "b"), turn("two", "a"), turn("three", "a")
    log.feedback(a1, False, 'it said "comment":"" and 50%_off')
    log.feedback(a2, True, "")
    log.feedback(a3, True, None)

    def ids(**filters: object) -> list[str]:
        return [i["answer_id"] for i in log.search_ui(**filters)[0]]

    assert ids(session=pseudonym("a")) == [a3, a2, a1] and ids(session=pseudonym("c")) == []
    assert ids(comment="yes") == [a1]  # an empty or missing comment is none
    assert ids(comment="no") == [a3, a2, b1]
    with pytest.raises(ValueError):
        AuditFilter(comment="maybe")

    seq = {i: log.answer(i)["seq"] for i in (a1, b1, a2, a3)}
    everything, mine = AuditFilter(), AuditFilter(session=pseudonym("a"))
    assert log.neighbour(everything, seq[a2], older=True) == b1
    assert log.neighbour(mine, seq[a2], older=True) == a1
    assert log.neighbour(mine, seq[a2], older=False) == a3
    assert log.neighbour(mine, seq[a3], older=False) is None
    assert log.neighbour(mine, seq[a1], older=True) is None
    assert log.neighbour(mine, seq[a1], older=True, wrap=True) == a3

    talk = log.conversation(pseudonym("a"), seq[a2])
    assert [t["answer_id"] for t in talk["turns"]] == [a1, a2, a3]
    assert [t["number"] for t in talk["turns"]] == [1, 2, 3]
    assert talk["count"] == 3 and talk["skipped"] == 0
    short = log.conversation(pseudonym("a"), seq[a3], around=1)
    assert [(t["answer_id"], t["number"]) for t in short["turns"]] == [(a2, 2), (a3, 3)]
    assert short["skipped"] == 1
    assert log.verify().ok
