"""The one place that says what time it is, so tests can move time without sleeping."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from typing import overload
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_offset = timedelta(0)
_frozen: datetime | None = None

# Browser journeys drive a server in another process; they move its clock by writing a number of seconds
# into this file (tests/browser/conftest.py). Unset in production, where the check below costs nothing.
_OFFSET_FILE = os.environ.get("CIVIC_TEST_CLOCK_FILE") or None
_file_state: tuple[float, timedelta] = (-1.0, timedelta(0))


def _file_offset(path: str) -> timedelta:
    global _file_state
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return timedelta(0)
    if mtime != _file_state[0]:
        try:
            seconds = float(open(path, encoding="ascii").read().strip() or 0)
        except (OSError, ValueError):
            seconds = 0.0
        _file_state = (mtime, timedelta(seconds=seconds))
    return _file_state[1]


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    if _OFFSET_FILE:
        return datetime.now(UTC) + _offset + _file_offset(_OFFSET_FILE)
    return datetime.now(UTC) + _offset


def today_local() -> date:
    return now().astimezone(LOCAL_TZ).date()


def local_day(moment: datetime) -> date:
    """The day a moment falls on in Vietnam (stored moments are UTC)."""
    return as_utc(moment).astimezone(LOCAL_TZ).date()


def freeze(at: datetime | None) -> None:
    """Stop the clock at `at` (aware), or let it run again with None."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at


def advance(delta: timedelta) -> None:
    global _offset, _frozen
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def reset() -> None:
    global _offset, _frozen
    _offset = timedelta(0)
    _frozen = None


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
