"""Redaction of an item's public text, and items not yet triaged shown by title and village only."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from civic.audit import service as audit
from civic.audit.models import AuditEvent
from civic.config import get_settings
from civic.db import unit_of_work
from civic.errors import Forbidden, Invalid
from civic.items import redaction
from civic.items.models import Item, ItemRedaction
from civic.items.schemas import RedactForm
from civic.main import create_app
from tests.builders import (
    audit_events,
    csrf_token,
    login,
    make_item,
    setup_item,
    setup_world,
    snapshot,
    viewer,
    world,
)

ORIGINAL = "Ông Nguyễn Văn Bảy, số 0912 345 678, lấn đất ngõ 3 nhà bà Tư."
REDACTED = "Một hộ [đã che] lấn đất ngõ 3."


def _form(**over) -> RedactForm:
    values = {"title": "Tranh chấp đất ngõ 3", "description": REDACTED,
              "reason": "Bỏ tên và số điện thoại của người dân."}
    values.update(over)
    return RedactForm.parse(values)


def test_the_village_head_redacts_and_the_original_is_kept_for_staff(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage="know", title="Ông Bảy lấn đất ngõ 3", description=ORIGINAL)
    redaction.redact(db, item, viewer(db, users["village_head"]), _form())
    assert item.title == "Tranh chấp đất ngõ 3" and item.description == REDACTED
    assert "bay" not in item.search_text and "0912" not in item.search_text
    row = db.get(ItemRedaction, item.id)
    assert row.original_title == "Ông Bảy lấn đất ngõ 3" and row.original_description == ORIGINAL
    event = audit_events(db, commune.id)[-1]
    assert event.action == "redacted" and event.actor_role == "village_head"
    payload = json.loads(event.payload)
    assert payload["reason"] == "Bỏ tên và số điện thoại của người dân."
    assert "Bảy" not in event.payload and "0912" not in event.payload  # the words taken out are not public
    # A second redaction keeps the text as the resident first sent it.
    redaction.redact(db, item, viewer(db, users["admin"]), _form(description="Một hộ [đã che] lấn đất."))
    assert db.get(ItemRedaction, item.id).original_description == ORIGINAL
    assert audit_events(db, commune.id)[-1].actor_role == "admin"
    # `civic audit verify` folds the redaction: the table's title agrees with the chain.
    assert audit.reconcile(db, commune.id) == []
    item.title = "Ông Bảy lấn đất ngõ 3"  # written behind the chain's back
    db.flush()
    assert [d.field for d in audit.reconcile(db, commune.id)] == ["title"]


@pytest.mark.parametrize("who", ["resident", "other_head", "supervisor"])
def test_nobody_else_may_redact(db, who):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, description=ORIGINAL)
    with pytest.raises(Forbidden):
        redaction.redact(db, item, viewer(db, users[who]), _form())
    assert item.description == ORIGINAL


def test_an_unchanged_text_is_refused(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, title="Cống tắc ngõ 3", description=ORIGINAL)
    with pytest.raises(Invalid):
        redaction.redact(db, item, viewer(db, users["village_head"]),
                         _form(title="Cống tắc ngõ 3", description=ORIGINAL))


def _redact_over_http(client, users, code: str, **over) -> object:
    login(client, users["village_head"])
    data = {"csrf_token": csrf_token(client, f"/redact/{code}"), "title": "Tranh chấp đất ngõ 3",
            "description": REDACTED, "reason": "Bỏ tên và số điện thoại của người dân."}
    data.update(over)
    return client.post(f"/redact/{code}", data=data, follow_redirects=False)


def test_public_readers_show_only_the_redacted_text(client, app):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know", title="Ông Bảy lấn đất ngõ 3", description=ORIGINAL)
    public = TestClient(app)
    assert "Nguyễn Văn Bảy" in public.get(f"/items/{item.code}").text  # cached before the redaction
    answer = _redact_over_http(client, users, item.code)
    assert answer.status_code == 303 and answer.headers["location"] == f"/items/{item.code}"
    page = public.get(f"/items/{item.code}").text
    assert "Nguyễn Văn Bảy" not in page and "0912 345 678" not in page and "Ông Bảy" not in page
    assert "[đã che]" in page and "Bỏ tên và số điện thoại của người dân." in page
    api = public.get(f"/open311/v2/requests/{item.code}.json?extensions=true").json()[0]
    assert api["description"] == REDACTED and api["extended_attributes"]["title"] == "Tranh chấp đất ngõ 3"
    for path in (f"/items/{item.code}/feed.atom", "/exports/file?dataset=items&format=csv", "/items"):
        body = public.get(path).content.decode("utf-8-sig")
        assert "Bảy" not in body, path
    assert item.code not in public.get("/items?q=nguyen van bay").text
    assert item.code in public.get("/items?q=tranh chap dat").text
    # Staff still read the original, on the item page.
    staff_page = client.get(f"/items/{item.code}").text
    assert "Text as sent" in staff_page or "Nội dung gốc" in staff_page
    assert "Nguyễn Văn Bảy" in staff_page


def test_a_resident_cannot_open_or_post_the_redaction_page(client):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, description=ORIGINAL)
    login(client, users["resident"])
    assert client.get(f"/redact/{item.code}").status_code == 403
    before = snapshot(item.code)
    token = csrf_token(client, "/submit")
    answer = client.post(f"/redact/{item.code}", data={"csrf_token": token, "title": "Tranh chấp",
                                                      "description": REDACTED, "reason": "Bỏ tên."})
    assert answer.status_code == 403
    assert snapshot(item.code) == before


def test_a_redaction_without_reason_comes_back_with_the_message_and_changes_nothing(client):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, description=ORIGINAL)
    before = snapshot(item.code)
    answer = _redact_over_http(client, users, item.code, reason="")
    assert answer.status_code == 422
    assert 'id="f-reason-error"' in answer.text
    assert snapshot(item.code) == before
    with unit_of_work() as db:
        assert db.get(Item, item.id).description == ORIGINAL
        assert db.query(AuditEvent).filter(AuditEvent.action == "redacted").count() == 0


def test_an_untriaged_item_shows_title_and_village_only_to_the_public(client, app):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, title="Cống tắc ngõ 3", description=ORIGINAL, address="Số 12 ngõ 3")
    public = TestClient(app)
    page = public.get(f"/items/{item.code}").text
    assert "Cống tắc ngõ 3" in page and "Hưng Đạo" in page
    assert "Nguyễn Văn Bảy" not in page and "Số 12 ngõ 3" not in page
    api = public.get(f"/open311/v2/requests/{item.code}.json").json()[0]
    assert api["description"] == "" and api["address"] == ""
    author = public.get(f"/m/{item._manage_token}").text  # the reporter still sees their text
    assert "Nguyễn Văn Bảy" in author
    login(client, users["village_head"])
    assert "Nguyễn Văn Bảy" in client.get(f"/items/{item.code}").text


def test_the_setting_full_shows_untriaged_items_in_full(monkeypatch):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, description=ORIGINAL)
    monkeypatch.setenv("CIVIC_UNTRIAGED_PUBLIC_DETAIL", "full")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as public:
            assert "Nguyễn Văn Bảy" in public.get(f"/items/{item.code}").text
    finally:
        monkeypatch.delenv("CIVIC_UNTRIAGED_PUBLIC_DETAIL")
        get_settings.cache_clear()


def test_the_redaction_pages_stay_under_the_page_budget(client):
    from tests.web.test_page_weight import BUDGET, weigh

    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know", title="Ông Bảy lấn đất ngõ 3", description=ORIGINAL * 20)
    untriaged = setup_item(commune, a, cat, description=ORIGINAL)
    assert _redact_over_http(client, users, item.code).status_code == 303
    sizes = {"form": weigh(client, f"/redact/{item.code}")[0],
             "staff status": weigh(client, f"/items/{item.code}")[0]}
    public = TestClient(client.app)
    sizes["public status"] = weigh(public, f"/items/{item.code}")[0]
    sizes["untriaged"] = weigh(public, f"/items/{untriaged.code}")[0]
    print({name: s["total"] for name, s in sizes.items()})  # the report's figures (pytest -s)
    for name, s in sizes.items():
        assert s["total"] < BUDGET, (name, s)


def test_a_signed_in_reporter_sees_their_untriaged_item_in_full(client, app):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, description=ORIGINAL, reporter=users["resident"])
    login(client, users["resident"])
    assert "Nguyễn Văn Bảy" in client.get(f"/items/{item.code}").text
    assert "Nguyễn Văn Bảy" not in TestClient(app).get(f"/items/{item.code}").text
