"""Registering a phone number that has an account and one that has none: a visitor cannot tell them
apart (account enumeration). The same status, headers, redirect, page and message; neither is logged in."""

from __future__ import annotations

import re

import pytest

from civic.accounts.models import User
from civic.db import unit_of_work
from tests.builders import PASSWORD, browser, count, csrf_token, setup_world

CSRF = re.compile(r'name="csrf_token" value="[^"]+"')
# Headers that differ between any two answers: a random id, the clock, the signed cookie's bytes.
VARYING = {"x-request-id", "date", "set-cookie", "content-length"}


def _register(client, phone: str, lang: str) -> tuple[int, dict[str, str], bytes, bool]:
    client.get(f"/lang/{lang}")
    token = csrf_token(client, "/register?next=/submit")
    answer = client.post("/register", data={
        "csrf_token": token, "display_name": "Nguyễn Thị Mới", "phone": phone, "password": "mat-khau-dai",
        "password_again": "mat-khau-dai", "next": "/submit"}, follow_redirects=False)
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in VARYING}
    after = client.get(answer.headers["location"])
    page = CSRF.sub('name="csrf_token" value=""', after.text).encode()
    mine = client.get("/household", follow_redirects=False).status_code == 200
    return answer.status_code, headers, answer.content + b"\n" + page, mine


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_taken_phone_and_a_new_phone_get_the_same_answer_byte_for_byte(app, lang):
    _c, _a, _b, _cat, users = setup_world()
    with browser(app) as one, browser(app) as two:
        taken = _register(one, users["resident"].phone, lang)
        fresh = _register(two, "0987654321", lang)
    assert taken[0] == fresh[0] == 303
    assert taken[1] == fresh[1]
    assert taken[1]["location"] == "/login?next=%2Fsubmit"
    assert taken[2] == fresh[2], "the answers and the pages they lead to differ"
    message = ("If this phone number had no account, your account is ready" if lang == "en"
               else "Nếu số điện thoại này chưa có tài khoản")
    assert message in taken[2].decode()
    assert not taken[3] and not fresh[3], "neither answer logs anybody in"
    with unit_of_work() as db:
        assert count(db, User, User.phone == "0987654321") == 1


def test_the_owner_of_a_taken_phone_still_logs_in_with_the_old_password(client):
    _c, _a, _b, _cat, users = setup_world()
    resident = users["resident"]
    token = csrf_token(client, "/register")
    client.post("/register", data={"csrf_token": token, "display_name": "Kẻ Lạ", "phone": resident.phone,
                                   "password": "mat-khau-khac", "password_again": "mat-khau-khac"})
    token = csrf_token(client, "/login")
    wrong = client.post("/login", data={"csrf_token": token, "phone": resident.phone,
                                        "password": "mat-khau-khac"}, follow_redirects=False)
    assert wrong.status_code == 422, "registering again does not change the password"
    token = csrf_token(client, "/login")
    right = client.post("/login", data={"csrf_token": token, "phone": resident.phone, "password": PASSWORD},
                        follow_redirects=False)
    assert right.status_code == 303
    with unit_of_work() as db:
        assert db.get(User, resident.id).display_name == "Dân Một"
