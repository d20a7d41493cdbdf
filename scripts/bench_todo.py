"""Time the staff workspace on the benchmark database (100,000 items, 200 villages; `make bench` or
`python scripts/bench.py --build-only` builds it under var/bench/).

    .venv/bin/python scripts/bench_todo.py [--requests 20]

Works on a fresh copy of the pristine database (never var/civic.db). Adds, on that copy only, a village head
of one village beside the benchmark's village head of all 200 villages, then asks each page with the test
client (in process, no network): a warm-up, then `--requests` timed requests; prints the median and p90 in
milliseconds. Also times the navigation's count alone (it is on every staff page).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
SECRET_KEY = "civic-bench-secret-key-only-for-the-local-benchmark-0123456789"
HEAD_ALL = ("0900000102", "bench-village_head")  # scripts/bench.py: village head of every village
HEAD_ONE = ("0900000199", "bench-village-head-one")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--db", type=Path, default=None, help="a pristine benchmark database (default: newest)")
    args = p.parse_args(argv)
    pristine = args.db or max(BENCH_DIR.glob("pristine-*.db"), key=lambda f: f.stat().st_mtime, default=None)
    if pristine is None:
        print("no benchmark database: run `python scripts/bench.py --build-only` first", file=sys.stderr)
        return 2
    work = BENCH_DIR / "todo.db"
    for leftover in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(pristine, work)
    os.environ.update(DATABASE_URL=f"sqlite:///{work}", SECRET_KEY=SECRET_KEY, CIVIC_PAGE_CACHE="0")
    os.environ.pop("CIVIC_DATABASE_URL", None)

    from sqlalchemy import func, select
    from sqlmodel import col
    from starlette.testclient import TestClient

    from civic import domains  # noqa: F401  (the stage table, complete)
    from civic.accounts import service as accounts
    from civic.accounts.models import User
    from civic.accounts.service import load_viewer
    from civic.areas.models import Village
    from civic.db import unit_of_work
    from civic.items.models import Item
    from civic.main import create_app
    from civic.workspace import service as workspace

    with unit_of_work(write=True) as db:
        # A pristine copy built before the latest migrations may lack an index of the item table: add it.
        for index in Item.__table__.indexes:  # type: ignore[attr-defined]
            index.create(db.get_bind(), checkfirst=True)
        village = db.execute(select(Village).order_by(col(Village.id)).limit(1)).scalar_one()
        user = accounts.create_user(db, phone=HEAD_ONE[0], display_name="Trưởng thôn một",
                                    password=HEAD_ONE[1])
        accounts.grant(db, user, role="village_head", commune_id=village.commune_id, village_id=village.id)
        one_id = user.id
        head_all_id = db.execute(select(col(User.id)).where(col(User.phone) == HEAD_ALL[0])).scalar_one()
        submitted = db.execute(select(col(Item.code)).where(col(Item.stage) == "submitted",
                                                            col(Item.village_id) == village.id)
                               .order_by(col(Item.id).desc()).limit(1)).scalar_one()
        n_items = db.execute(select(func.count()).select_from(Item)).scalar_one()
    print(f"{n_items:,} items; {pristine.name}")

    def timed(fn, n: int) -> tuple[float, float]:
        for _ in range(3):
            fn()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        return statistics.median(times), times[int(0.9 * (len(times) - 1))]

    app = create_app()
    for label, (phone, password), uid in (("head of 200 villages", HEAD_ALL, head_all_id),
                                          ("head of 1 village", HEAD_ONE, one_id)):
        client = TestClient(app, base_url="http://testserver")
        found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert found is not None
        token = found.group(1)
        answer = client.post("/login", data={"csrf_token": token, "phone": phone, "password": password},
                             follow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
        for path in ("/todo", "/todo?stage=know", f"/triage/{submitted}", "/items"):
            def get(path: str = path, client: TestClient = client) -> None:
                r = client.get(path)
                assert r.status_code == 200, (path, r.status_code)
            p50, p90 = timed(get, args.requests)
            size = len(client.get(path).content)
            print(f"{label:<22} GET {path:<28} p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  {size / 1024:5.1f} KB")
        with unit_of_work() as db:
            viewer = load_viewer(db, uid)
            count = workspace.todo_count(db, viewer)
            p50, p90 = timed(lambda db=db, viewer=viewer: workspace.todo_count(db, viewer), args.requests)
        print(f"{label:<22} navigation count ({count:,}){'':<10} p50 {p50:6.2f} ms  p90 {p90:6.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
