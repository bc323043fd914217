"""The chat page and the widget share one chat core (static/chat-core.js and
chat-core.css) instead of copies of each other, and /widget.js is served with the core
inside it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.assistant import Assistant
from bot.resources import WEB
from bot.service import create_app, routes
from bot.settings import Settings

STATIC = WEB / "static"
# Each client's own file, and the core both use.
CLIENTS = {
    "js": ("chat.js", "widget.js", "chat-core.js"),
    "css": ("chat.css", "widget.css", "chat-core.css"),
}
RUN = 6  # this many identical lines in a row are a copy, not a coincidence


@pytest.fixture
def client(settings: Settings, assistant: Assistant) -> TestClient:
    return TestClient(create_app(settings, assistant))


def _lines(path: Path) -> list[str]:
    """Non-blank lines, stripped: indentation does not hide a copy."""
    text = path.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def shared_runs(a: list[str], b: list[str], at_least: int = RUN) -> list[tuple[int, int, int]]:
    """Every maximal run of at least `at_least` identical lines found in both lists, as
    (start in a, start in b, length)."""
    where: dict[str, list[int]] = {}
    for j, line in enumerate(b):
        where.setdefault(line, []).append(j)
    runs = []
    ending: dict[int, int] = {}  # j -> length of the common run ending at a[i - 1], b[j]
    for i, line in enumerate(a):
        now = {j: ending.get(j - 1, 0) + 1 for j in where.get(line, ())}
        for j, length in ending.items():
            if j + 1 not in now and length >= at_least:  # the run ended at a[i - 1]
                runs.append((i - length, j - length + 1, length))
        ending = now
    runs += [(len(a) - n, j - n + 1, n) for j, n in ending.items() if n >= at_least]
    return sorted(runs)


def test_shared_runs_finds_copies_wherever_they_are() -> None:
    block = [f"line {k}" for k in range(7)]
    a = ["a", *block, "b", *block[:5]]
    b = [*block[:5], "c", "d", *block, "e"]
    assert shared_runs(a, b) == [(1, 7, 7)]
    assert shared_runs(a, b, at_least=5) == [(1, 0, 5), (1, 7, 7), (9, 0, 5), (9, 7, 5)]
    assert shared_runs(block, block[::-1]) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [pair for files in CLIENTS.values() for pair in itertools.combinations(files, 2)],
)
def test_the_chat_clients_share_no_copied_lines(first: str, second: str) -> None:
    a, b = _lines(STATIC / first), _lines(STATIC / second)
    copies = [
        f"{n} lines from {first}:{i + 1} / {second}:{j + 1}, starting {a[i]!r}"
        for i, j, n in shared_runs(a, b)
    ]
    assert not copies, "written twice (belongs in the chat core):\n" + "\n".join(copies)


def test_the_widget_is_served_with_the_chat_core_inside(client: TestClient) -> None:
    served = client.get("/widget.js").text
    core = (STATIC / "chat-core.js").read_text(encoding="utf-8")
    widget = (STATIC / "widget.js").read_text(encoding="utf-8")
    before, after = widget.split(routes.CHAT_CORE)
    assert routes.CHAT_CORE not in served and core in served
    # Inside the widget's own function (no global on the host page), in the token's place.
    start = served.index(core)
    assert served[:start].endswith(before.split("/*BOT_CONFIG*/{}")[1])
    assert served[start + len(core) :] == after
    assert served.index("(function () {") < start


def test_the_page_loads_the_chat_core_before_its_own_script(client: TestClient) -> None:
    for path in ("/", "/embed"):
        html = client.get(path).text
        assert html.index("/static/chat-core.js") < html.index("/static/chat.js"), path
        assert client.get("/static/chat-core.js").status_code == 200
    for css in ("chat.css", "widget.css"):
        assert '@import url("chat-core.css");' in (STATIC / css).read_text(encoding="utf-8")
    assert client.get("/static/chat-core.css").status_code == 200
