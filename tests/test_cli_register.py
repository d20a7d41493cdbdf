"""`civic register import` and `civic register export`, run as the installed command in its own process on a
freshly migrated SQLite database, the way a commune office runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlmodel import Session, col

from civic.areas import service as areas
from civic.areas.models import Household
from civic.db import build_engine
from tests.areas.register_files import cp1258, csv_bytes, xlsx_bytes

CIVIC = Path(sys.executable).with_name("civic")
# Its own SQLite site whatever DATABASE_URL says: the PostgreSQL run would repeat it (tests/conftest.py).
pytestmark = pytest.mark.own_sqlite


class Office:
    """A fresh instance: its own SQLite file and var folder, migrated by `civic migrate`, with a commune and
    two villages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"sqlite:///{root / 'civic.db'}"
        self.env = {**os.environ, "DATABASE_URL": self.url, "CIVIC_VAR_DIR": str(root)}

    def civic(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(CIVIC), *args], capture_output=True, text=True, env=self.env, timeout=120)

    def query(self, sql: str) -> list[tuple]:
        engine = build_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()

    def households(self) -> dict[str, tuple]:
        engine = build_engine(self.url)
        try:
            with Session(engine) as db:
                rows = db.execute(select(Household).order_by(col(Household.code))).scalars()
                return {h.code: (h.head_name, h.phone, h.active_from, h.active_to) for h in rows}
        finally:
            engine.dispose()


@pytest.fixture
def office(tmp_path) -> Office:
    assert CIVIC.exists(), CIVIC
    o = Office(tmp_path)
    run = o.civic("migrate")
    assert run.returncode == 0, run.stderr
    engine = build_engine(o.url)
    with Session(engine) as db:
        commune = areas.create_commune(db, code="NS", name="Nhạo Sơn")
        areas.create_village(db, commune, name="Hưng Đạo", slug="hung-dao")
        areas.create_village(db, commune, name="Tân Tiến", slug="tan-tien")
        db.commit()
    engine.dispose()
    return o


ROWS = [["Hưng Đạo", "HD-001", "Nguyễn Văn An", "Xóm 1", "0912 345 678", "15/06/2010", ""],
        ["hung-dao", "HD-002", "Trần Thị Bình", "", "", "1/2/99", ""],
        ["Tân Tiến", "TT-001", "Lê Văn Cường", "", "", "", ""]]


def events(office: Office) -> list[str]:
    return [a for (a,) in office.query("SELECT action FROM audit_event WHERE action = 'register_imported'")]


def test_a_dry_run_prints_the_preview_and_writes_nothing_then_the_import_applies(office, tmp_path):
    f = tmp_path / "so-ho.csv"
    f.write_bytes(csv_bytes(ROWS))
    run = office.civic("register", "import", str(f), "--commune", "NS", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "thêm 3 hộ" in run.stdout and "3 to add" in run.stdout and "dry run" in run.stdout
    assert office.households() == {} and events(office) == []
    run = office.civic("register", "import", str(f), "--commune", "NS")
    assert run.returncode == 0, run.stderr
    assert "the register was updated" in run.stdout
    assert office.households()["HD-001"][1] == "0912345678"
    assert events(office) == ["register_imported"]
    again = office.civic("register", "import", str(f), "--commune", "NS")
    assert again.returncode == 0 and "0 to add, 0 changed, 0 leave, 3 unchanged" in again.stdout
    assert events(office) == ["register_imported"]  # nothing changed: no second event


def test_bad_rows_are_printed_with_line_and_column_and_exit_2_with_nothing_written(office, tmp_path):
    f = tmp_path / "so-ho.xlsx"
    f.write_bytes(xlsx_bytes([*ROWS, ["Hưng Đạo", "HD-003", "Phạm D", "", "", "30/02/2020", ""],
                              ["Hưng Đạo", "hd-001", "Trùng mã", "", "", "", ""]]))
    run = office.civic("register", "import", str(f), "--commune", "NS")
    assert run.returncode == 2
    assert "dòng 5, cột Ngày vào sổ: Đây không phải ngày" in run.stderr
    assert "line 5, column Joined" in run.stderr
    assert "line 6, column Household code: The household code HD-001 appears twice" in run.stderr
    assert "nothing was changed" in run.stderr
    assert office.households() == {} and events(office) == []


def test_unknown_villages_too_large_and_non_utf8_files_are_refused(office, tmp_path):
    f = tmp_path / "a.csv"
    f.write_bytes(csv_bytes([*ROWS, ["Thôn Mới", "X-1", "A", "", "", "", ""]]))
    run = office.civic("register", "import", str(f))
    assert run.returncode == 2 and "Thôn Mới" in run.stderr and "/admin/villages" in run.stderr
    f.write_bytes(cp1258("Thôn/Tổ dân phố,Mã hộ,Họ tên chủ hộ\nHưng Đạo,A-1,Nguyễn Văn A\n"))
    run = office.civic("register", "import", str(f))
    assert run.returncode == 2 and "CSV UTF-8" in run.stderr
    big = tmp_path / "big.csv"
    with big.open("wb") as out:
        out.write(csv_bytes(ROWS))
        out.truncate(60 * 1024 * 1024)
    run = office.civic("register", "import", str(big))
    assert run.returncode == 2 and "20 MB" in run.stderr
    run = office.civic("register", "import", str(tmp_path / "missing.csv"))
    assert run.returncode == 2 and "missing.csv" in run.stderr
    assert office.households() == {} and events(office) == []


@pytest.mark.parametrize("ext", ["xlsx", "csv"])
def test_an_export_imported_again_changes_nothing(office, tmp_path, ext):
    f = tmp_path / "so-ho.csv"
    f.write_bytes(csv_bytes(ROWS))
    assert office.civic("register", "import", str(f)).returncode == 0
    out = tmp_path / f"export.{ext}"
    run = office.civic("register", "export", "--commune", "NS", str(out))
    assert run.returncode == 0, run.stderr
    assert "3 households written" in run.stdout and out.exists()
    run = office.civic("register", "import", str(out), "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "0 to add, 0 changed, 0 leave, 3 unchanged, 0 bad rows" in run.stdout


def test_export_needs_a_known_extension_and_an_existing_commune(office, tmp_path):
    run = office.civic("register", "export", str(tmp_path / "so-ho.txt"))
    assert run.returncode == 2 and ".xlsx" in run.stderr
    run = office.civic("register", "export", "--commune", "ZZ", str(tmp_path / "so-ho.csv"))
    assert run.returncode == 2


def test_the_commands_explain_themselves(office):
    run = office.civic("register", "--help")
    assert run.returncode == 0 and "import" in run.stdout and "export" in run.stdout
    run = office.civic("register", "import", "--help")
    assert "--dry-run" in run.stdout and "--commune" in run.stdout
