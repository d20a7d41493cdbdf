"""Register, log in, log out with a phone number and a password."""

from __future__ import annotations

import re

import pytest

from civic.accounts.models import User
from civic.db import unit_of_work
from tests.builders import PASSWORD, browser, count, csrf_token, login, setup_world


def logged_in(client) -> bool:
    answer = client.get("/household", follow_redirects=False)
    assert answer.status_code in (200, 303)
    return answer.status_code == 200


def register(client, **over):
    data = {"csrf_token": csrf_token(client, "/register"), "display_name": "Nguyễn Thị Mới",
            "phone": "0987 654 321", "password": "mat-khau-dai", "password_again": "mat-khau-dai",
            "next": "/"}
    data.update(over)
    return client.post("/register", data=data, follow_redirects=False)


def test_register_creates_an_account_that_then_logs_in(client):
    setup_world()
    answer = register(client, next="/submit")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Fsubmit"
    assert not logged_in(client), "not logged in: the answer must not differ from a taken phone number's"
    with unit_of_work() as db:
        user = db.query(User).filter(User.phone == "0987654321").one()
        assert user.display_name == "Nguyễn Thị Mới"
        assert user.password_hash.startswith("$argon2id$")
        assert "mat-khau-dai" not in user.password_hash
    token = csrf_token(client, "/login?next=/submit")
    data = {"csrf_token": token, "phone": "0987654321", "password": "mat-khau-dai", "next": "/submit"}
    answer = client.post("/login", data=data, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/submit"
    assert logged_in(client)


@pytest.mark.parametrize(("over", "field"), [
    ({"phone": "12345"}, "phone"),
    ({"phone": "0241234567"}, "phone"),
    ({"phone": ""}, "phone"),
    ({"display_name": "   "}, "display_name"),
    ({"display_name": "N" * 81}, "display_name"),
    ({"password": "short", "password_again": "short"}, "password"),
    ({"password_again": "khac-hoan-toan"}, "password_again"),
])
def test_register_refuses_bad_input_and_creates_nothing(client, over, field):
    setup_world()
    with unit_of_work() as db:
        before = count(db, User)
    answer = register(client, **over)
    assert answer.status_code == 422
    assert f'id="f-{field}-error"' in answer.text
    assert not logged_in(client)
    with unit_of_work() as db:
        assert count(db, User) == before
    if field != "display_name":
        assert 'value="Nguyễn Thị Mới"' in answer.text, "the typed name is kept"
    assert "mat-khau-dai" not in answer.text, "passwords are never sent back"


def test_registering_a_phone_that_already_has_an_account_does_not_log_in(client):
    _c, _a, _b, _cat, users = setup_world()
    answer = register(client, phone=users["resident"].phone)
    assert answer.status_code == 303, "the same answer as for a new phone (tests/accounts/test_throttle.py)"
    assert not logged_in(client)


def test_login_and_logout(client):
    _c, _a, _b, _cat, users = setup_world()
    assert not logged_in(client)
    token = csrf_token(client, "/login?next=/me/items")
    answer = client.post("/login", data={"csrf_token": token, "phone": users["resident"].phone,
                                         "password": PASSWORD, "next": "/me/items"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/me/items"
    assert logged_in(client)
    home = client.get("/").text
    assert 'action="/logout"' in home
    logout_token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    out = client.post("/logout", data={"csrf_token": logout_token}, follow_redirects=False)
    assert out.status_code == 303
    assert not logged_in(client)


def test_login_accepts_the_phone_as_people_write_it(client):
    _c, _a, _b, _cat, users = setup_world()
    phone = users["resident"].phone
    typed = "+84 " + phone[1:4] + " " + phone[4:7] + " " + phone[7:]
    token = csrf_token(client)
    answer = client.post("/login", data={"csrf_token": token, "phone": typed, "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert logged_in(client)


@pytest.mark.parametrize("case", ["wrong password", "unknown phone", "not a phone", "empty"])
def test_wrong_login_is_refused_with_one_message_and_no_session(client, case):
    _c, _a, _b, _cat, users = setup_world()
    client.get("/lang/en")
    phone, password = {"wrong password": (users["resident"].phone, "wrong-password"),
                       "unknown phone": ("0999999999", PASSWORD),
                       "not a phone": ("abc", PASSWORD),
                       "empty": ("", "")}[case]
    answer = client.post("/login",
                         data={"csrf_token": csrf_token(client), "phone": phone, "password": password},
                         follow_redirects=False)
    assert answer.status_code == 422
    assert "The phone number or the password is wrong." in answer.text
    assert password not in answer.text or not password
    assert not logged_in(client)


def test_login_needs_the_csrf_token(client):
    _c, _a, _b, _cat, users = setup_world()
    client.get("/login")
    answer = client.post("/login", data={"phone": users["resident"].phone, "password": PASSWORD})
    assert answer.status_code == 403
    assert not logged_in(client)


def test_logout_needs_the_csrf_token(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert logged_in(client)


def test_login_starts_a_new_session(client):
    """Session fixation: the CSRF token of the anonymous session no longer works after logging in."""
    _c, _a, _b, _cat, users = setup_world()
    before = csrf_token(client, "/login")
    client.post("/login", data={"csrf_token": before, "phone": users["resident"].phone, "password": PASSWORD})
    after = csrf_token(client, "/submit")
    assert after != before
    assert client.post("/logout", data={"csrf_token": before}).status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "evil"])
def test_login_never_sends_the_user_to_another_site(client, target):
    _c, _a, _b, _cat, users = setup_world()
    answer = client.post("/login", data={"csrf_token": csrf_token(client), "phone": users["resident"].phone,
                                         "password": PASSWORD, "next": target}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_sessions_are_per_browser(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    with browser(client.app) as other:
        assert not logged_in(other)
    assert logged_in(client)


def test_a_deactivated_user_is_logged_out(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    with unit_of_work(write=True) as db:
        db.get(User, users["resident"].id).is_active = False
    assert not logged_in(client)
    answer = client.post("/login", data={"csrf_token": csrf_token(client), "phone": users["resident"].phone,
                                         "password": PASSWORD})
    assert answer.status_code == 422
