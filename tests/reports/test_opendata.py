"""The open-data package: built by `civic open-data build` as a process, served at a stable address,
validated with the frictionless library, public data only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import frictionless

from civic.db import unit_of_work
from civic.implementation import service as impl
from civic.implementation.schemas import BudgetLineForm, PledgeOnBehalfForm
from tests.builders import make_item, pledge_data, viewer, world

VAR = Path(os.environ["CIVIC_VAR_DIR"])


def _setup():
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        item = make_item(db, commune, a, cat, stage="do", contact_name="Lê Thị Hoa",
                         contact_phone="0912345678")
        make_item(db, commune, b, cat, title="Đèn đường hỏng, cần thay", contact_phone="0987654321")
        head = viewer(db, users["village_head"])
        impl.pledge(db, item, head, PledgeOnBehalfForm.parse(pledge_data("labour", "3,5", household="H0001")))
        impl.add_budget_line(db, item, head, BudgetLineForm.parse(
            {"source": "state", "label": "Vật liệu", "amount": "10 triệu"}))
        return commune, item


def civic(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civic.cli", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)


def test_the_command_builds_a_package_that_validates_and_holds_no_personal_data():
    commune, item = _setup()
    shutil.rmtree(VAR / "open-data", ignore_errors=True)
    run = civic("open-data", "build")
    assert run.returncode == 0, run.stderr
    package = VAR / "open-data" / "NS" / "datapackage.json"
    assert str(package) in run.stdout
    report = frictionless.validate(str(package))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    descriptor = json.loads(package.read_text("utf-8"))
    assert [r["name"] for r in descriptor["resources"]] == ["items", "decisions", "contributions", "budget",
                                                           "spending"]
    text = "".join(p.read_text("utf-8") for p in package.parent.glob("*.csv"))
    assert item.code in text and "Vật liệu" in text and "3.5" in text
    for private in ("0912345678", "0987654321", "Lê Thị Hoa", "H0001"):
        assert private not in text


def test_an_unknown_commune_is_refused():
    run = civic("open-data", "build", "--commune", "ZZ")
    assert run.returncode == 2
    assert "refused" in run.stderr


def test_the_package_is_served_and_built_on_demand_when_missing(client):
    _commune, item = _setup()
    shutil.rmtree(VAR / "open-data", ignore_errors=True)
    answer = client.get("/open-data/datapackage.json")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    descriptor = answer.json()
    assert descriptor["resources"][0]["path"] == "items.csv"
    items = client.get("/open-data/items.csv")
    assert items.status_code == 200 and item.code in items.text
    assert "0912345678" not in items.text
    assert client.get("/open-data/passwords.csv").status_code == 404
    assert 'href="/open-data/datapackage.json"' in client.get("/").text
