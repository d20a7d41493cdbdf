"""The boards' pages through HTTP: the admin records an election, its members and the recognition; the
public page names the members of recognised boards and never their phones; bad input changes nothing."""

from __future__ import annotations

import re
from html import unescape

from civic.boards.models import Board, BoardMember
from civic.db import unit_of_work
from tests.boards.helpers import board_member, make_board
from tests.builders import browser, count, csrf_token, login, world


def post(client, path, page, **form):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **form}, follow_redirects=False)


def rows(model) -> int:
    with unit_of_work() as db:
        return count(db, model)


def test_the_admin_records_a_board_its_members_and_recognition_and_the_public_sees_it(client, app):
    with unit_of_work(write=True) as db:
        commune, a, b, _cat, users = world(db)
        people = [board_member(db, commune, [a, b][n % 2], n // 2, name)
                  for n, name in enumerate(["Lê Thị Thanh", "Phạm Văn Tra", "Hoàng Thị Nhân", "Vũ Văn Dân",
                                            "Đỗ Thị Ban"])]
        phones = [p.phone for p in people]
    login(client, users["admin"])
    assert client.get("/admin/boards").status_code == 200
    r = post(client, "/admin/boards", "/admin/boards", kind="inspection", elected_on="2025-12-01",
             election_ref="Biên bản hội nghị số 3", term_starts_on="2025-12-01", term_ends_on="2030-12-01")
    assert r.status_code == 303, r.text[:1500]
    page = r.headers["location"]
    board_id = int(re.search(r"/admin/boards/(\d+)", page).group(1))
    for n, phone in enumerate(phones[:4]):
        r = post(client, f"{page}/member", page, phone=phone, position="head" if n == 0 else "member")
        assert r.status_code == 303
    # Four members: the page says what is missing and the recognition is refused.
    html = client.get(f"{page}?lang=en").text
    assert "A people's inspection board has at least 5 members." in unescape(html)
    r = post(client, f"{page}/recognise", page, decision_no="125/QĐ-UBND", recognised_on="2025-12-10")
    assert r.status_code == 409
    assert post(client, f"{page}/member", page, phone=phones[4]).status_code == 303
    r = post(client, f"{page}/recognise", page, decision_no="125/QĐ-UBND <i>", recognised_on="2025-12-10")
    assert r.status_code == 303
    public = client.get("/boards?lang=en").text
    assert "Lê Thị Thanh" in public and "Đỗ Thị Ban" in public and "125/QĐ-UBND &lt;i&gt;" in public
    assert "<i>" not in public  # the decision number typed with markup is shown as text
    assert not any(p in public for p in phones)
    with browser(app) as anon:
        assert "Phạm Văn Tra" in anon.get("/boards").text
    with unit_of_work() as db:
        assert db.get(Board, board_id).recognised_on is not None


def test_bad_input_is_refused_with_a_message_and_changes_nothing(client):
    with unit_of_work(write=True) as db:
        commune, a, b, _cat, users = world(db)
        board, _members = make_board(db, commune, [a, b], users["admin"], recognise=False)
        board_id = board.id
    login(client, users["admin"])
    before = (rows(Board), rows(BoardMember))
    r = post(client, "/admin/boards", "/admin/boards", kind="inspection", elected_on="31/02/2026",
             election_ref="x", term_starts_on="", term_ends_on="<b>")
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = post(client, "/admin/boards", "/admin/boards", kind="investment", elected_on="2025-12-01",
             election_ref="Biên bản 4", term_starts_on="2025-12-01", item="NS-2026-9999")
    assert r.status_code == 422 and "<b>" not in r.text
    page = f"/admin/boards/{board_id}"
    r = post(client, f"{page}/member", page, phone="0123")
    assert r.status_code == 422
    r = post(client, f"{page}/member", page, phone="0987111222")  # nobody of the commune
    assert r.status_code == 422
    r = post(client, f"{page}/recognise", page, decision_no="1", recognised_on="2099-01-01")
    assert r.status_code == 422
    r = post(client, f"{page}/member/remove", page, target_id="99999999")
    assert r.status_code == 404
    assert (rows(Board), rows(BoardMember)) == before
    assert client.get("/admin/boards/99999999").status_code == 404


def test_only_the_commune_admin_opens_the_board_pages(client):
    with unit_of_work(write=True) as db:
        _commune, _a, _b, _cat, users = world(db)
    assert client.get("/admin/boards", follow_redirects=False).status_code in (302, 303)
    for role in ("supervisor", "village_head", "resident"):
        with browser(client.app) as c:
            login(c, users[role])
            assert c.get("/admin/boards").status_code == 403
    assert client.get("/boards").status_code == 200


def test_the_board_pages_stay_under_the_weight_budget(client, capsys):
    from tests.web.test_page_weight import BUDGET, weigh

    with unit_of_work(write=True) as db:
        commune, a, b, _cat, users = world(db)
        board, _members = make_board(db, commune, [a, b], users["admin"], size=7)
        make_board(db, commune, [a, b], users["admin"], recognise=False)
        board_id = board.id
    table = []
    for who, path in ((None, "/boards"), ("admin", "/admin/boards"), ("admin", f"/admin/boards/{board_id}")):
        with browser(client.app) as c:
            if who:
                login(c, users[who])
            sizes, problems = weigh(c, path)
            table.append(f"{path}: {sizes['total']} B")
            assert sizes["total"] < BUDGET and not problems, (path, sizes, problems)
    with capsys.disabled():
        print("\nboard pages (as sent, compressed): " + "; ".join(table))


def state():
    with unit_of_work() as db:
        return sorted((m.id, m.user_id, m.starts_on, m.ends_on) for m in db.query(BoardMember))


def test_the_admin_replaces_a_member_and_the_public_page_shows_who_served_from_when_to_when(client):
    with unit_of_work(write=True) as db:
        commune, a, b, _cat, users = world(db)
        board, members = make_board(db, commune, [a, a, b, a, a], users["admin"])  # village b: members[2]
        ids = {u.display_name: db.query(BoardMember).filter(BoardMember.user_id == u.id).one().id
               for u in members}
        from_a = board_member(db, commune, a, 5, "Trần Văn Mới").phone
        from_b = board_member(db, commune, b, 5, "Trần Văn Tân").phone
        phones = [u.phone for u in members] + [from_a, from_b]
        page = f"/admin/boards/{board.id}"
    login(client, users["admin"])
    form = {"target_id": str(ids["Hoàng Thị Nhân"]), "reason": "moved_away", "position": "member",
            "elected_on": "15/01/2026", "election_ref": "Biên bản hội nghị thôn số 7",
            "decision_no": "31/QĐ-UBND", "recognised_on": "20/01/2026"}
    before = state()
    r = post(client, f"{page}/replace", page, **{**form, "phone": from_a})
    assert r.status_code == 422
    assert 'id="f-phone-error">Sau thay đổi này, một thôn sẽ không còn thành viên' in unescape(r.text)
    r = post(client, f"{page}/replace", page, **{**form, "phone": from_b, "recognised_on": "10/01/2026"})
    assert r.status_code == 422 and 'id="f-recognised_on-error"' in r.text
    assert state() == before
    r = post(client, f"{page}/replace", page, **{**form, "phone": from_b,
                                                  "election_ref": "Biên bản <b>số 7</b>",
                                                  "decision_no": "31/QĐ-UBND <i>"})
    assert r.status_code == 303 and r.headers["location"] == page
    for path in ("/boards", page):  # what was typed with markup is shown as text
        html = client.get(path).text
        assert "Biên bản &lt;b&gt;số 7&lt;/b&gt;" in html and "31/QĐ-UBND &lt;i&gt;" in html
        assert "<b>số 7" not in html and "UBND <i>" not in html
    public = unescape(client.get("/boards?lang=en").text)
    assert "Trần Văn Tân · Tân Tiến · since 20 Jan 2026 · in place of Hoàng Thị Nhân" in public
    assert "Served before" in public and "Hoàng Thị Nhân · Tân Tiến · 10 Dec 2025 – 20 Jan 2026" in public
    assert "Moved away" not in public and not any(p in public for p in phones)
    # A member leaves without a replacement: the board is under five, and both pages say it cannot sign off.
    r = post(client, f"{page}/leave", page, target_id=str(ids["Lê Thị Thanh"]), reason="resigned",
             left_on="01/02/2026")
    assert r.status_code == 303
    for path in ("/boards?lang=en", f"{page}?lang=en"):
        html = unescape(client.get(path).text)
        assert "Not complete" in html and "It cannot sign an inspection off" in html
    assert "Resigned" in unescape(client.get(f"{page}?lang=en").text)
    assert "<strong>Not complete</strong>" in client.get("/admin/boards?lang=en").text
    end = {"reason": "dissolved", "decision_no": "50/QĐ-UBND <i>", "ended_on": "01/03/2026"}
    assert post(client, f"{page}/end", page, **end).status_code == 303
    assert "50/QĐ-UBND &lt;i&gt;" in client.get("/boards").text
    r = post(client, f"{page}/end", page, **end)
    assert r.status_code == 409 and "Ban này đã kết thúc hoạt động." in r.text
    assert "Ended" in client.get("/boards?lang=en").text


def test_a_project_board_s_changes_are_on_its_project_s_timeline(client):
    from civic.boards import service as boards
    from civic.boards.schemas import BoardLeaveForm, EndBoardForm
    from tests.builders import make_item, viewer

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        item = make_item(db, commune, a, cat, stage="do")
        board, members = make_board(db, commune, [a], users["admin"], kind="investment", item=item, size=3)
        admin = viewer(db, users["admin"])
        member = db.query(BoardMember).filter(BoardMember.user_id == members[2].id).one()
        boards.leave(db, admin, board.id, BoardLeaveForm.parse({"target_id": str(member.id), "reason": "died",
                                                               "left_on": "05/01/2026"}))
        boards.end_board(db, admin, board.id, EndBoardForm.parse({
            "reason": "dissolved", "decision_no": "40/QĐ-UBND", "ended_on": "01/02/2026"}))
        code = item.code
    page = client.get(f"/items/{code}?lang=en")
    assert page.status_code == 200
    text = unescape(page.text)
    assert "recorded that a member left its supervision board" in text
    assert "recorded the end of its supervision board (decision 40/QĐ-UBND)" in text
