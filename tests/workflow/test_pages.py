"""The village head's triage queue and actions through the pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from civic import clock
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import (
    browser,
    count,
    csrf_token,
    item_data,
    login,
    setup_item,
    setup_world,
    snapshot,
    stage_strip,
)


def local(year, month, day, hour=9):
    return datetime(year, month, day, hour, tzinfo=clock.LOCAL_TZ).astimezone(UTC)


def queue(client) -> list[str]:
    """The codes listed in the client's triage queue, in order."""
    page = client.get("/triage")
    assert page.status_code == 200
    return re.findall(r'<a class="card-title" href="/triage/([^"]+)">', page.text)


def act(client, code, action, **form):
    token = csrf_token(client, "/triage")
    return client.post(f"/triage/{code}/{action}", data={"csrf_token": token, **form}, follow_redirects=False)


@pytest.fixture
def setting(client):
    """A world, one new item of village A, and the client logged in as A's village head."""
    commune, a, b, cat, users = setup_world()
    item = setup_item(commune, a, cat, title="Cống bị tắc ở xóm Trên", contact_phone="0987654321")
    login(client, users["village_head"])
    return commune, a, b, cat, users, item


def test_queue_shows_own_new_items_oldest_first_and_overdue(client):
    clock.freeze(local(2026, 3, 2))  # Monday
    commune, a, b, cat, users = setup_world()
    oldest = setup_item(commune, a, cat, title="Phản ánh thứ nhất")
    clock.freeze(local(2026, 3, 4))
    setup_item(commune, b, cat, title="Phản ánh của thôn khác")
    newer = setup_item(commune, a, cat, title="Phản ánh thứ hai")
    setup_item(commune, a, cat, stage="know", title="Phản ánh đã tiếp nhận")
    clock.freeze(local(2026, 3, 6, 10))  # Friday: the first is one day late, the second is not
    login(client, users["village_head"])
    page = client.get("/triage")
    assert page.status_code == 200
    html = page.text
    assert "Phản ánh của thôn khác" not in html and "Phản ánh đã tiếp nhận" not in html
    assert queue(client) == [oldest.code, newer.code]
    cards = re.findall(r'<li class="card( overdue)?">\s*<a class="card-title" href="/triage/([^"]+)"', html)
    assert cards == [(" overdue", oldest.code), ("", newer.code)]
    assert html.count('class="late"') == 1


def test_nothing_is_overdue_on_the_due_day(client):
    clock.freeze(local(2026, 2, 13))  # the Friday before Tết
    commune, a, _b, cat, users = setup_world()
    setup_item(commune, a, cat)
    clock.freeze(local(2026, 2, 25, 16))
    login(client, users["village_head"])
    assert 'class="card overdue"' not in client.get("/triage").text
    clock.freeze(local(2026, 2, 26, 8))
    assert 'class="card overdue"' in client.get("/triage").text


@pytest.mark.parametrize("who", ["resident", "supervisor", "admin"])
def test_queue_is_only_for_village_heads(client, who):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users[who])
    assert client.get("/triage").status_code == 403
    assert client.get("/triage/new").status_code == 403


def test_queue_asks_anonymous_visitors_to_log_in(client):
    setup_world()
    answer = client.get("/triage", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/triage"


def test_item_page_shows_the_private_contact_to_its_village_head_only(client, setting):
    _c, _a, _b, _cat, users, item = setting
    page = client.get(f"/triage/{item.code}")
    assert page.status_code == 200
    assert "0987654321" in page.text
    for action in ("accept", "reject", "mark_duplicate", "redirect", "recategorize"):
        assert f'action="/triage/{item.code}/{action}"' in page.text
    with browser(client.app) as other:
        login(other, users["other_head"])
        refused = other.get(f"/triage/{item.code}")
        assert refused.status_code == 403
        assert "0987654321" not in refused.text
        public = other.get(f"/items/{item.code}")
        assert public.status_code == 200 and "0987654321" not in public.text
    assert "0987654321" in client.get(f"/items/{item.code}").text,\
        "its own village head sees it on the status page too"


def test_accept(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    clock.advance(timedelta(minutes=3))
    answer = act(client, item.code, "accept")
    # The item's page again, which offers its next step: make it known on the deliberation desk.
    assert answer.status_code == 303 and answer.headers["location"] == f"/triage/{item.code}"
    nxt = client.get(answer.headers["location"]).text
    assert "Bước tiếp theo" in nxt and f'href="/deliberation/{item.code}"' in nxt
    after = snapshot(item.code)
    assert (after["stage"], after["outcome"]) == ("know", None)
    assert queue(client) == []
    status = client.get(f"/items/{item.code}").text
    assert [name for name, current in stage_strip(status) if current] == ["Dân biết"]
    assert "Trưởng Thôn A" in status, "the timeline names the official"


def test_accepting_twice_is_a_conflict(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    assert act(client, item.code, "accept").status_code == 303
    before = snapshot(item.code)
    clock.advance(timedelta(minutes=3))
    answer = act(client, item.code, "accept")
    assert answer.status_code == 409
    assert snapshot(item.code) == before


def test_reject_with_a_public_reason(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    answer = act(client, item.code, "reject", reason="Việc này thuộc thẩm quyền của huyện, không phải thôn.")
    assert answer.status_code == 303
    after = snapshot(item.code)
    assert (after["stage"], after["outcome"]) == ("closed", "rejected")
    status = client.get(f"/items/{item.code}").text
    assert "Việc này thuộc thẩm quyền của huyện, không phải thôn." in status
    assert 'aria-current="step"' not in status


def test_reject_without_a_reason_is_explained_on_the_form(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    before = snapshot(item.code)
    client.get("/lang/en")
    answer = act(client, item.code, "reject", reason="  ")
    assert answer.status_code == 422
    assert 'id="f-reason-error"' in answer.text
    assert "at least 5 characters" in answer.text
    assert snapshot(item.code) == before


def test_mark_duplicate(client, setting):
    commune, a, _b, cat, _users, item = setting
    original = setup_item(commune, a, cat, stage="know", title="Phản ánh gốc về cống")
    typed = original.code.lower()
    answer = act(client, item.code, "mark_duplicate", original_code=typed, reason="Đã có phản ánh giống hệt.")
    assert answer.status_code == 303
    assert snapshot(item.code)["outcome"] == "duplicate"
    status = client.get(f"/items/{item.code}").text
    assert f'href="/items/{original.code}"' in status and "Phản ánh gốc về cống" in status


def test_mark_duplicate_of_an_unknown_item_keeps_the_typed_values(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    before = snapshot(item.code)
    answer = act(client, item.code, "mark_duplicate", original_code="NS-1999-0042",
                 reason="Đã có phản ánh giống.")
    assert answer.status_code == 422
    assert 'id="f-original_code-error"' in answer.text
    assert 'value="NS-1999-0042"' in answer.text
    assert snapshot(item.code) == before


def test_redirect_to_another_desk(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    answer = act(client, item.code, "redirect", destination="Bộ phận tiếp công dân UBND xã",
                 reason="Là tranh chấp đất đai giữa hai hộ.")
    assert answer.status_code == 303
    assert snapshot(item.code)["outcome"] == "redirected"
    status = client.get(f"/items/{item.code}").text
    assert "Bộ phận tiếp công dân UBND xã" in status and "Là tranh chấp đất đai giữa hai hộ." in status


def test_recategorize_hands_the_item_to_the_other_village(client, setting):
    _c, _a, b, cat, users, item = setting
    answer = act(client, item.code, "recategorize", village_id=str(b.id), category_id=str(cat.id))
    assert answer.status_code == 303 and answer.headers["location"] == f"/triage/{item.code}"
    assert snapshot(item.code)["village_id"] == b.id
    assert queue(client) == []
    assert client.get(f"/triage/{item.code}").status_code == 403
    with browser(client.app) as other:
        login(other, users["other_head"])
        assert queue(other) == [item.code]


def test_recategorize_to_an_unknown_village_is_refused(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    before = snapshot(item.code)
    answer = act(client, item.code, "recategorize", village_id="999999", category_id="abc")
    assert answer.status_code == 422
    assert 'id="f-village_id-error"' in answer.text
    assert snapshot(item.code) == before


@pytest.mark.parametrize("action", ["accept", "reject", "mark_duplicate", "redirect", "recategorize"])
def test_village_head_of_another_village_is_refused(client, setting, action):
    _c, a, b, cat, users, item = setting
    with browser(client.app) as other:
        login(other, users["other_head"])
        before = snapshot(item.code)
        clock.advance(timedelta(minutes=1))
        answer = act(other, item.code, action, reason="Một lý do đủ dài.", destination="Nơi khác",
                     original_code=item.code, village_id=str(b.id), category_id=str(cat.id))
        assert answer.status_code == 403
        assert snapshot(item.code) == before


@pytest.mark.parametrize("who", ["resident", "supervisor", "admin"])
def test_non_village_heads_cannot_triage(client, setting, who):
    _c, _a, _b, _cat, users, item = setting
    with browser(client.app) as other:
        login(other, users[who])
        token = csrf_token(other, "/submit")
        before = snapshot(item.code)
        answer = other.post(f"/triage/{item.code}/accept", data={"csrf_token": token})
        assert answer.status_code == 403
        assert snapshot(item.code) == before


def test_anonymous_triage_goes_to_login_and_changes_nothing(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    with browser(client.app) as anonymous:
        token = csrf_token(anonymous, "/submit")
        before = snapshot(item.code)
        answer = anonymous.post(f"/triage/{item.code}/accept", data={"csrf_token": token},
                                follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        assert snapshot(item.code) == before


def test_triage_without_or_with_a_wrong_csrf_token_changes_nothing(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    before = snapshot(item.code)
    assert client.post(f"/triage/{item.code}/accept", data={}).status_code == 403
    assert client.post(f"/triage/{item.code}/accept", data={"csrf_token": "x" * 43}).status_code == 403
    assert snapshot(item.code) == before


def test_unknown_item_or_action_is_not_found(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    before = snapshot(item.code)
    assert act(client, "NS-2026-9999", "accept").status_code == 404
    assert act(client, item.code, "approve_everything").status_code == 404
    assert act(client, item.code, "withdraw").status_code == 404, "author actions are not triage actions"
    assert act(client, item.code, "uphold", reason="Một lý do đủ dài.").status_code == 404
    assert client.get("/triage/NS-2026-9999").status_code == 404
    assert snapshot(item.code) == before


def test_village_head_files_on_behalf_of_a_resident(client, setting):
    _c, a, b, cat, users, _item = setting
    form = client.get("/triage/new")
    assert form.status_code == 200
    assert f'<option value="{b.id}"' not in form.text, "only the village head's own villages are offered"
    data = item_data(a, cat, title="Cụ Năm báo đèn hỏng", contact_name="Cụ Năm", contact_phone="0977111222")
    data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data["client_token"] = re.search(r'name="client_token" value="([^"]+)"', form.text).group(1)
    answer = client.post("/triage/new", data=data, follow_redirects=False)
    assert answer.status_code == 303
    with unit_of_work() as db:
        filed = db.query(Item).filter(Item.title == "Cụ Năm báo đèn hỏng").one()
        assert (filed.channel, filed.entered_by_id, filed.reporter_id) ==\
            ("assisted", users["village_head"].id, None)
        assert (filed.contact_name, filed.contact_phone) == ("Cụ Năm", "0977111222")
    with browser(client.app) as anyone:
        public = anyone.get(f"/items/{filed.code}").text
        assert "0977111222" not in public and "Cụ Năm" not in public.replace("Cụ Năm báo đèn hỏng", "")
        assert "Trưởng Thôn A" in public
    assert filed.code in queue(client)


def test_filing_on_behalf_needs_the_residents_name(client, setting):
    _c, a, _b, cat, _users, _item = setting
    form = client.get("/triage/new").text
    data = item_data(a, cat, contact_name="", contact_phone="")
    data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    with unit_of_work() as db:
        before = count(db, Item)
    answer = client.post("/triage/new", data=data)
    assert answer.status_code == 422
    assert 'id="f-contact_name-error"' in answer.text
    with unit_of_work() as db:
        assert count(db, Item) == before


def test_residents_cannot_file_on_behalf(client):
    commune, a, _b, cat, users = setup_world()
    login(client, users["resident"])
    data = item_data(a, cat, contact_name="Cụ Năm")
    data["csrf_token"] = csrf_token(client, "/submit")
    assert client.post("/triage/new", data=data).status_code == 403
    with unit_of_work() as db:
        assert count(db, Item) == 0


def test_html_in_a_decision_is_shown_as_text(client, setting):
    _c, _a, _b, _cat, _users, item = setting
    answer = act(client, item.code, "redirect", destination="<i>Bộ phận</i> <script>alert(1)</script>",
                 reason="Lý do <img src=x onerror=alert(2)> công khai.")
    assert answer.status_code == 303
    for lang in ("vi", "en"):
        client.get(f"/lang/{lang}")
        html = client.get(f"/items/{item.code}").text
        assert "<script>alert(1)" not in html and "<img src=x" not in html and "<i>Bộ phận</i>" not in html
        assert "&lt;i&gt;Bộ phận&lt;/i&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "Lý do &lt;img src=x onerror=alert(2)&gt; công khai." in html
