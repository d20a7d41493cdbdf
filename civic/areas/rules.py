"""Pure rules of the areas: communes and villages (codes, slugs, renames, merges), then the household
register read from a spreadsheet (column names, dates, one row's checks, what "changed" means). No database
here; civic/areas/service.py and civic/areas/register.py read and write rows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from civic.core.inputs import BAD_PHONE, clean_text, normalize_phone
from civic.errors import N_, Conflict, Invalid, Message

COMMUNE_KINDS = ("xa", "phuong", "dac_khu")  # xã, phường, đặc khu (the local level since 1 July 2025)
VILLAGE_KINDS = ("thon", "to_dan_pho")  # thôn (in a xã), tổ dân phố (in a phường)

_COMMUNE_CODE = re.compile(r"^[A-Z0-9]{2,8}$")


def commune_code(text: str) -> str | None:
    """The letters that begin the commune's item codes ('ns' is 'NS'): 2 to 8 ASCII letters or digits."""
    code = (text or "").strip().upper()
    return code if _COMMUNE_CODE.match(code) else None


def slugify(name: str) -> str:
    """The village's name without diacritics, in lower case, words joined by '-' ('Thôn Đồng Tâm' is
    'thon-dong-tam'); 'village' when nothing is left."""
    return fold(name).replace(" ", "-")[:100].strip("-") or "village"


def unique_slug(name: str, taken: Iterable[str]) -> str:
    """The name's slug, with '-2', '-3'… when another village of the commune has it already."""
    base, used = slugify(name), set(taken)
    slug, n = base, 1
    while slug in used:
        n += 1
        slug = f"{base}-{n}"
    return slug


def same_name(a: str, b: str) -> bool:
    """Two village names that people would read as the same (case and Unicode form aside)."""
    def key(s: str) -> str:
        return " ".join(unicodedata.normalize("NFC", s).casefold().split())
    return key(a) == key(b)


def check_new_name(name: str, others: Iterable[str]) -> None:
    """A village's name must differ from every other village's name in the commune."""
    if any(same_name(name, other) for other in others):
        raise Invalid(N_("A village named %(name)s already exists in this commune."), field="name", name=name)


def check_merge(merged: list[tuple[int, str, bool]], receiver_id: int | None, on: date, today: date) -> None:
    """A merge of `merged` (id, name, already merged?) into `receiver_id` (None: a new village) on `on`.

    Refused: no village chosen, a village merged into itself, a village that was merged already, a date in
    the future (a merge is recorded once it has been decided)."""
    if not merged:
        raise Invalid(N_("Please choose the villages to merge."), field="village_ids")
    if receiver_id is not None and receiver_id in {vid for vid, _name, _done in merged}:
        raise Invalid(N_("A village cannot be merged into itself."), field="village_ids")
    done = [name for _vid, name, was_merged in merged if was_merged]
    if done:
        raise Conflict(N_("These villages were merged already: %(names)s."), names=", ".join(done))
    if on > today:
        raise Invalid(N_("The merge date cannot be in the future."), field="merged_on")


def code_clashes(moving: Iterable[str], staying: Iterable[str]) -> list[str]:
    """Household codes that would be twice in the receiving village: among the moving households, or
    between them and the receiving village's own."""
    seen = set(staying)
    clashes: set[str] = set()
    for code in moving:
        if code in seen:
            clashes.add(code)
        seen.add(code)
    return sorted(clashes)


# The columns of a register file: (key, Vietnamese header, English header). The Vietnamese header is what
# the template and the export write; both are read, without regard to case, accents or spacing.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("village", "Thôn/Tổ dân phố", "Village"),
    ("code", "Mã hộ", "Household code"),
    ("head", "Họ tên chủ hộ", "Head of household"),
    ("address", "Địa chỉ", "Address"),
    ("phone", "Số điện thoại", "Phone"),
    ("joined", "Ngày vào sổ", "Joined"),
    ("left", "Ngày ra khỏi sổ", "Left"),
)
HEADERS_VI = [vi for _, vi, _ in COLUMNS]
REQUIRED = ("village", "code", "head")
# Column names as pages show them (translated: the Vietnamese catalog gives the Vietnamese header).
COLUMN_LABELS = {
    "village": N_("Village"), "code": N_("Household code"), "head": N_("Head of household"),
    "address": N_("Address"), "phone": N_("Phone"), "joined": N_("Joined"), "left": N_("Left"),
}
# Other spellings offices use for the same columns.
_ALIASES = {
    "village": ("thon", "to dan pho", "thon to", "thon xom", "ten thon", "village name"),
    "code": ("ma ho gia dinh", "ma so ho", "code", "household"),
    "head": ("chu ho", "ho va ten chu ho", "ten chu ho", "head", "head name"),
    "phone": ("dien thoai", "sdt", "so dt", "phone number"),
    "joined": ("ngay vao", "joined on", "join date"),
    "left": ("ngay ra", "left on", "leave date"),
}

CODE_MAX, HEAD_MAX, ADDRESS_MAX = 32, 120, 200
YEAR_MIN, YEAR_MAX = 1900, 2100
EXCEL_EPOCH = date(1899, 12, 30)  # serial day 0 of Excel's 1900 date system (1 = 1 January 1900)
_SERIAL_MAX = (date(YEAR_MAX, 12, 31) - EXCEL_EPOCH).days

# --- messages ---------------------------------------------------------------------------------------------
BAD_DATE = N_("This is not a date: write it as day/month/year, e.g. 15/06/2026.")
DATE_RANGE = N_("This date is outside the years 1900 to 2100.")
JOINED_FUTURE = N_("The date of joining cannot be after the day of the import (%(today)s).")
LEFT_BEFORE = N_("The date of leaving (%(left)s) must be after the date of joining (%(joined)s).")
NO_VILLAGE = N_("The village is missing.")
NO_CODE = N_("The household code is missing.")
LONG_CODE = N_("The household code may have at most 32 characters.")
NO_HEAD = N_("The name of the head of household is missing.")
LONG_HEAD = N_("The name of the head of household may have at most 120 characters.")
LONG_ADDRESS = N_("The address may have at most 200 characters.")
DUPLICATE = N_("The household code %(code)s appears twice in %(village)s (first on line %(line)s).")
EXCEL_ERROR = N_("This cell holds an Excel error (%(value)s): correct it in the file.")
NO_CACHED_VALUE = N_("This cell is a formula without a saved value: open the file in Excel, save it and "
                     "upload it again.")
JOINED_FIXED = N_("This household has been in the register since %(date)s: an import cannot change the date "
                  "it joined.")
LEFT_FIXED = N_("This household left the register on %(date)s: an import cannot change that. A household "
                "that comes back gets a new code.")


def fold(text: str) -> str:
    """Lower case without accents or punctuation, single spaces: 'Thôn/Tổ dân phố' → 'thon to dan pho'."""
    text = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# Words a village's name may be written with in a register that its name in civic leaves out.
VILLAGE_WORDS = ("thon", "to dan pho", "to", "khu pho", "ban", "ap", "lang", "xom", "khu")


def village_keys(text: str) -> list[str]:
    """The folded names to look a village up by: 'Thôn Hưng Đạo' is tried as 'thon hung dao', then as
    'hung dao'."""
    key = fold(text)
    keys = [key]
    for word in VILLAGE_WORDS:
        if key.startswith(word + " "):
            keys.append(key[len(word) + 1:])
    return keys


def _header_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for key, vi, en in COLUMNS:
        names[fold(vi)] = key
        names[fold(en)] = key
    for key, aliases in _ALIASES.items():
        for alias in aliases:
            names.setdefault(fold(alias), key)
    return names


HEADER_NAMES = _header_names()


def match_header(cells: list[Any] | tuple[Any, ...]) -> dict[str, int] | None:
    """{column key: index} when this row names at least the village, code and head columns, else None.
    The first column of each name counts; other columns are ignored."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        if cell is None or not isinstance(cell, str):
            continue
        key = HEADER_NAMES.get(fold(cell))
        if key and key not in found:
            found[key] = index
    return found if all(k in found for k in REQUIRED) else None


def missing_columns(cells: list[Any] | tuple[Any, ...]) -> list[str]:
    """The required column keys this row does not name (for the message when no header row is found)."""
    named = {HEADER_NAMES.get(fold(c)) for c in cells if isinstance(c, str)}
    return [k for k in REQUIRED if k not in named]


# --- cells ------------------------------------------------------------------------------------------------

class CellError(Exception):
    """One cell's refusal: a message id and its parameters."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = Message(message, **params)


_EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                           "#GETTING_DATA", "#SPILL!", "#CALC!"})


def cell_text(value: Any) -> str:
    """A cell as text: numbers without '.0', text cleaned (NFC, single spaces, no control characters)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.strftime("%d/%m/%Y")
    text = clean_text(value)
    if text.upper() in _EXCEL_ERRORS:
        raise CellError(EXCEL_ERROR, value=text)
    return text


def household_code(value: Any) -> str:
    """A household code as stored: upper case, single spaces ('hd 012' is 'HD 012')."""
    return cell_text(value).upper()


def phone(value: Any) -> str | None:
    """A phone number normalised like users' phones; a number cell lost its leading 0 (912345678)."""
    text = cell_text(value)
    if not text:
        return None
    if text.isdigit() and len(text) == 9 and text[0] in "35789":
        text = "0" + text
    normalized = normalize_phone(text)
    if normalized is None:
        raise CellError(BAD_PHONE)
    return normalized


_DMY = re.compile(r"^([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{2}|[0-9]{4})$")
_YMD = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9:.]+)?$")
_SERIAL = re.compile(r"^[0-9]{1,5}(?:\.0+)?$")


def _serial(number: float) -> date:
    """An Excel serial day number (1900 date system; 60 is Excel's 29 February 1900 that never was)."""
    if not 1 <= number <= _SERIAL_MAX:
        raise CellError(DATE_RANGE)
    return EXCEL_EPOCH + timedelta(days=int(number))


def _checked(year: int, month: int, day: int) -> date:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise CellError(DATE_RANGE)
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError(BAD_DATE) from None


def parse_date(value: Any, today: date) -> date | None:
    """A register date from a cell: a real Excel date, an Excel serial number, or text as dd/mm/yyyy,
    d/m/yy (yy up to this year's two digits is 20yy, above is 19yy) or yyyy-mm-dd; blank is None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _checked(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise CellError(BAD_DATE)
    if isinstance(value, int | float):
        return _serial(value)
    text = cell_text(value)
    if not text:
        return None
    m = _DMY.match(text)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if len(m.group(3)) == 2:
            year += 2000 if year <= today.year % 100 else 1900
        return _checked(year, month, day)
    m = _YMD.match(text)
    if m:
        return _checked(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if _SERIAL.match(text):
        return _serial(float(text))
    raise CellError(BAD_DATE)


# --- rows -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowError:
    """A bad row: its line in the file, the column's key ('' for the whole row) and the message."""

    line: int
    column: str
    message: Message


@dataclass(frozen=True)
class RegisterRow:
    """One household as the file gives it, checked. `joined` None: keep the stored date (or the import day
    for a new household)."""

    line: int
    village_id: int
    code: str
    head: str
    address: str = ""
    phone: str | None = None
    joined: date | None = None
    left: date | None = None


@dataclass
class RowChecks:
    """What checking one row found: the row, or its errors (one per bad column)."""

    row: RegisterRow | None = None
    errors: list[RowError] = field(default_factory=list)


def check_row(line: int, village_id: int, values: dict[str, Any], today: date) -> RowChecks:
    """Check one row's cells (by column key) for a known village; every bad column is reported."""
    out = RowChecks()

    def cell(key: str, parse):
        try:
            return parse(values.get(key))
        except CellError as exc:
            out.errors.append(RowError(line, key, exc.message))
            return None

    code = cell("code", household_code)
    if code == "":
        out.errors.append(RowError(line, "code", Message(NO_CODE)))
    elif code is not None and len(code) > CODE_MAX:
        out.errors.append(RowError(line, "code", Message(LONG_CODE)))
    head = cell("head", cell_text)  # blank: see needs_head()
    if head is not None and len(head) > HEAD_MAX:
        out.errors.append(RowError(line, "head", Message(LONG_HEAD)))
    address = cell("address", cell_text)
    if address is not None and len(address) > ADDRESS_MAX:
        out.errors.append(RowError(line, "address", Message(LONG_ADDRESS)))
    tel = cell("phone", phone)
    joined = cell("joined", lambda v: parse_date(v, today))
    left = cell("left", lambda v: parse_date(v, today))
    if joined is not None and joined > today:
        out.errors.append(RowError(line, "joined", Message(JOINED_FUTURE, today=today.strftime("%d/%m/%Y"))))
    elif joined is not None and left is not None and left <= joined:
        out.errors.append(RowError(line, "left", Message(LEFT_BEFORE, left=left.strftime("%d/%m/%Y"),
                                                         joined=joined.strftime("%d/%m/%Y"))))
    if not out.errors:
        out.row = RegisterRow(line, village_id, code or "", head or "", address or "", tel, joined, left)
    return out


# --- what changes -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stored:
    """A household as the register holds it."""

    id: int
    village_id: int
    code: str
    head: str
    address: str
    phone: str | None
    joined: date
    left: date | None


def is_active(stored: Stored, today: date) -> bool:
    """In the register on `today` or later (it has not left yet)."""
    return stored.left is None or stored.left > today


def needs_head(row: RegisterRow, stored: Stored | None) -> RowError | None:
    """A household needs its head's name, except one the register already holds without it (a register
    exported and imported again changes nothing)."""
    if row.head or (stored is not None and not stored.head):
        return None
    return RowError(row.line, "head", Message(NO_HEAD))


def changes(stored: Stored, row: RegisterRow, today: date) -> tuple[list[str], RowError | None]:
    """The column keys a row changes of a stored household, or the error when it would rewrite history:
    the date a household joined, or the date it left once it has left, are never changed by an import
    (past votes count households by these dates)."""
    missing = needs_head(row, stored)
    if missing is not None:
        return [], missing
    if row.joined is not None and row.joined != stored.joined:
        since = stored.joined.strftime("%d/%m/%Y")
        return [], RowError(row.line, "joined", Message(JOINED_FIXED, date=since))
    if not is_active(stored, today) and row.left != stored.left:
        assert stored.left is not None
        return [], RowError(row.line, "left", Message(LEFT_FIXED, date=stored.left.strftime("%d/%m/%Y")))
    if row.left is not None and row.left <= stored.joined:
        return [], RowError(row.line, "left", Message(LEFT_BEFORE, left=row.left.strftime("%d/%m/%Y"),
                                                      joined=stored.joined.strftime("%d/%m/%Y")))
    changed = []
    if row.head != stored.head:
        changed.append("head")
    if row.address != stored.address:
        changed.append("address")
    if row.phone != stored.phone:
        changed.append("phone")
    if row.left != stored.left:
        changed.append("left")
    return changed, None


def leaving_day(stored: Stored, today: date) -> date:
    """The day a household absent from the file leaves: the import day (a household that joined today or
    later leaves the day after it joined, since it must have been in the register for a day)."""
    return max(today, stored.joined + timedelta(days=1))


# --- several communes in one deployment -----------------------------------------------------------------

def commune_matches(query: str, name: str, code: str, province: str) -> bool:
    """A visitor's search finds a commune by its name, code or province, with or without diacritics
    ('nhao son' finds 'Nhạo Sơn', 'dong' finds 'Đông')."""
    words = fold(query).split()
    haystack = f" {fold(name)} {fold(code)} {fold(province)} "
    return all(word in haystack for word in words)


def check_commune_merge(*, source_id: int, target_id: int, source_merged: bool, target_merged: bool) -> None:
    """Commune A merged into B (as in the 2025 reorganisation of communes, in force from 1 July 2025): two
    different communes, neither merged already."""
    if source_id == target_id:
        raise Invalid(N_("A commune cannot be merged into itself."), field="into")
    if source_merged:
        raise Conflict(N_("This commune was merged already."))
    if target_merged:
        raise Invalid(N_("The receiving commune was itself merged into another; choose that one."),
                      field="into")


def merged_village_name(name: str, commune_name: str, taken: Iterable[str]) -> str:
    """The name a merged commune's village takes in the receiving commune: its own, or with the old
    commune's name when the receiving commune has a village of that name already."""
    taken = list(taken)
    if not any(same_name(name, other) for other in taken):
        return name
    candidate, n = f"{name} ({commune_name})", 1
    while any(same_name(candidate, other) for other in taken):
        n += 1
        candidate = f"{name} ({commune_name} {n})"
    return candidate
