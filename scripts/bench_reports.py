"""Measure the commune dashboard and the exports on a large commune.

    .venv/bin/python scripts/bench_reports.py dashboard [--db PATH] [--requests 100]
    .venv/bin/python scripts/bench_reports.py exports [--db PATH] [--rows 1000000] [--format csv|xlsx]

`dashboard` serves /dashboard through the ASGI app in this process (no network), on a copy of the
benchmark database of scripts/bench.py (a commune of 200 villages and 100,000 items with their audit
chain; built under var/bench/ when --db is not given), and prints the first (cold) request and the
p50/p90/p99 wall time and the CPU time of the next --requests; then the same when every request follows
a change (a new item is submitted and the village head accepts it: two audit events).

`exports` copies the database, multiplies its items up to --rows (copies of the existing rows with new
codes), then exports the items of the whole commune in a child process, writing the stream to
/dev/null, and prints the child's peak resident memory (ru_maxrss) and time; it does the same for a
tenth of the rows, so a flat memory shows as two close figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))


def _database(args) -> Path:
    if args.db:
        return Path(args.db)
    import bench

    built = bench.BENCH_DIR / "reports-100k.db"
    if not built.exists():
        bench.BENCH_DIR.mkdir(parents=True, exist_ok=True)
        print("building the benchmark database (100,000 items) …", flush=True)
        bench.build_database(built, n_items=100_000, n_villages=200, seed=20260101)
    return built


def _copy(src: Path, dst: Path) -> None:
    s, d = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        s.backup(d)
    finally:
        s.close()
        d.close()


def _env(db: Path, var: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["CIVIC_VAR_DIR"] = str(var)
    os.environ.setdefault("SECRET_KEY", "civic-bench-secret-key-only-for-the-local-benchmark-0123456789")


def _stats(label: str, walls: list[float], cpu: float) -> None:
    walls = sorted(walls)
    q = statistics.quantiles(walls, n=100)
    print(f"{label}: n={len(walls)} p50 {q[49] * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, "
          f"p99 {q[98] * 1000:.1f} ms, CPU {cpu / len(walls) * 1000:.1f} ms a request")


def dashboard(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="civic-bench-reports-"))
    db = work / "bench.db"
    _copy(_database(args), db)
    _env(db, work)
    from fastapi.testclient import TestClient

    from civic.accounts.service import Viewer, load_viewer
    from civic.areas.service import default_commune
    from civic.db import unit_of_work
    from civic.items import service as items
    from civic.items.schemas import SubmitForm
    from civic.main import create_app
    from civic.reports import dashboard as figures
    from civic.workflow import service as workflow

    with unit_of_work() as s:
        from sqlalchemy import text
        print(f"items: {s.execute(text('SELECT count(*) FROM item')).scalar():,}, "
              f"events: {s.execute(text('SELECT count(*) FROM audit_event')).scalar():,}")
    with TestClient(create_app()) as client:
        t0, c0 = time.perf_counter(), time.process_time()
        first = client.get("/dashboard")
        assert first.status_code == 200, first.status_code
        print(f"cold (figures read): {(time.perf_counter() - t0) * 1000:.1f} ms wall, "
              f"{(time.process_time() - c0) * 1000:.1f} ms CPU; page {len(first.content):,} bytes")
        walls = []
        c0 = time.process_time()
        for _ in range(args.requests):
            t = time.perf_counter()
            r = client.get("/dashboard")
            walls.append(time.perf_counter() - t)
            assert r.status_code == 200
        _stats("warm (chain unchanged)", walls, time.process_time() - c0)
        walls, cpu = [], 0.0
        with unit_of_work() as s:
            user_id, village_id = s.execute(text(
                "SELECT user_id, village_id FROM role_grant WHERE role = 'village_head' LIMIT 1")).one()
            category_id = s.execute(text("SELECT id FROM category ORDER BY id LIMIT 1")).scalar_one()
        for n in range(max(10, args.requests // 10)):
            with unit_of_work(write=True) as s:  # real changes: a new item, accepted by the village head
                form = SubmitForm.parse({"kind": "concern", "village_id": str(village_id),
                                         "category_id": str(category_id), "title": f"Cống tắc số {n}",
                                         "description": "Nước tràn ra đường.", "contact_phone": "0912345678"})
                item = items.submit(s, default_commune(s), form, Viewer()).item
                workflow.transition(s, item, "accept", load_viewer(s, user_id), None)
            c, t = time.process_time(), time.perf_counter()
            r = client.get("/dashboard")
            walls.append(time.perf_counter() - t)
            cpu += time.process_time() - c
            assert r.status_code == 200
        _stats("after each change (a new item submitted and accepted before each request)", walls, cpu)
        figures.clear()
    shutil.rmtree(work, ignore_errors=True)


def _inflate(db: Path, rows: int) -> int:
    con = sqlite3.connect(db)
    try:
        have = original = con.execute("SELECT count(*) FROM item").fetchone()[0]
        cols = [r[1] for r in con.execute("PRAGMA table_info(item)") if r[1] != "id"]
        copy = 1
        while have < rows:
            take = min(original, rows - have)
            select = ", ".join(
                f"code || '-c{copy}'" if c == "code" else "NULL" if c in ("client_token", "manage_token_hash")
                else c for c in cols)
            con.execute(f"INSERT INTO item ({', '.join(cols)}) SELECT {select} FROM item "  # noqa: S608
                        f"WHERE code NOT LIKE '%-c%' LIMIT {take}")
            con.commit()
            have += take
            copy += 1
        return con.execute("SELECT count(*) FROM item").fetchone()[0]
    finally:
        con.close()


CHILD = """
import resource, sys, time
from civic.accounts.service import Viewer
from civic.areas.service import default_commune
from civic.db import unit_of_work
from civic.reports import service
from civic.reports.schemas import ExportForm
import civic.domains
with unit_of_work() as db:
    commune = default_commune(db)
form = ExportForm.parse({"dataset": "items", "format": sys.argv[1]})
t = time.perf_counter()
size = 0
with open("/dev/null", "wb") as out:
    for chunk in service.export(Viewer(), commune, form).chunks:
        size += len(chunk)
        out.write(chunk)
print(f"{size} {time.perf_counter() - t:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
"""


def exports(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="civic-bench-exports-"))
    db = work / "bench.db"
    for rows in (args.rows // 10, args.rows):
        if db.exists():
            db.unlink()
        _copy(_database(args), db)
        have = _inflate(db, rows)
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{db}", CIVIC_VAR_DIR=str(work),
                   SECRET_KEY="civic-bench-secret-key-only-for-the-local-benchmark-0123456789")
        run = subprocess.run([sys.executable, "-c", CHILD, args.format], env=env, capture_output=True,
                             text=True, check=True)
        size, seconds, rss_kb = run.stdout.split()
        print(f"{args.format}: {have:,} items, {int(size) / 1e6:.0f} MB written in {seconds} s, "
              f"peak RSS {int(rss_kb) / 1024:.0f} MB")
    shutil.rmtree(work, ignore_errors=True)
    _ = resource  # the child measures itself


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    d = sub.add_parser("dashboard", help="time /dashboard at 100,000 items")
    d.add_argument("--db", help="a benchmark SQLite database (default: built under var/bench/)")
    d.add_argument("--requests", type=int, default=100)
    d.set_defaults(fn=dashboard)
    e = sub.add_parser("exports", help="peak memory of an export of --rows items")
    e.add_argument("--db", help="a benchmark SQLite database (default: built under var/bench/)")
    e.add_argument("--rows", type=int, default=1_000_000)
    e.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    e.set_defaults(fn=exports)
    args = p.parse_args(argv)
    args.fn(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
