"""The hash chain: how a record's hash is made, and how the chain is checked.

Each record stores the previous record's hash and a hash over a *frozen* list of its
fields. The list belongs to a numbered format, stored in every record (`hash_format`), so
a migration that adds a column never changes what an old record's hash covers:

- format 1 (`hash_format` NULL): the 20 columns of revision 0001, SHA-256.
- format 2: format 1's fields and hash_format, key_id, helpful, label, cited. SHA-256, or
  HMAC-SHA256 when the record is keyed (`key_id` names the key): with BOT_AUDIT_KEY set,
  which lives outside the database, nobody without the key can rewrite a keyed record, or
  anything before it, and recompute hashes that verify.

A new format gets a new number and list here; existing ones never change.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.audit.schema import GENESIS, canonical, derived

FORMAT_1 = (
    "seq kind answer_id created_at actor session channel origin question status answer html "
    "evidence_level template index_digest model disclaimer_hash latency_ms data prev_hash"
).split()
FORMAT_2 = [*FORMAT_1, "hash_format", "key_id", "helpful", "label", "cited"]
FORMATS: dict[int, list[str]] = {1: FORMAT_1, 2: FORMAT_2}
CURRENT_FORMAT = 2


def key_id(key: str) -> str:
    """A name for a key that does not reveal it (stored in keyed records)."""
    return hashlib.sha256(f"evidence-audit-key:{key}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def to_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash})

    @classmethod
    def parse(cls, text: str) -> Head:
        try:
            data = json.loads(text)
            return cls(int(data["seq"]), str(data["hash"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a chain head (want {{'seq': N, 'hash': '...'}}): {exc}") from exc


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None  # the first bad record
    notes: tuple[str, ...] = ()  # what this check could not tell


class Chain:
    """Hashes records in the current format (keyed when a key is given) and checks any."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key.encode() if key else None
        self.key_id = key_id(key) if key else None

    def stamp(self, row: dict[str, Any]) -> dict[str, Any]:
        """The format fields of a record about to be written."""
        return row | {"hash_format": CURRENT_FORMAT, "key_id": self.key_id}

    def hash(self, row: dict[str, Any]) -> str:
        """The record's hash in its own format; ValueError if this chain cannot make it."""
        fmt = row.get("hash_format") or 1
        fields = FORMATS.get(fmt)
        if fields is None:
            raise ValueError(f"unknown hash format {fmt}")
        payload = canonical({k: row.get(k) for k in fields}).encode()
        if fmt >= 2 and row.get("key_id") is not None:
            if row["key_id"] != self.key_id or self.key is None:
                raise ValueError(
                    f"it is keyed with key {row['key_id']}; "
                    + ("set BOT_AUDIT_KEY to verify it" if self.key is None else "")
                    + (f"the configured key is {self.key_id}" if self.key is not None else "")
                )
            return hmac.new(self.key, payload, hashlib.sha256).hexdigest()
        return hashlib.sha256(payload).hexdigest()

    def walk(
        self, rows: Iterable[dict[str, Any]], seq: int, prev: str
    ) -> tuple[Verdict | None, int, dict[str, Any]]:
        """The first broken link after (seq, prev), or None; the last good seq; and what
        was seen on the way (purge records by the seq they purged through, keyed counts)."""
        start = seq
        seen: dict[str, Any] = {"purges": {}, "keyed": 0, "last": None}
        fmt, keyed = 1, False
        for r in rows:
            if r["seq"] != seq + 1:
                problem: str | None = f"records {seq + 1}..{r['seq'] - 1} are missing (deleted)"
            else:
                problem = self._check(r, fmt, keyed)
            if problem is None and r["prev_hash"] != prev:
                problem = f"record {r['seq']} does not follow record {seq} (reordered or replaced)"
            if problem is not None:
                return Verdict(False, seq - start, problem, seq + 1), seq, seen
            fmt, keyed = r.get("hash_format") or 1, r.get("key_id") is not None
            if keyed:
                seen["keyed"] += 1
            if r["kind"] == "purge":
                data = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
                if isinstance(data.get("through_seq"), int):
                    seen["purges"][data["through_seq"]] = data.get("anchor_hash")
            seen["last"] = r
            seq, prev = r["seq"], r["hash"]
        return None, seq, seen

    def _check(self, r: dict[str, Any], fmt: int, keyed: bool) -> str | None:
        here = r.get("hash_format") or 1
        if here < fmt or (keyed and r.get("key_id") is None):
            return f"record {r['seq']} uses an older hash format than the record before it"
        try:
            expected = self.hash(r)
        except ValueError as exc:
            return f"record {r['seq']} cannot be checked: {exc}"
        if expected != r["hash"]:
            return f"record {r['seq']} was edited (its fields no longer match its hash)"
        data = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
        facts = derived(r["kind"], data)
        if any(r.get(k) != v for k, v in facts.items()):
            return f"record {r['seq']} was edited (its columns disagree with its data)"
        return None


__all__ = ["CURRENT_FORMAT", "FORMATS", "GENESIS", "Chain", "Head", "Verdict", "key_id"]
