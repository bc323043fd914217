"""A real `bot serve` attacked over loopback: oversized heads and bodies."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import bot_env, serve, stop

from bot.embedding import FakeEmbedder
from bot.index import build
from bot.pages import corpus_hash, load_corpus
from bot.service.server import MAX_HEADER_BYTES

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    tmp = tmp_path_factory.mktemp("server")
    index = tmp / "index"
    pages = load_corpus(FIXTURE_CORPUS).assessments
    build(pages, FakeEmbedder(), index, corpus_hash(FIXTURE_CORPUS))
    env = bot_env(FIXTURE_CORPUS, index) | {"BOT_DATABASE_URL": f"sqlite:///{tmp / 'a.sqlite3'}"}
    log = tmp / "server.log"
    proc, url = serve(env, log)
    host, port = url.removeprefix("http://").split(":")
    yield host, int(port), log
    stop(proc)


def _exchange(address: tuple[str, int], head: bytes, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send a head, then chunks until the server answers or hangs up; returns the start of
    the answer and how many body bytes were sent. The answer is read while sending (a
    server that closes with our bytes unread may reset the connection after answering)."""
    sent = 0
    answer = bytearray()
    with socket.create_connection(address, timeout=10) as s:

        def read() -> None:
            with contextlib.suppress(OSError):
                while len(answer) < 12 and (data := s.recv(200)):
                    answer.extend(data)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        with contextlib.suppress(OSError):
            s.sendall(head)
            for chunk in chunks:
                if len(answer) >= 12:
                    break
                s.sendall(chunk)
                sent += len(chunk)
        reader.join(timeout=10)
    return bytes(answer), sent


def _megabytes(n: int, size: int = 1 << 20) -> Iterator[bytes]:
    for _ in range(n):
        yield b"%x\r\n" % size + b"x" * size + b"\r\n"


def test_oversized_request_headers_get_431_and_the_connection_closes(
    server: tuple[str, int, Path],
) -> None:
    host, port, _ = server
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    filler = (b"X-Filler: " + b"a" * 8000 + b"\r\n" for _ in range(40_000))  # ~300 MB
    answer, _ = _exchange((host, port), head, filler)
    assert answer.startswith(b"HTTP/1.1 431"), answer
    # A head just under the cap is still served.
    fits = b"X-Ok: " + b"b" * (MAX_HEADER_BYTES - 200) + b"\r\n\r\n"
    answer, _ = _exchange((host, port), head + fits, iter(()))
    assert answer.startswith(b"HTTP/1.1 200"), answer


def test_a_chunked_body_is_cut_off_at_the_limit(server: tuple[str, int, Path]) -> None:
    host, port, _ = server
    head = (
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer, sent = _exchange((host, port), head, _megabytes(200))
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 50 << 20  # refused long before the 200 MB were all sent


def test_a_short_head_read_together_with_a_large_body_is_not_taken_for_large_headers(
    server: tuple[str, int, Path],
) -> None:
    """The head and the first megabyte of body in one write (as the kernel may deliver
    them in one read): the body is refused for its size (413), never as headers (431)."""
    host, port, _ = server
    head = (
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    body = _megabytes(200)
    answer, sent = _exchange((host, port), head + next(body), body)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert sent < 50 << 20


@pytest.fixture(scope="module")
def limited_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("limited")
    index = tmp / "index"
    pages = load_corpus(FIXTURE_CORPUS).assessments
    build(pages, FakeEmbedder(), index, corpus_hash(FIXTURE_CORPUS))
    return bot_env(FIXTURE_CORPUS, index) | {
        "BOT_DATABASE_URL": f"sqlite:///{tmp / 'a.sqlite3'}",
        "BOT_RATE_LIMIT": "2/minute",
    }


def _codes(url: str, forwarded: list[str | None]) -> list[int]:
    codes = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for hop in forwarded:
            headers = {"X-Forwarded-For": hop} if hop else {}
            r = client.post("/api/chat", json={"message": "quorvastin?"}, headers=headers)
            codes.append(r.status_code)
    return codes


def test_x_forwarded_for_from_an_untrusted_peer_names_no_client(
    limited_env: dict[str, str], tmp_path: Path
) -> None:
    proc, url = serve(limited_env, tmp_path / "server.log")  # BOT_TRUSTED_PROXIES unset
    try:
        # uvicorn would trust 127.0.0.1's header and make each forged address a new client.
        codes = _codes(url, [None, None, None, "203.0.113.1", "203.0.113.2", "198.51.100.9"])
        assert codes == [200, 200, 429, 429, 429, 429]
    finally:
        stop(proc)


def test_trusted_proxies_are_read_once_and_garbage_is_no_new_client(
    limited_env: dict[str, str], tmp_path: Path
) -> None:
    env = limited_env | {"BOT_TRUSTED_PROXIES": "127.0.0.1"}
    proc, url = serve(env, tmp_path / "server.log")
    try:
        # Through our proxy: the forwarded client is counted, per client.
        assert _codes(url, ["198.51.100.7"] * 3) == [200, 200, 429]
        # A client-supplied hop left of the real one changes nothing.
        assert _codes(url, ["10.1.1.1, 198.51.100.7"]) == [429]
        # Garbage is not a client: it counts as the proxy, whatever the garbage says.
        assert _codes(url, ["not-an-ip", "also garbage", "x" * 40]) == [200, 200, 429]
    finally:
        stop(proc)


def _current_build(index: Path) -> Path:
    return index / "builds" / (index / "CURRENT").read_text().strip()


@pytest.mark.parametrize("damage", ["truncate", "overwrite"])
def test_index_files_damaged_while_serving_give_503_not_a_crash(
    limited_env: dict[str, str], tmp_path: Path, damage: str
) -> None:
    index = tmp_path / "index"
    build(
        load_corpus(FIXTURE_CORPUS).assessments, FakeEmbedder(), index, corpus_hash(FIXTURE_CORPUS)
    )
    env = limited_env | {
        "BOT_INDEX": str(index),
        "BOT_RATE_LIMIT": "off",
        "BOT_RELOAD_INTERVAL": "0",
    }
    log = tmp_path / "server.log"
    proc, url = serve(env, log)
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            assert (
                client.post("/api/chat", json={"message": "How does brimadol work?"}).status_code
                == 200
            )
            served = _current_build(index)
            for name in ("passages.jsonl", "vectors.faiss", "bm25.indices.npy", "bm25.indptr.npy"):
                path = served / name
                if damage == "truncate":
                    os.truncate(path, path.stat().st_size // 3)
                else:
                    data = bytearray(path.read_bytes())
                    data[len(data) // 2 : len(data) // 2 + 40] = b"\xff" * 40
                    path.write_bytes(bytes(data))
            r = client.post("/api/chat", json={"message": "How does quorvastin work?"})
            assert r.status_code == 503 and "cannot answer right now" in r.json()["detail"]
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "unavailable"
            # A crisis needs no index: still answered.
            crisis = client.post("/api/chat", json={"message": "I want to kill myself tonight"})
            assert crisis.status_code == 200 and crisis.json()["status"] == "urgent"
        assert proc.poll() is None, f"the server died (exit {proc.returncode})"
    finally:
        stop(proc)
    text = log.read_text()
    assert "index is damaged" in text or "cannot answer" in text
    assert "Traceback" not in text
