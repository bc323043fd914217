"""The audit log: every reply as shown, with what produced it, in one hash chain.

Each record (an answer, or an event about one: feedback, a review label, a staff view)
stores the hash of the record before it and a hash over its fields, so an edited, deleted,
reordered or truncated record is found by `verify`. Records are only ever appended.
SQLite by default (WAL, synchronous=FULL), PostgreSQL for several instances; on both,
writers take the chain in turn (a lock), so there is one chain.

    schema     the tables (and the columns derived from a record's data)
    chain      hash formats, keyed hashes, the walk that verifies
    writer     checks and encodes each row, then group commit
    queries    the staff pages' and API's reads, with one typed filter
    redaction  identifiers removed from stored text
    log        AuditLog, which ties them together
    backlog    records of crisis replies that wait for the database (never held back)
"""

from bot.audit.chain import CURRENT_FORMAT, FORMATS, Chain, Head, Verdict
from bot.audit.log import AuditLog, pseudonym
from bot.audit.queries import AuditFilter
from bot.audit.redaction import redact
from bot.audit.schema import GENESIS, canonical, chain_anchor, metadata, now, records
from bot.audit.writer import AuditRefused, AuditUnavailable

__all__ = [
    "CURRENT_FORMAT",
    "FORMATS",
    "GENESIS",
    "AuditFilter",
    "AuditLog",
    "AuditRefused",
    "AuditUnavailable",
    "Chain",
    "Head",
    "Verdict",
    "canonical",
    "chain_anchor",
    "metadata",
    "now",
    "pseudonym",
    "records",
    "redact",
]
