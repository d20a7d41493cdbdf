"""Time notifications: scheduling a meeting in a village of 2,000 households (the invitations are queued in
the request), and the worker delivering them to a local SMS gateway stub.

    .venv/bin/python scripts/bench_notify.py [HOUSEHOLDS] [--runs N]

Uses a fresh SQLite database in a temporary folder (or the database named by DATABASE_URL, which must be
a throwaway: its name contains "test"). Prints the timings; asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="civic-bench-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp / 'bench.db'}")
os.environ["CIVIC_VAR_DIR"] = str(_tmp)
os.environ.setdefault("SECRET_KEY", "bench-secret")
if "test" not in os.environ["DATABASE_URL"].rsplit("/", 1)[-1] and not os.environ["DATABASE_URL"].startswith(
        f"sqlite:///{_tmp}"):
    raise SystemExit("use a throwaway database: its name must contain 'test'")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text, update  # noqa: E402

import civic.domains  # noqa: E402,F401
from civic import clock  # noqa: E402
from civic.areas.models import Household  # noqa: E402
from civic.cli import migrate  # noqa: E402
from civic.config import get_settings  # noqa: E402
from civic.db import get_engine, is_sqlite, unit_of_work  # noqa: E402
from civic.deliberation import service as deliberation  # noqa: E402
from civic.deliberation.schemas import ScheduleMeetingForm  # noqa: E402
from civic.notify import worker  # noqa: E402
from civic.notify.models import Outbox  # noqa: E402
from tests.builders import make_category, make_commune, make_discuss_item, make_user, make_village, viewer  # noqa: E402
from tests.notify.servers import android_gateway  # noqa: E402


def main() -> None:
    households = int(next((a for a in sys.argv[1:] if a.isdigit()), "2000"))
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    url = os.environ["DATABASE_URL"]
    if not is_sqlite(url):
        with get_engine().begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(url)
    clock.freeze(datetime(2026, 6, 10, 3, 0, tzinfo=UTC))  # 10:00 in Vietnam: SMS may go
    with android_gateway() as stub:
        s = get_settings()
        s.sms_gateway_url, s.sms_gateway_password = stub.url, "gw-pass"
        with unit_of_work(write=True) as db:
            commune = make_commune(db)
            village = make_village(db, commune, "Thôn Lớn", households=households)
            ids = db.execute(select(Household.id).where(Household.village_id == village.id)).scalars().all()
            db.execute(update(Household), [{"id": i, "phone": f"09{i:08d}"} for i in ids])
            cat = make_category(db, commune)
            head = make_user(db, "village_head", commune=commune, village=village)
            items = [make_discuss_item(db, commune, village, cat, head) for _ in range(runs)]
            worker.expand_fanouts(db, limit=runs)  # the items' new-item fan-out rows, before the meetings'
            head_id, item_ids = head.id, [i.id for i in items]
        timings = []
        for item_id in item_ids:
            with unit_of_work(write=True) as db:
                from civic.accounts.models import User
                from civic.items.models import Item

                item, who = db.get(Item, item_id), viewer(db, db.get(User, head_id))
                start = (clock.now() + timedelta(days=6)).astimezone(clock.LOCAL_TZ)
                form = ScheduleMeetingForm.parse({"starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                                                  "place": "Nhà văn hoá", "agenda": "Bàn việc làm đường"})
                began = time.perf_counter()
                deliberation.schedule_meeting(db, item, who, form)
                db.flush()
            timings.append(time.perf_counter() - began)  # the commit included
        timings.sort()
        median = timings[len(timings) // 2] * 1000
        database = os.environ["DATABASE_URL"].split(":", 1)[0]
        print(f"schedule a meeting, {households} households: median {median:.0f} ms, "
              f"best {timings[0] * 1000:.0f} ms, worst {timings[-1] * 1000:.0f} ms ({runs} meetings, "
              f"{database}; the invitations are queued as one fan-out row)")
        began = time.perf_counter()
        with unit_of_work(write=True) as db:
            made = worker.expand_fanouts(db, limit=1)
        took = time.perf_counter() - began
        print(f"the worker writes one meeting's {made} invitations in {took * 1000:.0f} ms")
        with unit_of_work(write=True) as db:
            worker.expand_fanouts(db, limit=runs)
            queued = db.execute(select(func.count()).select_from(Outbox).where(
                Outbox.kind == "meeting_scheduled", Outbox.channel == "sms")).scalar_one()
        s.notify_batch = 500
        stop = threading.Event()
        began = time.perf_counter()
        total = 0
        while True:
            r = worker.run(stop, once=True, threads=16, settings=s)
            total += r.sent
            if r.claimed == 0:
                break
        took = time.perf_counter() - began
        print(f"worker: {total} of {queued} messages delivered to the local SMS gateway stub in {took:.1f} s "
              f"= {total / took:.0f} messages/s (16 threads, batches of 500)")
        assert len(stub.seen) >= total


if __name__ == "__main__":
    main()
