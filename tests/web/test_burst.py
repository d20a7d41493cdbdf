"""A burst of signed-in requests larger than a worker's connection pool is served, not stalled.

A served page keeps its database connection until its answer has gone, and reads the viewer on the event
loop. When a burst took every connection, the next request's read stopped the worker's loop while it
waited for one, and the requests holding the connections waited for that loop to finish them: every
page stalled for the pool's 30 s timeout and answered 500 (seen at 32 connections on two workers on
PostgreSQL). Requests now wait for a place without blocking the loop (civic/web/deps.py).

One live server with a deliberately small pool (2 + 2 connections, 2 threads) and 24 requests at once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.browser.conftest import _free_port, running_server
from tests.builders import PASSWORD, csrf_from, setup_item, setup_world

BURST = 24


def test_a_burst_larger_than_the_pool_gets_its_pages():
    commune, village, _other, category, users = setup_world()
    codes = [setup_item(commune, village, category, title=f"Cống số {n}").code for n in range(3)]
    port = _free_port()
    log = Path(os.environ["CIVIC_VAR_DIR"]) / f"burst-{port}.log"
    with running_server(port, log, CIVIC_THREADS="2", CIVIC_DB_POOL="2", CIVIC_DB_OVERFLOW="2") as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            token = csrf_from(client.get("/login").text)
            answer = client.post("/login", data={"csrf_token": token, "phone": users["village_head"].phone,
                                                 "password": PASSWORD})
            assert answer.status_code == 303, answer.text[:300]
            cookies = dict(client.cookies)

        paths = ["/triage", *(f"/items/{code}" for code in codes)]

        def fetch(n: int) -> tuple[str, int]:
            path = paths[n % len(paths)]
            with httpx.Client(base_url=server.url, timeout=60, cookies=cookies) as one:
                return path, one.get(path).status_code

        with ThreadPoolExecutor(BURST) as pool:
            answers = list(pool.map(fetch, range(BURST)))
        log_text = server.log_since(0)

    assert [a for a in answers if a[1] != 200] == [], log_text[-2000:]
    assert "QueuePool limit" not in log_text and "Traceback" not in log_text, log_text[-2000:]
