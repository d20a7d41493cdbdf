"""`civic audit checkpoint / export / verify` as an operator runs them: the installed `civic` command in a
subprocess, on the freshly migrated test database with the demo commune seeded, tampered with by SQL the
way someone with access to the database would."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from civic.audit.rules import text_digest
from civic.db import unit_of_work
from civic.seed import demo
from tests.builders import setup_item, setup_world

CIVIC = str(Path(sys.executable).with_name("civic"))


def civic(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run the installed `civic` command with this test run's DATABASE_URL and var dir (tests/conftest.py)."""
    env = dict(os.environ)
    assert "test" in env["DATABASE_URL"] or env["DATABASE_URL"].startswith("sqlite")
    return subprocess.run([CIVIC, *args], capture_output=True, text=True, env=env, timeout=timeout)


def sql(statement: str, **params) -> list:
    with unit_of_work(write=True) as db:
        result = db.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def seeded(via_command: bool = True) -> dict:
    """The demo commune, loaded by `civic seed-demo` (or in this process, which is quicker on a busy machine:
    the command under test is `civic audit`); its head seq and hash."""
    if via_command:
        run = civic("seed-demo", timeout=600)  # about 20 s of CPU; much longer on a shared machine
        assert run.returncode == 0, run.stderr
    else:
        with unit_of_work(write=True) as db:
            demo.load(db)
    head = sql("SELECT seq, hash FROM audit_head")[0]
    return {"seq": head[0], "hash": head[1]}


def exported(tmp_path: Path) -> Path:
    run = civic("audit", "export")
    assert run.returncode == 0, run.stderr
    path = tmp_path / "checkpoints.json"
    path.write_text(run.stdout, encoding="utf-8")
    return path


def rewind(n: int) -> int:
    """Delete the newest n events and point the head at the event left on top (a consistent shorter chain)."""
    top = sql("SELECT max(seq) FROM audit_event")[0][0]
    sql("DELETE FROM audit_event WHERE seq > :s", s=top - n)
    sql("UPDATE audit_head SET seq = :s, hash = (SELECT hash FROM audit_event WHERE seq = :s)", s=top - n)
    return top - n


def test_deleting_the_newest_events_and_rewinding_the_head_fails_against_the_checkpoint(tmp_path):
    head = seeded()
    taken = civic("audit", "checkpoint")
    assert taken.returncode == 0, taken.stderr
    assert f"NS: checkpoint at event {head['seq']}, head {head['hash']}" in taken.stdout
    path = exported(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["commune"] == "NS" and data["checkpoints"][0]["seq"] == head["seq"]

    untouched = civic("audit", "verify", "--checkpoints", str(path))
    assert untouched.returncode == 0, untouched.stderr
    assert f"NS: chain intact, {head['seq']} events" in untouched.stdout
    assert "NS: leads to all 1 file checkpoints" in untouched.stdout
    assert "NS: the tables agree with the events" in untouched.stdout

    left = rewind(3)
    sql("DELETE FROM audit_checkpoint")  # the stored checkpoints go too: the partner's copy remains
    run = civic("audit", "verify", "--checkpoints", str(path))
    assert run.returncode == 1
    assert f"NS: chain intact, {left} events" in run.stdout  # the shorter chain is consistent in itself...
    assert (f"checkpoint at event {head['seq']}: the chain head is at event {left}, below the checkpoint"
            in run.stderr)  # ...but no longer reaches what was published


def test_edits_of_the_tables_that_no_event_records_are_each_reported():
    seeded(via_command=False)
    item_id, code, title = sql("SELECT id, code, title FROM item WHERE stage = 'know' ORDER BY id LIMIT 1")[0]
    moved_id, moved_code = sql("SELECT id, code FROM item WHERE stage = 'do' ORDER BY id LIMIT 1")[0]
    decision_id, yes = sql("SELECT id, yes FROM decision WHERE status = 'closed' AND yes IS NOT NULL "
                           "ORDER BY id LIMIT 1")[0]
    pledge_id, money = sql("SELECT id, money FROM pledge WHERE kind = 'money' AND withdrawn_at IS NULL "
                           "ORDER BY id LIMIT 1")[0]
    extra = sql("SELECT max(id) FROM pledge")[0][0] + 1

    sql("UPDATE item SET title = 'Sửa lén' WHERE id = :i", i=item_id)
    sql("UPDATE item SET stage = 'inspect' WHERE id = :i", i=moved_id)
    sql("UPDATE decision SET yes = :y WHERE id = :i", y=yes + 20, i=decision_id)
    sql("UPDATE pledge SET money = :m WHERE id = :i", m=money * 10, i=pledge_id)
    sql("INSERT INTO pledge (id, item_id, household_id, kind, money, unit, description, parcel_ref, "
        "consent_text, consent_on, witness_name, witness_role, on_behalf, created_at, withdraw_reason) "
        "SELECT :n, item_id, household_id, kind, money, unit, description, parcel_ref, consent_text, "
        "consent_on, witness_name, witness_role, on_behalf, created_at, '' FROM pledge WHERE id = :i",
        n=extra, i=pledge_id)

    run = civic("audit", "verify")
    assert run.returncode == 1
    assert "NS: chain intact" in run.stdout  # the chain itself was not touched
    errors = run.stderr
    assert (f"item {item_id} ({code}): title is 'Sửa lén' in the table, "
            f"'a text with SHA-256 {text_digest(title)[:16]}…' from the events") in errors
    assert f"item {moved_id} ({moved_code}): stage is 'inspect' in the table, 'do' from the events" in errors
    assert f"decision {decision_id} (" in errors
    assert f"yes is {yes + 20} in the table, {yes} from the events" in errors
    assert f"pledge {pledge_id} (" in errors
    assert f"money is {money * 10} in the table, {money} from the events" in errors
    assert f"pledge {extra} (" in errors and "present in the table, but no event records it" in errors
    assert errors.count("TABLE DIFFERS") == 5, errors


def test_a_forged_checkpoint_signature_is_reported(tmp_path):
    commune, a, _b, cat, _users = setup_world()
    setup_item(commune, a, cat, stage="know")
    assert civic("audit", "checkpoint").returncode == 0
    top = sql("SELECT seq FROM audit_head")[0][0]
    path = exported(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    # Someone moves the published checkpoint back to an earlier event, to excuse a shorter chain.
    data["checkpoints"][0]["seq"] = top - 1
    data["checkpoints"][0]["hash"] = sql("SELECT hash FROM audit_event WHERE seq = :s", s=top - 1)[0][0]
    path.write_text(json.dumps(data), encoding="utf-8")
    sql("UPDATE audit_checkpoint SET signature = :s", s=base64.b64encode(bytes(64)).decode())

    from_file = civic("audit", "verify", "--checkpoints", str(path))
    stored = civic("audit", "verify")
    assert from_file.returncode == 1 and stored.returncode == 1
    assert f"checkpoint at event {top - 1}: the signature does not verify" in from_file.stderr
    assert f"checkpoint at event {top}: the signature does not verify" in stored.stderr


def test_a_checkpoint_file_that_is_not_an_export_is_refused_with_a_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "civic-audit-checkpoint/1", "public_key": {"key": "x"}}', encoding="utf-8")
    run = civic("audit", "verify", "--checkpoints", str(bad))
    assert run.returncode == 2
    assert run.stderr.startswith("Từ chối: ") and run.stderr.count("\n") == 1
    assert run.stderr.endswith(" | refused: the export has no valid Ed25519 public key\n")
    run = civic("audit", "verify", "--checkpoints", str(tmp_path / "missing.json"))
    assert run.returncode == 2 and "cannot read" in run.stderr and "Traceback" not in run.stderr
