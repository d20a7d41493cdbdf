"""The counters of items per village and stage follow every submission and stage change; `civic recount`
checks them against the items and repairs them."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import update

from civic.db import unit_of_work
from civic.items import service as items
from civic.items.models import ItemCount
from civic.workflow import service as workflow
from tests.builders import make_item, viewer, world


def civic(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    assert "test" in env["DATABASE_URL"] or env["DATABASE_URL"].startswith("sqlite")
    return subprocess.run([sys.executable, "-m", "civic.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_counts_follow_submissions_and_stage_changes(db):
    commune, a, b, cat, users = world(db)
    first = make_item(db, commune, a, cat)
    make_item(db, commune, a, cat)
    make_item(db, commune, b, cat, stage="know")
    make_item(db, commune, b, cat, stage="rejected")
    assert items.stage_counts(db, commune.id) == {"submitted": 2, "know": 1, "closed": 1}
    assert items.counted(db, commune.id) == 4
    assert items.counted(db, commune.id, village_id=a.id) == 2
    assert items.counted(db, commune.id, village_id=b.id, stage="know") == 1
    workflow.transition(db, first, "accept", viewer(db, users["village_head"]), None)
    assert items.stage_counts(db, commune.id) == {"submitted": 1, "know": 2, "closed": 1}
    assert items.recount(db) == []


def test_the_home_page_and_the_list_show_the_counts(client):
    with unit_of_work(write=True) as db:
        commune, a, b, cat, _users = world(db)
        for _ in range(3):
            make_item(db, commune, a, cat)
        make_item(db, commune, b, cat, stage="know")
    listing = client.get("/items", params={"lang": "en"})
    assert "4 items found" in listing.text
    assert "3 items found" in client.get("/items", params={"lang": "en", "village": a.id}).text
    assert "1 item found" in client.get("/items", params={"lang": "en", "stage": "know"}).text
    assert "0 items found" in client.get("/items", params={"lang": "en", "stage": "do"}).text


def test_recount_finds_and_repairs_a_wrong_counter():
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        make_item(db, commune, a, cat)
        make_item(db, commune, a, cat)
    run = civic("recount")
    assert run.returncode == 0, run.stderr
    assert "match" in run.stdout
    with unit_of_work(write=True) as db:
        db.execute(update(ItemCount).values(n=7))
    run = civic("recount")
    assert run.returncode == 1
    assert "submitted: counted 7, items 2" in run.stdout
    assert "civic recount --repair" in run.stderr
    run = civic("recount", "--repair")
    assert run.returncode == 0, run.stderr
    with unit_of_work() as db:
        assert items.stage_counts(db, commune.id) == {"submitted": 2}
        assert items.recount(db) == []
