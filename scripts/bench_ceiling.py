"""The ceiling of `make bench`: a bare FastAPI app that renders an 8 KB Jinja page without a database,
served exactly as `civic serve` serves civic (the same socket, uvicorn settings and worker processes).

    python scripts/bench_ceiling.py PORT WORKERS

Each goal of `make bench --goals` is a share of what this app answers in the same run: no app on this
machine can answer a page faster through the same server, so the ratio measures civic's own cost.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from civic.serve import _socket  # noqa: E402

PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{{ title }}</title></head><body>
<header><h1>{{ title }}</h1></header><main><ul class="cards">
{% for row in rows %}<li class="card"><a class="card-title" href="/items/{{ row.code }}">{{ row.title }}</a>
<p class="meta"><span class="code">{{ row.code }}</span> · {{ row.village }} · {{ row.stage }}</p></li>
{% endfor %}</ul></main></body></html>"""

ROWS = [{"code": f"NS-2026-{n:04d}", "title": f"Đường ngõ {n} nhiều ổ gà, trời mưa lầy lội khó đi",
         "village": f"Thôn Hưng Đạo {n}", "stage": "Dân biết"} for n in range(1, 34)]


def create_app():
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from jinja2 import Environment

    template = Environment(autoescape=True).from_string(PAGE)
    app = FastAPI(docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def page():
        return template.render(title="Ý kiến", rows=ROWS)

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app


def _worker(port: int) -> None:
    import uvicorn

    config = uvicorn.Config(create_app, factory=True, host="127.0.0.1", port=port, access_log=False,
                            lifespan="on")
    uvicorn.Server(config).run(sockets=[_socket("127.0.0.1", port)])


def main() -> int:
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(port,)) for _ in range(workers)]
    for p in procs:
        p.start()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    while not stopping and all(p.is_alive() for p in procs):
        time.sleep(0.5)
    for p in procs:
        p.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
