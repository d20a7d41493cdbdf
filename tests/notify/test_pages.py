"""Following through HTTP: the status page's button, following with an account, with a phone and a code,
with an e-mail link; stopping; preferences; the admin's view of messages not delivered."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from civic.db import unit_of_work
from civic.notify import service as notify
from civic.notify.models import Follow, NotifyPreference, Outbox
from tests.builders import csrf_token, login, make_item, move, viewer, world


@pytest.fixture
def w(daytime):
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        item = make_item(db, commune, a, cat)
        return {"commune": commune, "a": a, "cat": cat, "users": users, "item": item}


def rows(model, *where):
    with unit_of_work() as db:
        return list(db.execute(select(model).where(*where)).scalars())


def move_item(w, action="accept", user="village_head", inputs=None):
    from civic.accounts.models import User
    from civic.items.models import Item

    with unit_of_work(write=True) as db:
        move(db, db.get(Item, w["item"].id), action, viewer(db, db.get(User, w["users"][user].id)), inputs)


def test_the_status_page_has_a_follow_button_that_works_without_javascript(client, w):
    page = client.get(f"/items/{w['item'].code}")
    assert page.status_code == 200
    assert f'<form method="get" action="/items/{w["item"].code}/follow">' in page.text
    assert "Theo dõi" in page.text
    follow = client.get(f"/items/{w['item'].code}/follow?lang=en")
    assert follow.status_code == 200 and "Follow " + w["item"].code in follow.text
    assert "cannot send SMS or e-mail yet" in follow.text  # no channel configured, not logged in
    assert client.get("/items/NS-2026-9999/follow").status_code == 404


def test_a_resident_follows_with_their_account_and_hears_of_the_next_move(client, w, email_on):
    resident = w["users"]["resident"]
    with unit_of_work(write=True) as db:
        from civic.accounts.models import User

        db.get(User, resident.id).email = "dan.mot@example.vn"
    login(client, resident)
    code = w["item"].code
    token = csrf_token(client, f"/items/{code}/follow")
    answer = client.post(f"/items/{code}/follow/account", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/items/{code}"
    assert "Stop following" in client.get(f"/items/{code}/follow?lang=en").text
    move_item(w)
    [message] = rows(Outbox, Outbox.kind == "stage_changed")
    assert message.address == "dan.mot@example.vn" and code in message.subject
    # and stops
    token = csrf_token(client, f"/items/{code}/follow")
    assert client.post(f"/items/{code}/unfollow", data={"csrf_token": token},
                       follow_redirects=False).status_code == 303
    assert rows(Follow, Follow.user_id == resident.id)[0].stopped_at is not None


def test_anyone_follows_with_a_phone_confirmed_by_a_code(client, w, sms_on):
    code = w["item"].code
    token = csrf_token(client, f"/items/{code}/follow")
    bad = client.post(f"/items/{code}/follow/contact", data={"csrf_token": token, "channel": "sms",
                                                            "phone": "12345"})
    assert bad.status_code == 422 and "10 chữ số" in bad.text
    assert rows(Follow) == []
    answer = client.post(f"/items/{code}/follow/contact",
                         data={"csrf_token": token, "channel": "sms", "phone": "0912 000 111"},
                         follow_redirects=False)
    assert answer.status_code == 303
    code_page = answer.headers["location"]
    [sms] = rows(Outbox, Outbox.kind == "follow_code")
    assert sms.address == "0912000111" and sms.status == "queued"
    secret = re.search(r"\b\d{6}\b", sms.body).group(0)
    token = csrf_token(client, code_page)
    wrong = "000000" if secret != "000000" else "111111"
    refused = client.post(code_page, data={"csrf_token": token, "code": wrong})
    assert refused.status_code == 422
    assert rows(Follow)[0].confirmed_at is None
    ok = client.post(code_page, data={"csrf_token": token, "code": secret}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/items/{code}"
    move_item(w)
    [told] = rows(Outbox, Outbox.kind == "stage_changed")
    assert told.address == "0912000111" and "TU CHOI" in told.body


def test_an_email_follow_is_confirmed_by_a_button_behind_the_link(client, w, email_on):
    code = w["item"].code
    token = csrf_token(client, f"/items/{code}/follow")
    bad = client.post(f"/items/{code}/follow/contact", data={"csrf_token": token, "channel": "email",
                                                            "email": "not-an-address"})
    assert bad.status_code == 422 and rows(Follow) == []
    answer = client.post(f"/items/{code}/follow/contact", data={"csrf_token": token, "channel": "email",
                                                               "email": "Ban.Doc@Example.VN"},
                         follow_redirects=False)
    assert answer.status_code == 303
    [mail] = rows(Outbox, Outbox.kind == "follow_link")
    assert mail.address == "Ban.Doc@example.vn"
    link = re.search(r"https://nhaoson\.example\.vn(/notify/confirm/\S+)", mail.body).group(1)
    page = client.get(link)
    assert page.status_code == 200 and rows(Follow)[0].confirmed_at is None  # opening it changes nothing
    done = client.post(link, data={"csrf_token": csrf_token(client, link)}, follow_redirects=False)
    assert done.status_code == 303 and rows(Follow)[0].confirmed_at is not None
    # a guessed token confirms nothing
    token = csrf_token(client, f"/items/{code}/follow")
    client.post(f"/items/{code}/follow/contact", data={"csrf_token": token, "channel": "email",
                                                      "email": "khac@example.vn"})
    other = [f for f in rows(Follow) if f.address == "khac@example.vn"][0]
    forged = client.post(f"/notify/confirm/{other.id}/guessed", data={"csrf_token": token})
    assert forged.status_code == 422 and rows(Follow, Follow.id == other.id)[0].confirmed_at is None


def test_the_stop_link_stops_and_a_forged_one_is_404(client, w, email_on):
    resident = w["users"]["resident"]
    stop = f"/notify/stop/{notify.stop_token(f'u:{resident.id}', '0912')}"
    assert client.get(stop).status_code == 200
    assert client.post(stop, data={"csrf_token": csrf_token(client, stop)},
                       follow_redirects=False).status_code == 303
    assert rows(NotifyPreference)[0].stopped
    assert client.get("/notify/stop/bogus.token").status_code == 404


def test_preferences_need_a_login_and_refuse_a_bad_hour(client, w):
    assert client.get("/account/notifications", follow_redirects=False).status_code in (302, 303)
    login(client, w["users"]["resident"])
    token = csrf_token(client, "/account/notifications")
    bad = client.post("/account/notifications", data={"csrf_token": token, "sms": "1", "quiet_from": "25",
                                                      "quiet_to": "6", "language": "vi"})
    assert bad.status_code == 422 and rows(NotifyPreference) == []
    ok = client.post("/account/notifications", data={"csrf_token": token, "sms": "1", "quiet_from": "22",
                                                     "quiet_to": "6", "digest": "1", "language": "en"},
                     follow_redirects=False)
    assert ok.status_code == 303
    [p] = rows(NotifyPreference)
    assert (p.channels, p.quiet_from, p.quiet_to, p.digest, p.language) == ("sms", 22, 6, True, "en")
    assert not p.stopped
    page = client.get("/account/notifications?lang=en")
    assert 'name="sms" value="1" checked' in page.text and 'name="email" value="1">' in page.text


def test_the_admin_sees_messages_not_delivered_with_the_reason(client, w):
    from civic.notify import worker

    with unit_of_work(write=True) as db:  # the worker expands the new item's fan-out row
        worker.expand_fanouts(db)
    login(client, w["users"]["resident"])
    assert client.get("/admin/notifications").status_code == 403
    other = client
    other.cookies.clear()
    login(other, w["users"]["admin"])
    page = other.get("/admin/notifications?lang=en")
    assert page.status_code == 200
    assert "not sent: no channel" in page.text  # the village head's new-item message: nothing configured


def test_an_sms_reply_tu_choi_stops_messages_to_that_phone(client, w, sms_on, monkeypatch):
    from civic.config import get_settings

    monkeypatch.setattr(get_settings(), "sms_webhook_secret", "hook-secret")
    code = w["item"].code
    with unit_of_work(write=True) as db:
        from civic.items.models import Item

        row, secret = notify.start_contact_follow(db, db.get(Item, w["item"].id), "sms", "0912000111", "vi")
        notify.confirm_follow(db, row, secret)
    received = {"event": "sms:received", "payload": {"message": "Tu choi", "phoneNumber": "+84912000111"}}
    assert client.post("/notify/sms/received/wrong", json=received).status_code == 404
    assert client.post("/notify/sms/received/hook-secret", content=b"{not json").status_code == 400
    answer = client.post("/notify/sms/received/hook-secret", json=received)
    assert answer.status_code == 204
    assert rows(Follow)[0].stopped_at is not None
    move_item(w)
    assert rows(Outbox, Outbox.kind == "stage_changed") == []
    # following again by the same phone lifts the stop
    token = csrf_token(client, f"/items/{code}/follow")
    assert client.post(f"/items/{code}/follow/contact", data={"csrf_token": token, "channel": "sms",
                                                             "phone": "0912000111"},
                       follow_redirects=False).status_code == 303


def test_an_anonymous_reporter_gets_a_new_manage_link_on_the_phone_they_gave(client, w, sms_on):
    code, old = w["item"].code, w["item"]._manage_token
    assert client.get(f"/m/{old}").status_code == 200
    page = client.get(f"/items/{code}/follow?lang=en")
    assert "Lost the manage link?" in page.text
    token = csrf_token(client, f"/items/{code}/follow")
    other = client.post(f"/items/{code}/manage-link", data={"csrf_token": token, "phone": "0987654321"},
                        follow_redirects=False)
    assert other.status_code == 303 and rows(Outbox, Outbox.kind == "manage_link") == []  # says nothing more
    bad = client.post(f"/items/{code}/manage-link", data={"csrf_token": token, "phone": "12"})
    assert bad.status_code == 422
    right = client.post(f"/items/{code}/manage-link", data={"csrf_token": token, "phone": "0912 345 678"},
                        follow_redirects=False)
    assert right.status_code == 303
    [sms] = rows(Outbox, Outbox.kind == "manage_link")
    assert sms.address == "0912345678" and sms.status == "queued"
    new = re.search(r"/m/(\S+)", sms.body).group(1)
    assert client.get(f"/m/{new}").status_code == 200
    assert client.get(f"/m/{old}").status_code == 404


def test_a_phone_turns_on_web_push_and_hears_there_first(client, w, monkeypatch, tmp_path):
    import json

    from civic.config import get_settings

    monkeypatch.setattr(get_settings(), "vapid_private_key", str(tmp_path / "vapid.pem"))
    monkeypatch.setattr(get_settings(), "vapid_public_key", "BPublicKeyOfTheSite")
    resident = w["users"]["resident"]
    login(client, resident)
    page = client.get("/account/notifications?lang=en")
    assert 'data-key="BPublicKeyOfTheSite"' in page.text and "push.js" in page.text
    token = csrf_token(client, "/account/notifications")
    bad = client.post("/account/notifications/push", data={"csrf_token": token, "subscription": "{not json"})
    assert bad.status_code == 422 and rows(NotifyPreference) == []
    subscription = {"endpoint": "https://push.example.net/send/abc",
                    "keys": {"p256dh": "BKey", "auth": "auth"}}
    ok = client.post("/account/notifications/push", data={"csrf_token": token,
                                                          "subscription": json.dumps(subscription)},
                     follow_redirects=False)
    assert ok.status_code == 303
    with unit_of_work(write=True) as db:
        from civic.items.models import Item

        notify.follow_account(db, db.get(Item, w["item"].id), viewer(db, resident))
    move_item(w)
    [row] = rows(Outbox, Outbox.kind == "stage_changed")
    assert row.channel == "push" and json.loads(row.address) == subscription
