"""The household register from a spreadsheet: read an XLSX or CSV file, check every row, compare it with
the register (a preview: what is added, changed, leaves, what is wrong), apply it in one transaction with
one audit event, and export the register in the same shape.

    parsed = read(data, villages(db, commune), scope, today)      # Invalid for a file that cannot be read
    plan = preview(db, parsed, today)                             # counts, lists, bad rows; writes nothing
    apply(db, commune_id, plan, actor_id=…)                       # Invalid when the plan has bad rows

A household absent from the file leaves the register (its `active_to` is the import day), nothing is
deleted: past votes keep their denominators. Rules (dates, checks, what "changed" means) are in rules.py.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from xml.etree.ElementTree import iterparse

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session, col

from civic.areas import rules
from civic.areas.models import Household, Village
from civic.areas.rules import RegisterRow, RowError, Stored
from civic.audit import service as audit
from civic.core import sheets
from civic.core.collation import vi_key
from civic.errors import N_, Invalid, Message, TooLarge

TOO_LARGE = N_("This file has %(size)s MB; a register file may have at most %(mb)s MB. Split it by village "
               "and upload each part.")
NOT_SPREADSHEET = N_("This file is not a spreadsheet. Please upload an Excel workbook (.xlsx) or a CSV file.")
OLD_EXCEL = N_("This is an old Excel file (.xls) or a workbook with a password. Open it in Excel and save it "
               "without a password as “Excel Workbook (.xlsx)” or “CSV UTF-8”, then upload it again.")
UNPACKED_TOO_LARGE = N_("This workbook is too large once unpacked. Save only the register sheet (without "
                        "pictures or other sheets) and upload it again.")
TOO_MANY_MERGED = N_("This sheet has too many merged cells. Unmerge them (Home → Merge & Center) and upload "
                     "it again.")
MISSING_COLUMNS = N_("The header row lacks the columns %(columns)s (download the template).")
NOT_UTF8 = N_("This CSV file is not in UTF-8, so Vietnamese letters would be garbled. In Excel choose "
              "Save As → “CSV UTF-8 (Comma delimited)” and upload it again.")
NO_HEADER = N_("No row names the columns. The first row must have the headers %(columns)s (download the "
               "template).")
EMPTY = N_("The file has no household rows.")
UNKNOWN_VILLAGES = N_("These villages are not in the commune: %(names)s. Create them first on the villages "
                      "page (/admin/villages), then upload the file again.")
NOT_YOURS = N_("You may load only the register of your own village; these villages are not yours: "
               "%(names)s.")
BAD_ROWS = N_("The file has bad rows: correct them and upload the file again. Nothing was changed.")
CHANGED_SINCE = N_("The register changed since this preview. Upload the file again to see a new preview.")

FIELD = "file"
HEADER_SEARCH_ROWS = 20  # a title or two above the header row is common in office spreadsheets
SHOWN = 50  # rows of each list a preview shows
MAX_UNPACKED = 400 * 1024 * 1024  # bytes of a workbook's parts once unzipped (a zip bomb is refused)
MAX_MERGED = 2_000_000  # cells covered by merged ranges (each is read as its range's top-left cell)


# --- reading a file ---------------------------------------------------------------------------------------

def check_size(size: int, max_bytes: int) -> None:
    """Refuse a file over the limit before reading it (CIVIC_REGISTER_MAX_BYTES)."""
    if size > max_bytes:
        raise TooLarge(TOO_LARGE, field=FIELD, size=f"{size / 1048576:.1f}", mb=f"{max_bytes / 1048576:g}")


@dataclass
class Sheet:
    """The rows of a file: (line number, cells), and the cells that cannot be read (formulas without a
    saved value), by (line, column index)."""

    rows: Iterable[tuple[int, tuple[Any, ...]]]
    unreadable: frozenset[tuple[int, int]] = frozenset()


def open_sheet(data: bytes) -> Sheet:
    """The first sheet of an XLSX file or the rows of a CSV file; Invalid when it is neither."""
    if data[:4] == b"PK\x03\x04":
        return _xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Invalid(OLD_EXCEL, field=FIELD)
    return _csv(data)


def _csv(data: bytes) -> Sheet:
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise Invalid(NOT_UTF8, field=FIELD)
    if b"\x00" in data[:65536]:
        raise Invalid(NOT_SPREADSHEET, field=FIELD)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(NOT_UTF8, field=FIELD) from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        for line, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            yield line, tuple(cells)

    return Sheet(_guarded(rows()))


def _guarded(rows: Iterator[tuple[int, tuple[Any, ...]]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The rows; a file that breaks while being read is "not a spreadsheet", never a crash."""
    try:
        yield from rows
    except Invalid:
        raise
    except Exception:
        raise Invalid(NOT_SPREADSHEET, field=FIELD) from None


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})([0-9]+):([A-Z]{1,3})([0-9]+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")


def _col_index(letters: str) -> int:
    """0-based column index of 'A', 'B', …, 'AA'."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(info.file_size for info in z.infolist())
    except Exception:
        raise Invalid(NOT_SPREADSHEET, field=FIELD) from None
    if unpacked > MAX_UNPACKED:
        raise Invalid(UNPACKED_TOO_LARGE, field=FIELD)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = wb.active if wb.active is not None else wb.worksheets[0]
        archive: zipfile.ZipFile = wb._archive  # type: ignore[attr-defined]
        path: str = ws._worksheet_path  # type: ignore[attr-defined]
        merges, has_formulas = _scan(archive, path)
        last_row = ws.max_row or 0
        if last_row:  # a range merged down to the sheet's last possible row ends at the last used one
            merges = [(c1, r1, c2, min(r2, last_row)) for c1, r1, c2, r2 in merges]
        if sum((c2 - c1 + 1) * max(0, r2 - r1 + 1) for c1, r1, c2, r2 in merges) > MAX_MERGED:
            raise Invalid(TOO_MANY_MERGED, field=FIELD)
        unreadable = _uncached_formulas(archive, path) if has_formulas else frozenset()
    except Invalid:
        raise
    except Exception:
        raise Invalid(NOT_SPREADSHEET, field=FIELD) from None

    def rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        # Merged cells: every cell of a merged range reads the top-left cell's value.
        follow = {}
        for c1, r1, c2, r2 in merges:
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        follow[(r, c)] = (r1, c1)
        anchors: dict[tuple[int, int], Any] = {anchor: None for anchor in follow.values()}
        try:
            for line, cells in enumerate(ws.iter_rows(values_only=True), 1):
                if follow:
                    values = list(cells)
                    for c, value in enumerate(values):
                        if (line, c) in anchors:
                            anchors[(line, c)] = value
                    width = max([c + 1 for (r, c) in follow if r == line] or [0])
                    values.extend([None] * (width - len(values)))
                    for c in range(len(values)):
                        anchor = follow.get((line, c))
                        if anchor is not None:
                            values[c] = anchors[anchor]
                    cells = tuple(values)
                yield line, cells
        finally:
            wb.close()

    return Sheet(_guarded(rows()), unreadable)


def _scan(archive: zipfile.ZipFile, path: str) -> tuple[list[tuple[int, int, int, int]], bool]:
    """The sheet's merged ranges (0-based columns, 1-based rows) and whether it holds any formula, read
    from its XML in chunks (openpyxl's read-only mode does not give merged cells)."""
    merges: list[tuple[int, int, int, int]] = []
    has_formulas = False
    tail = b""
    with archive.open(path) as src:
        while chunk := src.read(1 << 20):
            buf = tail + chunk
            has_formulas = has_formulas or _FORMULA.search(buf) is not None
            last = 0
            for m in _MERGE.finditer(buf):
                merges.append((_col_index(m.group(1).decode()), int(m.group(2)),
                               _col_index(m.group(3).decode()), int(m.group(4))))
                last = m.end()
            tail = buf[max(last, len(buf) - 200):]
    return merges, has_formulas


def _uncached_formulas(archive: zipfile.ZipFile, path: str) -> frozenset[tuple[int, int]]:
    """(line, column index) of every formula cell saved without its value (a file written by a program,
    never opened in Excel): data_only reading gives None there, which must not pass for a blank cell."""
    found = set()
    with archive.open(path) as src:
        for _event, elem in iterparse(src):
            if elem.tag.endswith("}c") or elem.tag == "c":
                children = {child.tag.rsplit("}", 1)[-1]: child for child in elem}
                value = children.get("v")
                if "f" in children and (value is None or not (value.text or "")):
                    m = _CELL_REF.fullmatch(elem.get("r", ""))
                    if m:
                        found.add((int(m.group(2)), _col_index(m.group(1))))
                elem.clear()
            elif elem.tag.endswith("}row"):
                elem.clear()
    return frozenset(found)


# --- checking rows ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VillageRef:
    id: int
    name: str
    slug: str


def villages(session: Session, commune_id: int) -> list[VillageRef]:
    rows = session.execute(select(col(Village.id), col(Village.name), col(Village.slug))
                           .where(col(Village.commune_id) == commune_id))
    return sorted((VillageRef(i, n, s) for i, n, s in rows), key=lambda v: vi_key(v.name))


@dataclass
class Parsed:
    """A file read and checked: its good rows, its bad rows, and every household code it names by village
    (bad rows too, so that a household on a bad row is not counted as leaving)."""

    rows: list[RegisterRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    codes: dict[int, set[str]] = field(default_factory=dict)
    lines: int = 0


def read(data: bytes, known: list[VillageRef], scope: frozenset[int] | None, today: date) -> Parsed:
    """Read and check a register file against the commune's villages; `scope` is the villages the user may
    load (None: all). Invalid for a file that cannot be read, has no header, or names unknown villages."""
    sheet = open_sheet(data)
    by_name: dict[str, VillageRef] = {}
    for v in known:
        by_name.setdefault(rules.fold(v.name), v)
        by_name.setdefault(rules.fold(v.slug), v)
    out = Parsed()
    header: dict[str, int] | None = None
    seen: dict[tuple[int, str], int] = {}
    unknown: dict[str, int] = {}
    foreign: set[str] = set()
    searched = 0
    best_missing: list[str] = list(rules.REQUIRED)  # of the rows that looked most like a header
    for line, cells in sheet.rows:
        if not any(c is not None and str(c).strip() for c in cells):
            continue  # blank lines are skipped
        if header is None:
            header = rules.match_header(cells)
            if header is None:
                missing = rules.missing_columns(cells)
                if len(missing) < len(best_missing):
                    best_missing = missing
                searched += 1
                if searched >= HEADER_SEARCH_ROWS:
                    break
            continue
        values = {key: (cells[i] if i < len(cells) else None) for key, i in header.items()}
        if not any(v is not None and str(v).strip() for v in values.values()):
            continue
        out.lines += 1
        unreadable = [key for key, i in header.items() if (line, i) in sheet.unreadable]
        if unreadable:
            out.errors.extend(RowError(line, key, Message(rules.NO_CACHED_VALUE)) for key in unreadable)
            continue
        try:
            village_text = rules.cell_text(values.get("village"))
        except rules.CellError as exc:
            out.errors.append(RowError(line, "village", exc.message))
            continue
        if not village_text:
            out.errors.append(RowError(line, "village", Message(rules.NO_VILLAGE)))
            continue
        village = next((by_name[k] for k in rules.village_keys(village_text) if k in by_name), None)
        if village is None:
            unknown.setdefault(village_text, line)
            continue
        if scope is not None and village.id not in scope:
            foreign.add(village.name)
            continue
        checked = rules.check_row(line, village.id, values, today)
        try:
            code = rules.household_code(values.get("code"))
        except rules.CellError:
            code = ""
        if code:
            out.codes.setdefault(village.id, set()).add(code)
            first = seen.setdefault((village.id, code), line)
            if first != line:
                checked.errors.append(RowError(line, "code", Message(rules.DUPLICATE, code=code,
                                                                     village=village.name, line=first)))
                checked.row = None
        else:
            out.codes.setdefault(village.id, set())
        out.errors.extend(checked.errors)
        if checked.row is not None:
            out.rows.append(checked.row)
    if header is None:
        if len(best_missing) < len(rules.REQUIRED):
            vi = {key: name for key, name, _en in rules.COLUMNS}
            raise Invalid(MISSING_COLUMNS, field=FIELD, columns=", ".join(vi[k] for k in best_missing))
        raise Invalid(NO_HEADER, field=FIELD, columns=", ".join(rules.HEADERS_VI[:3]))
    if unknown:
        names = ", ".join(sorted(unknown, key=unknown.__getitem__)[:20])
        raise Invalid(UNKNOWN_VILLAGES, field=FIELD, names=names)
    if foreign:
        raise Invalid(NOT_YOURS, field=FIELD, names=", ".join(sorted(foreign)))
    if not out.lines:
        raise Invalid(EMPTY, field=FIELD)
    return out


# --- the preview ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    stored: Stored
    row: RegisterRow
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Leave:
    stored: Stored
    on: date


@dataclass
class Plan:
    """What applying a file would do. `digest` names the plan: a preview applied later must still be it."""

    adds: list[RegisterRow] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    leaves: list[Leave] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    village_ids: list[int] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)  # codes that leave one village and join another
    digest: str = ""

    @property
    def clean(self) -> bool:
        return not self.errors

    @property
    def empty(self) -> bool:
        return not (self.adds or self.changes or self.leaves)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.adds), "changed": len(self.changes), "left": len(self.leaves),
                "unchanged": self.unchanged, "bad_rows": len({e.line for e in self.errors})}

    def by_village(self) -> dict[str, dict[str, int]]:
        out = {str(v): {"added": 0, "changed": 0, "left": 0} for v in self.village_ids}
        for r in self.adds:
            out[str(r.village_id)]["added"] += 1
        for c in self.changes:
            out[str(c.stored.village_id)]["changed"] += 1
        for lv in self.leaves:
            out[str(lv.stored.village_id)]["left"] += 1
        return out


def stored_register(session: Session, village_ids: Iterable[int]) -> list[Stored]:
    """Every household of these villages, in one query."""
    ids = sorted(set(village_ids))
    if not ids:
        return []
    rows = session.execute(select(
        col(Household.id), col(Household.village_id), col(Household.code), col(Household.head_name),
        col(Household.address), col(Household.phone), col(Household.active_from), col(Household.active_to),
    ).where(col(Household.village_id).in_(ids)))
    return [Stored(*r) for r in rows]


def preview(session: Session, parsed: Parsed, today: date) -> Plan:
    """Compare a checked file with the register of the villages it names; writes nothing."""
    plan = Plan(errors=list(parsed.errors), village_ids=sorted(parsed.codes))
    stored = {(s.village_id, s.code): s for s in stored_register(session, parsed.codes)}
    for row in parsed.rows:
        found = stored.get((row.village_id, row.code))
        if found is None:
            missing = rules.needs_head(row, None)
            if missing is not None:
                plan.errors.append(missing)
            else:
                plan.adds.append(row)
            continue
        columns, error = rules.changes(found, row, today)
        if error is not None:
            plan.errors.append(error)
        elif columns:
            plan.changes.append(Change(found, row, tuple(columns)))
        else:
            plan.unchanged += 1
    for (village_id, code), s in stored.items():
        if code not in parsed.codes.get(village_id, ()) and rules.is_active(s, today):
            plan.leaves.append(Leave(s, rules.leaving_day(s, today)))
    plan.leaves.sort(key=lambda lv: (lv.stored.village_id, lv.stored.code))
    plan.errors.sort(key=lambda e: (e.line, list(rules.COLUMN_LABELS).index(e.column)
                                    if e.column in rules.COLUMN_LABELS else -1))
    leaving = {lv.stored.code for lv in plan.leaves}
    plan.moved = sorted({r.code for r in plan.adds if r.code in leaving})
    plan.digest = _digest(plan, today)
    return plan


def _digest(plan: Plan, today: date) -> str:
    h = hashlib.sha256(today.isoformat().encode())
    for r in plan.adds:
        h.update(repr(("a", r.village_id, r.code, r.head, r.address, r.phone, r.joined, r.left)).encode())
    for c in plan.changes:
        new = (c.row.head, c.row.address, c.row.phone, c.row.left)
        h.update(repr(("c", c.stored, c.columns, new)).encode())
    for lv in plan.leaves:
        h.update(repr(("l", lv.stored, lv.on)).encode())
    h.update(repr(("u", plan.unchanged, len(plan.errors))).encode())
    return h.hexdigest()


# --- applying ---------------------------------------------------------------------------------------------

def apply(session: Session, commune_id: int, plan: Plan, today: date, *, actor_id: int | None = None,
          actor_role: str = "") -> dict[str, int]:
    """Write the plan in the caller's transaction with bulk statements, and record one `register_imported`
    event with counts only. A plan with bad rows is refused; a plan that changes nothing writes nothing and
    records no event."""
    if not plan.clean:
        raise Invalid(BAD_ROWS, field=FIELD)
    counts = plan.counts()
    if plan.empty:
        return counts
    table = Household.__table__  # type: ignore[attr-defined]
    if plan.adds:
        session.execute(insert(table), [
            {"village_id": r.village_id, "code": r.code, "head_name": r.head, "address": r.address,
             "phone": r.phone, "active_from": r.joined or today, "active_to": r.left} for r in plan.adds])
    if plan.changes:
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(
                head_name=bindparam("b_head"), address=bindparam("b_address"), phone=bindparam("b_phone"),
                active_to=bindparam("b_left")),
            [{"b_id": c.stored.id, "b_head": c.row.head, "b_address": c.row.address, "b_phone": c.row.phone,
              "b_left": c.row.left} for c in plan.changes])
    if plan.leaves:
        session.execute(update(table).where(table.c.id == bindparam("b_id"))
                        .values(active_to=bindparam("b_on")),
                        [{"b_id": lv.stored.id, "b_on": lv.on} for lv in plan.leaves])
    session.expire_all()  # Household objects loaded earlier in this session are stale now
    audit.record(session, commune_id=commune_id, action="register_imported", actor_id=actor_id,
                 actor_role=actor_role,
                 payload={"added": counts["added"], "changed": counts["changed"], "left": counts["left"],
                          "unchanged": counts["unchanged"], "on": today.isoformat(),
                          "villages": plan.by_village()})
    return counts


# --- exporting --------------------------------------------------------------------------------------------

def _day(d: date | None) -> str:
    return d.strftime("%d/%m/%Y") if d else ""


def export_rows(session: Session, village_ids: Iterable[int]) -> Iterator[list[Any]]:
    """The register of these villages as rows of the file (village, code, head, address, phone, joined,
    left), every household including those that left, by village and code."""
    found = session.execute(select(col(Village.id), col(Village.name))
                            .where(col(Village.id).in_(set(village_ids))))
    names = {village_id: name for village_id, name in found}
    for village_id in sorted(names, key=lambda i: vi_key(names[i])):  # villages in Vietnamese order
        rows = session.execute(select(
            col(Household.code), col(Household.head_name), col(Household.address),
            col(Household.phone), col(Household.active_from), col(Household.active_to),
        ).where(col(Household.village_id) == village_id).order_by(col(Household.code)))
        for code, head, address, tel, joined, left in rows:
            yield [names[village_id], code, head, address, tel or "", joined, left]


def to_csv(rows: Iterable[list[Any]], header: list[str] | None = None) -> bytes:
    """UTF-8 with a byte order mark (Excel then reads Vietnamese letters right), dates as dd/mm/yyyy."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header or rules.HEADERS_VI)
    for row in rows:
        writer.writerow([_day(v) if isinstance(v, date) else v for v in row])
    return codecs.BOM_UTF8 + buf.getvalue().encode("utf-8")


def to_xlsx(rows: Iterable[list[Any]], *, instructions: list[str] | None = None) -> bytes:
    """A workbook whose first sheet is the register (codes and phones as text, dates as real dates); with
    `instructions`, a second sheet holds them (the template)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sổ hộ")
    for letter, width in zip("ABCDEFG", (18, 12, 28, 36, 14, 14, 16), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append(sheets.header_cells(ws, list(rules.HEADERS_VI)))
    for row in rows:
        ws.append(sheets.row_cells(ws, [value if value != "" else None for value in row]))
    if instructions:
        guide = wb.create_sheet("Hướng dẫn")
        guide.column_dimensions["A"].width = 110
        for line in instructions:
            guide.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
