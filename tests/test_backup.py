"""`civic backup` and `civic restore`, run as the installed command in a subprocess, the way an operator
runs them: the demo commune with uploaded files is backed up, restored into a fresh empty instance (another
SQLite file, or another PostgreSQL database when DATABASE_URL is PostgreSQL), and compared table by table
and file by file; damaged backups and busy targets are refused without changing anything."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from civic.db import build_engine, get_engine, is_sqlite, metadata, unit_of_work
from civic.items.models import Item
from civic.media import storage
from tests.builders import audit_events, make_attachment, pdf_bytes, photo_bytes, setup_item, setup_world

CIVIC = Path(sys.executable).with_name("civic")
SOURCE_URL = os.environ["DATABASE_URL"]  # the test database (tests/conftest.py)
ON_SQLITE = is_sqlite(SOURCE_URL)


def civic(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed `civic` command; `env` overrides this test run's environment."""
    assert CIVIC.exists(), CIVIC
    return subprocess.run([str(CIVIC), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (and the Alembic revision), in primary-key order."""
    engine = build_engine(url)
    try:
        with engine.connect() as conn:
            rows = {t.name: [tuple(r) for r in conn.execute(t.select().order_by(*t.primary_key.columns))]
                    for t in metadata.sorted_tables}
            revision = conn.execute(text("SELECT version_num FROM alembic_version"))
            rows["alembic_version"] = [tuple(r) for r in revision]
    finally:
        engine.dispose()
    return rows


def files_under(root: Path) -> dict[str, bytes]:
    return ({p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
            if root.exists() else {})


class Instance:
    """A fresh, empty civic instance to restore into: its database URL and its media folder."""

    def __init__(self, url: str, var_dir: Path) -> None:
        self.url = url
        self.var_dir = var_dir
        self.media = var_dir / "media"
        self.env = {"DATABASE_URL": url, "CIVIC_VAR_DIR": str(var_dir), "CIVIC_MEDIA_DIR": str(self.media)}

    def civic(self, *args: str) -> subprocess.CompletedProcess:
        return civic(*args, env=self.env)


@pytest.fixture
def fresh(tmp_path):
    """A factory of empty instances: another SQLite file, or another PostgreSQL database on the test
    server (created here with CREATE DATABASE, dropped afterwards)."""
    made: list[str] = []

    def make(suffix: str = "r") -> Instance:
        var_dir = tmp_path / suffix
        if ON_SQLITE:
            return Instance(f"sqlite:///{var_dir / 'civic.db'}", var_dir)
        base = make_url(SOURCE_URL)
        name = f"{base.database}_{suffix}"
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return Instance(base.set(database=name).render_as_string(hide_password=False), var_dir)

    yield make
    if made:
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_demo: dict = {}


@pytest.fixture
def demo_backup(tmp_path_factory) -> dict:
    """The demo commune (`civic seed-demo`) with a photo and a private PDF uploaded, backed up once with
    `civic backup`: the backup file, and the rows and media files it was taken from."""
    if not _demo:
        seeded = civic("seed-demo")
        assert seeded.returncode == 0, seeded.stderr
        with unit_of_work(write=True) as db:
            item = db.query(Item).order_by(Item.id).first()
            make_attachment(db, item, photo_bytes((900, 600)))
            make_attachment(db, item, pdf_bytes(2), filename="bien-ban.pdf", purpose="minutes", private=True)
        folder = tmp_path_factory.mktemp("backups")
        run = civic("backup", "--output", f"{folder}/")
        assert run.returncode == 0, run.stderr
        made = list(folder.iterdir())
        assert len(made) == 1
        _demo.update(path=made[0], stdout=run.stdout, rows=table_rows(SOURCE_URL),
                     media=files_under(storage.root()))
    return _demo


def plain_tar(backup: Path, into: Path) -> Path:
    """The backup as an uncompressed tar (the SQLite backup is gzip-compressed), to change bytes inside."""
    data = backup.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    into.write_bytes(data)
    return into


def test_a_backup_restored_into_an_empty_instance_is_the_same_instance(demo_backup, fresh):
    backup = demo_backup["path"]
    assert backup.name.startswith("civic-NS-") and backup.name.endswith(".tar.gz" if ON_SQLITE else ".tar")
    assert backup.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    assert f"NS: {len(demo_backup['rows']['audit_event'])} events" in demo_backup["stdout"]
    with tarfile.open(backup) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names[0] == ("database.sqlite3" if ON_SQLITE else "database.pgdump")
    assert names[-1] == "manifest.json"
    assert manifest["rows"]["item"] == len(demo_backup["rows"]["item"]) > 0
    assert manifest["media"]["files"] == len(demo_backup["media"]) >= 3  # photo, its thumbnail, the PDF
    assert set(manifest["files"]) == set(names) - {"manifest.json"}

    target = fresh()
    run = target.civic("restore", str(backup))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "chain intact" in run.stdout and "Khôi phục xong" in run.stdout

    assert table_rows(target.url) == demo_backup["rows"]
    assert files_under(target.media) == demo_backup["media"]
    verify = target.civic("audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert manifest["audit_heads"]["NS"]["hash"] in verify.stdout


@pytest.mark.parametrize("where", ["database", "media file", "manifest", "cut short"])
def test_a_damaged_backup_is_refused_before_anything_is_touched(demo_backup, fresh, tmp_path, where):
    copy = plain_tar(demo_backup["path"], tmp_path / "copy.tar")
    data = bytearray(copy.read_bytes())
    with tarfile.open(copy) as tar:
        members = tar.getmembers()
    member = {"database": members[0], "media file": members[1], "manifest": members[-1],
              "cut short": None}[where]
    if member is None:
        del data[len(data) // 2:]
    else:
        at = member.offset_data + member.size // 2
        data[at] = (data[at] + 1) % 256
    copy.write_bytes(bytes(data))

    target = fresh()
    run = target.civic("restore", str(copy))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "damaged" in run.stderr and "bị hỏng" in run.stderr
    assert not target.media.exists()
    if ON_SQLITE:
        assert not (target.var_dir / "civic.db").exists()
    else:
        engine = build_engine(target.url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM information_schema.tables "
                                     "WHERE table_schema = 'public'")).scalar_one() == 0
        engine.dispose()


def test_a_restore_into_an_instance_with_data_is_refused_unless_forced(demo_backup, fresh):
    target = fresh()
    assert target.civic("restore", str(demo_backup["path"])).returncode == 0
    engine = build_engine(target.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE village SET name = 'Đã sửa sau khi khôi phục'"))

    again = target.civic("restore", str(demo_backup["path"]))
    assert again.returncode == 2
    assert "--force" in again.stderr and "database" in again.stderr
    with engine.connect() as conn:  # nothing was replaced
        assert set(conn.execute(text("SELECT name FROM village")).scalars()) == {"Đã sửa sau khi khôi phục"}
    engine.dispose()

    forced = target.civic("restore", "--force", str(demo_backup["path"]))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert table_rows(target.url) == demo_backup["rows"]


def test_media_in_the_target_folder_is_refused_too(demo_backup, fresh):
    target = fresh()
    stray = target.media / "ab" / "cd" / "someone-elses.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"not ours")
    run = target.civic("restore", str(demo_backup["path"]))
    assert run.returncode == 2
    assert "media" in run.stderr
    assert files_under(target.media) == {"ab/cd/someone-elses.jpg": b"not ours"}


def test_a_backup_from_an_older_revision_is_migrated_to_head_after_restoring(fresh, tmp_path):
    from alembic import command
    from alembic.script import ScriptDirectory

    from civic.cli import _alembic_config

    old = fresh("old")
    cfg = _alembic_config()
    cfg.attributes["url"] = old.url
    scripts = ScriptDirectory.from_config(cfg)
    head = scripts.get_current_head()
    previous = scripts.get_revision(head).down_revision
    command.upgrade(cfg, previous)
    made = old.civic("backup", "--output", str(tmp_path / "old.tar"))
    assert made.returncode == 0, made.stderr

    target = fresh("new")
    run = target.civic("restore", str(tmp_path / "old.tar"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"migrated from {previous} to {head}" in run.stdout
    assert table_rows(target.url)["alembic_version"] == [(head,)]


def test_a_backup_goes_through_a_pipe(demo_backup, fresh):
    """`civic restore -` reads stdin and `civic backup --output -` writes stdout (how README restores and
    copies backups with `docker compose run -T`)."""
    target = fresh()
    restored = subprocess.run([str(CIVIC), "restore", "-"], input=demo_backup["path"].read_bytes(),
                              capture_output=True, env={**os.environ, **target.env}, timeout=300)
    assert restored.returncode == 0, restored.stderr.decode()
    assert table_rows(target.url) == demo_backup["rows"]

    piped = subprocess.run([str(CIVIC), "backup", "--output", "-"], capture_output=True,
                           env={**os.environ, **target.env}, timeout=300)
    assert piped.returncode == 0, piped.stderr.decode()
    assert "backup written to -" in piped.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(piped.stdout)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert len(tar.getnames()) == len(demo_backup["media"]) + 2
    assert manifest["rows"]["audit_event"] == len(demo_backup["rows"]["audit_event"])


def test_a_file_that_is_not_a_backup_is_refused(fresh, tmp_path):
    target = fresh()
    notes = tmp_path / "notes.tar"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        evil = tarfile.TarInfo("media/../../outside.txt")
        evil.size = 4
        tar.addfile(evil, io.BytesIO(b"evil"))
    notes.write_bytes(buf.getvalue())
    run = target.civic("restore", str(notes))
    assert run.returncode == 2
    assert "damaged" in run.stderr
    assert not (tmp_path / "outside.txt").exists() and not (target.var_dir / "outside.txt").exists()
    missing = target.civic("restore", str(tmp_path / "nothing-here.tar"))
    assert missing.returncode == 2 and "no backup file" in missing.stderr


def test_a_restored_chain_that_does_not_verify_fails_the_restore(fresh, tmp_path):
    """The backup is faithful to a database whose audit chain was already tampered with: the restore
    puts it back, and `civic audit verify` run by the restore makes it exit 1 naming the event."""
    commune, village, _b, category, _users = setup_world()
    setup_item(commune, village, category, stage="know")
    with unit_of_work() as db:
        victim = audit_events(db, commune.id)[1]
    with unit_of_work(write=True) as db:
        db.execute(text("UPDATE audit_event SET payload = :p WHERE id = :id"),
                   {"p": '{"forged":true}', "id": victim.id})
    made = civic("backup", "--output", str(tmp_path / "forged.tar"))
    assert made.returncode == 0, made.stderr

    target = fresh()
    run = target.civic("restore", str(tmp_path / "forged.tar"))
    assert run.returncode == 1
    assert f"event {victim.seq}" in run.stderr
    assert "restore FAILED" in run.stderr


def test_a_pg_dump_older_than_the_server_is_refused(tmp_path, monkeypatch):
    """pg_dump cannot dump a newer server: the newest one found must be at least the server's version."""
    from civic import backup

    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backup.glob, "glob", lambda pattern: [])
    with pytest.raises(backup.Refused) as refused:
        backup.pg_tool("pg_dump", 15)
    assert "pg_dump 9 is older than the PostgreSQL server (15)" in refused.value.en
    assert "postgresql-client 15" in refused.value.vi
    assert backup.pg_tool("pg_dump", 9) == (str(old), "pg_dump (PostgreSQL) 9.6.24")

    old.unlink()
    with pytest.raises(backup.Refused) as missing:
        backup.pg_tool("pg_dump", 15)
    assert "pg_dump not found" in missing.value.en
