"""EXPLAIN (ANALYZE, BUFFERS) of every SELECT each page sends, on the PostgreSQL bench database.

    python scripts/bench_explain.py [--items N] [--out FILE] [PATH ...]

Starts the loaded cluster of `make bench BENCH_ARGS="--db postgres --items N"` (loading it first if it
is missing), runs the app in this process with the page cache off (Starlette's test client), asks for
each page once to warm up, then once more while recording every statement the app sends, and explains
each SELECT with its own parameters on a fresh run database. Prints Markdown (the section of
docs/scaling.md): per page its status, the number of statements and each statement with its plan. Long
`IN` lists (the 200 village ids of a head of all villages) are shortened to "…" in the printed SQL
only. /triage is asked for signed in as the bench's village head of all villages.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench  # noqa: E402
import bench_pg  # noqa: E402

PAGES = ["/", "/items?village=5&stage=discuss", "/items", "/items?q=duong", "/items?q=khongcogi",
         "/items?q=0042", "/items?q=NS-2025-0042", "/items/NS-2025-0042", "/triage",
         "/open311/v2/requests.json?page_size=1000"]
LOGIN_PAGES = {"/triage"}


def shorten(sql: str) -> str:
    """`IN (%(x_1)s::INTEGER, %(x_2)s::INTEGER, …)` with more than 4 members → its first two and "…"."""
    def cut(m: re.Match) -> str:
        parts = m.group(1).split(", ")
        return m.group(0) if len(parts) <= 4 else f"IN ({parts[0]}, {parts[1]}, …)"
    return re.sub(r"IN \(((?:%\([^)]+\)s(?:::\w+)?, )+%\([^)]+\)s(?:::\w+)?)\)", cut, sql)


def shorten_plan(plan: str) -> str:
    """The same list as PostgreSQL prints it in a plan: `'{1,2,3,…}'` with more than 4 members."""
    return re.sub(r"'\{(\d+),(\d+),(?:\d+,){2,}\d+\}'", r"'{\1,\2,…}'", plan)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="*", help=f"pages (default: {' '.join(PAGES)})")
    p.add_argument("--items", type=int, default=1_000_000, help="bench database size (default 1000000)")
    p.add_argument("--villages", type=int, default=200)
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument("--rebuild", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-verify", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", help="write the Markdown here instead of stdout")
    args = p.parse_args()
    paths = args.paths or PAGES
    os.chdir(bench.ROOT)
    url, meta, cluster = bench_pg.prepare(args, bench.pristine_database)
    try:
        text = explain_pages(url, meta, paths)
    finally:
        cluster.stop()
    if args.out:
        Path(args.out).write_text(text)
        bench.log(f"written to {args.out}")
    else:
        print(text)
    return 0


def explain_pages(url: str, meta: dict, paths: list[str]) -> str:
    os.environ.update(DATABASE_URL=url, CIVIC_PAGE_CACHE="0", SECRET_KEY=bench.SECRET_KEY,
                      CIVIC_VAR_DIR=tempfile.mkdtemp(prefix="civic-explain-"))
    os.environ.pop("CIVIC_DATABASE_URL", None)
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from civic.db import get_engine
    from civic.main import create_app

    engine = get_engine()
    seen: list[tuple[str, object]] = []
    recording = [False]

    @event.listens_for(engine, "before_cursor_execute")
    def _record(_conn, _cursor, statement, parameters, _context, _executemany):
        if recording[0] and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    pg = meta["postgres"]
    source = pg.get("source", "")
    out = [f"## EXPLAIN (ANALYZE, BUFFERS) of each page's statements, PostgreSQL "
           f"{pg['server_version'].split()[0]}, {meta['items']:,} items", "",
           f"{meta['items']:,} items, {meta['events']:,} audit events, {meta['households']:,} households, "
           f"{meta['villages']} villages ({pg['bytes'] / 2**20:,.0f} MB): the `make bench` generator's data, "
           f"loaded by `make bench BENCH_ARGS=\"--db postgres --items {meta['items']}\"` ({source}; COPY, "
           "then VACUUM (FREEZE, ANALYZE)). Taken by "
           f"`python scripts/bench_explain.py --items {meta['items']}` "
           f"on {time.strftime('%Y-%m-%d', time.gmtime())}: the page cache off, each page asked once to warm "
           "up, then every SELECT of a second request explained with its own parameters (long `IN` lists "
           "shortened to \"…\" here, in the SQL and in the plans). Buffers: `shared hit` pages were in "
           "PostgreSQL's cache, `read` came from the operating system (a page is 8 kB).", ""]
    with TestClient(create_app()) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        signed_in = False
        for path in paths:
            if path in LOGIN_PAGES and not signed_in and token:
                form = {"csrf_token": token.group(1), "phone": "0900000102", "password": "bench-village_head"}
                answer = client.post("/login", data=form, follow_redirects=False)
                signed_in = answer.status_code == 303
            client.get(path)
            seen.clear()
            recording[0] = True
            t0 = time.perf_counter()
            answer = client.get(path)
            took = (time.perf_counter() - t0) * 1000
            recording[0] = False
            statements = list(seen)
            bench.log(f"{path}: {answer.status_code}, {len(statements)} SELECTs, {took:.0f} ms")
            out += [f"### `GET {path}` ({answer.status_code}, {len(statements)} statements, "
                    f"{len(answer.content) / 1024:,.1f} KB)", ""]
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                for statement, parameters in statements:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
                    plan = shorten_plan("\n".join(r[0] for r in cur.fetchall()))
                    out += ["```sql", shorten(" ".join(statement.split())), "```", "```", plan, "```", ""]
                raw.rollback()
            finally:
                raw.close()
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
