"""The kill -9 trial: `civic worker` killed in the middle of a batch loses no message; restarted, it sends the
rest, repeating at most the batch that was in flight, with the same idempotency keys."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from civic.db import unit_of_work
from civic.notify import service as notify
from civic.notify.models import Outbox
from tests.builders import make_commune
from tests.notify.servers import android_gateway

MESSAGES, BATCH = 60, 20


def start_worker(gateway: str) -> subprocess.Popen:
    env = {**os.environ, "CIVIC_SMS_GATEWAY_URL": gateway, "CIVIC_SMS_GATEWAY_PASSWORD": "gw-pass",
           "CIVIC_NOTIFY_BATCH": str(BATCH), "CIVIC_NOTIFY_LEASE_SECONDS": "5",
           "CIVIC_NOTIFY_POLL_SECONDS": "0.2"}
    command = Path(sys.executable).parent / "civic"
    return subprocess.Popen([str(command), "worker", "--threads", "4"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def statuses() -> collections.Counter:
    with unit_of_work() as db:
        return collections.Counter(db.execute(select(Outbox.status)).scalars())


def test_kill_9_in_the_middle_of_a_batch_loses_nothing():
    with unit_of_work(write=True) as db:
        commune = make_commune(db)
        recipients = [notify.Recipient(f"h:{n}", "sms", f"09120{n:05d}") for n in range(MESSAGES)]
        # urgent: the trial runs at any hour, and SMS otherwise waits for the morning
        notify.enqueue(db, commune_id=commune.id, event_id=1, item=None, kind="digest", code="NS",
                       recipients=recipients, usable={"sms"}, urgent=True)
        keys = set(db.execute(select(Outbox.idempotency_key)).scalars())

    def slow(seen):
        time.sleep(0.1)
        return None

    with android_gateway(fail=slow) as stub:
        first = start_worker(stub.url)
        deadline = time.monotonic() + 180  # a loaded machine can take half a minute to start the command
        while len(stub.seen) < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL
        killed_at = statuses()
        assert killed_at["sending"] == BATCH and killed_at["sent"] == 0  # the batch in flight, unrecorded
        in_flight = len(stub.seen)

        second = start_worker(stub.url)
        try:
            deadline = time.monotonic() + 180
            while statuses()["sent"] < MESSAGES and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(15)
        assert statuses() == {"sent": MESSAGES}
        ids = collections.Counter(s.json()["id"] for s in stub.seen)
        assert set(ids) == keys  # every message reached the gateway
        repeated = {k for k, n in ids.items() if n > 1}
        assert len(repeated) <= in_flight <= BATCH  # only the batch in flight was sent twice…
        bodies = collections.defaultdict(set)
        for s in stub.seen:
            bodies[s.json()["id"]].add(s.json()["message"])
        assert all(len(b) == 1 for b in bodies.values())  # …with the same key and the same text
