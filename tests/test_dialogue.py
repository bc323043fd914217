"""Conversation context: its JSON form, the session stores (memory, Redis, and the fallback
that keeps replies flowing while Redis is down), and follow-up resolution.

Names are invented; Entities are built directly, so these tests need no corpus or index.
The Redis tests use the server at TEST_REDIS_URL (default the local one) under a unique
key prefix, and are skipped when no server answers.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import redis

from bot.answer import Status
from bot.dialogue import (
    ORDINALS,
    Context,
    FallbackSessionStore,
    MemorySessionStore,
    Option,
    RedisSessionStore,
    follow_up,
    make_store,
    next_context,
    pick_option,
)
from bot.entities import Entities

ZEL = "Zelnoprine (Oral / Inhaled)"
BRIM = "Brimadol (Low-Dose)"
QUOR = "Quorvastin"
TESTCASE = "Stage IV Testcase Syndrome"
FAKEITIS = "Chronic Fakeitis"
PAGES = {(ZEL, TESTCASE), (BRIM, TESTCASE), (BRIM, FAKEITIS)}
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def covered(compound: str, condition: str) -> bool:
    return (compound, condition) in PAGES


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- Context JSON -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "context",
    [
        Context(),
        Context(ZEL),
        Context(ZEL, TESTCASE),
        Context(BRIM, None, (Option(BRIM, TESTCASE), Option(BRIM, FAKEITIS))),
        Context('Ünïcode “quoted” "name"', "x\ny"),
    ],
)
def test_context_json_round_trip(context: Context) -> None:
    assert Context.from_json(context.to_json()) == context
    assert Context.from_json(context.to_json().encode()) == context  # as Redis returns it


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "null",
        "[]",
        "42",
        '"text"',
        '{"compound": "Zelnoprine", "condition": null}',  # an older record: no version
        '{"v": 2, "compound": "Z", "condition": null, "options": []}',  # a newer one
        '{"v": 1, "compound": 5, "condition": null, "options": []}',
        '{"v": 1, "compound": "Z", "condition": null, "options": ["ab"]}',
        '{"v": 1, "compound": "Z", "condition": null, "options": [["a", "b", "c"]]}',
        '{"v": 1, "compound": "Z", "condition": null, "options": [["a", null]]}',
        '{"v": 1, "compound": "Z", "condition": null, "options": {"a": "b"}}',
        b"\xff\xfe not utf-8",
        "[" * 100_000,
    ],
)
def test_context_from_bad_json_is_empty(text: str | bytes) -> None:
    assert Context.from_json(text) == Context()


# --- MemorySessionStore -------------------------------------------------------------------


def test_memory_store_expires_sessions_and_put_restarts_the_ttl() -> None:
    clock = FakeClock()
    store = MemorySessionStore(ttl_seconds=100, timer=clock)
    store.put("s", Context(ZEL))
    clock.now += 99
    assert store.get("s") == Context(ZEL)
    store.put("s", Context(BRIM))  # a new turn: another 100 seconds from now
    clock.now += 99
    assert store.get("s") == Context(BRIM)
    clock.now += 2
    assert store.get("s") is None
    assert store.health() == {"backend": "memory", "ok": True, "sessions": 0}


def test_memory_store_evicts_beyond_max_sessions() -> None:
    store = MemorySessionStore(max_sessions=2)
    for sid in ("a", "b", "c"):
        store.put(sid, Context(sid))
    assert store.get("a") is None
    assert store.get("b") == Context("b") and store.get("c") == Context("c")
    assert store.health()["sessions"] == 2


def test_memory_store_is_thread_safe() -> None:
    store = MemorySessionStore(max_sessions=50)

    def work(worker: int) -> None:
        for n in range(2000):
            sid = f"s{(worker * 7 + n) % 80}"  # more ids than slots: constant eviction
            store.put(sid, Context(sid))
            got = store.get(sid)
            assert got is None or got == Context(sid)
            if n % 5 == 0:
                store.pop(sid)
            store.health()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))  # re-raises any worker's error
    assert store.health()["sessions"] <= 50


# --- RedisSessionStore against the real server --------------------------------------------


@dataclass
class Server:
    client: redis.Redis
    prefix: str  # unique per test: tests never see each other's (or production) keys
    stores: list[RedisSessionStore] = field(default_factory=list)

    def store(self, ttl_seconds: float = 60, prefix: str | None = None) -> RedisSessionStore:
        self.stores.append(RedisSessionStore(REDIS_URL, ttl_seconds, prefix or self.prefix))
        return self.stores[-1]


@pytest.fixture
def server() -> Iterator[Server]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        client.close()
        pytest.skip(f"no Redis server at {REDIS_URL}: {exc}")
    found = Server(client, f"test:dialogue:{uuid.uuid4().hex}:")
    yield found
    keys = list(client.scan_iter(match=found.prefix + "*"))
    if keys:
        client.delete(*keys)
    for store in found.stores:
        store.client.close()
    client.close()


@pytest.mark.redis
def test_redis_store_puts_and_gets_with_a_ttl(server: Server) -> None:
    store = server.store(ttl_seconds=90.5)
    assert store.get("s") is None
    context = Context(BRIM, None, (Option(BRIM, TESTCASE), Option(BRIM, FAKEITIS)))
    store.put("s", context)
    assert store.get("s") == context
    assert 0 < server.client.ttl(server.prefix + "s") <= 91  # EX rounds up to whole seconds
    assert store.health() == {"backend": "redis", "ok": True}


@pytest.mark.redis
def test_redis_store_prefixes_isolate(server: Server) -> None:
    one, other = (
        server.store(prefix=server.prefix + "a:"),
        server.store(prefix=server.prefix + "b:"),
    )
    one.put("s", Context(ZEL))
    assert other.get("s") is None
    other.put("s", Context(BRIM))
    assert one.get("s") == Context(ZEL)


@pytest.mark.redis
def test_two_instances_share_a_session(server: Server) -> None:
    # Two server processes, each with its own store and connection pool, one Redis.
    first, second = server.store(), server.store()
    first.put("s", Context(ZEL, TESTCASE))
    assert second.get("s") == Context(ZEL, TESTCASE)
    second.put("s", Context(BRIM, FAKEITIS))
    assert first.get("s") == Context(BRIM, FAKEITIS)


@pytest.mark.redis
def test_redis_store_reads_a_corrupt_record_as_empty(server: Server) -> None:
    server.client.set(server.prefix + "s", b"\x00garbage")
    assert server.store().get("s") == Context()


def test_redis_store_reports_an_unreachable_server() -> None:
    store = RedisSessionStore(UNREACHABLE)
    with pytest.raises(redis.exceptions.ConnectionError):
        store.get("s")
    health = store.health()
    assert health["backend"] == "redis" and health["ok"] is False and health["error"]
    store.client.close()


# --- FallbackSessionStore -----------------------------------------------------------------


def test_fallback_keeps_working_from_memory_when_redis_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make_store("redis", UNREACHABLE, 60)
    with caplog.at_level(logging.WARNING, logger="bot.dialogue"):
        store.put("s", Context(ZEL, TESTCASE))
        assert store.get("s") == Context(ZEL, TESTCASE)
        assert store.get("other") is None
        health = store.health()
    assert health["backend"] == "redis" and health["ok"] is False
    assert health["fallback"] == "memory" and "127.0.0.1:1" in str(health["error"])
    assert len(caplog.records) == 1  # one warning per outage, not one per request


def test_fallback_probes_an_unreachable_redis_without_flapping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    primary = RedisSessionStore(UNREACHABLE)
    store = FallbackSessionStore(primary, MemorySessionStore(), retry_seconds=5, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.dialogue"):
        for _ in range(3):
            clock.now += 5  # each health check is due to probe the server again
            assert store.health()["ok"] is False
            store.put("s", Context(ZEL))
            assert store.get("s") == Context(ZEL)
    assert len(caplog.records) == 1
    primary.client.close()


class FlakyPrimary:
    """A Redis stand-in that is down until told otherwise, and counts its calls."""

    backend = "redis"

    def __init__(self) -> None:
        self.down = True
        self.calls = 0
        self.data: dict[str, Context] = {}

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise redis.exceptions.ConnectionError("Error 111 connecting to fake:6379.")

    def get(self, session_id: str) -> Context | None:
        self._check()
        return self.data.get(session_id)

    def put(self, session_id: str, context: Context) -> None:
        self._check()
        self.data[session_id] = context

    def health(self) -> dict[str, object]:
        self._check()
        return {"backend": "redis", "ok": True}


def test_fallback_retries_at_most_every_retry_seconds_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary, clock = FlakyPrimary(), FakeClock()
    store = FallbackSessionStore(primary, MemorySessionStore(), retry_seconds=5, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.dialogue"):
        store.put("s", Context(ZEL, TESTCASE))  # fails over: one call to the primary
        for _ in range(10):
            assert store.get("s") == Context(ZEL, TESTCASE)
        assert primary.calls == 1  # no timeout per request while degraded
        degraded = store.health()
        assert degraded == {
            "backend": "redis",
            "ok": False,
            "fallback": "memory",
            "error": "Error 111 connecting to fake:6379.",
        }

        clock.now += 5  # due again, still down: memory keeps answering
        assert store.get("s") == Context(ZEL, TESTCASE)
        assert primary.calls == 2

        primary.down = False
        clock.now += 4.9
        assert store.health()["ok"] is False  # not due yet: the primary is not asked
        assert primary.calls == 2
        clock.now += 0.1
        assert store.health() == {"backend": "redis", "ok": True}
    assert [r.getMessage() for r in caplog.records] == [
        "redis session store unavailable, using memory: Error 111 connecting to fake:6379.",
        "redis session store answers again",
    ]
    # The turn stored during the outage is newer than anything the primary had: it wins,
    # and is written back so that other instances see it too.
    primary.data["s"] = Context(BRIM, FAKEITIS)
    assert store.get("s") == Context(ZEL, TESTCASE)
    assert primary.data["s"] == Context(ZEL, TESTCASE)
    assert store.memory.get("s") is None


def test_fallback_put_after_recovery_drops_the_outage_copy() -> None:
    primary, clock = FlakyPrimary(), FakeClock()
    store = FallbackSessionStore(primary, MemorySessionStore(), clock=clock)
    store.put("s", Context(ZEL))
    primary.down, clock.now = False, clock.now + 5
    store.put("s", Context(BRIM))
    assert store.memory.get("s") is None
    assert store.get("s") == Context(BRIM) == primary.data["s"]


def test_fallback_degrades_when_the_primary_reports_unhealthy() -> None:
    class Unhealthy(FlakyPrimary):
        def health(self) -> dict[str, object]:
            return {"backend": "redis", "ok": False, "error": "ping failed"}

    primary = Unhealthy()
    primary.down = False
    health = FallbackSessionStore(primary, MemorySessionStore()).health()
    assert health["ok"] is False and health["error"] == "ping failed"


@pytest.mark.redis
def test_fallback_over_the_real_server_is_healthy(server: Server) -> None:
    store = FallbackSessionStore(server.store(), MemorySessionStore())
    store.put("s", Context(ZEL))
    assert store.get("s") == Context(ZEL) and server.store().get("s") == Context(ZEL)
    assert store.health() == {"backend": "redis", "ok": True}


# --- make_store and imports ---------------------------------------------------------------


def test_make_store_kinds() -> None:
    assert isinstance(make_store("memory", "unused", 60), MemorySessionStore)
    store = make_store("redis", UNREACHABLE, 60)
    assert isinstance(store, FallbackSessionStore) and store.backend == "redis"
    assert isinstance(store.primary, RedisSessionStore) and store.primary.ttl_seconds == 60
    store.primary.client.close()
    with pytest.raises(ValueError, match="memcached"):
        make_store("memcached", REDIS_URL, 60)


def test_importing_dialogue_loads_neither_redis_nor_the_web_layer() -> None:
    code = (
        "import sys, bot.dialogue; "
        "print(','.join(m for m in ('redis', 'fastapi', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- pick_option --------------------------------------------------------------------------

THREE = (Option(BRIM, TESTCASE), Option(BRIM, FAKEITIS), Option(ZEL, TESTCASE))
NONE = Entities()


@pytest.mark.parametrize(
    ("answer", "index"),
    [
        ("first", 0),
        ("1", 0),
        ("one", 0),
        ("The first one", 0),
        ("1st", 0),
        ("second", 1),
        ("2.", 1),
        ("#2", 1),
        ("the 2nd option", 1),
        ("number two", 1),
        ("The second one, please", 1),
        ("the second one, how does it work?", 1),
        ("third", 2),
        ("option 3", 2),
        ("last", 2),
        ("the last one", 2),
    ],
)
def test_pick_option_by_ordinal(answer: str, index: int) -> None:
    assert pick_option(answer, NONE, THREE) == THREE[index]


@pytest.mark.parametrize(
    "answer",
    ["the fifth one", "4", "the first one or the second one?", "the two", "one of them", "yes"],
)
def test_pick_option_unclear_ordinal_is_none(answer: str) -> None:
    assert pick_option(answer, NONE, THREE) is None


def test_ordinals_cover_first_to_fifth_and_last() -> None:
    assert {ORDINALS[w] for w in ("first", "second", "third", "fourth", "fifth")} == set(range(5))
    assert ORDINALS["the last one"] == -1


def test_pick_option_by_naming_the_condition_or_compound() -> None:
    fakeitis = Entities(conditions=(FAKEITIS,))
    assert pick_option("fakeitis please", fakeitis, THREE) == Option(BRIM, FAKEITIS)
    zel = Entities(compounds=(ZEL,))
    assert pick_option("zelnoprine", zel, THREE) == Option(ZEL, TESTCASE)
    both = Entities(compounds=(BRIM,), conditions=(TESTCASE,))
    assert pick_option("brimadol for testcase", both, THREE) == Option(BRIM, TESTCASE)


def test_pick_option_names_must_agree_with_an_ordinal() -> None:
    fakeitis = Entities(conditions=(FAKEITIS,))
    assert pick_option("the second one, fakeitis", fakeitis, THREE) == Option(BRIM, FAKEITIS)
    assert pick_option("the first one, for fakeitis", fakeitis, THREE) is None


def test_pick_option_by_typod_option_text() -> None:
    assert pick_option("Brimadoll for Chronic Fakitis", NONE, THREE) == Option(BRIM, FAKEITIS)
    assert pick_option("chronic fakeitiss please", NONE, THREE) == Option(BRIM, FAKEITIS)


@pytest.mark.parametrize(
    ("answer", "entities"),
    [
        ("brimadol", NONE),  # fits two options equally
        ("stage iv testcase syndrome", NONE),  # so does this
        ("for", NONE),  # a word every option has, and no choice
        ("how does it work?", NONE),
        ("brimadol", Entities(compounds=(BRIM,))),  # names narrow to two, text cannot choose
        ("quorvastin", Entities(compounds=("Quorvastin",))),  # names none of the options
        ("the first one, and turmeric?", Entities(unknown_compounds=("turmeric",))),
        ("the first one", Entities(unknown_conditions=("depression",))),
    ],
)
def test_pick_option_ambiguous_or_new_question_is_none(answer: str, entities: Entities) -> None:
    assert pick_option(answer, entities, THREE) is None


def test_pick_option_without_options_is_none() -> None:
    assert pick_option("the first one", NONE, ()) is None


# --- follow_up ----------------------------------------------------------------------------


@pytest.mark.parametrize("context", [None, Context()])
def test_follow_up_without_context_keeps_the_entities(context: Context | None) -> None:
    question = Entities(compounds=(ZEL,))
    assert follow_up(question, context, covered, "zelnoprine?") == question
    assert follow_up(NONE, context, covered, "how does it work?") == NONE


def test_follow_up_rule2_a_picked_option_is_the_whole_subject() -> None:
    context = next_context(Context(ZEL, TESTCASE), "clarify", BRIM, None, THREE[:2])
    expected = Entities(compounds=(BRIM,), conditions=(FAKEITIS,))
    assert follow_up(NONE, context, covered, "the second one") == expected
    fakeitis = Entities(conditions=(FAKEITIS,))
    assert follow_up(fakeitis, context, covered, "fakeitis") == expected


def test_follow_up_rule2_no_pick_falls_back_to_the_shared_compound() -> None:
    context = next_context(Context(ZEL, TESTCASE), "clarify", BRIM, None, THREE[:2])
    # Brimadol (both options), not the Zelnoprine of the turn before: ask again, don't guess.
    assert follow_up(NONE, context, covered, "how does it work?") == Entities(compounds=(BRIM,))


def test_follow_up_rule3_naming_nothing_inherits_the_subject() -> None:
    expected = Entities(compounds=(ZEL,), conditions=(TESTCASE,))
    assert follow_up(NONE, Context(ZEL, TESTCASE), covered, "and how does it work?") == expected
    assert follow_up(NONE, Context(ZEL), covered, "how?") == Entities(compounds=(ZEL,))
    # A clarify over compounds for one condition leaves only the condition.
    assert follow_up(NONE, Context(None, TESTCASE), covered, "?") == Entities(
        conditions=(TESTCASE,)
    )


def test_follow_up_rule4_a_covered_compound_inherits_the_condition() -> None:
    asked = Entities(compounds=(BRIM,))
    assert follow_up(asked, Context(ZEL, TESTCASE), covered, "and brimadol?") == Entities(
        compounds=(BRIM,), conditions=(TESTCASE,)
    )


def test_follow_up_rule4_an_uncovered_compound_is_a_new_topic() -> None:
    # No Zelnoprine page for Fakeitis: "how does zelnoprine work?" is about its own page(s).
    asked = Entities(compounds=(ZEL,))
    assert follow_up(asked, Context(BRIM, FAKEITIS), covered, "how does zelnoprine work?") == asked
    two = Entities(compounds=(ZEL, BRIM))
    assert follow_up(two, Context(BRIM, TESTCASE), covered, "zelnoprine or brimadol?") == two
    assert follow_up(asked, Context(BRIM), covered, "and zelnoprine?") == asked  # no condition


def test_follow_up_rule4_unknown_compounds_inherit_the_condition() -> None:
    asked = Entities(unknown_compounds=("turmeric",))
    assert follow_up(asked, Context(ZEL, TESTCASE), covered, "and turmeric?") == Entities(
        conditions=(TESTCASE,), unknown_compounds=("turmeric",)
    )
    mixed = Entities(compounds=(BRIM,), unknown_compounds=("turmeric",))
    assert follow_up(mixed, Context(ZEL, TESTCASE), covered, "brimadol or turmeric?") == Entities(
        compounds=(BRIM,), conditions=(TESTCASE,), unknown_compounds=("turmeric",)
    )


def test_follow_up_rule5_a_covered_condition_inherits_the_compound() -> None:
    asked = Entities(conditions=(FAKEITIS,))
    assert follow_up(asked, Context(BRIM, TESTCASE), covered, "and for fakeitis?") == Entities(
        compounds=(BRIM,), conditions=(FAKEITIS,)
    )


def test_follow_up_rule5_an_uncovered_condition_is_a_new_topic() -> None:
    asked = Entities(conditions=(FAKEITIS,))
    assert follow_up(asked, Context(ZEL, TESTCASE), covered, "what is there for fakeitis?") == asked
    two = Entities(conditions=(TESTCASE, FAKEITIS))
    assert follow_up(two, Context(BRIM, TESTCASE), covered, "testcase or fakeitis?") == two


@pytest.mark.parametrize(
    "question", ["and fakeitis?", "what about fakeitis?", "OK, and for fakeitis?", "also fakeitis"]
)
def test_follow_up_a_continuation_keeps_the_compound_even_for_an_uncovered_pair(
    question: str,
) -> None:
    # BRIM has no Chronic Fakeitis page: the reply must say so, not switch compound.
    asked = Entities(conditions=(FAKEITIS,))
    assert follow_up(asked, Context(BRIM, TESTCASE), covered, question) == Entities(
        compounds=(BRIM,), conditions=(FAKEITIS,)
    )
    compound = Entities(compounds=(ZEL,))
    assert follow_up(compound, Context(BRIM, "Lonely Condition"), covered, question) == Entities(
        compounds=(ZEL,), conditions=("Lonely Condition",)
    )


def test_follow_up_rule5_unknown_conditions_inherit_the_compound() -> None:
    # So the reply says there is no Zelnoprine-for-depression assessment.
    asked = Entities(unknown_conditions=("depression",))
    assert follow_up(asked, Context(ZEL, TESTCASE), covered, "and for depression?") == Entities(
        compounds=(ZEL,), unknown_conditions=("depression",)
    )


@pytest.mark.parametrize(
    "asked",
    [
        Entities(compounds=(BRIM,), conditions=(FAKEITIS,)),
        Entities(compounds=(BRIM,), unknown_conditions=("depression",)),
        Entities(unknown_compounds=("turmeric",), conditions=(FAKEITIS,)),
    ],
)
def test_follow_up_rule6_naming_both_halves_keeps_the_entities(asked: Entities) -> None:
    assert follow_up(asked, Context(ZEL, TESTCASE), covered, "...") == asked


# --- next_context -------------------------------------------------------------------------

BEFORE = Context(ZEL, TESTCASE, (Option(ZEL, TESTCASE),))


@pytest.mark.parametrize("status", ["answered", Status.ANSWERED, "declined", Status.DECLINED])
def test_next_context_answered_or_declined_sets_the_subject(status: str) -> None:
    # The page before is kept beside it: "which of the two is stronger?"
    earlier = (Option(ZEL, TESTCASE),)
    assert next_context(BEFORE, status, BRIM, FAKEITIS) == Context(BRIM, FAKEITIS, earlier=earlier)
    assert next_context(None, status, BRIM, None) == Context(BRIM)


def test_a_page_picked_from_a_listing_keeps_the_listing() -> None:
    listed = Context(None, TESTCASE, (Option(ZEL, TESTCASE), Option(BRIM, TESTCASE)))
    picked = next_context(listed, Status.ANSWERED, BRIM, TESTCASE)
    assert picked.options == listed.options and (picked.compound, picked.condition) == (
        BRIM,
        TESTCASE,
    )
    assert follow_up(Entities(), picked, covered, "and the first one?").compounds == (ZEL,)
    assert Context.from_json(picked.to_json()) == picked
    # Another page: the listing is left behind, the page before is remembered.
    moved = next_context(picked, Status.ANSWERED, QUOR, FAKEITIS)
    assert moved == Context(QUOR, FAKEITIS, earlier=(Option(BRIM, TESTCASE),))
    two = follow_up(Entities(), moved, covered, "which of the two is stronger")
    assert set(two.compounds) == {QUOR, BRIM} and set(two.conditions) == {FAKEITIS, TESTCASE}


@pytest.mark.parametrize("status", ["answered", "declined"])
def test_next_context_without_a_subject_forgets(status: str) -> None:
    assert next_context(BEFORE, status, None, None) == Context()


def test_next_context_clarify_keeps_what_the_options_share() -> None:
    by_condition = THREE[:2]  # Brimadol: Testcase or Fakeitis?
    assert next_context(BEFORE, Status.CLARIFY, BRIM, None, by_condition) == Context(
        BRIM, None, by_condition
    )
    by_compound = (THREE[0], THREE[2])  # Testcase: Brimadol or Zelnoprine?
    assert next_context(BEFORE, "clarify", None, TESTCASE, by_compound) == Context(
        None, TESTCASE, by_compound
    )
    assert next_context(BEFORE, "clarify", None, None, THREE) == Context(None, None, THREE)
    assert next_context(BEFORE, "clarify", None, None) == Context(ZEL, TESTCASE)


def test_next_context_not_found_keeps_only_the_pair_asked_about() -> None:
    assert next_context(BEFORE, Status.NOT_FOUND, ZEL, "depression") == Context(ZEL, "depression")
    assert next_context(BEFORE, Status.NOT_FOUND, "turmeric", None) == Context("turmeric", None)
    assert next_context(BEFORE, Status.NOT_FOUND, None, None) == Context()


def test_next_context_urgent_keeps_the_previous_context() -> None:
    assert next_context(BEFORE, Status.URGENT, None, None) == BEFORE
    assert next_context(None, "urgent", None, None) == Context()


def test_next_context_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="bogus"):
        next_context(None, "bogus", None, None)


def test_a_conversation_through_a_store() -> None:
    """The loop the assistant runs: get, follow_up, reply, next_context, put."""
    store = MemorySessionStore()

    def turn(asked: Entities, question: str, status: str, options: tuple[Option, ...] = ()):
        entities = follow_up(asked, store.get("s"), covered, question)
        compounds = entities.compounds + entities.unknown_compounds
        conditions = entities.conditions + entities.unknown_conditions
        compound = compounds[0] if compounds else None
        condition = conditions[0] if conditions else None
        store.put("s", next_context(store.get("s"), status, compound, condition, options))
        return entities

    assert turn(Entities(compounds=(BRIM,)), "brimadol?", "clarify", THREE[:2]) == Entities(
        compounds=(BRIM,)
    )
    picked = turn(NONE, "the second one", "answered")
    assert picked == Entities(compounds=(BRIM,), conditions=(FAKEITIS,))
    assert turn(NONE, "and how does it work?", "answered") == picked
    asked = Entities(unknown_conditions=("depression",))
    assert turn(asked, "and for depression?", "not_found") == Entities(
        compounds=(BRIM,), unknown_conditions=("depression",)
    )
    # The pair we have no page for stays the topic; the earlier, answered one is not revived.
    assert turn(NONE, "how does it work?", "not_found") == Entities(
        compounds=(BRIM,), conditions=("depression",)
    )
    assert turn(NONE, "what's the weather?", "not_found") == Entities(
        compounds=(BRIM,), conditions=("depression",)
    )


def test_the_conditions_that_fit_what_was_asked_survive_storage() -> None:
    context = Context("Dravostin", "Stage IV Cancer", fits=("Pancreatic Cancer", "Stage IV Cancer"))
    assert Context.from_json(context.to_json()) == context
    # A follow-up that names no condition keeps them while the topic is one of them.
    after = next_context(context, Status.ANSWERED, "Kelvadine", "Pancreatic Cancer")
    assert after.fits == context.fits
    # A new condition replaces them; a topic outside them drops them.
    fresh = next_context(context, Status.ANSWERED, "Talmexin", "MS", fits=("MS",))
    assert fresh.fits == ("MS",)
    assert next_context(context, Status.ANSWERED, "Talmexin", "Glioblastoma").fits == ()
