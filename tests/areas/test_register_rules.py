"""The pure rules of a register file: column names, dates, one row's checks, what "changed" means."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from civic.areas import rules
from civic.areas.rules import RegisterRow, Stored

TODAY = date(2026, 12, 6)


@pytest.mark.parametrize("header", [
    ["Thôn/Tổ dân phố", "Mã hộ", "Họ tên chủ hộ"],
    ["THÔN / TỔ DÂN PHỐ", "mã  hộ", "họ tên chủ hộ"],
    ["Thon/To dan pho", "Ma ho", "Ho ten chu ho"],
    ["Village", "Household code", "Head of household"],
    ["village", "HOUSEHOLD CODE", "head of household", "Phone", "Joined", "Left"],
])
def test_headers_are_matched_without_case_or_accents(header):
    found = rules.match_header(header)
    assert found is not None and found["village"] == 0 and found["code"] == 1 and found["head"] == 2


def test_a_row_without_the_three_required_columns_is_not_a_header():
    assert rules.match_header(["Thôn", "Họ tên chủ hộ", "Địa chỉ"]) is None
    assert rules.missing_columns(["Thôn", "Họ tên chủ hộ"]) == ["code"]


@pytest.mark.parametrize(("value", "expected"), [
    ("15/06/2026", date(2026, 6, 15)),
    ("5/6/2026", date(2026, 6, 5)),
    ("1/2/26", date(2026, 2, 1)),  # yy up to this year's is 20yy
    ("1/2/99", date(1999, 2, 1)),  # above it, 19yy
    ("15-06-2026", date(2026, 6, 15)),
    ("15.06.2026", date(2026, 6, 15)),
    ("2026-06-15", date(2026, 6, 15)),
    ("2026-06-15 00:00:00", date(2026, 6, 15)),
    (45000, date(2023, 3, 15)),  # an Excel serial number
    (45000.0, date(2023, 3, 15)),
    ("45000", date(2023, 3, 15)),  # a serial number in a CSV
    (datetime(2010, 6, 15, 0, 0), date(2010, 6, 15)),  # a real Excel date
    (date(1985, 1, 1), date(1985, 1, 1)),
    ("", None), (None, None), ("  ", None),
])
def test_dates_in_every_shape_offices_write_them(value, expected):
    assert rules.parse_date(value, TODAY) == expected


@pytest.mark.parametrize("value", ["31/02/2026", "32/13/2010", "hôm qua", "15/06", "2026/15/06", "0", True,
                                   "1/1/1800", 9_999_999])
def test_nonsense_dates_are_refused(value):
    with pytest.raises(rules.CellError):
        rules.parse_date(value, TODAY)


def test_a_phone_is_normalised_like_users_phones_and_a_lost_leading_zero_is_restored():
    assert rules.phone("0912 345 678") == "0912345678"
    assert rules.phone("+84 912-345-678") == "0912345678"
    assert rules.phone(912345678) == "0912345678"
    assert rules.phone("") is None
    with pytest.raises(rules.CellError):
        rules.phone("12345")


def _check(**values):
    base = {"code": "hd-001", "head": "Nguyễn Văn A"}
    base.update(values)
    return rules.check_row(7, 1, base, TODAY)


def test_a_good_row_is_cleaned():
    checked = _check(address="  Xóm   1 ", phone="0912345678", joined="1/1/2020")
    assert checked.errors == []
    assert checked.row == RegisterRow(7, 1, "HD-001", "Nguyễn Văn A", "Xóm 1", "0912345678", date(2020, 1, 1))


def test_every_bad_column_of_a_row_is_reported_with_its_line():
    checked = _check(code="", head="x" * 121, phone="123", joined="hôm qua")
    assert checked.row is None
    assert {(e.line, e.column) for e in checked.errors} == {(7, "code"), (7, "head"), (7, "phone"),
                                                            (7, "joined")}


def test_a_household_needs_its_heads_name_unless_the_register_has_none_either():
    row = _check(head="").row
    assert row is not None
    missing = rules.needs_head(row, None)
    assert missing is not None and (missing.line, missing.column) == (7, "head")
    nameless = Stored(5, 1, "HD-001", "", "", None, date(2020, 1, 1), None)
    assert rules.needs_head(row, nameless) is None
    assert rules.changes(STORED, row, TODAY)[1] == rules.RowError(7, "head", rules.Message(rules.NO_HEAD))


def test_left_before_joined_is_refused():
    checked = _check(joined="15/06/2020", left="14/06/2020")
    assert [e.column for e in checked.errors] == ["left"]
    assert checked.errors[0].message.params == {"left": "14/06/2020", "joined": "15/06/2020"}
    assert [e.column for e in _check(joined="15/06/2020", left="15/06/2020").errors] == ["left"]


def test_a_household_cannot_join_after_the_import_day():
    assert [e.column for e in _check(joined="7/12/2026").errors] == ["joined"]


def test_an_excel_error_in_a_cell_is_refused():
    assert [e.column for e in _check(head="#REF!").errors] == ["head"]


STORED = Stored(5, 1, "HD-001", "Nguyễn Văn A", "Xóm 1", None, date(2020, 1, 1), None)


def _row(**over):
    values = {"line": 2, "village_id": 1, "code": "HD-001", "head": "Nguyễn Văn A", "address": "Xóm 1"}
    values.update(over)
    return RegisterRow(**values)


def test_what_changed():
    assert rules.changes(STORED, _row(), TODAY) == ([], None)
    assert rules.changes(STORED, _row(joined=date(2020, 1, 1)), TODAY) == ([], None)
    assert rules.changes(STORED, _row(head="Trần B", phone="0912345678"), TODAY)[0] == ["head", "phone"]
    assert rules.changes(STORED, _row(left=date(2026, 12, 1)), TODAY)[0] == ["left"]


def test_an_import_does_not_rewrite_the_history_of_the_register():
    _, error = rules.changes(STORED, _row(joined=date(2019, 1, 1)), TODAY)
    assert error is not None and error.column == "joined"
    gone = Stored(5, 1, "HD-001", "Nguyễn Văn A", "Xóm 1", None, date(2020, 1, 1), date(2026, 3, 1))
    assert rules.changes(gone, _row(left=date(2026, 3, 1)), TODAY) == ([], None)
    _, error = rules.changes(gone, _row(), TODAY)  # the file forgot it left: it does not come back
    assert error is not None and error.column == "left"


def test_a_household_absent_from_the_file_leaves_on_the_import_day():
    assert rules.leaving_day(STORED, TODAY) == TODAY
    joined_today = Stored(5, 1, "X", "", "", None, TODAY, None)
    assert rules.leaving_day(joined_today, TODAY) == date(2026, 12, 7)
