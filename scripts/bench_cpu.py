"""CPU per request, in process: what a page costs in Python, apart from the load generator and the network.

    python scripts/bench_cpu.py DATABASE N PATH [PATH ...] [--login] [--profile] [--cache]

DATABASE is an SQLite file (copied first, so the original is never changed) or a database URL. Each path
is asked for 4 times to warm up, then N times through the ASGI app (Starlette's test client); the
script prints the process CPU time and wall time per request and the page's size. --login signs in as
the bench's village head of all villages first (for /triage); --profile prints where the time goes
(cProfile of the app, run in one thread); --cache leaves the page cache on.

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
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="civic-cpu-"))
    url = args.database
    if "://" not in url:
        shutil.copyfile(url, work / "run.db")
        url = f"sqlite:///{work / 'run.db'}"
    os.environ.update(DATABASE_URL=url, CIVIC_PAGE_CACHE="1" if args.cache else "0", CIVIC_VAR_DIR=str(work),
                      SECRET_KEY="civic-bench-secret-key-only-for-the-local-benchmark-0123456789")
    from fastapi.testclient import TestClient

    from civic.main import create_app

    app = create_app()
    profiler = cProfile.Profile() if args.profile else None
    measuring = [False]
    if profiler is not None:
        import anyio.to_thread

        async def inline(func, *a, **_kw):  # run sync routes in the profiled thread
            return func(*a)

        anyio.to_thread.run_sync = inline  # type: ignore[assignment]
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
            for _ in range(4):
                answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            cpu, wall = time.process_time(), time.perf_counter()
            measuring[0] = True
            for _ in range(args.n):
                client.get(path)
            measuring[0] = False
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"{path:48} cpu {cpu / args.n * 1000:7.2f} ms/request  "
                  f"wall {wall / args.n * 1000:7.2f} ms  "
                  f"{len(answer.content):,} B")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
