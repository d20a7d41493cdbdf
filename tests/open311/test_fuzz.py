"""Schema-based fuzzing of the Open311 routes: schemathesis (the `st` CLI of the virtualenv) reads
/openapi.json from a live server seeded with a commune, categories with service definitions, a few items
and an API key, and sends generated requests — valid and invalid — to every operation under /open311/.
Every check must pass: no 500, no undeclared status or content type, no body that breaks its schema.

Bounded: a fixed seed, at most MAX_EXAMPLES cases per operation and a time budget (the whole test takes
well under a minute on the 2-core machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select

from civic import clock
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import setup_item

MAX_EXAMPLES = 25
MAX_TIME = 25  # seconds: schemathesis keeps fuzzing until this budget is spent
SEED = 311
ST = Path(sys.executable).with_name("st")


def _config(site, codes: list[str]) -> str:
    """schemathesis.toml. The Open311 arguments are free strings (the spec's W3C dates, comma lists,
    attribute[CODE]) whose meaning OpenAPI cannot state — a 90-day window, a service's required
    attributes — and the spec answers a wrong one with 400 and its error array, which every operation
    declares: so 400 counts as an answer to schema-valid data. Every other check applies in full.
    Dictionaries draw known keys, codes, ids and dates most of the time, so the generated requests get
    past the 403s, 404s and 400s into the queries and the item service."""
    def values(items: list[str]) -> str:
        return json.dumps(items, ensure_ascii=False)

    now = clock.now()
    dates = [(now + timedelta(days=d)).strftime(f) for d in (-30, -1, 1)
             for f in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+07:00", "%Y-%m-%d")]
    values_key = json.dumps(site.api_key)  # the POST always carries the key: its 403s have contract tests
    return f"""
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "400", "403", "404"]

[dictionaries.api_keys]
values = {values([site.api_key])}

[dictionaries.communes]
values = {values([site.commune.code, ""])}

[dictionaries.services]
values = {values([site.drainage.code, site.lighting.code])}

[dictionaries.requests]
values = {values(codes + [",".join(codes)])}

[dictionaries.villages]
values = {values([site.village.slug, site.other.slug])}

[dictionaries.dates]
values = {values(dates)}

[dictionaries.phones]
values = ["0912345678", "+84 912 345 678"]

[dictionaries.counts]
values = ["1", "2", "50", "1000"]

[dictionaries.statuses]
values = ["open", "closed", "open,closed"]

[dictionaries.flags]
values = ["true", "false"]

[dictionaries.locales]
values = ["en", "vi"]

[dictionaries.lats]
values = ["21.3021", "-90", "90"]

[dictionaries.longs]
values = ["105.2104", "-180", "180"]

[parameters]
"body.api_key" = {values_key}
"query.jurisdiction_id" = {{ dictionary = "communes", probability = 0.7 }}
"body.jurisdiction_id" = {{ dictionary = "communes", probability = 0.7 }}
"query.api_key" = {{ dictionary = "api_keys", probability = 0.3 }}
"body.service_code" = {{ dictionary = "services", probability = 0.8 }}
"body.phone" = {{ dictionary = "phones", probability = 0.9 }}
"query.service_code" = {{ dictionary = "services", probability = 0.5 }}
"path.service_code" = {{ dictionary = "services", probability = 0.7 }}
"path.service_request_id" = {{ dictionary = "requests", probability = 0.7 }}
"query.service_request_id" = {{ dictionary = "requests", probability = 0.3 }}
"body.address_id" = {{ dictionary = "villages", probability = 0.5 }}
"body.lat" = {{ dictionary = "lats", probability = 0.9 }}
"body.long" = {{ dictionary = "longs", probability = 0.9 }}
"query.start_date" = {{ dictionary = "dates", probability = 0.6 }}
"query.end_date" = {{ dictionary = "dates", probability = 0.6 }}
"query.page" = {{ dictionary = "counts", probability = 0.6 }}
"query.page_size" = {{ dictionary = "counts", probability = 0.6 }}
"query.status" = {{ dictionary = "statuses", probability = 0.6 }}
"query.extensions" = {{ dictionary = "flags", probability = 0.6 }}
"query.locale" = {{ dictionary = "locales", probability = 0.6 }}
"""


def _summary(report: Path, output: str) -> str:
    """The failures schemathesis found, one block each, for the assertion message."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if "FAILURES" in line or "ERRORS" in line), None)
    body = "\n".join(lines[start:] if start is not None else lines[-80:])
    return f"schemathesis found problems in the Open311 API (report: {report}):\n{body[-12000:]}"


def test_fuzz_open311_finds_no_server_error_and_no_schema_break(live_server, site, tmp_path):
    first = setup_item(site.commune, site.village, site.drainage)
    second = setup_item(site.commune, site.other, site.lighting, stage="rejected")
    third = setup_item(site.commune, site.village, site.drainage, stage="know")
    codes = [first.code, second.code, third.code]
    with unit_of_work() as db:
        before = db.execute(select(func.count()).select_from(Item)).scalar_one()

    (tmp_path / "schemathesis.toml").write_text(_config(site, codes), encoding="utf-8")
    report, har = tmp_path / "report.json", tmp_path / "requests.har"
    command = [
        str(ST), "--no-color", "--config-file", str(tmp_path / "schemathesis.toml"),
        "run", f"{live_server}/openapi.json",
        "--include-path-regex", "^/open311/",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--max-time", str(MAX_TIME),
        "--seed", str(SEED),
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--suppress-health-check", "too_slow,filter_too_much",
        "--report", "json,har", "--report-json-path", str(report), "--report-har-path", str(har),
    ]
    env = dict(os.environ, NO_COLOR="1", COLUMNS="160")
    started = time.monotonic()
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=MAX_TIME + 20)
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr

    assert run.returncode == 0, _summary(report, output)
    assert elapsed < MAX_TIME + 15, f"the fuzz run took {elapsed:.0f} s"
    # It really exercised the Open311 operations (a filter that matched nothing would also exit 0), and the
    # POSTs got past the api_key into the submission's own checks.
    answered = _answers(har)
    for path in ("discovery", "services", "services/{service_code}", "service/{service_code}", "requests",
                 "requests/{service_request_id}", "tokens/{token}", "servicerequestupdates"):
        assert answered.get(("GET", path), {}).get(200) or path.startswith("tokens"), (path, answered)
    posted = answered.get(("POST", "requests"), {})
    assert set(posted) - {403, 404}, f"no generated POST got past the api_key: {posted}"
    with unit_of_work() as db:
        after = db.execute(select(func.count()).select_from(Item)).scalar_one()
    print(f"schemathesis: {elapsed:.0f} s; POST requests answered {posted}; {after - before} items filed")


def _answers(har: Path) -> dict[tuple[str, str], dict[int, int]]:
    """How many answers of each status each operation gave, from the HAR file schemathesis wrote."""
    out: dict[tuple[str, str], dict[int, int]] = {}
    for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]:
        path = urlsplit(entry["request"]["url"]).path
        if not path.startswith("/open311/v2/") or not path.endswith((".json", ".xml")):
            continue
        parts = path.removeprefix("/open311/v2/").rsplit(".", 1)[0].split("/")
        name = parts[0] + ({"services": "/{service_code}", "service": "/{service_code}",
                            "requests": "/{service_request_id}", "tokens": "/{token}"}.get(parts[0], "")
                           if len(parts) > 1 or parts[0] in ("service", "tokens") else "")
        counts = out.setdefault((entry["request"]["method"], name), {})
        status = entry["response"]["status"]
        counts[status] = counts.get(status, 0) + 1
    return out
