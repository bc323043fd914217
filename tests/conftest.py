"""Shared fixtures: the invented fixture corpus, a fake embedder and a built index."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import argon2
import pytest

# No network here: the real model loads from the installed package only.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# `make test` runs one pytest-xdist worker per CPU: each worker's PyTorch keeps to one
# thread, or their thread pools fight over the cores and the real-model suites take three
# to five times as long (measured on 2 cores).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from servers import bot_env, pg_schema

import bot.staff
from bot.assistant import Assistant
from bot.audit import AuditLog
from bot.embedding import FakeEmbedder
from bot.index import Index, build, load
from bot.pages import corpus_hash, load_corpus
from bot.settings import ROOT, Settings

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"
SEED_CORPUS = ROOT / "corpus"


# The HTTP reply object of the design contract, spelled out once for every test.
REPLY_KEYS = frozenset(
    "status answer html evidence_level disclaimer citations suggestions crisis_kind "
    "session_id answer_id".split()
)
CITATION_KEYS = frozenset(
    "page_id title compound condition evidence_level section url passage score".split()
)


# Argon2id at its cheapest for the suite: at the library's defaults each of the suite's
# hundreds of staff hashes and logins costs ~90 ms of CPU and 64 MiB, several times that
# when two workers share the cores. The hashing is argon2-cffi's; tests/test_staff.py checks
# that the product itself keeps the library's defaults.
CHEAP_ARGON2 = functools.partial(
    argon2.PasswordHasher, time_cost=1, memory_cost=1024, parallelism=1
)


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.staff, "PasswordHasher", CHEAP_ARGON2)
        yield


@pytest.fixture
def reply_keys() -> frozenset[str]:
    return REPLY_KEYS


@pytest.fixture
def citation_keys() -> frozenset[str]:
    return CITATION_KEYS


@pytest.fixture(autouse=True)
def _no_bot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their own settings: BOT_* variables of the shell must not leak in."""
    for name in list(os.environ):
        if name.startswith("BOT_"):
            monkeypatch.delenv(name)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(
        corpus=corpus_dir,
        index=tmp_path / "index",
        embedder="fake",
        database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}",
        audit_backlog=tmp_path / "audit-backlog",
        # Tests send many requests from one address; test_ratelimit.py turns it on.
        rate_limit="off",
    )


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus's index folder, built once for the session. Read-only: a test
    gets its own copy (`fixture_index`, `built`) that it may rebuild, corrupt or prune."""
    index = tmp_path_factory.mktemp("fixture-index") / "index"
    loaded = load_corpus(FIXTURE_CORPUS)
    assert not loaded.problems
    build(loaded.assessments, FakeEmbedder(), index, corpus_hash(FIXTURE_CORPUS))
    return index


def copy_index(shared: Path, target: Path) -> Path:
    """A private copy of the session's index (the same build, as `bot build` would have
    published it over the test's own copy of the corpus): copying costs far less than
    building, and nothing a test does to its copy reaches another test."""
    shutil.copytree(shared, target, dirs_exist_ok=True)
    return target


@pytest.fixture
def fixture_index(settings: Settings, shared_index: Path) -> Index:
    """The fixture corpus's index in this test's own folder (`settings.index`)."""
    return load(copy_index(shared_index, settings.index))


@pytest.fixture
def assistant(settings: Settings, fixture_index: Index, fake_embedder: FakeEmbedder) -> Assistant:
    return Assistant.create(settings, fixture_index, fake_embedder)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditLog]:
    """An empty audit log on SQLite, then on the machine's PostgreSQL (a schema of its own
    per test, so tests never see each other's chains)."""
    if request.param == "sqlite":
        yield AuditLog.open(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
        return
    with pg_schema("t") as url:
        log = AuditLog.open(url)
        yield log
        log.engine.dispose()


@pytest.fixture
def built(corpus_dir: Path, tmp_path: Path, shared_index: Path) -> dict[str, str]:
    """Environment for `bot` processes over a prebuilt fixture index (the test's own)."""
    return bot_env(corpus_dir, copy_index(shared_index, tmp_path / "index"))


@pytest.fixture(scope="session")
def real_embedder() -> Iterator[object]:
    from bot.embedding import SentenceTransformerEmbedder

    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)  # as OMP_NUM_THREADS above, should torch be loaded already
    yield SentenceTransformerEmbedder()
