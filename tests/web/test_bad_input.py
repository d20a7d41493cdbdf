"""Nothing a user can type yields a 500: garbage in every field, odd URLs, odd bodies. Bad input changes
nothing."""

from __future__ import annotations

import logging
import re
import uuid

import pytest

from civic.accounts.models import User
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import count, csrf_token, login, setup_item, setup_world, snapshot, submit_form

GARBAGE = [
    "",
    " ",
    "\x00",
    "a\x00b\x00c\x00d\x00e\x00f",
    "x" * 100_000,
    "Đường " * 3000,
    "<script>alert(1)</script>",
    "'; DROP TABLE item; --",
    "%s %(x)s {0} {{ 7*7 }}",
    "\u202etxt.exe",
    "😀" * 50,
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "99999999999999999999999999",
    "\ufeff\u200b",
    "\r\n\r\n",
    "../../../etc/passwd",
]
SUBMIT_FIELDS = ["kind", "village_id", "category_id", "title", "description", "address", "lat", "lng",
                 "contact_name", "contact_phone", "show_name", "client_token"]
ASK_FIELDS = ["land_area", "money_amount", "labour_quantity", "ask_materials"]  # a proposal's asks


def items_count() -> int:
    with unit_of_work() as db:
        return count(db, Item)


@pytest.fixture
def place(client):
    commune, a, b, cat, users = setup_world()
    return commune, a, b, cat, users


@pytest.mark.parametrize("field", SUBMIT_FIELDS + ASK_FIELDS)
def test_garbage_in_any_submission_field(client, place, field):
    _c, a, _b, cat, _users = place
    form = submit_form(client, a, cat)
    for n, value in enumerate(GARBAGE):
        # A fresh form each time, with its own text: the same text again within minutes is the same item.
        data = dict(form, client_token=uuid.uuid4().hex, description=f"{form['description']} ({n})")
        data[field] = value
        before = items_count()
        answer = client.post("/submit", data=data, follow_redirects=False)
        assert answer.status_code in (303, 422), (field, value[:40], answer.status_code)
        if answer.status_code == 422:
            assert items_count() == before, (field, value[:40])
            assert "<script>alert(1)</script>" not in answer.text
        else:
            assert items_count() == before + 1


def test_text_with_nul_bytes_is_stored_without_them(client, place):
    _c, a, _b, cat, _users = place
    data = submit_form(client, a, cat, title="Cống\x00 bị tắc", description="Nước\x00 tràn lên đường.",
                       contact_name="Bà\x00 Tư")
    assert client.post("/submit", data=data, follow_redirects=False).status_code == 303
    with unit_of_work() as db:
        item = db.query(Item).one()
        assert (item.title, item.description, item.contact_name) == ("Cống bị tắc", "Nước tràn lên đường.",
                                                                     "Bà Tư")


def test_every_field_garbage_at_once(client, place):
    _c, a, _b, cat, _users = place
    data = submit_form(client, a, cat)
    for value in GARBAGE:
        garbage = {k: value for k in SUBMIT_FIELDS}
        garbage["csrf_token"] = data["csrf_token"]
        answer = client.post("/submit", data=garbage)
        too_big = len(value.encode()) * len(SUBMIT_FIELDS) > 1_000_000
        assert answer.status_code == (413 if too_big else 422), value[:40]
    assert items_count() == 0


@pytest.mark.parametrize("field", ["display_name", "phone", "password", "password_again", "next"])
def test_garbage_in_the_register_form(client, place, field):
    for value in GARBAGE:
        data = {"csrf_token": csrf_token(client, "/register"), "display_name": "Người Mới",
                "phone": "0977000111", "password": "mat-khau-dai", "password_again": "mat-khau-dai",
                "next": "/"}
        data[field] = value
        if field == "password":
            data["password_again"] = value
        answer = client.post("/register", data=data, follow_redirects=False)
        assert answer.status_code in (303, 422), (field, value[:40], answer.status_code)
        if answer.status_code == 303:
            assert not answer.headers["location"].startswith("//")
            with unit_of_work(write=True) as db:  # start again from no account
                db.query(User).filter(User.phone == "0977000111").delete()
            client.cookies.clear()


@pytest.mark.parametrize("field", ["phone", "password", "next"])
def test_garbage_in_the_login_form(client, place, field):
    _c, _a, _b, _cat, users = place
    for value in GARBAGE:
        data = {"csrf_token": csrf_token(client), "phone": users["resident"].phone,
                "password": "wrong-password"}
        data[field] = value
        answer = client.post("/login", data=data, follow_redirects=False)
        assert answer.status_code in (422, 429), (field, value[:40], answer.status_code)  # 429: throttled


@pytest.mark.parametrize("action", ["accept", "reject", "mark_duplicate", "redirect", "recategorize"])
def test_garbage_in_the_triage_forms(client, place, action):
    commune, a, _b, cat, users = place
    login(client, users["village_head"])
    token = csrf_token(client, "/triage")
    for value in GARBAGE:
        item = setup_item(commune, a, cat)
        form = {"csrf_token": token, "reason": value, "destination": value, "original_code": value,
                "village_id": value, "category_id": value}
        before = snapshot(item.code)
        answer = client.post(f"/triage/{item.code}/{action}", data=form, follow_redirects=False)
        assert answer.status_code in (303, 422), (action, value[:40], answer.status_code)
        if answer.status_code == 422:
            assert snapshot(item.code) == before
        else:
            assert snapshot(item.code)["events"] == before["events"] + 1


def test_garbage_in_the_review_request(client, place):
    commune, a, _b, cat, users = place
    login(client, users["resident"])
    token = csrf_token(client, "/submit")
    for value in GARBAGE:
        item = setup_item(commune, a, cat, stage="rejected", reporter=users["resident"])
        before = snapshot(item.code)
        answer = client.post(f"/items/{item.code}/author/request_review",
                             data={"csrf_token": token, "reason": value, "manage_token": value},
                             follow_redirects=False)
        assert answer.status_code in (303, 422), (value[:40], answer.status_code)
        if answer.status_code == 422:
            assert snapshot(item.code) == before


@pytest.mark.parametrize("path", [
    "/items/123", "/items/%00", "/items/%ff%fe", "/items/" + "a" * 5000, "/items/NS-2026-0001%0A",
    "/items/..%2F..%2Fetc%2Fpasswd", "/submitted/garbage", "/submitted/NS-2026-9999", "/m/%00",
    "/m/" + "z" * 5000,
    "/triage/garbage", "/review/garbage", "/track?code=%00", "/track?code=" + "9" * 5000, "/no/such/page",
    "/static/../civic/config.py", "/static/nothing.css", "/items?page=" + "9" * 400,
    "/submit?kind=%3Cscript%3E&village=abc&category=-1", "/login?next=%00", "/lang/%00",
    "/lang/en?next=%0d%0aX:1",
])
def test_odd_urls_never_fail(client, place, path):
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code < 500, (path, answer.status_code)
    assert answer.status_code in (200, 301, 303, 307, 404, 422), (path, answer.status_code)
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("path", ["/triage/NS-2026-0001/%00", "/triage/NS-2026-0001/" + "x" * 3000,
                                  "/review/NS-2026-0001/delete", "/items/NS-2026-0001/author/accept",
                                  "/items/NS-2026-0001/author/../../triage", "/triage/%00/accept"])
def test_unknown_actions_in_urls_are_not_found(client, place, path):
    commune, a, _b, cat, users = place
    item = setup_item(commune, a, cat)
    login(client, users["village_head"])
    before = snapshot(item.code)
    answer = client.post(path, data={"csrf_token": csrf_token(client, "/triage")}, follow_redirects=False)
    assert answer.status_code in (404, 405), (path, answer.status_code)
    assert snapshot(item.code) == before


@pytest.mark.parametrize(("method", "path"), [("PUT", "/submit"), ("DELETE", "/items/NS-2026-0001"),
                                              ("PATCH", "/triage/NS-2026-0001/accept"), ("GET", "/logout")])
def test_wrong_methods(client, place, method, path):
    assert client.request(method, path).status_code == 405


def test_an_oversized_body_is_refused(client, place):
    _c, a, _b, cat, _users = place
    data = submit_form(client, a, cat, description="D" * 1_100_000)
    answer = client.post("/submit", data=data)
    assert answer.status_code == 413
    assert items_count() == 0


def test_a_file_where_none_is_expected(client, place):
    _c, a, _b, cat, _users = place
    data = submit_form(client, a, cat)
    answer = client.post("/submit", data=data,
                         files={"photo": ("x.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")})
    assert answer.status_code in (400, 403, 422)
    assert items_count() == 0


@pytest.mark.parametrize(("content_type", "body"), [
    ("multipart/form-data; boundary=xyz",
     b"--xyz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nbroken"),
    ("multipart/form-data", b"no boundary at all"),
    ("application/x-www-form-urlencoded", b"title=%ff%fe%fd&kind=%C0%AF&csrf_token=%"),
    ("application/x-www-form-urlencoded", b"\xff\xfe\x00\x01" * 100),
    ("application/json", b'{"title": "json"}'),
    ("text/plain", b"hello"),
])
def test_malformed_bodies(client, place, content_type, body):
    client.get("/submit")
    for path in ("/submit", "/login", "/register", "/logout", "/triage/NS-2026-0001/accept"):
        answer = client.post(path, content=body, headers={"content-type": content_type},
                             follow_redirects=False)
        assert answer.status_code in (303, 403, 422), (path, content_type, answer.status_code)
    assert items_count() == 0


def test_an_unexpected_error_is_a_calm_page_with_a_reference(client, place, monkeypatch, caplog):
    from civic.items import service as items

    def broken(*_args, **_kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(items, "stage_counts", broken)
    with caplog.at_level(logging.ERROR, logger="civic"):
        answer = client.get("/")
    assert answer.status_code == 500
    assert "database exploded" not in answer.text and "Traceback" not in answer.text
    assert re.search(r'<html lang="(vi|en)">', answer.text)
    logged = re.search(r"unexpected error ([0-9a-f]{12}) on GET /", caplog.text)
    assert logged, "the error is logged with a request id"
    assert logged.group(1) in answer.text, "the page shows the same id"


@pytest.mark.parametrize(("name", "value"), [
    ("civic_session", "garbage"),
    ("civic_session", "eyJ1aWQiOiAxfQ==.forged.signature"),
    ("civic_session", "x" * 4000),
    ("lang", "xx"),
    ("lang", "<script>"),
    ("lang", ""),
])
def test_odd_cookies_never_fail(client, place, name, value):
    client.cookies.set(name, value)
    for path in ("/", "/items", "/submit", "/me/items", "/triage"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code in (200, 303), (path, answer.status_code)
    assert '<html lang="vi">' in client.get("/").text
    answer = client.get("/household", follow_redirects=False)
    assert answer.status_code == 303, "a forged session cookie does not log anyone in"
