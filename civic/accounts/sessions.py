"""Logins kept on the server: a row a browser, found by the hash of the random key in its cookie.

Logging out, changing the password or a role, or the lifetime and idle limits end a login on the server,
so a copied or replayed cookie stops working (ASVS 3.3.1). Anonymous visitors have no row: reading a
public page never writes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import User, UserSession
from civic.accounts.rules import session_alive
from civic.db import Plain, row_id, unit_of_work

KEY_BYTES = 32


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta
    staff_lifetime: timedelta
    idle: timedelta


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(db: Session, user: User) -> str:
    """A new login for `user`: the row, and the key for the cookie (never stored)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    now = clock.now()
    db.add(UserSession(user_id=row_id(user), key_hash=key_hash(key), created_at=now, last_seen_at=now))
    db.flush()
    return key


# Read on every page a signed-in person opens: built once (building a select costs more than running it),
# and read as plain rows made into the two models (what changes a login or a user reads its own row).
_LOGIN_FIELDS = [c.key for c in UserSession.__table__.columns]  # type: ignore[attr-defined]
_USER_FIELDS = [c.key for c in User.__table__.columns]  # type: ignore[attr-defined]
_FIND = Plain(select(*UserSession.__table__.columns, *User.__table__.columns)  # type: ignore[attr-defined]
              .select_from(UserSession).join(User, col(User.id) == col(UserSession.user_id))
              .where(col(UserSession.key_hash) == bindparam("key_hash")))


def find(db: Session, key: str | None) -> tuple[UserSession, User] | None:
    """The login and its user for a cookie's key (alive or not: the caller judges with `alive`): copies to
    read."""
    if not key or not isinstance(key, str) or len(key) > 100:
        return None
    row = _FIND.rows(db, {"key_hash": key_hash(key)}).first()
    if row is None:
        return None
    split = len(_LOGIN_FIELDS)
    return (UserSession.model_construct(**dict(zip(_LOGIN_FIELDS, row[:split], strict=True))),
            User.model_construct(**dict(zip(_USER_FIELDS, row[split:], strict=True))))


def alive(row: UserSession, policy: SessionPolicy, *, staff: bool, now: datetime) -> bool:
    return session_alive(created_at=clock.as_utc(row.created_at), last_seen_at=clock.as_utc(row.last_seen_at),
                         ended_at=row.ended_at, now=now,
                         lifetime=min(policy.lifetime, policy.staff_lifetime) if staff else policy.lifetime,
                         idle=policy.idle)


def end(db: Session, key: str | None) -> None:
    """Log out this browser."""
    if key and isinstance(key, str):
        db.execute(update(UserSession).where(col(UserSession.key_hash) == key_hash(key),
                                             col(UserSession.ended_at).is_(None))
                   .values(ended_at=clock.now()))


def end_all(db: Session, user_id: int, *, keep: int | None = None) -> None:
    """Log out every browser of a user (but the one `keep`): after a password or role change."""
    stmt = update(UserSession).where(col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None))
    if keep is not None:
        stmt = stmt.where(col(UserSession.id) != keep)
    db.execute(stmt.values(ended_at=clock.now()))


def touch(session_id: int, now: datetime) -> None:
    """Record that a login was used, in a short transaction of its own (pages read in read sessions)."""
    with unit_of_work(write=True) as db:
        db.execute(update(UserSession).where(col(UserSession.id) == session_id,
                                             col(UserSession.last_seen_at) < now)
                   .values(last_seen_at=now))
