"""Warning signs that add up (bot/data/rules/signals.yaml, bot/triage/signals.py): each
sign is tested from its own examples and counterexamples; a message is urgent when signs
of two categories of one crisis meet (or one strong sign), and not for one weak sign."""

from __future__ import annotations

import pytest

from bot import rules
from bot.triage import signals, triage
from bot.triage.rules import _normaliser, plain


def _text(message: str) -> str:
    return plain(_normaliser().normalise(message).folded)


def _cases(field: str) -> list:
    return [
        pytest.param(record["id"], text, id=f"{record['id']}: {text}")
        for record in rules.records("signals")
        for text in record.get(field, ())
    ]


@pytest.mark.parametrize(("sign", "text"), _cases("examples"))
def test_every_sign_fires_on_its_examples(sign: str, text: str) -> None:
    assert sign in [s.rule.id for s in signals.fired(_text(text))]


@pytest.mark.parametrize(("sign", "text"), _cases("counterexamples"))
def test_no_sign_fires_on_its_counterexamples(sign: str, text: str) -> None:
    assert sign not in [s.rule.id for s in signals.fired(_text(text))]


def test_every_sign_has_a_crisis_a_weight_and_worked_examples() -> None:
    for record in rules.records("signals"):
        assert record["crisis"] in ("self_harm", "emergency", "violence"), record["id"]
        assert record.get("weight", 1) in (1, 2), record["id"]
        assert record.get("examples") and record.get("counterexamples"), record["id"]


# Written for this test (none of them is any rule's whole phrase): two signs meet.
ADDS_UP = [
    (
        "the bottle of tramadol is counted out in the drawer and honestly what's the point",
        "self_harm",
    ),
    (
        "I've worked out when. the dog's gone to my brother and I wrote the letters last night",
        "self_harm",
    ),
    ("no use to anybody like this. been looking at the railway line on my walks", "self_harm"),
    (
        "I only let myself eat 400 calories on good days and tip the shakes down the sink",
        "self_harm",
    ),
    ("he keeps my bank card and says if I tell the nurse anything I'll be sorry", "violence"),
    ("told him to stop and he didn't. it was the new night porter", "violence"),
]
ONE_SIGN = [
    "we walked the pier at Brighton last year, is ketamine phase 2?",
    "what's the point of level 3 evidence if nobody uses it?",
    "I've picked a date for my next scan, what does the evidence say?",
    "the bruises from my platelets are fading",
    "is fever common on chemo in the ketamine trials?",
]


@pytest.mark.parametrize(("message", "crisis"), ADDS_UP)
def test_signs_of_two_kinds_make_a_message_urgent(message: str, crisis: str) -> None:
    found = triage(message)
    assert found is not None and found.kind == "urgent" and found.crisis == crisis, found


@pytest.mark.parametrize("message", ONE_SIGN)
def test_one_weak_sign_alone_is_not_a_crisis(message: str) -> None:
    found = triage(message)
    assert found is None or found.kind != "urgent", found
