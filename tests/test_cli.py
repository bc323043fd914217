"""The `bot` command through click's CliRunner, with the fake embedder."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import bot.pages.corpus
from bot.cli import main
from bot.index import CURRENT, load, read_manifest
from bot.service.server import WORKER_SETTINGS, worker_settings
from bot.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, corpus_dir: Path, tmp_path: Path):
    monkeypatch.setenv("BOT_EMBEDDER", "fake")
    monkeypatch.setenv("BOT_DATABASE_URL", f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    runner = CliRunner()

    def invoke(*args: str, **env: str):
        base = ["--corpus", str(corpus_dir), "--index", str(tmp_path / "index")]
        cmd, *rest = args
        return runner.invoke(main, [cmd, *base, *rest], env=env or None, catch_exceptions=False)

    return invoke


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("build", "serve", "ask"):
        assert command in result.output
    ask_help = CliRunner().invoke(main, ["ask", "--help"]).output
    assert "--json" in ask_help and "--session" in ask_help and "BOT_CORPUS" in ask_help


def test_build_prints_a_summary(run, tmp_path: Path) -> None:
    result = run("build")
    assert result.exit_code == 0, result.output
    assert "Indexed 3 page(s) (0 skipped) into" in result.output
    index = load(tmp_path / "index")
    assert index.manifest.assessments == 3 and index.manifest.model == "fake-hashing-256"


def test_build_skips_a_bad_page_with_a_warning_and_strict_fails(
    run, corpus_dir: Path, tmp_path: Path
) -> None:
    (corpus_dir / "no-title.txt").write_text((FIXTURES / "bad" / "no-title.txt").read_text())
    result = run("build")
    assert result.exit_code == 0
    assert "warning: skipped no-title.txt: no title" in result.output
    assert "(1 skipped)" in result.output
    before = (tmp_path / "index" / CURRENT).read_text()
    strict = run("build", "--strict")
    assert strict.exit_code == 1
    assert "--strict: 1 page(s) could not be used; nothing was built" in strict.output
    assert (tmp_path / "index" / CURRENT).read_text() == before


def test_build_refuses_an_empty_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_EMBEDDER", "fake")
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        main, ["build", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "i")]
    )
    assert result.exit_code == 1 and "no usable assessment pages" in result.output
    missing = CliRunner().invoke(main, ["build", "--corpus", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_ask_json_prints_exactly_the_http_object(run, reply_keys: frozenset[str]) -> None:
    result = run("ask", "--json", "What is the evidence level for quorvastin in chronic fakeitis?")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == reply_keys
    assert data["status"] == "answered"
    assert data["evidence_level"] == "Level 4: Cohort fixture data; no RCTs"
    assert data["disclaimer"] in data["answer"]


def test_ask_text_and_session(run) -> None:
    result = run("ask", "--session", "s-1", "--json", "How does brimadol work?")
    assert json.loads(result.stdout)["session_id"] == "s-1"
    text = run("ask", "How does brimadol work?")
    assert text.stdout.startswith("[answered]\n") and "Medical Disclaimer:" in text.stdout


def test_ask_rebuilds_a_stale_index(run, corpus_dir: Path, tmp_path: Path) -> None:
    run("build")
    before = read_manifest(tmp_path / "index").corpus_hash
    (corpus_dir / "quorvastin--chronic-fakeitis.md").unlink()
    result = run("ask", "--json", "How does quorvastin work?")
    assert "out of date" in result.stderr
    assert read_manifest(tmp_path / "index").corpus_hash != before
    assert json.loads(result.stdout)["status"] == "not_found"


def test_ask_rebuilds_an_index_written_by_an_older_version(run, tmp_path: Path) -> None:
    run("build")
    build_dir = tmp_path / "index" / "builds" / (tmp_path / "index" / CURRENT).read_text()
    manifest = json.loads((build_dir / "manifest.json").read_text())
    manifest["format_version"] -= 1
    (build_dir / "manifest.json").write_text(json.dumps(manifest))
    result = run("ask", "--json", "How does quorvastin work?")
    assert "out of date" in result.stderr
    assert read_manifest(tmp_path / "index").format_version == manifest["format_version"] + 1
    assert json.loads(result.stdout)["status"] == "answered"


def test_ask_refuses_a_corrupt_index(run, tmp_path: Path) -> None:
    run("build")
    build_dir = tmp_path / "index" / "builds" / (tmp_path / "index" / CURRENT).read_text()
    (build_dir / "vectors.faiss").write_bytes(b"half a file")
    result = run("ask", "How does brimadol work?")
    assert result.exit_code == 1
    assert "the index is unreadable" in result.output and "bot build" in result.output


def test_ask_rejects_an_empty_question(run) -> None:
    result = run("ask", "   ")
    assert result.exit_code == 2 and "1-1000 characters" in result.output


def test_options_fall_back_to_bot_variables(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_EMBEDDER", "fake")
    env = {"BOT_CORPUS": str(corpus_dir), "BOT_INDEX": str(tmp_path / "env-index")}
    result = CliRunner().invoke(main, ["build"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env-index" / CURRENT).exists()


def test_serve_builds_then_serves(run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served = {}

    def fake_run(app, host: str, port: int, **_: object) -> None:
        served.update(app=app, host=host, port=port)

    monkeypatch.setattr("uvicorn.run", fake_run)
    result = run("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 8123
    health = TestClient(served["app"]).get("/healthz")
    assert health.status_code == 200 and health.json()["assessments"] == 3


def test_serve_refuses_a_corrupt_index(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("build")
    (tmp_path / "index" / CURRENT).write_text("no-such-build")
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("must not serve"))
    result = run("serve")
    assert result.exit_code == 1 and "unreadable" in result.output


def _answer_id(run) -> str:
    return json.loads(run("ask", "--json", "How does brimadol work?").stdout)["answer_id"]


def test_ask_is_audited_and_the_chain_verifies(run, tmp_path: Path) -> None:
    answer_id = _answer_id(run)
    head = CliRunner().invoke(main, ["audit", "head"])
    assert head.exit_code == 0 and json.loads(head.stdout) == {"seq": 1, "hash": ANY_HASH}
    ok = CliRunner().invoke(main, ["audit", "verify", "--head", head.stdout])
    assert ok.exit_code == 0 and "OK: 1 records verified" in ok.stdout
    from bot.audit import AuditLog

    log = AuditLog.open(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    assert log.answer(answer_id)["channel"] == "cli"
    with log.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE records SET answer = 'tampered' WHERE seq = 1")
    broken = CliRunner().invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1 and "record 1 was edited" in broken.output


def test_verify_with_a_head_file_reports_truncation(run, tmp_path: Path) -> None:
    _answer_id(run)
    _answer_id(run)
    head_file = tmp_path / "head.json"
    head_file.write_text(CliRunner().invoke(main, ["audit", "head"]).stdout)
    from bot.audit import AuditLog

    log = AuditLog.open(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    with log.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM records WHERE seq = 2")
    result = CliRunner().invoke(main, ["audit", "verify", "--head", str(head_file)])
    assert result.exit_code == 1 and "truncated" in result.output
    bad = CliRunner().invoke(main, ["audit", "verify", "--head", "{nope"])
    assert bad.exit_code == 2 and "not a chain head" in bad.output


def test_purge_needs_confirmation_and_keeps_the_chain(run) -> None:
    _answer_id(run)
    refused = CliRunner().invoke(main, ["audit", "purge", "--older-than", "0"], input="n\n")
    assert refused.exit_code == 1
    done = CliRunner().invoke(main, ["audit", "purge", "--older-than", "0", "--yes"])
    assert done.exit_code == 0 and "Purged 1 record(s)." in done.stdout
    assert CliRunner().invoke(main, ["audit", "verify"]).exit_code == 0


def test_replay_reproduces_the_answer_and_shows_differences(run, tmp_path: Path) -> None:
    answer_id = _answer_id(run)
    same = CliRunner().invoke(
        main, ["audit", "replay", "--index", str(tmp_path / "index"), answer_id]
    )
    assert same.exit_code == 0, same.output
    assert "Same reply" in same.stdout
    from bot.audit import AuditLog

    log = AuditLog.open(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    with log.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE records SET status = 'clarify' WHERE seq = 1")
    differs = CliRunner().invoke(
        main, ["audit", "replay", "--index", str(tmp_path / "index"), answer_id]
    )
    assert differs.exit_code == 1 and "status differs" in differs.stdout
    missing = CliRunner().invoke(main, ["audit", "replay", "nope"])
    assert missing.exit_code == 1 and "no answer nope" in missing.output


def test_replay_gives_an_urgent_reply_the_contacts_of_its_request_s_locale(
    run, settings: Settings, tmp_path: Path
) -> None:
    from bot.assistant import Assistant
    from bot.service import create_app

    assert run("build").exit_code == 0
    client = TestClient(create_app(settings, Assistant.create(settings)))
    urgent = {"message": "I want to kill myself tonight", "locale": "en-GB"}
    reply = client.post("/api/chat", json=urgent).json()
    assert reply["status"] == "urgent" and "tel:116123" in reply["html"], reply["html"]
    from bot.audit import AuditLog

    log = AuditLog.open(settings.database_url)
    assert log.answer(reply["answer_id"])["trace"]["contacts_locale"] == "gb"
    plain = client.post("/api/chat", json={"message": urgent["message"]}).json()
    assert "contacts_locale" not in log.answer(plain["answer_id"])["trace"]
    for answer_id in (reply["answer_id"], plain["answer_id"]):
        same = CliRunner().invoke(
            main, ["audit", "replay", "--index", str(tmp_path / "index"), answer_id]
        )
        assert same.exit_code == 0 and "Same reply" in same.stdout, same.output


class _AnyHash(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and len(other) == 64

    __hash__ = str.__hash__


ANY_HASH = _AnyHash()


def test_a_rebuild_parses_only_the_pages_that_changed(
    run, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("build")
    parsed: list[str] = []
    real = bot.pages.corpus.parse_page

    def counting(path: Path, **kwargs: Any) -> Any:
        parsed.append(path.name)
        return real(path, **kwargs)

    monkeypatch.setattr(bot.pages.corpus, "parse_page", counting)
    page = corpus_dir / "quorvastin--chronic-fakeitis.md"
    page.write_text(page.read_text() + "\nA new closing line.\n")
    run("build")
    assert parsed == [page.name]
    # A cache that does not match its checksum is not trusted: everything is parsed.
    build_dir = tmp_path / "index" / "builds" / (tmp_path / "index" / CURRENT).read_text()
    (build_dir / "pages.json").write_text("{}")
    page.write_text(page.read_text() + "\nAnother line.\n")
    parsed.clear()
    run("build")
    assert sorted(parsed) == sorted(p.name for p in corpus_dir.iterdir())


def test_workers_share_one_rate_limit_key_without_bot_secret_key(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_WORKERS", "2")
    monkeypatch.setenv("BOT_SESSION_STORE", "redis")
    seen: list[str] = []

    def workers(*args: Any, **kwargs: Any) -> None:
        # What each worker process will read: the settings `serve` handed over.
        seen.extend(worker_settings().secret_key for _ in range(kwargs["workers"]))

    monkeypatch.setattr("uvicorn.run", workers)
    result = run("serve")
    assert result.exit_code == 0, result.output
    assert len(seen) == 2 and seen[0] and seen[0] == seen[1]


def test_serve_hands_workers_its_settings_without_rewriting_the_environment(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_WORKERS", "2")
    monkeypatch.setenv("BOT_SESSION_STORE", "redis")
    monkeypatch.setenv("BOT_PORT", "9000")
    before = dict(os.environ)
    while_serving: list[dict[str, str]] = []

    def workers(app: str, **kwargs: Any) -> None:
        assert app == "bot.service.app:worker_app" and kwargs["factory"]
        while_serving.append(dict(os.environ))  # what the spawned workers inherit

    monkeypatch.setattr("uvicorn.run", workers)
    result = run("serve", "--port", "8123")
    assert result.exit_code == 0, result.output
    # While the workers run, one variable more (their settings); after, none.
    inherited = while_serving[0]
    assert {k: v for k, v in inherited.items() if k != WORKER_SETTINGS} == before
    assert dict(os.environ) == before
    # A worker's settings: the command line won over BOT_PORT, though BOT_PORT is untouched.
    monkeypatch.setattr(os, "environ", inherited)
    settings = worker_settings()
    assert settings.port == 8123 and settings.index == tmp_path / "index"
    assert settings.workers == 2 and settings.embedder == "fake" and settings.secret_key


def test_an_unreadable_page_is_skipped_with_a_warning(
    run, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Permissions do not stop root (these tests' user): refuse the reads themselves.
    locked = corpus_dir / "locked.txt"
    locked.write_text((corpus_dir / "quorvastin--chronic-fakeitis.md").read_text())
    real_open = io.open

    def refusing(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", refusing)
    monkeypatch.setattr("io.open", refusing)
    result = run("build")
    assert result.exit_code == 0, result.output
    assert "warning: skipped locked.txt" in result.output and "cannot read" in result.output
