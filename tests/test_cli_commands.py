"""Every `civic` subcommand, run as the installed command in a process of its own on a freshly migrated
SQLite database, the way an operator starting without the demo runs them: the tables a command touches
must all be known in that process (a fresh install once failed with NoReferencedTableError), and a
refusal exits 2 with one line and changes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from civic.areas import service as areas
from civic.areas.models import Commune
from civic.db import build_engine

CIVIC = Path(sys.executable).with_name("civic")
# Its own SQLite site whatever DATABASE_URL says: the PostgreSQL run would repeat it (tests/conftest.py).
pytestmark = pytest.mark.own_sqlite
PASSWORD = "horse battery staple"


class Site:
    """A civic instance of its own: a SQLite file and a var folder under tmp_path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "civic.db"
        self.url = f"sqlite:///{self.db}"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "DATABASE_URL": self.url, "CIVIC_VAR_DIR": str(self.folder),
               "SECRET_KEY": "cli-test-secret"}
        return subprocess.run([str(CIVIC), *args], capture_output=True, text=True, env=env, timeout=300)

    def ok(self, *args: str) -> str:
        run = self.run(*args)
        assert run.returncode == 0, (args, run.stdout, run.stderr)
        return run.stdout

    def refused(self, *args: str) -> str:
        """The command exits 2 with one line on stderr (and no traceback), Vietnamese first, then English."""
        run = self.run(*args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
        assert lines[0].startswith("Từ chối: ") and " | refused: " in lines[0], lines[0]
        return lines[0]

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql).fetchall()

    def add_village(self, name: str) -> None:
        """A village added through the service (the command line has no village command: the page has)."""
        engine = build_engine(self.url)
        try:
            with Session(engine) as db:
                commune = db.query(Commune).one()
                areas.create_village(db, commune, name=name)
                db.commit()
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """One database migrated by `civic migrate` in its own process; each test gets a copy."""
    site = Site(tmp_path_factory.mktemp("template"))
    out = site.ok("migrate")
    assert "latest migration" in out
    tables = {name for (name,) in site.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"commune", "village", "user", "role_grant", "api_key", "audit_event", "setup_nonce"} <= tables
    return site.db


@pytest.fixture
def site(migrated: Path, tmp_path: Path) -> Site:
    fresh = Site(tmp_path)
    shutil.copy(migrated, fresh.db)
    return fresh


@pytest.fixture
def commune_site(site: Site) -> Site:
    site.ok("commune", "create", "--code", "NS", "--name", "Nhạo Sơn", "--kind", "xa",
            "--province", "Phú Thọ")
    return site


def test_commune_create_on_a_fresh_database(site):
    out = site.ok("commune", "create", "--code", "ns", "--name", "Nhạo Sơn", "--kind", "phuong",
                  "--province", "Phú Thọ")
    assert "NS" in out
    assert site.rows("SELECT code, name, kind, province FROM commune") == [
        ("NS", "Nhạo Sơn", "phuong", "Phú Thọ")]
    assert site.rows("SELECT action FROM audit_event") == [("commune_created",)]


@pytest.mark.parametrize(("args", "words"), [
    (["--code", "N-S", "--name", "Xã Một", "--province", "Phú Thọ"], "2 to 8 letters"),
    (["--code", "ĐS", "--name", "Xã Một", "--province", "Phú Thọ"], "2 to 8 letters"),
    (["--code", "N", "--name", "Xã Một", "--province", "Phú Thọ"], "2 to 8 letters"),
    (["--code", "NS", "--name", " ", "--province", "Phú Thọ"], "commune's name"),
])
def test_commune_create_refuses_bad_input(site, args, words):
    line = site.refused("commune", "create", *args)
    assert words in line
    assert site.rows("SELECT count(*) FROM commune") == [(0,)]


def test_commune_create_refuses_a_code_in_use(commune_site):
    line = commune_site.refused("commune", "create", "--code", "ns", "--name", "Xã Khác",
                                "--province", "Hà Nội")
    assert "NS is already used" in line
    assert commune_site.rows("SELECT name FROM commune") == [("Nhạo Sơn",)]


def test_setup_code_is_printed_until_a_commune_exists(site):
    first = site.ok("setup-code").strip()
    assert re.fullmatch(r"[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", first), first
    assert site.ok("setup-code").strip() == first  # the same code in every process
    assert first.replace("-", "") not in repr(site.rows("SELECT * FROM setup_nonce"))  # only a nonce is kept
    site.ok("commune", "create", "--code", "NS", "--name", "Nhạo Sơn", "--province", "Phú Thọ")
    assert "already set up" in site.refused("setup-code")


@pytest.mark.parametrize(("role", "village"), [("admin", None), ("supervisor", None),
                                               ("village_head", "Thôn Đông"), ("resident", "thon-dong")])
def test_create_user_with_each_role(commune_site, role, village):
    commune_site.add_village("Thôn Đông")
    args = ["create-user", "--phone", "0912 345 678", "--name", "Nguyễn Văn A", "--password", PASSWORD,
            "--role", role]
    if village:
        args += ["--village", village]
    assert f"as {role}" in commune_site.ok(*args)
    grants = commune_site.rows("SELECT g.role, v.slug FROM role_grant g "
                               "LEFT JOIN village v ON v.id = g.village_id")
    assert grants == [(role, "thon-dong" if village else None)]
    assert commune_site.rows("SELECT phone FROM user") == [("0912345678",)]


def test_create_user_reads_the_former_secretary_role_as_village_head(commune_site):
    """Scripts written before the village role took the law's word still make a village head."""
    commune_site.add_village("Thôn Đông")
    out = commune_site.ok("create-user", "--phone", "0912345678", "--name", "Trần Thị Bình", "--password",
                          PASSWORD, "--role", "secretary", "--village", "thon-dong")
    assert "as village_head" in out
    assert commune_site.rows("SELECT role FROM role_grant") == [("village_head",)]


def test_create_user_without_a_role_and_with_a_commune_code(commune_site):
    commune_site.ok("create-user", "--phone", "0912345678", "--name", "A", "--password", PASSWORD,
                    "--commune", "ns")
    assert commune_site.rows("SELECT count(*) FROM user") == [(1,)]
    assert commune_site.rows("SELECT count(*) FROM role_grant") == [(0,)]


@pytest.mark.parametrize(("extra", "words"), [
    (["--role", "admin", "--commune", "XX"], "no commune with the code XX"),
    (["--role", "village_head", "--village", "Thôn Tây"], "no village 'Thôn Tây'"),
    (["--role", "village_head"], "needs a village"),
    (["--role", "admin", "--phone", "12345"], "not a valid Vietnamese mobile number"),
    (["--role", "admin", "--password", "short"], "at least 8 characters"),
])
def test_create_user_refusals_change_nothing(commune_site, extra, words):
    commune_site.add_village("Thôn Đông")
    args = {"--phone": "0912345678", "--name": "A", "--password": PASSWORD}
    flags = extra[::2]
    base = [x for k, v in args.items() if k not in flags for x in (k, v)]
    line = commune_site.refused("create-user", *base, *extra)
    assert words in line, line
    assert commune_site.rows("SELECT count(*) FROM user") == [(0,)]
    assert commune_site.rows("SELECT count(*) FROM role_grant") == [(0,)]


def test_create_user_refuses_a_phone_in_use(commune_site):
    commune_site.ok("create-user", "--phone", "0912345678", "--name", "A", "--password", PASSWORD)
    line = commune_site.refused("create-user", "--phone", "+84 912 345 678", "--name", "B",
                                "--password", PASSWORD, "--role", "admin")
    assert "already exists" in line
    assert commune_site.rows("SELECT display_name FROM user") == [("A",)]
    assert commune_site.rows("SELECT count(*) FROM role_grant") == [(0,)]


def test_create_user_before_any_commune_is_refused(site):
    line = site.refused("create-user", "--phone", "0912345678", "--name", "A", "--password", PASSWORD,
                        "--role", "admin")
    assert "not been set up" in line
    assert site.rows("SELECT count(*) FROM user") == [(0,)]


def test_api_key_create_list_revoke(commune_site):
    out = commune_site.ok("api-key", "create", "--name", "Cổng dịch vụ công")
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("civic_")
    listed = commune_site.ok("api-key", "list")
    assert "Cổng dịch vụ công" in listed and "active" in listed and secret not in listed
    key_id = listed.split("\t", 1)[0]
    assert "revoked" in commune_site.ok("api-key", "revoke", key_id)
    assert "revoked" in commune_site.ok("api-key", "list")
    assert "does not exist" in commune_site.refused("api-key", "revoke", "999")


def test_api_key_create_for_an_unknown_commune_is_refused(commune_site):
    assert "XX" in commune_site.refused("api-key", "create", "--name", "x", "--commune", "XX")
    assert commune_site.rows("SELECT count(*) FROM api_key") == [(0,)]


def test_audit_verify_checkpoint_export(commune_site):
    commune_site.add_village("Thôn Đông")
    assert "NS: chain intact, 2 events" in commune_site.ok("audit", "verify")
    assert "NS: checkpoint at event 2" in commune_site.ok("audit", "checkpoint")
    exported = json.loads(commune_site.ok("audit", "export"))
    assert exported["checkpoints"][-1]["seq"] == 2
    assert "leads to all 1 stored checkpoints" in commune_site.ok("audit", "verify")
    assert "XX" in commune_site.refused("audit", "export", "--commune", "XX")


def test_seed_demo_on_a_fresh_database(site):
    site.ok("seed-demo")
    assert site.rows("SELECT code FROM commune") == [("NS",)]
    assert site.rows("SELECT count(*) FROM item")[0][0] > 10
    assert "already has data" in site.ok("seed-demo", "--if-empty")


def test_backup_writes_a_file(commune_site):
    target = commune_site.folder / "backup.tar"
    commune_site.ok("backup", "--output", str(target), "--compress", "none")
    assert target.stat().st_size > 0



def test_restore_into_a_site_that_only_printed_its_setup_code(commune_site, migrated, tmp_path_factory):
    """A server started once on an empty database (its set-up code made) is still an empty target."""
    backup = commune_site.folder / "backup.tar"
    commune_site.ok("backup", "--output", str(backup), "--compress", "none")
    target = Site(tmp_path_factory.mktemp("target"))
    shutil.copy(migrated, target.db)
    target.ok("setup-code")
    target.ok("restore", str(backup))
    assert target.rows("SELECT code FROM commune") == [("NS",)]
    assert "already set up" in target.refused("setup-code")


def test_serve_logs_the_setup_code_and_sends_visitors_to_setup(site):
    """`civic serve` on an empty database prints the set-up code in its log at start-up; the first page
    leads to /setup, and `civic setup-code` prints the same code."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": site.url, "CIVIC_VAR_DIR": str(site.folder),
           "SECRET_KEY": "cli-test-secret"}
    server = subprocess.Popen([str(CIVIC), "serve", "--port", str(port), "--no-access-log"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        logged = ""
        deadline = time.monotonic() + 120
        while "set-up code" not in logged and time.monotonic() < deadline and server.poll() is None:
            logged += server.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"set-up code ([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})", logged)
        assert match, logged
        while time.monotonic() < deadline:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
                break
            except OSError:
                time.sleep(0.5)
        assert answer.url.endswith("/setup") and answer.status == 200
        assert "Thiết lập civic" in answer.read().decode()
        assert site.ok("setup-code").strip() == match.group(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
