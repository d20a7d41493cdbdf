"""Time the household register import: preview and import of a 10,000-household file (XLSX and CSV).

    .venv/bin/python scripts/bench_register.py [ROWS]

Uses a fresh SQLite database in a temporary folder (or the database named by DATABASE_URL, which must be
empty and whose name contains "test"). Prints the timings; asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="civic-bench-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp / 'bench.db'}")
os.environ["CIVIC_VAR_DIR"] = str(_tmp)
if "test" not in os.environ["DATABASE_URL"].rsplit("/", 1)[-1] and not os.environ["DATABASE_URL"].startswith(
        f"sqlite:///{_tmp}"):
    raise SystemExit("use a throwaway database: its name must contain 'test'")

from openpyxl import Workbook  # noqa: E402

import civic.domains  # noqa: E402,F401
from civic import clock  # noqa: E402
from civic.areas import register  # noqa: E402
from civic.areas import service as areas  # noqa: E402
from civic.cli import migrate  # noqa: E402
from civic.db import unit_of_work  # noqa: E402


def rows(n: int) -> list[list]:
    start = date(1990, 1, 1)
    return [["Hưng Đạo" if i % 2 else "Tân Tiến", f"HD-{i:06d}", f"Nguyễn Văn {i}", f"Xóm {i % 30 + 1}",
             f"09{i % 100_000_000:08d}", start + timedelta(days=i % 12000), None] for i in range(n)]


def xlsx(data: list[list]) -> bytes:
    import io

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(register.rules.HEADERS_VI)
    for row in data:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label:<48} {time.perf_counter() - started:6.2f} s")
    return result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    migrate()
    with unit_of_work(write=True) as db:
        commune = areas.create_commune(db, code="NS", name="Nhạo Sơn")
        for name, slug in (("Hưng Đạo", "hung-dao"), ("Tân Tiến", "tan-tien")):
            areas.create_village(db, commune, name=name, slug=slug)
        cid = commune.id
    data = rows(n)
    files = {"xlsx": xlsx(data), "csv": register.to_csv(data)}
    today = clock.today_local()
    print(f"{n:,} households; database {os.environ['DATABASE_URL'].split('://')[0]}; "
          f"XLSX {len(files['xlsx']) / 1e6:.1f} MB, CSV {len(files['csv']) / 1e6:.1f} MB")

    def plan(db, content: bytes):
        return register.preview(db, register.read(content, register.villages(db, cid), None, today), today)

    def preview(content: bytes):
        with unit_of_work() as db:
            return plan(db, content)

    def import_(content: bytes):
        with unit_of_work(write=True) as db:
            return register.apply(db, cid, plan(db, content), today)

    for fmt in ("xlsx", "csv"):
        timed(f"preview, {fmt}, empty register", lambda f=fmt: preview(files[f]))
    counts = timed("import (read, compare, write, commit), xlsx", lambda: import_(files["xlsx"]))
    print(f"  {counts}")
    for fmt in ("xlsx", "csv"):
        timed(f"preview, {fmt}, same register (all unchanged)", lambda f=fmt: preview(files[f]))
    changed = [r[:2] + [r[2] + " (đổi)"] + r[3:] for r in data]
    counts = timed("import of the file with every name changed, csv",
                   lambda: import_(register.to_csv(changed)))
    print(f"  {counts}")
    counts = timed("import of half the file (the rest leave), csv",
                   lambda: import_(register.to_csv(changed[: n // 2])))
    print(f"  {counts}")


if __name__ == "__main__":
    main()
