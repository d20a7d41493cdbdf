"""What the notifications' outbox costs the web pages: the same requests with the audit listener on and off.

    python scripts/bench_outbox.py DATABASE [--rounds N] [--per-round M]

DATABASE is an SQLite file (copied first; the original is never changed), e.g. the one `make bench` builds
in var/bench/. In one process, through the ASGI app (Starlette's test client, page cache off), the script
alternates rounds with the listener attached (as shipped) and detached, so both halves see the same machine
load, and prints for each kind of request the CPU per request in both and the difference:

- GET pages (status pages, filtered list, home): the listener runs only when an audited change is written,
  so it should be called 0 times; the script counts the calls to show it;
- POST /submit (a fresh session and CSRF token per submission, as `make bench` does): each submission
  writes its audit event, and with the listener the outbox rows of the village head's "new item" message.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database")
    p.add_argument("--rounds", type=int, default=6, help="rounds of each kind, on and off (default 6)")
    p.add_argument("--per-round", type=int, default=40, help="requests a round (default 40)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="civic-outbox-"))
    shutil.copyfile(args.database, work / "run.db")
    os.environ.update(DATABASE_URL=f"sqlite:///{work / 'run.db'}", CIVIC_PAGE_CACHE="0",
                      CIVIC_VAR_DIR=str(work), CIVIC_SUBMIT_RATE_LIMIT="0",
                      SECRET_KEY="civic-bench-secret-key-only-for-the-local-benchmark-0123456789")
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from civic.audit import service as audit
    from civic.db import get_engine
    from civic.items.models import Item
    from civic.main import create_app
    from civic.notify import service as notify
    from civic.notify.models import Outbox

    calls = [0]

    def counted(session, event):
        calls[0] += 1
        notify.on_event(session, event)

    def attach(on: bool) -> None:
        audit.LISTENERS[:] = [counted] if on else []

    with get_engine().connect() as conn:
        rows = conn.execute(select(Item.code, Item.village_id, Item.category_id)
                            .where(Item.stage.in_(("know", "discuss", "do", "inspect")))
                            .order_by(Item.id.desc()).limit(20)).all()
    codes = [r.code for r in rows]
    village, category = rows[0].village_id, rows[0].category_id
    pages = [f"/items/{c}" for c in codes] + [f"/items?village={village}", "/items?stage=discuss", "/"]

    app = create_app()
    serial = [0]
    with TestClient(app) as client:
        def get_pages(n: int) -> None:
            for i in range(n):
                assert client.get(pages[i % len(pages)]).status_code == 200

        def submit(n: int) -> None:
            for _ in range(n):
                client.cookies.clear()
                form = client.get("/submit").text
                token = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert token, "GET /submit gave no CSRF token"
                serial[0] += 1
                answer = client.post("/submit", data={
                    "csrf_token": token.group(1), "client_token": f"outbox{os.getpid()}x{serial[0]}",
                    "kind": "concern", "village_id": village, "category_id": category,
                    "title": f"Đèn đường ngõ {serial[0]} không sáng",
                    "description": "Ba bóng đèn đường trong ngõ đã hỏng hơn hai tuần, buổi tối rất tối.",
                    "contact_phone": f"09{serial[0] % 100_000_000:08d}"},
                    follow_redirects=False)
                assert answer.status_code == 303, (answer.status_code, answer.text[:300])

        kinds = {"GET pages": get_pages, "GET /submit + POST /submit": submit}
        for name, run in kinds.items():
            attach(True)
            run(8)  # warm up both paths
            attach(False)
            run(8)
            cpu: dict[bool, list[float]] = {True: [], False: []}
            made: dict[bool, int] = {True: 0, False: 0}
            listener_calls = 0
            for r in range(args.rounds * 2):
                on = r % 2 == 0
                attach(on)
                before_calls = calls[0]
                with get_engine().connect() as conn:
                    before_rows = conn.execute(select(func.count()).select_from(Outbox)).scalar_one()
                t = time.process_time()
                run(args.per_round)
                cpu[on].append((time.process_time() - t) / args.per_round * 1000)
                with get_engine().connect() as conn:
                    after_rows = conn.execute(select(func.count()).select_from(Outbox)).scalar_one()
                made[on] += after_rows - before_rows
                listener_calls += calls[0] - before_calls
            on_ms, off_ms = statistics.median(cpu[True]), statistics.median(cpu[False])
            requests = args.rounds * args.per_round
            print(f"{name:28} listener on {on_ms:6.2f} ms CPU/request, off {off_ms:6.2f} ms "
                  f"({(on_ms - off_ms) / off_ms * 100:+.1f} %); listener called {listener_calls} times "
                  f"for {requests} requests; outbox rows written {made[True]} (on) / {made[False]} (off)")
    attach(True)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
