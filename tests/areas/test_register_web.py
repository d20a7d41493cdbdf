"""The household register pages over HTTP: the template, an upload and its preview, applying it, the export,
who may use them, and bad files refused with a clear message and nothing changed."""

from __future__ import annotations

import io
import json
import re

from openpyxl import load_workbook
from sqlalchemy import select
from sqlmodel import col

from civic.areas.models import Household
from civic.areas.rules import HEADERS_VI
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from tests.areas.register_files import cp1258, csv_bytes
from tests.builders import csrf_token, hidden_value, login, setup_world

PAGE = "/admin/register"


def register_of(village) -> dict[str, Household]:
    with unit_of_work() as db:
        rows = db.execute(select(Household).where(col(Household.village_id) == village.id)).scalars()
        return {h.code: h for h in rows}


def imported_events() -> list[AuditEvent]:
    with unit_of_work() as db:
        return list(db.execute(select(AuditEvent).where(col(AuditEvent.action) == "register_imported"))
                    .scalars())


def upload(client, data: bytes, filename: str = "so-ho.csv"):
    token = csrf_token(client, PAGE)
    return client.post(f"{PAGE}/preview", data={"csrf_token": token},
                       files={"file": (filename, data, "application/octet-stream")})


def apply(client, preview_html: str, **over):
    form = {name: hidden_value(preview_html, name) for name in ("csrf_token", "token", "sha256", "digest")}
    form.update(over)
    return client.post(f"{PAGE}/apply", data=form, follow_redirects=False)


def whole_village(village, **over):
    rows = [[village.name, f"H{n:04d}", f"Chủ hộ {n}", "", "", "01/01/2020", ""] for n in range(10)]
    for code, row in over.items():
        rows = [r for r in rows if r[1] != code] + ([row] if row else [])
    return rows


def test_an_admin_previews_a_file_then_applies_it(client):
    _commune, a, b, _cat, users = setup_world()
    login(client, users["admin"])
    page = client.get(PAGE)
    assert page.status_code == 200 and "Sổ hộ gia đình" in page.text
    assert "Household register" in client.get(f"{PAGE}?lang=en").text
    rows = (whole_village(a, H0009=None) + whole_village(b)
            + [[b.name, "TT-1", "Lê Văn C", "Xóm 2", "0912345678", "", ""]])
    preview = upload(client, csv_bytes(rows))
    assert preview.status_code == 200, preview.text[:2000]
    assert "TT-1" in preview.text and "H0009" in preview.text  # one added, one leaves
    assert "0912345678" not in preview.text  # the phone is not shown even here
    assert imported_events() == []  # a preview writes nothing
    done = apply(client, preview.text)
    assert done.status_code == 303 and done.headers["location"] == PAGE
    after = client.get(PAGE)
    assert "Đã cập nhật sổ hộ" in after.text
    assert register_of(b)["TT-1"].phone == "0912345678"
    assert register_of(a)["H0009"].active_to is not None and len(register_of(a)) == 10
    [event] = imported_events()
    payload = json.loads(event.payload)
    assert (payload["added"], payload["left"]) == (1, 1)
    assert "Lê Văn C" not in event.payload and "0912345678" not in event.payload
    # the same preview cannot be applied twice: its file is gone
    assert apply(client, preview.text).status_code == 422
    # the phone never reaches a public page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for path in ("/", "/items", "/audit"):
        assert "0912345678" not in client.get(path).text


def test_the_same_file_twice_gives_an_empty_preview_without_an_apply_button(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    data = csv_bytes(whole_village(a))
    first = upload(client, data)
    assert apply(client, first.text).status_code == 303
    again = upload(client, data)
    assert again.status_code == 200
    assert 'name="token"' not in again.text and "Sổ hộ đã đúng như tệp này" in again.text
    assert len(imported_events()) == 1


def test_bad_rows_are_listed_with_line_column_and_a_vietnamese_message_and_cannot_be_applied(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    rows = whole_village(a) + [[a.name, "X-1", "<script>alert(1)</script>", "", "", "31/02/2024", ""],
                               [a.name, "H0001", "Trùng", "", "", "", ""]]
    preview = upload(client, csv_bytes(rows))
    assert preview.status_code == 422
    text = preview.text
    assert "Đây không phải ngày" in text and "Mã hộ H0001 bị trùng" in text
    assert re.search(r"<td>12</td><td>Ngày vào sổ</td>", text)
    assert re.search(r"<td>13</td><td>Mã hộ</td>", text)
    assert 'name="token"' not in text and "<script>alert(1)</script>" not in text
    # a forged apply of a preview that was never offered changes nothing
    forged = apply(client, upload(client, csv_bytes(whole_village(a, H0000=None))).text, digest="0" * 64)
    assert forged.status_code == 409 and "Sổ hộ đã thay đổi" in forged.text
    assert imported_events() == [] and register_of(a)["H0000"].active_to is None


def test_what_is_applied_is_the_file_that_was_previewed(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    preview = upload(client, csv_bytes(whole_village(a, H0000=None)))
    assert apply(client, preview.text, sha256="a" * 64).status_code == 422  # another file's digest
    assert apply(client, preview.text, token="x" * 32).status_code == 422  # no such upload
    # the register changed between the preview and the apply: refused, the new preview is needed
    with unit_of_work(write=True) as db:
        h = db.execute(select(Household).where(col(Household.village_id) == a.id,
                                               col(Household.code) == "H0005")).scalar_one()
        h.head_name = "Đổi tên"
    answer = apply(client, preview.text)
    assert answer.status_code == 409 and "Sổ hộ đã thay đổi" in answer.text
    assert imported_events() == []


def test_unknown_villages_are_named_and_the_villages_page_is_pointed_to(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    answer = upload(client, csv_bytes(whole_village(a) + [["Thôn Mới", "M-1", "A", "", "", "", ""]]))
    assert answer.status_code == 422
    assert "Các thôn này chưa có trong xã: Thôn Mới" in answer.text and "/admin/villages" in answer.text
    assert imported_events() == []


def test_files_that_are_not_registers_are_refused_clearly(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    text = "Thôn/Tổ dân phố,Mã hộ,Họ tên chủ hộ\nHưng Đạo,A-1,Nguyễn Văn A\n"
    answer = upload(client, cp1258(text))
    assert answer.status_code == 422 and "CSV UTF-8" in answer.text
    answer = upload(client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "anh.png")
    assert answer.status_code == 422 and "không phải bảng tính" in answer.text
    answer = client.post(f"{PAGE}/preview", data={"csrf_token": csrf_token(client, PAGE)})
    assert answer.status_code == 422 and "Vui lòng chọn tệp sổ hộ" in answer.text
    assert imported_events() == [] and len(register_of(a)) == 10


def test_a_60_mb_file_is_refused_by_the_size_limit_with_a_clear_message(client):
    _commune, _a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    big = csv_bytes([]) + b"x" * (60 * 1024 * 1024)
    answer = upload(client, big)
    assert answer.status_code == 413
    assert "tệp sổ hộ tối đa 20 MB" in answer.text


def test_a_form_without_the_csrf_token_is_refused(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    data = csv_bytes(whole_village(a))
    answer = client.post(f"{PAGE}/preview", files={"file": ("a.csv", data, "text/csv")})
    assert answer.status_code == 403


def test_the_template_and_the_export_have_the_vietnamese_headers_and_import_back_unchanged(client):
    _commune, a, b, _cat, users = setup_world()
    login(client, users["admin"])
    template = client.get(f"{PAGE}/template.xlsx")
    assert template.status_code == 200 and "attachment" in template.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(template.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == HEADERS_VI
    csv_template = client.get(f"{PAGE}/template.csv")
    assert csv_template.content.decode("utf-8-sig").splitlines() == [",".join(HEADERS_VI)]
    for ext in ("xlsx", "csv"):
        exported = client.get(f"{PAGE}/export.{ext}")
        assert exported.status_code == 200 and exported.headers["cache-control"] == "no-store"
        preview = upload(client, exported.content, f"so-ho.{ext}")
        assert preview.status_code == 200
        assert 'name="token"' not in preview.text  # nothing to add, change or end
        assert re.search(r'<span class="num">20</span>(không đổi|unchanged)', preview.text)


def test_a_village_head_works_only_on_their_own_village(client):
    _commune, a, b, _cat, users = setup_world()
    login(client, users["village_head"])  # head of village a
    assert client.get(PAGE).status_code == 200
    exported = client.get(f"{PAGE}/export.csv").content.decode("utf-8-sig")
    assert a.name in exported and b.name not in exported
    answer = upload(client, csv_bytes(whole_village(a) + [[b.name, "X-1", "A", "", "", "", ""]]))
    assert answer.status_code == 422 and f"không thuộc quyền của bạn: {b.name}" in answer.text
    preview = upload(client, csv_bytes(whole_village(a, H0003=None)))
    assert apply(client, preview.text).status_code == 303
    assert register_of(a)["H0003"].active_to is not None
    assert json.loads(imported_events()[0].payload)["villages"] == {str(a.id): {"added": 0, "changed": 9,
                                                                                "left": 1}}


def test_residents_and_supervisors_may_not_and_visitors_are_sent_to_log_in(client):
    _commune, _a, _b, _cat, users = setup_world()
    assert client.get(PAGE, follow_redirects=False).status_code in (302, 303)
    for role in ("resident", "supervisor"):
        login(client, users[role])
        for path in (PAGE, f"{PAGE}/export.csv", f"{PAGE}/template.xlsx"):
            assert client.get(path).status_code == 403, (role, path)


def test_a_large_preview_stays_a_small_page(client):
    _commune, a, b, _cat, users = setup_world()
    login(client, users["admin"])
    rows = [[b.name, f"N-{n:04d}", f"Nguyễn Văn Hưng {n}", "", "", "", ""] for n in range(500)]
    preview = upload(client, csv_bytes(rows))
    assert preview.status_code == 200
    assert "N-0049" in preview.text and "N-0050" not in preview.text and "500" in preview.text
    assert len(preview.content) < 30_000


def test_nothing_typed_into_the_apply_form_or_the_upload_answers_500(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    preview = upload(client, csv_bytes(whole_village(a, H0000=None)))
    for value in ("", "\x00", "¹" * 64, "9" * 5000, "../../etc/passwd", "x" * 100_000, "Ω" * 32):
        for name in ("token", "sha256", "digest"):
            answer = apply(client, preview.text, **{name: value})
            assert answer.status_code in (409, 413, 422), (name, value[:10], answer.status_code)
    token = csrf_token(client, PAGE)
    for data in (b"", b"\x00" * 10, "Thôn,Mã hộ,Họ tên chủ hộ\n\x00,\x00,\x00\n".encode(),
                 b"a,b\n" + b'"' * 200_000, b"PK\x03\x04" + b"\xff" * 100,
                 csv_bytes([["Hưng Đạo", "X" * 5000, "Y" * 5000, "Z" * 5000, "9" * 5000, "9" * 5000, "-1"]])):
        answer = client.post(f"{PAGE}/preview", data={"csrf_token": token},
                             files={"file": ("f.csv", data, "text/csv")})
        assert answer.status_code in (200, 413, 422), (data[:20], answer.status_code)
    assert imported_events() == [] and register_of(a)["H0000"].active_to is None


def test_every_problem_of_a_file_can_be_downloaded_when_the_page_shows_only_the_first(client):
    _commune, a, _b, _cat, users = setup_world()
    login(client, users["admin"])
    rows = whole_village(a) + [[a.name, f"B-{n:03d}", f"Hộ {n}", "", "", "99/99/2020", ""]
                               for n in range(150)]
    preview = upload(client, csv_bytes(rows))
    assert preview.status_code == 422
    assert preview.text.count("Đây không phải ngày") == 100 and 'name="token"' not in preview.text
    link = re.search(r'href="(/admin/register/problems\.csv\?[^"]+)"', preview.text)
    assert link
    answer = client.get(link.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    lines = answer.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Dòng,Cột,Lỗi" and len(lines) == 151
    assert lines[1].startswith('12,Ngày vào sổ,"Đây không phải ngày')
    # another user, or a made-up token, gets nothing
    made_up = f"/admin/register/problems.csv?token={'x' * 32}&sha256={'a' * 64}"
    assert client.get(made_up).status_code == 404
    login(client, users["village_head"])
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 404
