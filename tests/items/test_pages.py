"""A resident submits through the pages: with or without an account, twice, with mistakes."""

from __future__ import annotations

import re

from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import (
    browser,
    count,
    login,
    move,
    setup_world,
    snapshot,
    submit_form,
    viewer,
)

PHONE = "0912345678"


def phone_shapes(phone: str = PHONE) -> list[str]:
    return [phone, phone[1:], f"{phone[:4]} {phone[4:7]} {phone[7:]}", "+84" + phone[1:]]


def only_item():
    with unit_of_work() as db:
        rows = db.query(Item).all()
        assert len(rows) == 1, f"expected one item, found {len(rows)}"
        return rows[0]


def test_the_form_has_a_csrf_token_and_a_client_token(client):
    setup_world()
    page = client.get("/submit")
    assert page.status_code == 200
    assert re.search(r'name="csrf_token" value="[^"]{20,}"', page.text)
    tokens = [client.get("/submit").text for _ in range(2)]
    ct = [re.search(r'name="client_token" value="([^"]+)"', t).group(1) for t in tokens]
    assert ct[0] != ct[1], "each form gets its own client token"


def test_resident_submits_without_an_account(client):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat, title="Cống trước nhà văn hoá bị tắc", contact_phone="0912 345 678",
                       contact_name="Bà Tư Riêng")
    answer = client.post("/submit", data=data, follow_redirects=False)
    assert answer.status_code == 303
    item = only_item()
    assert re.fullmatch(r"NS-\d{4}-0001", item.code)
    assert answer.headers["location"] == f"/submitted/{item.code}"
    assert (item.reporter_id, item.contact_phone, item.channel) == (None, PHONE, "web")

    receipt = client.get(answer.headers["location"])
    assert receipt.status_code == 200
    assert item.code in receipt.text
    assert f'href="/items/{item.code}"' in receipt.text
    manage = re.search(r'href="(http://testserver)?(/m/[A-Za-z0-9_-]{32,})"', receipt.text)
    assert manage, "the answer page shows a private manage link"
    manage_page = client.get(manage.group(2))
    assert manage_page.status_code == 200
    assert item.code in manage_page.text and "Cống trước nhà văn hoá bị tắc" in manage_page.text
    assert manage_page.headers["cache-control"] == "no-store"
    assert manage_page.headers["referrer-policy"] == "no-referrer"
    assert f'action="/items/{item.code}/author/withdraw"' in manage_page.text

    # Anybody else sees the status page, never the phone or the unshown name.
    with browser(client.app) as stranger:
        status = stranger.get(f"/items/{item.code}")
        assert status.status_code == 200
        assert "Cống trước nhà văn hoá bị tắc" in status.text
        for shape in phone_shapes():
            assert shape not in status.text
        assert "Bà Tư Riêng" not in status.text
        assert "/m/" not in status.text
        for page in ("/", "/items", "/audit"):
            text = stranger.get(page).text
            assert PHONE not in text and PHONE[1:] not in text
        # The receipt page belongs to the browser that sent the form.
        other_receipt = stranger.get(f"/submitted/{item.code}", follow_redirects=False)
        assert other_receipt.status_code in (303, 307)
        assert other_receipt.headers["location"].endswith(f"/items/{item.code}")


def test_a_name_is_shown_only_when_the_resident_chose_to(client):
    _commune, a, _b, cat, _users = setup_world()
    client.post("/submit", data=submit_form(client, a, cat, contact_name="Ông Bảy Công Khai", show_name="1"))
    item = only_item()
    assert "Ông Bảy Công Khai" in client.get(f"/items/{item.code}").text


def test_resident_with_an_account_finds_it_in_my_items(client):
    _commune, a, _b, cat, users = setup_world()
    login(client, users["resident"])
    page = client.get("/submit")
    assert 'name="contact_phone"' not in page.text, "no phone is asked of a signed-in resident"
    data = submit_form(client, a, cat, title="Đèn đường ngõ 5 không sáng", contact_phone="")
    answer = client.post("/submit", data=data, follow_redirects=False)
    assert answer.status_code == 303
    item = only_item()
    assert item.reporter_id == users["resident"].id
    receipt = client.get(answer.headers["location"]).text
    assert item.code in receipt and "/m/" not in receipt
    mine = client.get("/me/items")
    assert mine.status_code == 200
    assert item.code in mine.text and "Đèn đường ngõ 5 không sáng" in mine.text
    with browser(client.app) as other:
        login(other, users["village_head"])
        assert item.code not in other.get("/me/items").text


def test_my_items_needs_a_login(client):
    setup_world()
    answer = client.get("/me/items", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_the_same_form_sent_twice_makes_one_item(client):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat)
    first = client.post("/submit", data=data, follow_redirects=False)
    second = client.post("/submit", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    item = only_item()
    with unit_of_work() as db:
        assert count(db, AuditEvent, AuditEvent.action == "submitted") == 1
    # The retry shows the same code and the same manage link.
    receipt = client.get(second.headers["location"]).text
    assert item.code in receipt and "/m/" in receipt


def test_two_forms_make_two_items(client):
    _commune, a, _b, cat, _users = setup_world()
    client.post("/submit", data=submit_form(client, a, cat))
    client.post("/submit", data=submit_form(client, a, cat, description="Đèn đường ở ngõ 3 không sáng."))
    with unit_of_work() as db:
        codes = sorted(i.code for i in db.query(Item).all())
    assert [c[-4:] for c in codes] == ["0001", "0002"]


def test_malformed_phone_is_explained_next_to_the_field_and_the_rest_is_kept(client):
    _commune, a, _b, cat, _users = setup_world()
    client.get("/lang/en")
    data = submit_form(client, a, cat, title="Rác thải đầu ngõ <b>7</b>",
                       description="Đã ba ngày chưa ai thu gom.", address="Ngõ 7, xóm Đông",
                       contact_phone="0241234567", contact_name="Chú Tám")
    answer = client.post("/submit", data=data)
    assert answer.status_code == 422
    html = answer.text
    error = re.search(r'<p class="error" id="f-contact_phone-error">([^<]+)</p>', html)
    assert error and "not a valid Vietnamese mobile number" in error.group(1)
    field = re.search(r'<input id="f-contact_phone"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="f-contact_phone-error' in field
    assert 'value="Rác thải đầu ngõ &lt;b&gt;7&lt;/b&gt;"' in html
    assert ">Đã ba ngày chưa ai thu gom.</textarea>" in html
    assert 'value="Ngõ 7, xóm Đông"' in html
    assert 'value="Chú Tám"' in html
    assert f'<option value="{a.id}" selected>' in html
    assert f'<option value="{cat.id}" selected>' in html
    assert 'value="concern" checked' in html
    assert f'name="client_token" value="{data["client_token"]}"' in html, "the retry keeps its client token"
    assert 'id="f-title-error"' not in html
    with unit_of_work() as db:
        assert count(db, Item) == 0
    # Fixed and sent again from the re-rendered form: one item.
    data["contact_phone"] = "0912345678"
    data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post("/submit", data=data, follow_redirects=False).status_code == 303
    assert only_item().title == "Rác thải đầu ngõ <b>7</b>"


def test_each_empty_required_field_is_marked(client):
    setup_world()
    page = client.get("/submit").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post("/submit", data={"csrf_token": token})
    assert answer.status_code == 422
    for name in ("kind", "village_id", "category_id", "title", "description", "contact_phone"):
        assert f'id="f-{name}-error"' in answer.text, name
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_unknown_village_or_category_is_refused(client):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat, village_id="999999", category_id="888888")
    answer = client.post("/submit", data=data)
    assert answer.status_code == 422
    assert 'id="f-village_id-error"' in answer.text and 'id="f-category_id-error"' in answer.text
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_over_long_title_and_description_are_refused(client):
    _commune, a, _b, cat, _users = setup_world()
    answer = client.post("/submit", data=submit_form(client, a, cat, title="T" * 161, description="D" * 4001))
    assert answer.status_code == 422
    assert 'id="f-title-error"' in answer.text and 'id="f-description-error"' in answer.text
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_html_in_every_text_field_is_shown_as_text(client):
    _commune, a, _b, cat, _users = setup_world()
    script = "<script>alert(1)</script>"
    client.post("/submit", data=submit_form(client, a, cat, title=f"{script} cống tắc",
                                             description=f"Mô tả {script} <img src=x onerror=alert(2)>",
                                             address=f"<a href='//evil'>{script}</a>", contact_name=script,
                                             show_name="1"))
    item = only_item()
    with unit_of_work(write=True) as db:  # accepted, so it is also on the home page
        move(db, db.get(Item, item.id), "accept", viewer(db, _users["village_head"]))
    for path in (f"/items/{item.code}", "/items", "/items?q=alert", "/"):
        html = client.get(path).text
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    status = client.get(f"/items/{item.code}").text
    assert "<img src=x" not in status and "&lt;img src=x onerror=alert(2)&gt;" in status
    assert "<a href='//evil'>" not in status


def test_missing_or_wrong_csrf_is_refused_and_creates_nothing(client):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat)
    missing = {k: v for k, v in data.items() if k != "csrf_token"}
    assert client.post("/submit", data=missing).status_code == 403
    assert client.post("/submit", data=dict(data, csrf_token="forged-token")).status_code == 403
    assert client.post("/submit", data=dict(data, csrf_token="")).status_code == 403
    with browser(client.app) as attacker:  # a token from someone else's session
        assert attacker.post("/submit", data=data).status_code == 403
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_the_manage_link_lets_the_author_withdraw(client):
    _commune, a, _b, cat, _users = setup_world()
    answer = client.post("/submit", data=submit_form(client, a, cat), follow_redirects=True)
    manage = re.search(r'href="(?:http://testserver)?(/m/[A-Za-z0-9_-]+)"', answer.text).group(1)
    page = client.get(manage).text
    item = only_item()
    token = manage.rsplit("/", 1)[1]
    assert f'name="manage_token" value="{token}"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    with browser(client.app) as stranger:  # without the token nobody else can withdraw it
        stranger_csrf = re.search(r'name="csrf_token" value="([^"]+)"', stranger.get("/login").text).group(1)
        refused = stranger.post(f"/items/{item.code}/author/withdraw",
                                data={"csrf_token": stranger_csrf, "manage_token": "x" * 43})
        assert refused.status_code == 403
        assert snapshot(item.code)["stage"] == "submitted"
    done = client.post(f"/items/{item.code}/author/withdraw",
                       data={"csrf_token": csrf, "manage_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == manage
    assert (snapshot(item.code)["stage"], snapshot(item.code)["outcome"]) == ("closed", "withdrawn")
    again = client.post(f"/items/{item.code}/author/withdraw",
                        data={"csrf_token": csrf, "manage_token": token})
    assert again.status_code == 409


def test_an_unknown_manage_link_is_not_found(client):
    setup_world()
    assert client.get("/m/" + "x" * 43).status_code == 404
    assert client.get("/m/short").status_code == 404
