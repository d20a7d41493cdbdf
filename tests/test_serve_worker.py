"""A worker of `civic serve` sets what it built at start aside from Python's cyclic collector
(civic.main.serving_app): a full collection would otherwise walk every module, route and catalog of the
process now and then while pages wait (about 0.1 s). An app built for a test does not, as its objects go
when the test ends."""

from __future__ import annotations

import os
import subprocess
import sys

PROGRAM = """
import gc, sys
from fastapi.testclient import TestClient
from civic.main import create_app, serving_app
with TestClient(serving_app() if sys.argv[1] == "serving" else create_app()) as client:
    assert client.get("/healthz").status_code == 200
    print(gc.get_freeze_count())
"""


def _frozen(kind: str) -> int:
    run = subprocess.run([sys.executable, "-c", PROGRAM, kind], capture_output=True, text=True,
                         env=dict(os.environ), timeout=120)
    assert run.returncode == 0, run.stderr[-800:]
    return int(run.stdout.strip())


def test_a_serving_worker_sets_its_start_up_objects_aside_and_a_tests_app_does_not():
    assert _frozen("serving") > 50_000
    assert _frozen("test") == 0
