"""Staff accounts: Argon2id passwords, API tokens and login sessions (stored as hashes).

Staff actions on the audit log are themselves audit events; this module only answers
"who is this?". Nothing here imports the web layer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Float, String, Table, delete, insert, select, update
from sqlalchemy.engine import Engine
from zxcvbn import zxcvbn

from bot.audit import metadata as audit_metadata
from bot.audit import now

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD = 12
# zxcvbn's 0-4 guessability score: 3 is "safely unguessable" against online attacks
# with some throttling, which is what the audit login has.
MIN_STRENGTH = 3
TOKEN_DAYS = 90

# In the audit log's metadata: one database, one migration path (revision 0002).
staff = Table(
    "staff",
    audit_metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", String(32), nullable=False),
)
staff_tokens = Table(
    "staff_tokens",
    audit_metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("name", String(64), nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
    # Revision 0004: a public id to revoke one token by, and when it stops working.
    Column("token_id", String(16)),
    Column("expires_at", String(32)),
)
staff_sessions = Table(
    "staff_sessions",
    audit_metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("name", String(64), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("last_seen", Float, nullable=False),
)


class StaffError(ValueError):
    """A staff command that cannot be done; the message says why."""


TIME = "%Y-%m-%dT%H:%M:%S.%fZ"  # as bot.audit.now() writes it


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class StaffSession:
    name: str
    csrf: str


@cache
def _dummy_hash() -> str:
    """The hash of a random secret nobody knows, made once per process: hashing costs
    what verifying does (that is the point), so not again for every app instance."""
    return PasswordHasher().hash(secrets.token_hex(16))


class Staff:
    def __init__(self, engine: Engine, idle_seconds: float = 1800) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self.hasher = PasswordHasher()  # Argon2id with the library's current defaults
        # Verifying against this keeps "no such user" as slow as "wrong password".
        self._dummy = _dummy_hash()

    def add(self, name: str, password: str) -> None:
        if not NAME.match(name):
            raise StaffError("a staff name is 1-64 letters, digits, '.', '_' or '-'")
        if len(password) < MIN_PASSWORD:
            raise StaffError(f"the password must have at least {MIN_PASSWORD} characters")
        strength = zxcvbn(password[:100], user_inputs=[name, "evidence", "audit", "staff"])
        if strength["score"] < MIN_STRENGTH:
            hints = [
                strength["feedback"].get("warning") or "",
                *strength["feedback"]["suggestions"],
            ]
            advice = " ".join(h for h in hints if h)
            raise StaffError(f"the password is too easy to guess. {advice}".strip())
        with self.engine.begin() as conn:
            if conn.execute(select(staff.c.name).where(staff.c.name == name)).first():
                raise StaffError(f"staff member {name!r} already exists")
            conn.execute(
                insert(staff).values(
                    name=name, password_hash=self.hasher.hash(password), created_at=now()
                )
            )

    def remove(self, name: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(delete(staff).where(staff.c.name == name)).rowcount
            if not gone:
                raise StaffError(f"no staff member {name!r}")
            conn.execute(delete(staff_tokens).where(staff_tokens.c.name == name))
            conn.execute(delete(staff_sessions).where(staff_sessions.c.name == name))

    def names(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(staff.c.name).order_by(staff.c.name))]

    def new_token(self, name: str, days: int = TOKEN_DAYS) -> str:
        """A new API token for `name`, valid for `days`, shown once; only its hash is
        stored, with an id (the hash's start) to list and revoke it by."""
        if name not in self.names():
            raise StaffError(f"no staff member {name!r}")
        if not 1 <= days <= 3660:
            raise StaffError("a token lives 1 to 3660 days")
        token = "ebt_" + secrets.token_urlsafe(32)
        digest = _digest(token)
        expires = (datetime.now(UTC) + timedelta(days=days)).strftime(TIME)
        with self.engine.begin() as conn:
            conn.execute(
                insert(staff_tokens).values(
                    token_hash=digest,
                    name=name,
                    created_at=now(),
                    token_id=digest[:12],
                    expires_at=expires,
                )
            )
        return token

    def tokens(self, name: str | None = None) -> list[dict[str, str | None]]:
        """The tokens (id, name, created, expires) of one staff member or of everyone."""
        query = select(
            staff_tokens.c.token_id,
            staff_tokens.c.name,
            staff_tokens.c.created_at,
            staff_tokens.c.expires_at,
        ).order_by(staff_tokens.c.created_at)
        if name is not None:
            query = query.where(staff_tokens.c.name == name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def revoke(self, token_id: str) -> None:
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(staff_tokens).where(staff_tokens.c.token_id == token_id)
            ).rowcount
        if not gone:
            raise StaffError(f"no token {token_id!r}")

    def by_token(self, token: str) -> str | None:
        """The staff member of a live token; None if unknown, revoked or expired."""
        if not token or len(token) > 200:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(staff_tokens.c.name, staff_tokens.c.expires_at).where(
                    staff_tokens.c.token_hash == _digest(token)
                )
            ).first()
        if row is None or (row[1] is not None and row[1] <= now()):
            return None
        return row[0]

    def check_password(self, name: str, password: str) -> bool:
        with self.engine.connect() as conn:
            row = conn.execute(select(staff.c.password_hash).where(staff.c.name == name)).first()
        try:
            return self.hasher.verify(row[0] if row else self._dummy, password) and row is not None
        except (VerificationError, InvalidHashError):
            return False

    def login(self, name: str, password: str) -> tuple[str, StaffSession] | None:
        """A fresh session id (never reused: rotated at every login) and its CSRF token."""
        if not self.check_password(name, password):
            return None
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            conn.execute(
                insert(staff_sessions).values(
                    session_hash=_digest(session_id),
                    name=name,
                    csrf=csrf,
                    created_at=now(),
                    last_seen=time.time(),
                )
            )
        return session_id, StaffSession(name, csrf)

    def session(self, session_id: str) -> StaffSession | None:
        """The live session, touched; None when unknown or idle too long (then ended)."""
        key = _digest(session_id)
        with self.engine.begin() as conn:
            row = conn.execute(
                select(
                    staff_sessions.c.name, staff_sessions.c.csrf, staff_sessions.c.last_seen
                ).where(staff_sessions.c.session_hash == key)
            ).first()
            if row is None:
                return None
            if time.time() - row[2] > self.idle_seconds:
                conn.execute(delete(staff_sessions).where(staff_sessions.c.session_hash == key))
                return None
            conn.execute(
                update(staff_sessions)
                .where(staff_sessions.c.session_hash == key)
                .values(last_seen=time.time())
            )
        return StaffSession(row[0], row[1])

    def logout(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(staff_sessions).where(staff_sessions.c.session_hash == _digest(session_id))
            )
