"""The `civic` command: `audit verify` run as a real process against the test database, and --help."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from civic.cli import main
from civic.db import unit_of_work
from tests.builders import audit_events, setup_item, setup_world


def civic(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m civic.cli …` with this test run's DATABASE_URL (set by tests/conftest.py)."""
    env = dict(os.environ)
    assert "test" in env["DATABASE_URL"] or env["DATABASE_URL"].startswith("sqlite")
    return subprocess.run([sys.executable, "-m", "civic.cli", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_audit_verify_passes_on_an_intact_chain():
    commune, a, _b, cat, _users = setup_world()
    setup_item(commune, a, cat, stage="rejected")
    with unit_of_work() as db:
        events = audit_events(db, commune.id)
    run = civic("audit", "verify")
    assert run.returncode == 0, run.stderr
    assert "NS" in run.stdout and events[-1].hash in run.stdout
    assert f"{len(events)} events" in run.stdout


def test_audit_verify_names_the_tampered_event():
    commune, a, _b, cat, _users = setup_world()
    setup_item(commune, a, cat, stage="know")
    setup_item(commune, a, cat, stage="redirected")
    with unit_of_work() as db:
        events = audit_events(db, commune.id)
    victim = events[len(events) // 2]
    with unit_of_work(write=True) as db:
        db.execute(text("UPDATE audit_event SET payload = :p WHERE commune_id = :c AND seq = :s"),
                   {"p": '{"forged":true}', "c": commune.id, "s": victim.seq})
    run = civic("audit", "verify")
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert f"event {victim.seq}" in output
    assert "NS" in output


def test_audit_verify_with_no_commune_yet():
    run = civic("audit", "verify")
    assert run.returncode == 0, run.stderr


def test_the_command_explains_itself():
    run = civic("--help")
    assert run.returncode == 0
    for command in ("serve", "migrate", "seed-demo", "create-user", "api-key", "audit", "backup", "restore"):
        assert command in run.stdout


@pytest.mark.parametrize(("argv", "words"), [
    (["serve"], ["--port", "--host", "--workers"]),
    (["migrate"], ["migration"]),
    (["seed-demo"], ["demo", "--if-empty"]),
    (["create-user"], ["--phone", "--password", "--role"]),
    (["api-key"], ["create", "revoke", "list"]),
    (["api-key", "create"], ["--name"]),
    (["api-key", "revoke"], ["id"]),
    (["api-key", "list"], ["API keys"]),
    (["audit"], ["verify", "checkpoint", "export"]),
    (["audit", "verify"], ["chain", "broken", "--checkpoints"]),
    (["audit", "checkpoint"], ["sign", "--commune"]),
    (["audit", "export"], ["JSON", "--commune"]),
    (["backup"], ["--output", "--compress", "manifest"]),
    (["restore"], ["--force", "checksum"]),
])
def test_every_subcommand_has_help(capsys, argv, words):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: civic " + " ".join(argv))
    for word in words:
        assert word in out, (argv, word)


def test_an_unknown_subcommand_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["explode"])
    assert exit_.value.code != 0
    assert "invalid choice" in capsys.readouterr().err
