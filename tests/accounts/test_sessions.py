"""Logins end on the server: logging out, a password change, a new role, the idle timeout, the lifetime."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.config import Settings, get_settings
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import (
    PASSWORD,
    audit_events,
    browser,
    csrf_from,
    csrf_token,
    item_data,
    login,
    setup_world,
)

COOKIE = "civic_session"

LIMITS = ("session_idle_minutes", "session_lifetime_hours", "staff_session_hours")


@pytest.fixture(autouse=True)
def shipped_limits(monkeypatch):
    """The limits a deployment gets by default (the rest of the suite lifts them: tests/conftest.py)."""
    for name in LIMITS:
        monkeypatch.setattr(get_settings(), name, Settings.model_fields[name].default)


def test_the_shipped_limits():
    assert [Settings.model_fields[name].default for name in LIMITS] == [120, 720, 12]

NEW_PASSWORD = "bo-la-chuoi-xanh"


def page(client, path: str = "/household"):
    """A login-only page: 200 when logged in, else 303 to the login page."""
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code in (200, 303), answer.status_code
    return answer


def logged_in(client) -> bool:
    answer = page(client)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/login?next=")
    return answer.status_code == 200


def logout(client) -> None:
    token = csrf_from(client.get("/").text)
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303


def change_password(client, current: str = PASSWORD, new: str = NEW_PASSWORD, again: str | None = None):
    token = csrf_token(client, "/account/password")
    return client.post("/account/password", data={"csrf_token": token, "current_password": current,
                                                  "new_password": new,
                                                  "new_password_again": new if again is None else again},
                       follow_redirects=False)


def test_an_old_cookie_replayed_after_logout_gets_the_login_page(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    stolen = client.cookies[COOKIE]
    logout(client)
    with browser(client.app) as thief:
        thief.cookies.set(COOKIE, stolen)
        answer = thief.get("/household", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/household"
        assert "Đăng xuất" not in thief.get("/items").text  # no "Log out" button: nobody is logged in


def test_logging_in_writes_a_session_row_and_anonymous_pages_write_none(client):
    from civic.accounts.models import UserSession

    _c, _a, _b, _cat, users = setup_world()
    for path in ("/", "/items", "/login", "/register"):
        assert client.get(path).status_code == 200
    with unit_of_work() as db:
        assert db.execute(select(UserSession)).first() is None
    login(client, users["resident"])
    with unit_of_work() as db:
        rows = list(db.execute(select(UserSession)).scalars())
    assert len(rows) == 1 and rows[0].user_id == users["resident"].id and rows[0].ended_at is None
    assert rows[0].key_hash not in client.cookies[COOKIE], "the cookie holds the key, the table its hash"


def test_changing_the_password_logs_out_the_other_sessions_and_not_this_one(client):
    _c, _a, _b, _cat, users = setup_world()
    resident = users["resident"]
    login(client, resident)
    with browser(client.app) as other:
        login(other, resident)
        assert logged_in(other)
        answer = change_password(client)
        assert answer.status_code == 303 and answer.headers["location"] == "/account/password"
        assert "Mật khẩu của bạn đã được đổi" in client.get("/account/password").text
        assert logged_in(client), "the browser that changed it stays logged in"
        assert not logged_in(other), "the other browser is logged out"
    with browser(client.app) as fresh:
        refused = fresh.post("/login", data={"csrf_token": csrf_token(fresh), "phone": resident.phone,
                                             "password": PASSWORD}, follow_redirects=False)
        assert refused.status_code == 422
        login(fresh, resident, NEW_PASSWORD)
    with unit_of_work() as db:
        events = [e for e in audit_events(db) if e.action == "password_changed"]
        assert len(events) == 1
        assert json.loads(events[0].payload) == {"user_id": resident.id}
        assert events[0].actor_id == resident.id
        stored = db.get(User, resident.id).password_hash
    assert NEW_PASSWORD not in stored and PASSWORD not in stored
    assert all(NEW_PASSWORD not in e.payload and stored not in e.payload for e in events)


def test_a_wrong_current_password_changes_nothing(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    client.get("/lang/en")
    with unit_of_work() as db:
        before = db.get(User, users["resident"].id).password_hash
        events = len(audit_events(db))
    answer = change_password(client, current="khong-phai-mat-khau")
    assert answer.status_code == 422
    assert "Your current password is wrong." in answer.text
    assert 'id="f-current_password-error"' in answer.text
    assert "khong-phai-mat-khau" not in answer.text and NEW_PASSWORD not in answer.text
    with unit_of_work() as db:
        assert db.get(User, users["resident"].id).password_hash == before
        assert len(audit_events(db)) == events
    assert logged_in(client)


def test_the_new_password_must_be_typed_twice_the_same_and_not_be_common(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    different = change_password(client, again="bo-la-chuoi-vang")
    assert different.status_code == 422 and 'id="f-new_password_again-error"' in different.text
    common = change_password(client, new="password123")
    assert common.status_code == 422 and 'id="f-new_password-error"' in common.text
    assert "Mật khẩu này quá phổ biến" in common.text
    login(client, users["resident"])  # the old password still works


def test_the_password_page_needs_a_login_and_is_linked_in_the_menu(client):
    _c, _a, _b, _cat, users = setup_world()
    answer = client.get("/account/password", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/account/password"
    assert 'href="/account/password"' not in client.get("/items").text
    login(client, users["resident"])
    assert 'href="/account/password"' in client.get("/items").text
    assert client.get("/account/password").status_code == 200


def test_a_new_role_ends_the_users_sessions(client):
    _c, a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    with browser(client.app) as other:
        login(other, users["village_head"])
        with unit_of_work(write=True) as db:
            accounts.grant(db, db.get(User, users["resident"].id), role="village_head", commune_id=None,
                           village_id=a.id)
        assert not logged_in(client), "the resident must log in again to act as a village_head"
        assert logged_in(other), "other users stay logged in"
    login(client, users["resident"])
    assert client.get("/triage").status_code == 200


def test_the_idle_timeout_ends_a_session_and_activity_keeps_it(client):
    _c, _a, _b, _cat, users = setup_world()
    assert get_settings().session_idle_minutes == 120
    login(client, users["resident"])
    clock.advance(timedelta(minutes=119))
    assert logged_in(client)
    clock.advance(timedelta(minutes=119))  # 238 minutes after logging in, 119 after the last page
    assert logged_in(client)
    clock.advance(timedelta(minutes=121))
    assert not logged_in(client)
    assert not logged_in(client), "once ended, it does not come back"


def test_last_seen_is_written_at_most_once_a_minute(client):
    from civic.accounts.models import UserSession

    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])

    def last_seen():
        with unit_of_work() as db:
            return clock.as_utc(db.execute(select(UserSession.last_seen_at)).scalar_one())

    first = last_seen()
    clock.advance(timedelta(seconds=30))
    assert logged_in(client)
    assert last_seen() == first
    clock.advance(timedelta(seconds=31))
    assert logged_in(client)
    assert last_seen() > first


def test_a_session_ends_at_its_lifetime_however_active(client, monkeypatch):
    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "session_lifetime_hours", 3)
    login(client, users["resident"])
    clock.advance(timedelta(minutes=100))
    assert logged_in(client)
    clock.advance(timedelta(minutes=79))  # 2 h 59 min
    assert logged_in(client)
    clock.advance(timedelta(minutes=2))
    assert not logged_in(client)


def test_staff_sessions_last_twelve_hours(client, monkeypatch):
    _c, _a, _b, _cat, users = setup_world()
    monkeypatch.setattr(get_settings(), "session_idle_minutes", 24 * 60)
    login(client, users["village_head"])
    with browser(client.app) as resident:
        login(resident, users["resident"])
        clock.advance(timedelta(hours=11, minutes=59))
        assert logged_in(client)
        clock.advance(timedelta(minutes=2))
        assert not logged_in(client), "a village head sees residents' contacts: 12 hours at most"
        assert logged_in(resident), "a resident's login lasts longer (CIVIC_SESSION_LIFETIME_HOURS)"


def test_a_session_row_of_a_deactivated_user_is_anonymous(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["supervisor"])
    with unit_of_work(write=True) as db:
        db.get(User, users["supervisor"].id).is_active = False
    assert not logged_in(client)


def test_public_pages_keep_a_session_alive_too(client):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users["resident"])
    for _ in range(3):
        clock.advance(timedelta(minutes=100))
        assert client.get("/items").status_code == 200
        assert client.get("/").status_code == 200
    assert logged_in(client), "300 minutes of reading public pages, never 120 idle"


def test_an_item_form_sent_after_the_login_ended_is_shown_again_not_stored_without_a_contact(client):
    _c, village, _b, category, users = setup_world()
    login(client, users["resident"])
    form_page = client.get("/submit").text
    assert 'name="contact_phone"' not in form_page  # logged in: the account is the contact
    data = item_data(village, category, title="Cống bị tắc trước nhà văn hoá", client_token="ended-login-1")
    del data["contact_phone"]  # the signed-in form has no contact fields
    data["csrf_token"] = csrf_from(form_page)
    clock.advance(timedelta(minutes=121))  # the login ends while the resident types
    answer = client.post("/submit", data=data, follow_redirects=False)
    assert answer.status_code == 422
    assert "Phiên đăng nhập của bạn đã hết" in answer.text
    assert "Cống bị tắc trước nhà văn hoá" in answer.text  # what was typed is kept
    assert 'name="contact_phone"' in answer.text  # and the form now asks how to reach them
    with unit_of_work() as db:
        assert db.execute(select(Item)).first() is None
