"""Pure account rules. What a phone number, a password or a name may be is read by the forms in
civic.accounts.schemas (with the shared field types of civic.core.inputs)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import lru_cache


def mask_phone(phone: str) -> str:
    """0912345678 -> 0912•••678, for staff lists where the full number is not needed."""
    return phone[:4] + "•••" + phone[-3:] if len(phone) >= 7 else "•••"


# --- passwords ----------------------------------------------------------------------------------------

# A few common passwords of Vietnamese users that the English-language list below may miss.
_COMMON_VI = frozenset({
    "matkhau", "matkhau123", "matkhau1234", "anhyeuem", "anhyeuem123", "emyeuanh", "yeuem123", "vietnam",
    "vietnam123", "123456789a", "1234567890a", "a123456789", "hanoi123", "saigon123", "qwerty123",
})


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords (the list zxcvbn ships, from the Xato corpus), read from the
    installed package on first use: no network."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | _COMMON_VI


def is_common_password(password: str) -> bool:
    """A password on the list of common ones (ASVS 2.1.7), compared without case and outer spaces: an
    attacker's list tries 'Password1' as soon as 'password1'."""
    return password.strip().lower() in _common_passwords()


# --- sessions -----------------------------------------------------------------------------------------

# "Last seen" is written at most this often, so an active user costs one small write a minute, not one
# a page.
TOUCH_EVERY = timedelta(minutes=1)


def session_alive(*, created_at: datetime, last_seen_at: datetime, ended_at: datetime | None, now: datetime,
                  lifetime: timedelta, idle: timedelta) -> bool:
    """Is a login still good (ASVS 3.3.1, 3.3.2)? Not once logged out, past its lifetime, or idle too long."""
    return ended_at is None and now < created_at + lifetime and now < last_seen_at + idle


def touch_due(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= TOUCH_EVERY


# --- throttling ---------------------------------------------------------------------------------------

def throttle_wait(*, window_start: datetime | None, hits: int, limit: int, window: timedelta,
                  now: datetime) -> int:
    """Seconds to wait before the next attempt counted under one key (0: go ahead). A fixed window: `limit`
    attempts from the window's first one, then nothing until it ends."""
    if window_start is None or now >= window_start + window or hits < limit:
        return 0
    return max(1, math.ceil((window_start + window - now).total_seconds()))
