"""The chain: versioned hash formats (finding 13) and what verify can be fooled by
(finding 3): anchors need a chained purge record, plain verify says what it cannot tell,
and a keyed chain cannot be rewritten without its key."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from servers import pg_schema
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.answer import Renderer, Reply, Status
from bot.audit import FORMATS, GENESIS, AuditLog, Head, canonical
from bot.audit.schema import MIGRATIONS
from bot.cli import main
from bot.model import Trace


def _reply(n: int) -> Reply:
    return Renderer().render(
        "smalltalk",
        status=Status.NOT_FOUND,
        disclaimer="Medical Disclaimer: d",
        session_id=f"s{n}",
        answer_id=f"a{n}-{uuid.uuid4().hex[:6]}",
        covered=[],
        trace=Trace(latency_ms=1.0),
    )


def _fill(log: AuditLog, n: int) -> list[str]:
    ids = []
    for i in range(n):
        reply = _reply(i)
        log.record(reply, f"question {i}", "api", None, "digest", "model")
        ids.append(reply.answer_id)
    return ids


def _sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.sqlite3'}"
        return
    with pg_schema("chain") as found:
        yield found


# -- Finding 13: hash formats ----------------------------------------------------------


def _legacy_rows(engine: Engine, n: int) -> None:
    """Records as the bot wrote them before hash formats: SHA-256 over the 20 columns that
    revision 0001 made, on a database at revision 0002."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    prev = GENESIS
    for seq in range(1, n + 1):
        data = {"citations": [{"title": "Zelnoprine for X", "page_id": "p1"}], "trace": {}}
        kind = "feedback" if seq == n else "answer"
        if kind == "feedback":
            data = {"helpful": True, "comment": None}
        row = {f: None for f in FORMATS[1]} | {
            "seq": seq,
            "kind": kind,
            "answer_id": "legacy-1",
            "created_at": f"2024-01-0{seq}T00:00:00.000000Z",
            "question": f"old question {seq}",
            "status": "answered" if kind == "answer" else None,
            "latency_ms": 2.5,
            "data": canonical(data),
            "prev_hash": prev,
        }
        row["hash"] = prev = hashlib.sha256(canonical(row).encode()).hexdigest()
        with engine.begin() as conn:
            columns = ", ".join(row)
            conn.execute(
                text(f"INSERT INTO records ({columns}) VALUES ({', '.join(':' + k for k in row)})"),
                row,
            )


def test_records_written_before_hash_formats_verify_after_columns_were_added(url: str) -> None:
    engine = create_engine(url)
    _legacy_rows(engine, 3)
    engine.dispose()
    log = AuditLog.open(url)  # migrates: revision 0003 adds five columns to `records`
    assert log.verify().ok and log.verify().checked == 3
    _fill(log, 2)
    verdict = log.verify()
    assert verdict.ok and verdict.checked == 5
    with log.engine.connect() as conn:
        formats = [r[0] for r in conn.execute(text("SELECT hash_format FROM records ORDER BY seq"))]
    assert formats == [None, None, None, 2, 2]  # stored per record
    # The new filter columns were filled in for the old records, from their hashed data...
    assert log.search_ui(assessment="zelnoprine")[0][0]["answer_id"] == "legacy-1"
    assert log.search_ui(feedback="helpful")[0][0]["answer_id"] == "legacy-1"
    # ...and cannot be edited unnoticed, although format 1 hashes do not cover them.
    _sql(log.engine, "UPDATE records SET cited = 'something else' WHERE seq = 1")
    broken = log.verify()
    assert not broken.ok and broken.seq == 1 and "disagree with its data" in broken.problem
    log.engine.dispose()


def test_the_format_lists_are_frozen() -> None:
    # Changing a list would make every record of that format fail verify: add a format.
    assert (
        FORMATS[1]
        == (
            "seq kind answer_id created_at actor session channel origin question status answer "
            "html evidence_level template index_digest model disclaimer_hash latency_ms data "
            "prev_hash"
        ).split()
    )
    assert FORMATS[2] == [*FORMATS[1], "hash_format", "key_id", "helpful", "label", "cited"]


# -- Finding 3: anchors, heads and keys -------------------------------------------------


def test_an_anchor_must_be_justified_by_a_chained_purge_record(url: str) -> None:
    log = AuditLog.open(url)
    _fill(log, 6)
    head = log.head()
    # Wiped, with an anchor at the head's position: nothing left to contradict the head.
    _sql(log.engine, "DELETE FROM records")
    _sql(
        log.engine,
        "INSERT INTO chain_anchor (id, seq, hash, created_at) VALUES (1, :s, :h, 'x')",
        s=head.seq,
        h=head.hash,
    )
    for verdict in (log.verify(), log.verify(head)):
        assert not verdict.ok and "no chained purge record" in (verdict.problem or "")
    log.engine.dispose()


def test_deleting_the_oldest_records_behind_an_anchor_is_found(url: str) -> None:
    log = AuditLog.open(url)
    _fill(log, 6)
    with log.engine.connect() as conn:
        third = conn.execute(text("SELECT hash FROM records WHERE seq = 3")).scalar_one()
    _sql(log.engine, "DELETE FROM records WHERE seq <= 3")
    _sql(
        log.engine,
        "INSERT INTO chain_anchor (id, seq, hash, created_at) VALUES (1, 3, :h, 'x')",
        h=third,
    )
    verdict = log.verify()
    assert not verdict.ok and "no chained purge record" in (verdict.problem or "")
    log.engine.dispose()


def test_a_real_purge_keeps_verifying_with_and_without_the_old_head(url: str) -> None:
    log = AuditLog.open(url)
    _fill(log, 3)
    head = log.head()
    assert log.purge(timedelta(days=0)) == 3
    assert log.verify().ok and log.verify(head).ok
    _fill(log, 2)
    assert log.purge(timedelta(days=0)) == 3  # the first purge record and two answers
    assert log.verify().ok
    log.engine.dispose()


def test_plain_verify_says_what_it_cannot_tell(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    log = AuditLog.open(url)
    _fill(log, 3)
    # A full rewrite with recomputed hashes is indistinguishable without a head or a key...
    with log.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM records ORDER BY seq"))]
    prev = GENESIS
    for row in rows:
        row |= {"question": "rewritten", "prev_hash": prev}
        row["hash"] = prev = log.chain.hash(row)
        _sql(
            log.engine,
            "UPDATE records SET question = :q, prev_hash = :p, hash = :h WHERE seq = :s",
            q=row["question"],
            p=row["prev_hash"],
            h=row["hash"],
            s=row["seq"],
        )
    verdict = log.verify()
    assert verdict.ok  # ...so verify says so, rather than a bare OK
    assert any("without an exported head" in n for n in verdict.notes)
    assert any("not keyed" in n for n in verdict.notes)
    monkeypatch.setenv("BOT_DATABASE_URL", url)
    out = CliRunner().invoke(main, ["audit", "verify"])
    assert out.exit_code == 0 and "OK: 3 records verified" in out.stdout
    assert "Note: without an exported head" in out.stdout


def test_a_keyed_chain_cannot_be_rewritten_without_the_key(url: str) -> None:
    key = "a key that lives outside the database"
    log = AuditLog.open(url, key=key)
    _fill(log, 4)
    verdict = log.verify()
    assert verdict.ok and not any("not keyed" in n for n in verdict.notes)
    # The attacker rewrites record 2 and recomputes every hash from it on, without the key.
    with log.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM records ORDER BY seq"))]
    prev = rows[0]["hash"]
    for row in rows[1:]:
        row["question"] = "rewritten" if row["seq"] == 2 else row["question"]
        row["prev_hash"] = prev
        unkeyed = {**row, "data": json.loads(row["data"])}
        row["hash"] = prev = hashlib.sha256(
            canonical({k: unkeyed.get(k) for k in FORMATS[2]} | {"data": row["data"]}).encode()
        ).hexdigest()
        _sql(
            log.engine,
            "UPDATE records SET question = :q, prev_hash = :p, hash = :h WHERE seq = :s",
            q=row["question"],
            p=row["prev_hash"],
            h=row["hash"],
            s=row["seq"],
        )
    broken = log.verify()
    assert not broken.ok and broken.seq == 2 and "edited" in (broken.problem or "")
    # Dropping the key id (posing as unkeyed records) is refused too.
    _sql(log.engine, "UPDATE records SET key_id = NULL WHERE seq >= 2")
    assert not log.verify().ok
    log.engine.dispose()
    # Without the key, keyed records cannot be checked: said, not passed.
    unkeyed_view = AuditLog.open(url)
    _sql(unkeyed_view.engine, "DELETE FROM records WHERE seq >= 2")
    verdict = unkeyed_view.verify()
    assert not verdict.ok and "BOT_AUDIT_KEY" in (verdict.problem or "")
    unkeyed_view.engine.dispose()
    keyed = AuditLog.open(url, key=key)
    assert keyed.verify(Head(1, rows[0]["hash"])).ok
    keyed.engine.dispose()
