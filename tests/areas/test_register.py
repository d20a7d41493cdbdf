"""Loading the household register from a spreadsheet: the preview, applying it, the export, and every kind
of bad file, each refused with a clear message and nothing changed."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from civic import clock
from civic.areas import register, rules
from civic.areas.models import Household
from civic.audit.models import AuditEvent
from civic.errors import Invalid, TooLarge
from tests.areas.register_files import (
    HEADERS_EN,
    cp1258,
    csv_bytes,
    excel_like_xlsx,
    save,
    with_cached_values,
    workbook,
    xlsx_bytes,
)
from tests.builders import make_commune, make_village

TODAY = date(2026, 12, 6)


@pytest.fixture
def place(db):
    clock.freeze(datetime(2026, 12, 6, 3, 0, tzinfo=UTC))
    commune = make_commune(db)
    a = make_village(db, commune, "Hưng Đạo", households=3)  # H0000, H0001, H0002 since 1/1/2020
    b = make_village(db, commune, "Tân Tiến", households=0)
    return commune, a, b


def run(db, commune, data, scope=None):
    parsed = register.read(data, register.villages(db, commune.id), scope, TODAY)
    return register.preview(db, parsed, TODAY)


def households(db, village):
    rows = db.execute(select(Household).where(col(Household.village_id) == village.id)
                      .order_by(col(Household.code))).scalars()
    return {h.code: h for h in rows}


def events(db, action="register_imported"):
    return list(db.execute(select(AuditEvent).where(col(AuditEvent.action) == action)).scalars())


def test_a_file_is_previewed_then_applied_with_one_audit_event_of_counts_only(db, place):
    commune, a, b = place
    data = csv_bytes([
        ["Hưng Đạo", "H0000", "Nguyễn Văn A", "Xóm 1", "0912 345 678", "01/01/2020", ""],  # changed
        ["Hưng Đạo", "H0001", "", "", "123", "", ""],  # bad: not a phone number
        [a.slug, "HD-100", "Trần Thị B", "", "", "15/06/2026", ""],  # added, by slug
        ["tân tiến", "TT-001", "Lê Văn C", "", "", "", ""],  # added, joins today
        ["Tân Tiến", "TT-002", "", "", "", "", ""],  # bad: a new household without its head's name
    ])
    plan = run(db, commune, data)
    assert plan.counts() == {"added": 2, "changed": 1, "left": 1, "unchanged": 0, "bad_rows": 2}
    assert [(e.line, e.column) for e in plan.errors] == [(3, "phone"), (6, "head")]
    assert [lv.stored.code for lv in plan.leaves] == ["H0002"]  # H0001 is on a bad row: it does not leave
    with pytest.raises(Invalid):
        register.apply(db, commune.id, plan, TODAY)
    assert events(db) == [] and "HD-100" not in households(db, a)

    data = csv_bytes([
        ["Hưng Đạo", "H0000", "Nguyễn Văn A", "Xóm 1", "0912 345 678", "01/01/2020", ""],
        ["Hưng Đạo", "H0001", "Phạm D", "", "", "", ""],
        [a.slug, "HD-100", "Trần Thị B", "", "", "15/06/2026", ""],
        ["tân tiến", "TT-001", "Lê Văn C", "", "", "", ""],
    ])
    plan = run(db, commune, data)
    assert plan.clean
    assert {c.stored.code: c.columns for c in plan.changes} == {"H0000": ("head", "address", "phone"),
                                                                "H0001": ("head",)}
    counts = register.apply(db, commune.id, plan, TODAY, actor_id=None, actor_role="admin")
    assert counts["added"] == 2 and counts["changed"] == 2 and counts["left"] == 1
    now_a = households(db, a)
    assert now_a["H0000"].phone == "0912345678" and now_a["H0000"].address == "Xóm 1"
    assert now_a["H0002"].active_to == TODAY  # left, not deleted
    assert now_a["HD-100"].active_from == date(2026, 6, 15)
    assert households(db, b)["TT-001"].active_from == TODAY
    [event] = events(db)
    payload = json.loads(event.payload)
    assert payload["added"] == 2 and payload["changed"] == 2 and payload["left"] == 1
    assert payload["villages"][str(a.id)] == {"added": 1, "changed": 2, "left": 1}
    for private in ("Nguyễn", "Trần", "0912345678", "HD-100", "H0002", "Xóm"):
        assert private not in event.payload


def test_the_same_file_twice_changes_nothing_and_records_no_second_event(db, place):
    commune, a, _b = place
    data = csv_bytes([["Hưng Đạo", f"H000{n}", "Chủ hộ", "", "", "", ""] for n in range(3)])
    register.apply(db, commune.id, run(db, commune, data), TODAY)
    assert len(events(db)) == 1
    plan = run(db, commune, data)
    assert plan.counts() == {"added": 0, "changed": 0, "left": 0, "unchanged": 3, "bad_rows": 0}
    register.apply(db, commune.id, plan, TODAY)
    assert len(events(db)) == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_register_imported_again_changes_nothing(db, place, fmt):
    commune, a, b = place
    data = csv_bytes([
        ["Hưng Đạo", "H0000", "Nguyễn Văn A", "Xóm 1, thôn Hưng Đạo", "0912345678", "1/1/2020", ""],
        ["Hưng Đạo", "H0001", "Trần B", "", "", "", "1/3/2026"],
        ["Tân Tiến", "007", "Lê C", "", "", "2/1/1998", ""],
    ])
    register.apply(db, commune.id, run(db, commune, data), TODAY)
    rows = list(register.export_rows(db, [a.id, b.id]))
    exported = register.to_csv(rows) if fmt == "csv" else register.to_xlsx(rows)
    assert len(rows) == 4  # H0002 left today: exported with its date
    plan = run(db, commune, exported)
    assert plan.errors == []
    assert plan.counts() == {"added": 0, "changed": 0, "left": 0, "unchanged": 4, "bad_rows": 0}


def test_duplicate_codes_in_a_village_are_bad_rows(db, place):
    commune, _a, _b = place
    plan = run(db, commune, csv_bytes([["Hưng Đạo", "HD-1", "A", "", "", "", ""],
                                       ["Tân Tiến", "HD-1", "B", "", "", "", ""],  # another village: fine
                                       ["Hưng Đạo", "hd-1", "C", "", "", "", ""]]))
    assert [(e.line, e.column, e.message.params["line"]) for e in plan.errors] == [(4, "code", 2)]
    assert not plan.clean


def test_unknown_villages_refuse_the_file_and_are_named(db, place):
    commune, _a, _b = place
    with pytest.raises(Invalid) as caught:
        run(db, commune, csv_bytes([["Hưng Đạo", "HD-1", "A", "", "", "", ""],
                                    ["Thôn Mới", "X-1", "B", "", "", "", ""],
                                    ["Đồng Tâm", "X-2", "B", "", "", "", ""]]))
    assert caught.value.message == register.UNKNOWN_VILLAGES
    assert caught.value.params["names"] == "Thôn Mới, Đồng Tâm"


def test_a_village_is_found_by_name_or_slug_without_accents_or_its_kind_word(db, place):
    commune, a, b = place
    plan = run(db, commune, csv_bytes([["THÔN HƯNG ĐẠO", "V-1", "A"], ["hung dao", "V-2", "A"],
                                       [a.slug, "V-3", "A"], ["Tổ dân phố Tân Tiến", "V-4", "A"]]))
    assert plan.clean
    assert {r.code: r.village_id for r in plan.adds} == {"V-1": a.id, "V-2": a.id, "V-3": a.id, "V-4": b.id}


def test_a_village_head_loads_only_their_own_village(db, place):
    commune, a, b = place
    data = csv_bytes([["Hưng Đạo", "HD-1", "A", "", "", "", ""], ["Tân Tiến", "X-1", "B", "", "", "", ""]])
    with pytest.raises(Invalid) as caught:
        run(db, commune, data, scope=frozenset({a.id}))
    assert caught.value.message == register.NOT_YOURS and caught.value.params["names"] == "Tân Tiến"
    assert run(db, commune, data, scope=None).clean


def test_dates_of_every_kind_in_a_workbook(db, place):
    commune, a, _b = place
    data = xlsx_bytes([
        ["Hưng Đạo", "D-1", "A", "", "", datetime(2010, 6, 15), None],  # a real Excel date
        ["Hưng Đạo", "D-2", "A", "", "", 45000, None],  # a serial number
        ["Hưng Đạo", "D-3", "A", "", "", "15/06/2010", "1/2/26"],  # text dd/mm/yyyy and d/m/yy
        ["Hưng Đạo", "D-4", "A", "", "", "30/02/2010", None],  # nonsense
        ["Hưng Đạo", "D-5", "A", "", "", "15/06/2010", "14/06/2010"],  # left before joined
    ])
    plan = run(db, commune, data)
    joined = {r.code: (r.joined, r.left) for r in plan.adds}
    assert joined == {"D-1": (date(2010, 6, 15), None), "D-2": (date(2023, 3, 15), None),
                      "D-3": (date(2010, 6, 15), date(2026, 2, 1))}
    assert [(e.line, e.column) for e in plan.errors] == [(5, "joined"), (6, "left")]


def test_blank_lines_are_skipped_and_lines_keep_their_numbers(db, place):
    commune, _a, _b = place
    data = csv_bytes([[], ["Hưng Đạo", "B-1", "A", "", "", "", ""], ["", "", "", "", "", "", ""],
                      ["Hưng Đạo", "B-2", "", "", "", "", ""]])
    plan = run(db, commune, data)
    assert [r.code for r in plan.adds] == ["B-1"]
    assert [(e.line, e.column) for e in plan.errors] == [(5, "head")]


def test_a_title_above_the_header_and_english_headers_are_read(db, place):
    commune, _a, _b = place
    wb, ws = workbook([], header=["DANH SÁCH HỘ GIA ĐÌNH XÃ NHẠO SƠN"])
    ws.append([])
    ws.append(HEADERS_EN)
    ws.append(["Hung Dao", "E-1", "A", "", "", "", ""])
    plan = run(db, commune, save(wb))
    assert [(r.line, r.code) for r in plan.adds] == [(4, "E-1")]


def test_merged_cells_read_the_top_left_value(db, place):
    commune, _a, _b = place
    wb, ws = workbook([["Hưng Đạo", "M-1", "A"], [None, "M-2", "B"], [None, "M-3", "C"],
                       ["Tân Tiến", "M-4", "D"]])
    ws.merge_cells("A2:A4")  # the village written once for three households
    plan = run(db, commune, save(wb))
    assert plan.clean
    assert {r.code: r.village_id for r in plan.adds} == {"M-1": place[1].id, "M-2": place[1].id,
                                                         "M-3": place[1].id, "M-4": place[2].id}


def test_a_sheet_with_too_many_merged_cells_is_refused(db, place, monkeypatch):
    commune, _a, _b = place
    wb, ws = workbook([["Hưng Đạo", "M-1", "A"], [None, "M-2", "B"]])
    ws.merge_cells("A2:A3")
    monkeypatch.setattr(register, "MAX_MERGED", 1)
    with pytest.raises(Invalid) as caught:
        run(db, commune, save(wb))
    assert caught.value.message == register.TOO_MANY_MERGED


def test_formulas_read_their_saved_value_or_are_refused(db, place):
    commune, _a, _b = place
    wb, _ws = workbook([["Hưng Đạo", '="F-"&"1"', "A"], ["Hưng Đạo", "F-2", '=UPPER("b")']])
    data = save(wb)
    plan = run(db, commune, data)  # written by a program: no saved values
    assert [(e.line, e.column) for e in plan.errors] == [(2, "code"), (3, "head")]
    assert plan.errors[0].message == rules.NO_CACHED_VALUE
    plan = run(db, commune, with_cached_values(data, {"B2": "F-1", "C3": "B"}))
    assert plan.clean and {(r.code, r.head) for r in plan.adds} == {("F-1", "A"), ("F-2", "B")}


@pytest.mark.parametrize(("data", "message"), [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, register.NOT_SPREADSHEET),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n\x00", register.NOT_SPREADSHEET),
    (b"PK\x03\x04not really a zip", register.NOT_SPREADSHEET),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, register.OLD_EXCEL),
    (b"hello world\nnothing here\n", register.NO_HEADER),
    ("Thôn,Số hộ,Họ tên chủ hộ\nHưng Đạo,1,A\n".encode(), register.MISSING_COLUMNS),
    (cp1258("Thôn/Tổ dân phố,Mã hộ,Họ tên chủ hộ\nHưng Đạo,A-1,Nguyễn Văn A\n"), register.NOT_UTF8),
    ("Thôn/Tổ dân phố,Mã hộ,Họ tên chủ hộ\nHưng Đạo,A-1,Nguyễn\n".encode("utf-16"), register.NOT_UTF8),
    ("Thôn/Tổ dân phố,Mã hộ,Họ tên chủ hộ\n\n".encode(), register.EMPTY),
    (b"", register.NO_HEADER),
])
def test_a_file_that_cannot_be_read_is_refused_with_its_reason(db, place, data, message):
    commune, a, _b = place
    with pytest.raises(Invalid) as caught:
        run(db, commune, data)
    assert caught.value.message == message and caught.value.field == "file"
    assert len(households(db, a)) == 3


def test_a_zip_bomb_is_refused_before_it_is_unpacked(db, place, monkeypatch):
    commune, _a, _b = place
    data = xlsx_bytes([["Hưng Đạo", "Z-1", "A"]])
    monkeypatch.setattr(register, "MAX_UNPACKED", 1000)
    with pytest.raises(Invalid) as caught:
        run(db, commune, data)
    assert caught.value.message == register.UNPACKED_TOO_LARGE


def test_the_missing_columns_are_named(db, place):
    commune, _a, _b = place
    with pytest.raises(Invalid) as caught:
        run(db, commune, csv_bytes([["Hưng Đạo", "A"]], header=["Thôn/Tổ dân phố", "Họ tên chủ hộ"]))
    assert caught.value.params == {"columns": "Mã hộ"}


@pytest.mark.parametrize("encode", [
    lambda text: text.encode("utf-8"),
    lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
])
def test_utf8_with_or_without_a_byte_order_mark_and_semicolons(db, place, encode):
    commune, _a, _b = place
    text = "Thôn/Tổ dân phố;Mã hộ;Họ tên chủ hộ\r\nHưng Đạo;Ư-1;Nguyễn Thị Ánh\r\n"
    plan = run(db, commune, encode(text))
    assert [(r.code, r.head) for r in plan.adds] == [("Ư-1", "Nguyễn Thị Ánh")]


def test_a_file_over_the_size_limit_is_refused_before_reading():
    with pytest.raises(TooLarge) as caught:
        register.check_size(60 * 1024 * 1024, 20 * 1024 * 1024)
    assert caught.value.params == {"size": "60.0", "mb": "20"}
    register.check_size(20 * 1024 * 1024, 20 * 1024 * 1024)


def test_a_household_that_changes_village_leaves_one_and_joins_the_other(db, place):
    commune, a, b = place
    plan = run(db, commune, csv_bytes([["Hưng Đạo", "H0000", "A", "", "", "", ""],
                                       ["Hưng Đạo", "H0001", "A", "", "", "", ""],
                                       ["Tân Tiến", "H0002", "A", "", "", "", ""]]))
    assert [r.code for r in plan.adds] == ["H0002"] and [lv.stored.code for lv in plan.leaves] == ["H0002"]
    assert plan.moved == ["H0002"]
    register.apply(db, commune.id, plan, TODAY)
    assert households(db, a)["H0002"].active_to == TODAY and households(db, b)["H0002"].active_to is None


def test_a_register_changed_since_the_preview_gives_another_digest(db, place):
    commune, a, _b = place
    data = csv_bytes([["Hưng Đạo", "H0000", "A", "", "", "", ""]])
    before = run(db, commune, data)
    db.add(Household(village_id=a.id, code="NEW", active_from=date(2021, 1, 1)))
    db.flush()
    assert run(db, commune, data).digest != before.digest
    assert run(db, commune, data).digest == run(db, commune, data).digest


def test_a_hundred_thousand_rows_are_read_in_read_only_mode(db, place):
    commune, _a, _b = place
    day = date(2000, 1, 1)
    data = excel_like_xlsx([["Hưng Đạo" if n % 2 else "Tân Tiến", f"K-{n:06d}", f"Nguyễn Văn {n}", None, None,
                             day + timedelta(days=n % 9000)] for n in range(100_000)])
    plan = run(db, commune, data)
    assert plan.clean and len(plan.adds) == 100_000 and len(plan.leaves) == 3
    assert plan.adds[-1].joined == day + timedelta(days=99_999 % 9000)
