"""CPU per request, in process: what a page costs in Python, apart from the load generator and the network.

    python scripts/bench_cpu.py DATABASE N PATH [PATH ...] [--login] [--profile] [--cache] [--sql] [--direct]

The path `POST:/submit` sends N submissions of the form (each with its own title, all from one phone, as
`make bench` does) and also prints how long the writing transaction held the database, on average and at
its slowest.

DATABASE is an SQLite file (copied first, so the original is never changed, and the copy migrated to the
latest migration) or a database URL. Each path is asked for 4 times to warm up, then N times through
the ASGI app (Starlette's test client); the script prints the process CPU time and wall time per
request, the SQL statements it runs and the page's size. --login signs in as the bench's village head
of all villages first (for /triage); --profile prints where the time goes (cProfile of the app, run in
one thread; BENCH_SORT=cumulative, BENCH_FILTER=civic/ and BENCH_TOP=60 choose what it prints); --cache
leaves the page cache on; --sql prints the statements of one request, with the time each took.

--direct calls the app's ASGI entry itself for each GET (the routes run in the calling thread, no test
client, no thread pool) and prints the best of seven rounds of N: the test client costs about 2 ms a
request and moves from run to run, more than many changes to a page. The figures are then the app's
own CPU, the server's HTTP parsing and socket work left out.

A database: `python scripts/bench.py --build-only --items 50000` writes var/bench/pristine-*.db.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database")
    p.add_argument("n", type=int)
    p.add_argument("paths", nargs="+")
    p.add_argument("--login", action="store_true")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--cache", action="store_true")
    p.add_argument("--sql", action="store_true")
    p.add_argument("--direct", action="store_true")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="civic-cpu-"))
    url = args.database
    if "://" not in url:
        shutil.copyfile(url, work / "run.db")
        url = f"sqlite:///{work / 'run.db'}"
    os.environ.update(DATABASE_URL=url, CIVIC_PAGE_CACHE="1" if args.cache else "0", CIVIC_VAR_DIR=str(work),
                      SECRET_KEY="civic-bench-secret-key-only-for-the-local-benchmark-0123456789")
    if url.startswith("sqlite:///" + str(work)):  # a copy: brought to the latest migration (new indexes)
        from civic.cli import migrate

        migrate(url)
    from fastapi.testclient import TestClient
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from civic.db import get_engine
    from civic.main import create_app

    app = create_app()
    statements: list[tuple[str, float]] = []
    started = [0.0]

    @event.listens_for(get_engine(), "before_cursor_execute")
    def _start(*_args):
        started[0] = time.perf_counter()

    @event.listens_for(get_engine(), "after_cursor_execute")
    def _count(_conn, _cursor, statement, *_args):
        statements.append((statement, time.perf_counter() - started[0]))

    # Seconds from BEGIN IMMEDIATE to the end of COMMIT of each writing transaction: wall, and the CPU time
    # of the thread that held it (the wall time includes waiting for the CPU while other work runs).
    held: list[tuple[float, float]] = []
    began = [0.0, 0.0]

    @event.listens_for(get_engine(), "begin")
    def _began(conn):
        if conn.get_execution_options().get("civic_write"):
            began[:] = [time.perf_counter(), time.thread_time()]

    @event.listens_for(Session, "after_commit")
    def _committed(_session):
        if began[0]:
            held.append((time.perf_counter() - began[0], time.thread_time() - began[1]))
            began[:] = [0.0, 0.0]

    forms: dict[str, str] = {}

    def _ask(client, path: str, n: int):
        if not path.startswith("POST:"):
            return client.get(path)
        if path not in forms:  # the form once, as a browser would: its session's CSRF token stays valid
            forms[path] = client.get(path[5:]).text
        page = forms[path]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no form on " + path[5:]
        villages = re.findall(r'<option value="(\d+)"', page.split('name="village_id"', 1)[1])
        categories = re.findall(r'<option value="(\d+)"', page.split('name="category_id"', 1)[1])
        data = {"csrf_token": token.group(1), "client_token": f"cpu{time.time_ns()}n{n}", "kind": "concern",
                "village_id": villages[n % len(villages)], "category_id": categories[n % len(categories)],
                "title": f"Đèn đường hỏng trước nhà văn hoá {time.time_ns()}-{n}",
                "description": "Đèn đường trước nhà văn hoá thôn bị hỏng đã hai tuần, buổi tối rất tối.",
                "address": "", "lat": "", "lng": "", "contact_name": "", "contact_phone": "0912345678"}
        answer = client.post(path[5:], data=data, follow_redirects=False)
        assert answer.status_code == 303, (path, answer.status_code, answer.text[:300])
        return answer

    profiler = cProfile.Profile() if args.profile else None
    measuring = [False]
    if profiler is not None or args.direct:
        import anyio.to_thread

        async def inline(func, *a, **_kw):  # run sync routes in the calling (profiled) thread
            return func(*a)

        anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    if profiler is not None:
        inner = app

        async def app(scope, receive, send):  # type: ignore[no-redef]
            if measuring[0] and scope["type"] == "http":
                profiler.enable()
                try:
                    return await inner(scope, receive, send)
                finally:
                    profiler.disable()
            return await inner(scope, receive, send)

    with TestClient(app) as client:
        if args.login:
            page = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token, "no login form"
            answer = client.post("/login", data={"csrf_token": token.group(1), "phone": "0900000102",
                                                 "password": "bench-village_head"}, follow_redirects=False)
            assert answer.status_code == 303, answer.status_code
        for path in args.paths:
            for k in range(4):
                answer = _ask(client, path, k)
            assert answer.status_code in (200, 303), (path, answer.status_code)
            statements.clear()
            _ask(client, path, 4)
            counted = list(statements)
            if args.direct and not path.startswith("POST:"):
                _direct(app, client, path, args.n, counted, answer)
                continue
            held.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            measuring[0] = True
            for k in range(args.n):
                _ask(client, path, 5 + k)
            measuring[0] = False
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            writes = (f"  write transaction: wall {sum(w for w, _c in held) / len(held) * 1000:.2f} ms "
                      f"(slowest {max(w for w, _c in held) * 1000:.2f}), cpu "
                      f"{sum(c for _w, c in held) / len(held) * 1000:.2f} ms" if held else "")
            print(f"{path:48} cpu {cpu / args.n * 1000:7.2f} ms/request  "
                  f"wall {wall / args.n * 1000:7.2f} ms  "
                  f"{len(counted)} statements  {len(answer.content):,} B{writes}")
            if args.sql:
                for statement, seconds in counted:
                    print(f"    {seconds * 1000:6.2f} ms", " ".join(statement.split())[:200])
    if profiler is not None:
        stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime"))
        stats.print_stats(os.environ.get("BENCH_FILTER", ""), int(os.environ.get("BENCH_TOP", "30")))
    shutil.rmtree(work, ignore_errors=True)
    return 0


def _direct(app, client, path: str, n: int, counted: list, answer) -> None:
    """GET `path` n times, seven rounds, through the app's ASGI entry with the client's cookies."""
    import asyncio

    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    target, _, query = path.partition("?")
    headers = [(b"host", b"testserver"), (b"accept-encoding", b"gzip")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": target, "raw_path": target.encode(), "query_string": query.encode(),
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80)}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def rounds() -> float:
        status: list[int] = []

        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])

        best = float("inf")
        for _round in range(7):
            cpu = time.process_time()
            for _k in range(n):
                await app(dict(scope, state={}), receive, send)
            best = min(best, time.process_time() - cpu)
        assert set(status) <= {200, 303}, (path, set(status))
        return best

    best = asyncio.run(rounds())
    print(f"{path:48} cpu {best / n * 1000:7.3f} ms/request  (direct, best of 7 rounds)  "
          f"{len(counted)} statements  {len(answer.content):,} B")


if __name__ == "__main__":
    sys.exit(main())
