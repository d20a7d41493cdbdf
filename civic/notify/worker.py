"""`civic worker`: deliver the outbox.

Each round claims a batch of due rows in a short transaction (on PostgreSQL with `FOR UPDATE SKIP LOCKED`,
so several workers share the queue; SQLite runs one worker), marks them `sending`, delivers them outside any
transaction, and writes the results in a second one. A worker killed in the middle leaves its batch in
`sending`: after the lease another worker (or itself, restarted) takes it again, with the same idempotency
key, so at most that batch is repeated and no message is lost. Retries back off exponentially on time-outs,
5xx and 429 (honouring Retry-After); a permanent refusal or the last try makes the message dead, shown to
the commune admin with its reason. Contacts are erased from the outbox 30 days after delivery."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlmodel import Session, col

from civic import clock
from civic.config import Settings, get_settings
from civic.db import unit_of_work
from civic.notify import channels as channel_mod
from civic.notify import rules
from civic.notify import service as notify
from civic.notify.channels import Channel, Message, Permanent, Temporary
from civic.notify.models import Follow, NotifyPreference, Outbox

log = logging.getLogger("civic.worker")
REMIND_EVERY_S = 600  # village heads' reminders are looked for every 10 minutes (sent once a day)


@dataclass
class Round:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    purged: int = 0
    digests: int = 0
    expanded: int = 0
    reminders: int = 0
    results: dict[int, tuple[str, str, float | None]] = field(default_factory=dict)


def claim(session: Session, *, batch: int, now: datetime, lease_seconds: int) -> list[Outbox]:
    """Take up to `batch` due rows (and rows whose worker died) for this worker."""
    stale = now - timedelta(seconds=lease_seconds)
    q = (select(Outbox).where(or_(and_(col(Outbox.status) == "queued", col(Outbox.next_attempt_at) <= now),
                                  and_(col(Outbox.status) == "sending", col(Outbox.claimed_at) < stale)))
         .order_by(col(Outbox.next_attempt_at), col(Outbox.id)).limit(batch))
    if session.get_bind().dialect.name != "sqlite":
        q = q.with_for_update(skip_locked=True)
    rows = list(session.execute(q).scalars())
    for row in rows:
        row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
    session.flush()
    return rows


def deliver(channel: Channel | None, message: Message) -> tuple[str, str, float | None]:
    """("sent" | "temporary" | "permanent", reason, retry_after)."""
    if channel is None:
        return "permanent", "no channel", None
    try:
        channel.send(message)
    except Permanent as exc:
        return "permanent", exc.reason, None
    except Temporary as exc:
        return "temporary", exc.reason, exc.retry_after
    except Exception as exc:  # a bug or a library's surprise: try again later, say what it was
        log.exception("channel %s failed", message.channel)
        return "temporary", f"{type(exc).__name__}: {exc}"[:300], None
    return "sent", "", None


def _apply(session: Session, results: dict[int, tuple[str, str, float | None]], now: datetime,
           max_attempts: int, out: Round) -> None:
    for row_id, (outcome, reason, retry_after) in results.items():
        row = session.get(Outbox, row_id)
        if row is None or row.status != "sending":
            continue
        if outcome == "sent":
            row.status, row.sent_at, row.last_error = "sent", now, ""
            out.sent += 1
        elif outcome == "temporary" and row.attempts < max_attempts:
            row.status, row.last_error = "queued", reason
            row.next_attempt_at = now + rules.backoff(row.attempts, retry_after=retry_after)
            out.retried += 1
        else:
            row.status, row.last_error, row.sent_at = "dead", reason or "too many tries", now
            out.dead += 1
    session.flush()


_FANOUTS = select(Outbox).where(col(Outbox.status) == "fanout").order_by(col(Outbox.id))


def expand_fanouts(session: Session, limit: int = 20) -> int:
    """Fan-out rows (a meeting's whole village, a new item's village heads) become one message per
    recipient, read and written in this one transaction (run_once reads them in a reading transaction of
    their own first)."""
    rows = list(session.execute(_FANOUTS.limit(limit)).scalars())
    made = write_fanouts(session, [notify.plan_expansion(session, row) for row in rows])
    for row in rows:  # written by a statement of their own: loaded again when next read
        session.expire(row)
    return made


def plan_fanouts(session: Session, limit: int = 20) -> list[notify.Expansion]:
    """The messages of the oldest fan-out rows, read (in a reading transaction) but not written."""
    return [notify.plan_expansion(session, row)
            for row in list(session.execute(_FANOUTS.limit(limit)).scalars())]


def write_fanouts(session: Session, planned: list[notify.Expansion]) -> int:
    """Write what plan_fanouts read, in a writing transaction: the writer is held for the inserts only, not
    for reading the recipients (a fan-out row another worker expanded meanwhile is left alone)."""
    return sum(notify.write_expansion(session, expansion) for expansion in planned)


def gather_digests(session: Session, now: datetime) -> int:
    """Held messages of digest readers whose hour has come become one message per recipient and channel."""
    rows = list(session.execute(select(Outbox).where(col(Outbox.status) == "held",
                                                     col(Outbox.next_attempt_at) <= now)
                                .order_by(col(Outbox.id))).scalars())
    groups: dict[tuple[int, str, str, str], list[Outbox]] = defaultdict(list)
    for row in rows:
        groups[(row.commune_id, row.recipient, row.channel, row.address)].append(row)
    made = 0
    for (commune_id, recipient, channel, address), held in groups.items():
        from civic.notify import texts

        first = held[0]
        lines = [r.subject for r in held]
        body = "\n".join(lines) if channel in ("email", "push") else "; ".join(lines)
        key = rules.idempotency_key(None, recipient, channel, "digest:" + ",".join(str(r.id) for r in held))
        prefs = session.get(NotifyPreference, int(recipient[2:])) if recipient.startswith("u:") else None
        language = prefs.language if prefs is not None else "vi"
        session.execute(insert(Outbox).values(
            commune_id=commune_id, event_id=None, item_id=None, kind="digest", channel=channel,
            recipient=recipient, address=address, subject=texts.tr(language, texts.SUBJECTS["digest"]),
            body=body[:4000] + ("\n" + first.body.splitlines()[-1] if channel == "email" else ""),
            idempotency_key=key, status="queued", attempts=0, urgent=False, created_at=now,
            next_attempt_at=now, claimed_at=None, sent_at=None, last_error=""))
        for r in held:
            r.status, r.sent_at, r.address = "merged", now, ""
        made += 1
    session.flush()
    return made


def purge(session: Session, now: datetime, keep_days: int) -> int:
    """Erase the contacts of messages delivered (or given up) more than `keep_days` ago, and unconfirmed
    follows whose code expired as long ago."""
    limit = now - timedelta(days=keep_days)
    done = ("sent", "dead", "no_channel", "merged")
    result = session.execute(update(Outbox).where(
        col(Outbox.status).in_(done), col(Outbox.address) != "",
        or_(col(Outbox.sent_at) < limit, and_(col(Outbox.sent_at).is_(None), col(Outbox.created_at) < limit)))
        .values(address=""))
    erased = getattr(result, "rowcount", 0) or 0
    session.execute(update(Follow).where(col(Follow.confirmed_at).is_(None), col(Follow.address) != "",
                                         col(Follow.created_at) < limit).values(address="", code_hash=""))
    session.execute(update(Follow).where(col(Follow.stopped_at).is_not(None), col(Follow.address) != "",
                                         col(Follow.stopped_at) < limit).values(address=""))
    return int(erased)


def run_once(settings: Settings | None = None, found: dict[str, Channel] | None = None,
             pool: ThreadPoolExecutor | None = None, remind: bool = False) -> Round:
    """One round: gather digests, claim a batch, deliver it, record the results, purge old contacts."""
    settings = settings or get_settings()
    found = channel_mod.available(settings) if found is None else found
    out = Round()
    now = clock.now()
    if remind:
        with unit_of_work(write=True) as session:
            out.reminders = notify.reminders(session, now)
    with unit_of_work() as session:
        planned = plan_fanouts(session)
    if planned:
        with unit_of_work(write=True) as session:
            out.expanded = write_fanouts(session, planned)
    with unit_of_work(write=True) as session:
        out.digests = gather_digests(session, now)
        rows = claim(session, batch=settings.notify_batch, now=now,
                     lease_seconds=settings.notify_lease_seconds)
        batch = [(row.id, Message(row.channel, row.address, row.subject, row.body, row.idempotency_key))
                 for row in rows]
    out.claimed = len(batch)

    def one(pair: tuple[int | None, Message]) -> tuple[int, tuple[str, str, float | None]]:
        row_id, message = pair
        assert row_id is not None
        return row_id, deliver(found.get(message.channel), message)

    if pool is not None and len(batch) > 1:
        out.results = dict(pool.map(one, batch))
    else:
        out.results = dict(map(one, batch))
    with unit_of_work(write=True) as session:
        _apply(session, out.results, clock.now(), settings.notify_max_attempts, out)
        out.purged = purge(session, clock.now(), settings.notify_keep_days)
    return out


def run(stop: threading.Event | None = None, *, once: bool = False, settings: Settings | None = None,
        threads: int = 8) -> Round:
    """Deliver until `stop` is set (or one round with `once`); sleeps when the queue is empty."""
    settings = settings or get_settings()
    stop = stop or threading.Event()
    found = channel_mod.available(settings)
    total = Round()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="civic-send") as pool:
        last_reminders = -float(REMIND_EVERY_S)
        while not stop.is_set():
            remind = time.monotonic() - last_reminders >= REMIND_EVERY_S
            if remind:
                last_reminders = time.monotonic()
            r = run_once(settings, found, pool, remind=remind)
            for name in ("claimed", "sent", "retried", "dead", "purged", "digests", "expanded"):
                setattr(total, name, getattr(total, name) + getattr(r, name))
            if r.claimed:
                log.info("delivered %s, retrying %s, dead %s", r.sent, r.retried, r.dead)
            if once:
                break
            if r.claimed < settings.notify_batch and not r.expanded:
                stop.wait(settings.notify_poll_seconds)
    return total
