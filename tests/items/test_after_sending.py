"""After sending: a proposal's asks on its page and in its legal matter, the same text sent again, and the
reporter adding information and photos and correcting the text before triage (by account or manage link)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from civic import clock
from civic.accounts.service import Viewer
from civic.db import unit_of_work
from civic.deliberation.models import Discussion
from civic.errors import Conflict, Forbidden, Invalid
from civic.items import service as items
from civic.items.models import Item, ItemAddition, ItemEdit
from civic.items.schemas import AdditionForm, EditForm, SubmitForm
from civic.media.models import Attachment
from tests.builders import (
    audit_events,
    count,
    csrf_token,
    disclose,
    item_data,
    login,
    make_item,
    make_user,
    move,
    photo_bytes,
    setup_world,
    snapshot,
    submit_form,
    viewer,
    world,
)

MANAGE_RE = re.compile(r'(?:http://testserver)?(/m/[A-Za-z0-9_-]{16,})')
CIVIC = str(Path(sys.executable).with_name("civic"))
PROPOSAL = {"kind": "proposal", "title": "Bê tông hoá ngõ 5", "description": "Làm đường bê tông dài 120 m.",
            "land_area": "12,5", "money_amount": "1.500.000", "labour_quantity": "3",
            "ask_materials": "2 bao xi măng"}


def jpeg(name="IMG_0001.jpg"):
    return ("photos", (name, photo_bytes((800, 600)), "image/jpeg"))


# --- a proposal's asks -------------------------------------------------------------------------------

def test_a_proposal_sent_with_its_asks_shows_them_on_its_status_page(client):
    _commune, a, _b, cat, _users = setup_world()
    answer = client.post("/submit", data=submit_form(client, a, cat, **PROPOSAL), follow_redirects=False)
    assert answer.status_code == 303
    with unit_of_work() as db:
        item = db.query(Item).one()
        assert (str(item.ask_land_m2), item.ask_money, str(item.ask_labour_days), item.ask_materials) == \
            ("12.50", 1_500_000, "3.00", "2 bao xi măng")
        submitted = [e for e in audit_events(db) if e.action == "submitted"][0]
        assert json.loads(submitted.payload)["asks"] == ["land", "money", "labour", "materials"]
    page = client.get(f"/items/{item.code}").text
    assert "Đề xuất đề nghị mỗi hộ đóng góp" in page
    for shown in ("12,5 m² đất", "1.500.000 đồng", "3 ngày công lao động", "2 bao xi măng"):
        assert shown in page
    english = client.get(f"/items/{item.code}", params={"lang": "en"}).text
    assert "What the proposal asks of each household" in english and "1,500,000 đồng" in english


def test_asks_sent_with_a_concern_are_kept_and_shown(client):
    _commune, a, _b, cat, _users = setup_world()
    client.post("/submit", data=submit_form(client, a, cat, kind="concern", money_amount="500.000"))
    with unit_of_work() as db:
        item = db.query(Item).one()
        assert item.ask_money == 500_000
    assert "500,000 đồng" in client.get(f"/items/{item.code}", params={"lang": "en"}).text


def test_a_wrong_ask_is_explained_next_to_its_field_and_nothing_is_made(client):
    _commune, a, _b, cat, _users = setup_world()
    answer = client.post("/submit", data=submit_form(client, a, cat, **dict(PROPOSAL, money_amount="-3")),
                         params={"lang": "en"})
    assert answer.status_code == 422
    assert 'id="f-money_amount-error"' in answer.text and "The amount must be more than zero." in answer.text
    assert 'value="12,5"' in answer.text  # the rest is kept
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_the_items_asks_set_its_matter_and_lowering_it_takes_the_public_reason(db):
    commune, a, _b, cat, users = world(db)
    sec = viewer(db, users["village_head"])
    item = make_item(db, commune, a, cat, stage="know", **PROPOSAL)
    disclose(db, item, users["village_head"], days_ago=3)
    with pytest.raises(Invalid) as refused:  # another matter, no reason: the asks forbid it
        move(db, item, "open_discussion", sec, {"question": "Có đồng ý làm đường?", "matter": "6"})
    assert refused.value.errors.keys() == {"matter_reason"}
    assert item.stage == "know"
    move(db, item, "open_discussion", sec, {"question": "Có đồng ý làm đường?", "matter": "1"})
    discussion = db.query(Discussion).filter(Discussion.item_id == item.id).one()
    assert (discussion.ask_money, str(discussion.ask_land_m2), discussion.asks_contribution) == \
        (1_500_000, "12.50", True)
    opened = [e for e in audit_events(db) if e.action == "open_discussion"][0]
    assert json.loads(opened.payload)["asks"] == ["land", "money", "labour", "materials"]


def test_a_matter_lowered_with_a_reason_is_recorded_with_it(db):
    commune, a, _b, cat, users = world(db)
    sec = viewer(db, users["village_head"])
    item = make_item(db, commune, a, cat, stage="know", **PROPOSAL)
    disclose(db, item, users["village_head"], days_ago=3)
    move(db, item, "open_discussion", sec, {"question": "Có đồng ý làm đường?", "matter": "6",
                                             "matter_reason": "Doanh nghiệp tài trợ toàn bộ, hộ không đóng."})
    discussion = db.query(Discussion).filter(Discussion.item_id == item.id).one()
    assert discussion.matter == 6
    assert discussion.matter_reason == "Doanh nghiệp tài trợ toàn bộ, hộ không đóng."


# --- the same text again ------------------------------------------------------------------------------

def test_the_same_text_from_the_same_account_within_ten_minutes_is_the_same_item(db):
    commune, a, _b, cat, users = world(db)
    resident = viewer(db, users["resident"])
    first = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, client_token="tok-a")), resident)
    events = len(audit_events(db))
    clock.advance(timedelta(minutes=9))
    again = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, client_token="tok-b")), resident)
    assert (again.item.id, again.created, again.repeat, again.own) == (first.item.id, False, True, True)
    assert count(db, Item) == 1 and len(audit_events(db)) == events
    clock.advance(timedelta(minutes=1))  # 10 minutes after the first: a new item
    later = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, client_token="tok-c")), resident)
    assert later.created and count(db, Item) == 2


def test_the_same_phone_gets_the_public_code_only_and_another_phone_makes_an_item(db):
    commune, a, _b, cat, _users = world(db)
    first = items.submit(db, commune, SubmitForm.parse(item_data(a, cat)), Viewer(), submitter="s-1")
    same_phone = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, contact_phone="0912 345 678")),
                              Viewer(), submitter="s-2")
    assert (same_phone.item.id, same_phone.repeat, same_phone.own, same_phone.manage_token) == \
        (first.item.id, True, False, None)
    other = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, contact_phone="0987654321")),
                         Viewer())
    assert other.created and count(db, Item) == 2


def test_the_same_session_is_recognised_by_the_items_it_sent(db):
    commune, a, _b, cat, _users = world(db)
    first = items.submit(db, commune, SubmitForm.parse(item_data(a, cat)), Viewer())
    again = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, contact_phone="0987654321")),
                         Viewer(), recent_codes=[first.item.code])
    assert (again.item.id, again.repeat, again.own) == (first.item.id, True, True)


def test_sending_the_same_form_again_shows_the_item_and_says_so(client):
    _commune, a, _b, cat, _users = setup_world()
    first = client.post("/submit", data=submit_form(client, a, cat), follow_redirects=False)
    # Back, and the browser drew the form again with a new token: the same text is still the same item.
    again = client.post("/submit", data=submit_form(client, a, cat), follow_redirects=False,
                        params={"lang": "en"})
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    page = client.get(again.headers["location"], params={"lang": "en"}).text
    assert "You sent this same text a few minutes ago: it is item NS-" in page
    assert "No second item was made." in page and MANAGE_RE.search(page), "its own receipt, manage link kept"
    with unit_of_work() as db:
        assert count(db, Item) == 1


# --- editing before triage ----------------------------------------------------------------------------

EDIT = {"title": "Cống bị tắc trước nhà văn hoá thôn",
        "description": "Nước tràn lên đường sau mưa lớn, ba ngày."}


def test_the_author_corrects_the_text_before_triage_and_the_old_one_is_kept_for_staff(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, reporter=users["resident"])
    author = viewer(db, users["resident"])
    before = len(audit_events(db))
    items.edit(db, item, author, EditForm.parse(EDIT), is_author=True)
    assert (item.title, item.description) == (EDIT["title"], EDIT["description"])
    # The search follows the new words; before triage the public sees (and finds) the title only.
    assert "truoc nha van hoa thon" in item.search_text and "ba ngay" not in item.search_text
    change = db.query(ItemEdit).one()
    assert (change.old_title, change.old_description) == ("Cống bị tắc trước nhà văn hoá",
                                                         "Nước tràn lên đường sau mưa lớn.")
    events = audit_events(db)
    assert len(events) == before + 1 and events[-1].action == "item_edited"
    assert "Nước" not in events[-1].payload and "ba ngày" not in events[-1].payload  # digests, no words


def test_after_triage_the_text_cannot_change_and_the_reason_is_given(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, reporter=users["resident"], stage="know")
    with pytest.raises(Conflict) as refused:
        items.edit(db, item, viewer(db, users["resident"]), EditForm.parse(EDIT), is_author=True)
    assert "already triaged" in refused.value.message
    assert item.title == "Cống bị tắc trước nhà văn hoá" and count(db, ItemEdit) == 0


def test_nobody_else_may_edit_or_add(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, reporter=users["resident"])
    stranger = viewer(db, make_user(db, commune=commune))
    with pytest.raises(Forbidden):
        items.edit(db, item, stranger, EditForm.parse(EDIT), is_author=False)
    with pytest.raises(Forbidden):
        items.add(db, item, stranger, AdditionForm.parse({"body": "Tôi cũng thấy."}), photos=0,
                  photos_before=0, is_author=False)


def _send_anonymously(client, a, cat) -> tuple[str, str]:
    answer = client.post("/submit", data=submit_form(client, a, cat), follow_redirects=True)
    manage = MANAGE_RE.search(answer.text)
    assert manage
    with unit_of_work() as db:
        return db.query(Item).one().code, manage.group(1)


def _form_on(client, path: str) -> dict:
    from tests.builders import csrf_from

    page = client.get(path)
    return {"csrf_token": csrf_from(page.text), "manage_token": path.rsplit("/", 1)[-1]}


def test_through_the_manage_link_the_resident_corrects_the_text_then_staff_see_both(client):
    _commune, a, _b, cat, users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    answer = client.post(f"/items/{code}/amend", data={**_form_on(client, manage), **EDIT},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == manage
    page = client.get(manage, params={"lang": "en"}).text
    assert "Đã lưu nội dung sửa của ý kiến" in page and EDIT["description"] in page
    public = client.get(f"/items/{code}", params={"lang": "en"}).text
    assert "corrected the title or text before triage" in public
    assert "Edit history" not in public and "Nước tràn lên đường sau mưa lớn.</p>" not in public
    login(client, users["village_head"])
    staff = client.get(f"/items/{code}", params={"lang": "en"}).text
    assert "Edit history (only officials see it)" in staff
    assert "Nước tràn lên đường sau mưa lớn." in staff and EDIT["description"] in staff


def test_an_edit_after_triage_is_refused_with_the_reason_and_changes_nothing(client):
    _commune, a, _b, cat, users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    with unit_of_work(write=True) as db:
        move(db, items.get_by_code(db, code), "accept", viewer(db, users["village_head"]))
    before = snapshot(code)
    answer = client.post(f"/items/{code}/amend", data={**_form_on(client, manage), **EDIT},
                         params={"lang": "en"})
    assert answer.status_code == 409
    assert "the village head has already triaged this item" in answer.text
    assert snapshot(code) == before


def test_a_30_kb_text_is_refused_next_to_its_field(client):
    _commune, a, _b, cat, _users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    before = snapshot(code)
    answer = client.post(f"/items/{code}/amend", params={"lang": "en"},
                         data={**_form_on(client, manage), "title": EDIT["title"],
                               "description": "chữ " * 7500})
    assert answer.status_code == 422
    assert "The description must have at most 4,000 characters." in answer.text
    answer = client.post(f"/items/{code}/add", params={"lang": "en"},
                         data={**_form_on(client, manage), "body": "x" * 30_000})
    assert answer.status_code == 422 and "Please write at most 2,000 characters." in answer.text
    assert snapshot(code) == before


# --- adding after sending -----------------------------------------------------------------------------

def test_the_author_adds_information_and_photos_shown_dated_on_the_status_page(client):
    _commune, a, _b, cat, users = setup_world()
    login(client, users["resident"])
    client.post("/submit", data=submit_form(client, a, cat))
    with unit_of_work() as db:
        code = db.query(Item).one().code
    with unit_of_work(write=True) as db:  # it moves on: adding is still open
        move(db, items.get_by_code(db, code), "accept", viewer(db, users["village_head"]))
    form = _form_on(client, f"/items/{code}")
    del form["manage_token"]
    answer = client.post(f"/items/{code}/add", data={**form, "body": "Đoạn ngõ 4 cũng đã tắc."},
                         files=[jpeg("a.jpg"), jpeg("b.jpg")], follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/items/{code}"
    page = client.get(f"/items/{code}").text
    assert "Bổ sung sau khi gửi" in page and "Đoạn ngõ 4 cũng đã tắc." in page
    assert "Bổ sung ngày" in page
    with unit_of_work() as db:
        addition = db.query(ItemAddition).one()
        owned = db.query(Attachment).filter(Attachment.owner_kind == "addition",
                                            Attachment.owner_id == addition.id).count()
        assert owned == 2
        actions = [e.action for e in audit_events(db)]
        assert actions.count("item_added_to") == 1 and actions.count("attached") == 2
    assert page.count("/media/") >= 2


def test_adding_20_photos_is_refused_with_a_clear_message(client):
    _commune, a, _b, cat, _users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    before = snapshot(code)
    answer = client.post(f"/items/{code}/add", data=_form_on(client, manage), params={"lang": "en"},
                         files=[jpeg(f"p{n}.jpg") for n in range(20)])
    assert answer.status_code == 422
    assert "You can add at most 5 files here." in answer.text
    assert snapshot(code) == before


def test_the_total_of_photos_of_an_item_is_capped(client):
    _commune, a, _b, cat, _users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    for round_ in range(3):
        answer = client.post(f"/items/{code}/add", data=_form_on(client, manage),
                             files=[jpeg(f"r{round_}-{n}.jpg") for n in range(5)], follow_redirects=False)
        assert answer.status_code == 303
    answer = client.post(f"/items/{code}/add", data=_form_on(client, manage), params={"lang": "en"},
                         files=[jpeg("one-more.jpg")])
    assert answer.status_code == 422
    assert "This item already has 15 photos, the most one item can have." in answer.text
    with unit_of_work() as db:
        assert count(db, Attachment) == 15


def test_an_empty_addition_is_refused(client):
    _commune, a, _b, cat, _users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    answer = client.post(f"/items/{code}/add", data={**_form_on(client, manage), "body": "  "},
                         params={"lang": "en"})
    assert answer.status_code == 422 and "Please write something or choose a photo to add." in answer.text


def test_without_the_manage_link_a_visitor_cannot_add(client):
    _commune, a, _b, cat, _users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    client.cookies.clear()
    token = csrf_token(client)
    answer = client.post(f"/items/{code}/add", data={"csrf_token": token, "body": "Giả mạo."})
    assert answer.status_code == 403
    real = manage.rsplit("/", 1)[-1]
    forged = real[:-2] + ("AA" if real[-2:] != "AA" else "BB")  # always another token than the real one
    answer = client.post(f"/items/{code}/add", data={"csrf_token": token, "body": "Giả mạo.",
                                                     "manage_token": forged})
    assert answer.status_code == 403
    with unit_of_work() as db:
        assert count(db, ItemAddition) == 0


# --- the receipt page ---------------------------------------------------------------------------------

def test_the_receipt_offers_copy_share_and_a_qr_code_of_the_status_page(client):
    _commune, a, _b, cat, _users = setup_world()
    answer = client.post("/submit", data=submit_form(client, a, cat), follow_redirects=True)
    page = answer.text
    code = re.search(r'id="item-code">([A-Z]+-\d{4}-\d{4})<', page).group(1)
    assert 'id="copy-code"' in page and "Sao chép mã" in page
    assert "Chia sẻ qua Zalo" in page
    assert "zalo.me/share?url=http%3A%2F%2Ftestserver%2Fitems%2F" + code in page
    assert '<svg' in page and 'class="qr"' in page and f"Mã QR của trang theo dõi {code}" in page


# --- the chain still verifies --------------------------------------------------------------------------

def test_civic_audit_verify_accepts_an_edited_title(client):
    _commune, a, _b, cat, _users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    client.post(f"/items/{code}/amend", data={**_form_on(client, manage), **EDIT})
    client.post(f"/items/{code}/add", data={**_form_on(client, manage), "body": "Thêm một chi tiết."},
                files=[jpeg()])
    env = dict(os.environ)
    run = subprocess.run([CIVIC, "audit", "verify"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    # An addition written behind the chain's back is found.
    with unit_of_work(write=True) as db:
        item = items.get_by_code(db, code)
        db.add(ItemAddition(item_id=item.id, body="Thêm lén.", created_at=clock.now()))
    run = subprocess.run([CIVIC, "audit", "verify"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode != 0 and "item_addition" in run.stdout + run.stderr, run.stdout + run.stderr


def test_markup_typed_into_a_correction_or_an_addition_is_text_everywhere(client):
    _commune, a, _b, cat, users = setup_world()
    code, manage = _send_anonymously(client, a, cat)
    markup = '<script>alert(1)</script><b onmouseover="x()">đậm</b>'
    client.post(f"/items/{code}/amend", data={**_form_on(client, manage), "title": f"Cống {markup}",
                                             "description": f"Nước tràn {markup} lên đường."})
    client.post(f"/items/{code}/add", data={**_form_on(client, manage), "body": f"Thêm {markup}"})
    pages = [client.get(manage).text, client.get(f"/items/{code}").text]
    login(client, users["village_head"])
    pages += [client.get(f"/items/{code}").text, client.get(f"/triage/{code}").text]
    for page in pages:
        assert "<script>alert(1)</script>" not in page and "<b onmouseover" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
