"""Pure decisions of notifications: when a message may go, how long to wait before trying again, its
idempotency key, who hears about which event. No session, no clock: the caller passes the moment."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta

from civic.clock import LOCAL_TZ

CHANNELS = ("email", "sms", "push", "zalo")
# Channels that ring a phone: held back at night.
INTRUSIVE = frozenset({"sms", "zalo"})
NIGHT_FROM, NIGHT_TO = 21, 7  # the village's night, Vietnam time: no SMS or Zalo from 21:00 to 07:00
URGENT_WINDOW = timedelta(hours=24)

# Stage moves whose outcome the follower should hear about (every row of the stage table moves the stage,
# the outcome, or records a public reason).
MEETING_CHANGES = frozenset({"meeting_moved", "meeting_cancelled"})


def idempotency_key(event_id: int | None, recipient: str, channel: str, kind: str = "") -> str:
    """One key per (event, recipient, channel): a repeated delivery carries the same key to the provider."""
    raw = f"{event_id}|{recipient}|{channel}|{kind}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def in_quiet_hours(moment: datetime, quiet_from: int = NIGHT_FROM, quiet_to: int = NIGHT_TO) -> bool:
    """Is `moment` within the quiet hours, read on the Vietnam clock? quiet_from == quiet_to: never."""
    hour = moment.astimezone(LOCAL_TZ).hour
    if quiet_from == quiet_to:
        return False
    if quiet_from > quiet_to:  # across midnight, e.g. 21 → 7
        return hour >= quiet_from or hour < quiet_to
    return quiet_from <= hour < quiet_to


def is_urgent(kind: str, meeting_starts_at: datetime | None, now: datetime) -> bool:
    """A meeting change or cancellation within 24 hours of the meeting goes out even at night."""
    return (kind in MEETING_CHANGES and meeting_starts_at is not None
            and meeting_starts_at - now <= URGENT_WINDOW)


def deliver_after(now: datetime, channel: str, *, urgent: bool = False, quiet_from: int | None = None,
                  quiet_to: int | None = None) -> datetime:
    """The earliest moment a message may go: now, or the end of the night for SMS and Zalo (21:00–07:00
    Vietnam time), or the end of the recipient's own quiet hours. An urgent meeting change goes now."""
    if urgent:
        return now
    windows: list[tuple[int, int]] = []
    if channel in INTRUSIVE:
        windows.append((NIGHT_FROM, NIGHT_TO))
    if quiet_from is not None and quiet_to is not None and quiet_from != quiet_to:
        windows.append((quiet_from, quiet_to))
    moment = now
    for _ in range(3):  # two windows can chain (the recipient's ends inside the night)
        for start, end in windows:
            if in_quiet_hours(moment, start, end):
                local = moment.astimezone(LOCAL_TZ)
                day = local.date() if local.hour < end else local.date() + timedelta(days=1)
                moment = datetime.combine(day, time(end), tzinfo=LOCAL_TZ).astimezone(now.tzinfo)
    return moment


def backoff(attempts: int, *, base_seconds: int = 30, cap_seconds: int = 6 * 3600,
            retry_after: float | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failed try: 30 s, 1 min, 2 min… (at most 6 h); a provider's
    Retry-After is honoured when it asks for longer."""
    wait = min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1))
    if retry_after is not None and retry_after > wait:
        wait = min(retry_after, 24 * 3600)
    return timedelta(seconds=wait)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def account_channels(stored: str, *, has_email: bool, configured: set[str]) -> list[str]:
    """The channels an account hears on: the ones it chose that this site can use (e-mail only with an
    address). The first usable one is enough: a person is told once per event, not on every channel."""
    chosen = [c for c in stored.split(",") if c in CHANNELS]
    usable = [c for c in chosen if (c != "email" or has_email)]
    preferred = [c for c in usable if c in configured]
    if preferred:
        return preferred[:1]
    return usable[:1]  # recorded, shown as "not sent: no channel"


def is_stop_reply(text: str) -> bool:
    """An SMS reply that says stop: "TU CHOI", "Từ chối", "tuchoi", "STOP"."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().upper()
    words = "".join(ch for ch in folded if ch.isalnum())
    return words in {"TUCHOI", "STOP", "HUY"}
