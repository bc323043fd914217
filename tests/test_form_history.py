"""Without JavaScript the chat page shows the whole conversation, not only the last
exchange: the form carries the earlier answers' ids, read back for the same session."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.service import create_app
from bot.settings import Settings


def _form(client: TestClient, message: str, session: str = "", history: str = "") -> str:
    page = client.post(
        "/chat", data={"message": message, "session_id": session, "history": history}
    )
    assert page.status_code == 200
    return page.text


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def test_the_no_js_page_shows_the_conversation_so_far(
    settings: Settings, assistant: Assistant
) -> None:
    client = TestClient(create_app(settings, assistant))
    questions = [
        "How does zelnoprine work?",
        "and the evidence level?",
        "How does quorvastin work?",
    ]
    session, history, page = "", "", ""
    for q in questions:
        page = _form(client, q, session, history)
        session, history = _hidden(page, "session_id"), _hidden(page, "history")
    shown = re.findall(
        r'<div class="question">\s*<span class="visually-hidden">You asked:</span>'
        r"\s*<p>([^<]*)</p>",
        page,
    )
    assert shown == questions
    assert len(history.split()) == 3
    assert page.count('<p class="disclaimer">') == 3
    # Suggestions belong to the latest answer only.
    assert page.count('class="suggestions"') == 1

    # Ids alone show nothing of a conversation: another session naming them gets its own.
    other = _form(client, "How does brimadol work?", "", history)
    assert other.count('<li class="exchange">') == 1
    assert "zelnoprine work?" not in other and "quorvastin work?" not in other
    # Junk in the field is dropped; the ids in it still count.
    junk = _form(client, "How does brimadol work?", session, "x' <script> ../.. " + history)
    assert "<script>" not in junk and "zelnoprine work?" in junk
    assert _hidden(junk, "history").split()[:3] == history.split()
