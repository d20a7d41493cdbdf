"""The staff workspace through the pages: the to-do and its count in the navigation, the next step, and
the one-screen triage with similar items."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from civic import clock
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import (
    browser,
    count,
    csrf_token,
    disclose,
    login,
    make_discuss_item,
    make_item,
    move,
    setup_item,
    setup_world,
    snapshot,
    viewer,
)


def local(year, month, day, hour=9):
    return datetime(year, month, day, hour, tzinfo=clock.LOCAL_TZ).astimezone(UTC)


def todo_entries(html: str) -> list[tuple[str, str]]:
    """(step, item code) of each card of the to-do, in order."""
    cards = re.findall(r'<li class="card[^"]*">(.*?)</li>', html, re.S)
    out = []
    for card in cards:
        step = re.search(r'class="card-title" href="[^"]*">([^<]+)</a>', card).group(1)
        code = re.search(r'<span class="code">([^<]+)</span>', card).group(1)
        out.append((step, code))
    return out


def nav_count(html: str) -> str | None:
    found = re.search(r'<a href="/todo"[^>]*>Việc cần làm(?: <span class="badge">([^<]+)</span>)?</a>', html)
    return found.group(1) if found else None


@pytest.fixture
def village(client):
    """Village A's head with one item in each of four stages; village B has its own new item."""
    clock.freeze(local(2026, 3, 2))  # Monday
    with unit_of_work(write=True) as db:
        from tests.builders import world
        commune, a, b, cat, users = world(db)
        head = users["village_head"]
        discussed = make_discuss_item(db, commune, a, cat, head, title="Làm đường bê tông xóm Giữa")
        known = make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ 7 bị hỏng")
        disclosed = make_item(db, commune, a, cat, stage="know", title="Sửa mái nhà văn hoá")
        disclose(db, disclosed, head, days_ago=4)
        other = make_item(db, commune, b, cat, title="Phản ánh của thôn khác")
    clock.freeze(local(2026, 3, 4))
    new = setup_item(commune, a, cat, title="Cống bị tắc trước nhà văn hoá")
    clock.freeze(local(2026, 3, 5, 10))
    login(client, users["village_head"])
    return {"commune": commune, "a": a, "b": b, "cat": cat, "users": users, "new": new, "known": known,
            "disclosed": disclosed, "discussed": discussed, "other": other}


def test_the_to_do_lists_every_stage_of_the_head_s_villages_by_due_date(client, village):
    page = client.get("/todo")
    assert page.status_code == 200
    entries = todo_entries(page.text)
    codes = [code for _step, code in entries]
    assert village["other"].code not in codes, "another village's item is on the to-do"
    by_code = dict((code, step) for step, code in entries)
    assert by_code[village["known"].code] == "Niêm yết công khai"
    assert by_code[village["disclosed"].code] == "Mở thảo luận: đã hết thời gian công khai"
    assert by_code[village["discussed"].code] == "Lên lịch hội nghị thôn hoặc phát phiếu lấy ý kiến"
    assert by_code[village["new"].code] == "Tiếp nhận mục mới"
    # Due dates: the disclosure ran 4 days from 26/2 (ready 2/3), the others entered their stage on 2/3;
    # the new item of 4/3 is due 2 working days later… all before or on today, the most urgent first.
    assert codes.index(village["disclosed"].code) < codes.index(village["new"].code)
    assert codes[-1] == village["new"].code
    assert nav_count(page.text) == "4"
    # Each step links to its desk.
    assert f'href="/deliberation/{village["known"].code}"' in page.text
    assert f'href="/triage/{village["new"].code}"' in page.text
    assert len(page.content) < 30_000


def test_the_count_is_on_every_staff_page_and_follows_the_work(client, village):
    assert nav_count(client.get("/items").text) == "4"
    token = csrf_token(client, "/triage")
    client.post(f"/triage/{village['new'].code}/reject",
                data={"csrf_token": token, "reason": "Ngoài khả năng."})
    assert nav_count(client.get("/items").text) == "3"


def test_a_stage_of_the_to_do_pages_and_a_wrong_stage_is_not_found(client, village):
    page = client.get("/todo?stage=know")
    assert page.status_code == 200
    listed = {code for _s, code in todo_entries(page.text)}
    assert listed == {village["known"].code, village["disclosed"].code}
    assert client.get("/todo?stage=everything").status_code == 404
    assert client.get("/todo?stage=" + "x" * 5000).status_code in (404, 422)
    assert client.get("/todo?page=99999").status_code == 200


@pytest.mark.parametrize("who", ["resident", "admin"])
def test_the_to_do_is_for_staff_with_work(client, who):
    _c, _a, _b, _cat, users = setup_world()
    login(client, users[who])
    assert client.get("/todo").status_code == 403
    assert nav_count(client.get("/items").text) is None


def test_anonymous_visitors_are_asked_to_log_in(client):
    setup_world()
    answer = client.get("/todo", follow_redirects=False)
    assert answer.status_code in (302, 303) and "/login" in answer.headers["location"]


def test_a_supervisor_s_to_do_has_the_appeals(client):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = make_item(db, commune, a, cat, stage="rejected", reporter=users["resident"])
        move(db, item, "request_review", viewer(db, users["resident"]),
             {"reason": "Cống tắc thật, xin xem lại."}, is_author=True)
    login(client, users["supervisor"])
    page = client.get("/todo")
    assert ("Giải quyết đề nghị xem xét lại", item.code) in todo_entries(page.text)
    assert f'href="/review/{item.code}"' in page.text
    assert nav_count(page.text) == "1"


def test_the_desk_offers_the_next_step_after_each_action(client, village):
    known = village["known"].code
    desk = client.get(f"/deliberation/{known}").text
    assert "Bước tiếp theo" in desk and "Niêm yết công khai" in desk
    # On the public page the village head is sent to the desk; a visitor sees no such box.
    assert f'href="/deliberation/{known}">Đến bước này' in client.get(f"/items/{known}").text
    assert "Bước tiếp theo" not in browser(client.app).get(f"/items/{known}").text


# --- triage in one screen ---------------------------------------------------------------------------

@pytest.fixture
def alike(client):
    """Three open items of village A, one nearly the same as the new one; a closed one and one of village B
    with the same title."""
    commune, a, b, cat, users = setup_world()
    first = setup_item(commune, a, cat, stage="know", title="Cong bi tac truoc nha van hoa")
    setup_item(commune, a, cat, stage="know", title="Đèn đường ngõ 7 bị hỏng")
    near = setup_item(commune, a, cat, title="Cống tắc sau nhà văn hoá thôn")
    closed = setup_item(commune, a, cat, stage="rejected", title="Cống bị tắc trước nhà văn hoá")
    elsewhere = setup_item(commune, b, cat, title="Cống bị tắc trước nhà văn hoá")
    new = setup_item(commune, a, cat, title="Cống bị tắc trước nhà văn hoá!")
    login(client, users["village_head"])
    return {"first": first, "near": near, "closed": closed, "elsewhere": elsewhere, "new": new}


def similar_codes(html: str) -> list[str]:
    section = html.split('id="similar-h"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<input type="hidden" name="original_code" value="([^"]+)">', section)


@pytest.mark.parametrize("scan", [1000, 0], ids=["village-scanned", "search-index"])
def test_triage_shows_similar_open_items_of_the_village_most_alike_first(client, alike, scan, monkeypatch):
    from civic.workspace import service as workspace

    monkeypatch.setattr(workspace, "SIMILAR_SCAN", scan)
    page = client.get(f"/triage/{alike['new'].code}")
    assert page.status_code == 200
    codes = similar_codes(page.text)
    assert codes[:2] == [alike["first"].code, alike["near"].code]
    assert alike["closed"].code not in codes and alike["elsewhere"].code not in codes
    assert alike["new"].code not in codes
    assert "giống 100%" in page.text
    assert len(page.content) < 30_000
    # Every action is a form of its own that works without JavaScript; those with fields are collapsed.
    assert page.text.count('<details name="triage-action" class="act">') == 4
    for action in ("accept", "reject", "mark_duplicate", "redirect", "recategorize"):
        assert f'action="/triage/{alike["new"].code}/{action}"' in page.text


def test_mark_as_duplicate_straight_from_a_suggestion(client, alike):
    page = client.get(f"/triage/{alike['new'].code}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(f"/triage/{alike['new'].code}/mark_duplicate",
                         data={"csrf_token": token, "original_code": alike["first"].code,
                               "reason": re.search(r'name="reason" value="([^"]+)"', page).group(1)},
                         follow_redirects=False)
    assert answer.status_code == 303
    after = snapshot(alike["new"].code)
    assert (after["stage"], after["outcome"]) == ("closed", "duplicate")
    with unit_of_work() as db:
        item = db.get(Item, alike["new"].id)
        assert item.duplicate_of_id == alike["first"].id
        assert item.close_reason == f"Trùng với mục {alike['first'].code} đang được giải quyết."
    public = client.get(f"/items/{alike['new'].code}").text
    assert f'href="/items/{alike["first"].code}"' in public


def test_a_similarity_search_of_4000_characters_is_refused_with_a_message(client, alike):
    before = snapshot(alike["new"].code)
    with unit_of_work() as db:
        events = count(db, AuditEvent)
    page = client.get(f"/triage/{alike['new'].code}", params={"q": "cống " * 800})
    assert page.status_code == 422
    assert "Vui lòng tìm với tối đa 300 ký tự." in page.text
    assert similar_codes(page.text) == []
    assert snapshot(alike["new"].code) == before
    with unit_of_work() as db:
        assert count(db, AuditEvent) == events


@pytest.mark.parametrize("scan", [1000, 0], ids=["village-scanned", "search-index"])
def test_a_similarity_search_with_other_words(client, alike, scan, monkeypatch):
    from civic.workspace import service as workspace

    monkeypatch.setattr(workspace, "SIMILAR_SCAN", scan)
    page = client.get(f"/triage/{alike['new'].code}", params={"q": "den duong ngo 7 hong"})
    assert page.status_code == 200
    assert len(similar_codes(page.text)) == 1
    assert "Đèn đường ngõ 7 bị hỏng" in page.text
    for odd in ("", "%", "\"'<script>", "a", "___"):
        assert client.get(f"/triage/{alike['new'].code}", params={"q": odd}).status_code == 200


def test_the_history_is_folded_and_the_accept_button_needs_no_fields(client, alike):
    page = client.get(f"/triage/{alike['new'].code}").text
    assert '<details class="history-fold">' in page
    form = page.split(f'action="/triage/{alike["new"].code}/accept"', 1)[1].split("</form>", 1)[0]
    assert form.count("<input") == 1 and 'name="csrf_token"' in form and "<textarea" not in form


def test_late_steps_are_marked_and_steps_that_wait_for_a_date_are_not(client, village):
    page = client.get("/todo").text
    assert "Quá hạn" not in page.split(village["new"].code, 1)[1].split("</li>", 1)[0]
    clock.advance(timedelta(days=20))
    page = client.get("/todo").text
    assert "Quá hạn" in page.split(village["new"].code, 1)[1].split("</li>", 1)[0]


def test_a_board_member_s_to_do_has_the_work_handed_over_and_the_head_s_has_the_findings(client):
    from civic.supervision import service as sup
    from civic.supervision.schemas import FindingForm
    from tests.boards.helpers import board_world

    clock.freeze(local(2026, 3, 2))
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        inspected = make_item(db, commune, a, cat, stage="inspect", title="Đường bê tông xóm Giữa")
        make_item(db, commune, a, cat, stage="do", title="Mương thoát nước xóm Trên")
        member = viewer(db, users["inspector"])
        sup.open_new_inspection(db, inspected, member)
        sup.add_finding(db, inspected, member, FindingForm.parse(
            {"severity": "needs_fixing", "text": "Mép đường bị nứt ở đoạn cuối.", "due_on": "2026-03-20"}))
    login(client, users["inspector"])
    page = client.get("/todo")
    assert page.status_code == 200
    assert todo_entries(page.text) == [("Kiểm tra công việc đã bàn giao", inspected.code)]
    assert f'href="/inspect/{inspected.code}"' in page.text
    assert nav_count(page.text) == "1"

    client.cookies.clear()
    login(client, users["village_head"])
    page = client.get("/todo")
    entries = todo_entries(page.text)
    assert ("Trả lời các phát hiện", inspected.code) in entries
    assert "hạn 20/03/2026" in page.text or "20/03/2026" in page.text
    assert nav_count(page.text) == "2"  # the finding to answer, the work in Dân làm
