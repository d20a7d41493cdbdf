"""Counting attempts per phone number and per client address, in the database.

Every worker process sees the same counts (the table is shared), and a count survives a restart. The
`limits` package would give Redis or memcached storage, but none in an SQL database, which is the only
store civic has; a fixed window in one small table costs one indexed read before a login and one write
after a failure. Keys are an HMAC under the server secret of 'phone:…' or 'addr:…': the table holds no
phone number or address, and a copy of it cannot be matched against a list of phone numbers.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import LoginThrottle
from civic.accounts.rules import throttle_wait
from civic.config import get_settings


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int


def _key(text: str) -> str:
    return hmac.new(get_settings().secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def phone_key(phone: str) -> str:
    return _key(f"phone:{phone}")


def purpose_key(purpose: str, phone: str) -> str:
    """Attempts of another kind than logins for one phone number (e.g. password reset codes)."""
    return _key(f"{purpose}:phone:{phone}")


def address_key(address: str, purpose: str = "login") -> str:
    return _key(f"addr:{purpose}:{address}")


def wait(db: Session, limits: list[Limit], window: timedelta) -> int:
    """Seconds before another attempt is allowed under every one of `limits` (0: allowed now)."""
    rows = {r.key: r for r in db.execute(select(LoginThrottle).where(
        col(LoginThrottle.key).in_([lim.key for lim in limits]))).scalars()}
    now = clock.now()
    waits = [throttle_wait(window_start=clock.as_utc(rows[lim.key].window_start) if lim.key in rows else None,
                           hits=rows[lim.key].hits if lim.key in rows else 0, limit=lim.limit, window=window,
                           now=now) for lim in limits]
    return max(waits, default=0)


def hit(db: Session, keys: list[str], window: timedelta) -> None:
    """Count one attempt under each key (call in a writing unit of work: run_write retries a lost race)."""
    now = clock.now()
    for key in keys:
        row = db.execute(select(LoginThrottle).where(col(LoginThrottle.key) == key).with_for_update()
                         ).scalar_one_or_none()
        if row is None:
            db.add(LoginThrottle(key=key, window_start=now, hits=1))
        elif now >= clock.as_utc(row.window_start) + window:
            row.window_start, row.hits = now, 1
        else:
            row.hits += 1
    db.flush()


def clear(db: Session, key: str) -> None:
    db.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key))
