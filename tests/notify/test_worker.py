"""The worker: delivery, retries with backoff, Retry-After, dead letters, leases, the 30-day purge."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from civic import clock
from civic.config import get_settings
from civic.db import unit_of_work
from civic.notify import service as notify
from civic.notify import worker
from civic.notify.channels import Message, Permanent, Temporary
from civic.notify.models import Outbox
from tests.builders import make_commune


class Scripted:
    """A channel that answers from a script: None (accepted) or an exception, one per try."""

    name = "email"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer


def queue(n: int = 1) -> list[int]:
    with unit_of_work(write=True) as db:
        commune = make_commune(db)
        recipients = [notify.Recipient(f"f:{i}", "email", f"nguoi{i}@example.vn") for i in range(n)]
        notify.enqueue(db, commune_id=commune.id, event_id=1, item=None, kind="digest", code="NS",
                       recipients=recipients, usable={"email"})
        return [r.id for r in db.execute(select(Outbox).order_by(col(Outbox.id))).scalars()]


def row(row_id: int) -> Outbox:
    with unit_of_work() as db:
        found = db.get(Outbox, row_id)
        assert found is not None
        return found


def test_a_message_is_delivered_once_with_its_idempotency_key(email_on, daytime):
    [rid] = queue()
    channel = Scripted()
    result = worker.run_once(found={"email": channel})
    assert (result.claimed, result.sent) == (1, 1)
    assert row(rid).status == "sent" and row(rid).sent_at is not None
    assert channel.sent[0].idempotency_key == row(rid).idempotency_key
    assert worker.run_once(found={"email": channel}).claimed == 0  # nothing is sent twice


def test_timeouts_and_5xx_are_retried_with_growing_waits(email_on, daytime):
    [rid] = queue()
    channel = Scripted(Temporary("timed out"), Temporary("HTTP 503"))
    worker.run_once(found={"email": channel})
    first = row(rid)
    assert (first.status, first.attempts, first.last_error) == ("queued", 1, "timed out")
    assert clock.as_utc(first.next_attempt_at) == daytime + timedelta(seconds=30)
    assert worker.run_once(found={"email": channel}).claimed == 0  # not before its time
    clock.advance(timedelta(seconds=30))
    worker.run_once(found={"email": channel})
    assert clock.as_utc(row(rid).next_attempt_at) == clock.now() + timedelta(seconds=60)
    clock.advance(timedelta(seconds=60))
    worker.run_once(found={"email": channel})
    assert row(rid).status == "sent" and len(channel.sent) == 3
    assert len({m.idempotency_key for m in channel.sent}) == 1


def test_a_429_waits_as_long_as_retry_after_says(email_on, daytime):
    [rid] = queue()
    worker.run_once(found={"email": Scripted(Temporary("HTTP 429", retry_after=600))})
    assert clock.as_utc(row(rid).next_attempt_at) == daytime + timedelta(seconds=600)


def test_a_permanent_refusal_is_dead_at_once_with_its_reason(email_on, daytime):
    [rid] = queue()
    channel = Scripted(Permanent("SMTP refused the address: [550]"))
    worker.run_once(found={"email": channel})
    dead = row(rid)
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 1, "SMTP refused the address: [550]")
    with unit_of_work() as db:
        shown = notify.summary(db, dead.commune_id)
    assert shown.counts == {"dead": 1} and shown.problems[0].last_error.startswith("SMTP refused")


def test_after_the_last_try_the_message_is_dead(email_on, daytime, monkeypatch):
    monkeypatch.setattr(get_settings(), "notify_max_attempts", 3)
    [rid] = queue()
    channel = Scripted(*[Temporary("HTTP 500")] * 5)
    for _ in range(3):
        worker.run_once(found={"email": channel})
        clock.advance(timedelta(hours=1))
    assert worker.run_once(found={"email": channel}).claimed == 0
    assert (row(rid).status, row(rid).attempts, row(rid).last_error) == ("dead", 3, "HTTP 500")


def test_a_batch_whose_worker_died_is_taken_again_after_the_lease(email_on, daytime):
    ids = queue(3)
    with unit_of_work(write=True) as db:  # a worker claims the batch and is killed before it answers
        claimed = worker.claim(db, batch=10, now=clock.now(), lease_seconds=300)
        assert len(claimed) == 3
    channel = Scripted()
    assert worker.run_once(found={"email": channel}).claimed == 0  # still leased
    clock.advance(timedelta(seconds=301))
    assert worker.run_once(found={"email": channel}).sent == 3
    assert [row(i).status for i in ids] == ["sent"] * 3


def test_no_channel_is_recorded_and_never_claimed(daytime):
    with unit_of_work(write=True) as db:
        commune = make_commune(db)
        notify.enqueue(db, commune_id=commune.id, event_id=1, item=None, kind="digest", code="NS",
                       recipients=[notify.Recipient("f:1", "sms", "0912000111")], usable=set())
    assert worker.run_once(found={}).claimed == 0
    with unit_of_work() as db:
        [r] = db.execute(select(Outbox)).scalars().all()
        assert (r.status, r.last_error) == ("no_channel", "no channel")


def test_contacts_are_erased_30_days_after_delivery(email_on, daytime):
    [rid] = queue()
    worker.run_once(found={"email": Scripted()})
    clock.advance(timedelta(days=29))
    worker.run_once(found={})
    assert row(rid).address == "nguoi0@example.vn"
    clock.advance(timedelta(days=1, seconds=1))
    assert worker.run_once(found={}).purged == 1
    kept = row(rid)
    assert kept.address == "" and kept.status == "sent"


def test_digest_readers_get_one_message_at_18(email_on, daytime):
    with unit_of_work(write=True) as db:
        commune = make_commune(db)
        r = notify.Recipient("u:1", "email", "doc@example.vn", digest=True)
        for event in (1, 2, 3):
            notify.enqueue(db, commune_id=commune.id, event_id=event, item=None, kind="reply",
                           code=f"NS-{event}", recipients=[r], usable={"email"})
    channel = Scripted()
    assert worker.run_once(found={"email": channel}).claimed == 0  # 10:00: held until 18:00
    clock.advance(timedelta(hours=8))
    result = worker.run_once(found={"email": channel})
    assert (result.digests, result.sent) == (1, 1)
    [message] = channel.sent
    assert all(f"NS-{n}" in message.body for n in (1, 2, 3))
