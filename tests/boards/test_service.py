"""The people's boards' services: an election recorded, members from the register, recognition giving the
members their role for the term, which board inspects an item, and the audit events."""

from __future__ import annotations

from datetime import date

import pytest

from civic.accounts.models import RoleGrant
from civic.boards import service as boards
from civic.boards.models import Board, BoardMember
from civic.boards.schemas import BoardForm, MemberForm, RecogniseForm
from civic.errors import Conflict, Forbidden, Invalid
from tests.boards.helpers import board_member, make_board
from tests.builders import audit_events, count, make_item, make_user, viewer, world


def test_an_inspection_board_is_recorded_staffed_and_recognised_and_its_members_get_the_role(db):
    commune, a, b, cat, users = world(db)
    board, members = make_board(db, commune, [a, b], users["admin"])
    assert board.recognised_on == date(2025, 12, 10) and board.decision_no == "125/QĐ-UBND"
    grants = db.query(RoleGrant).filter(RoleGrant.role == "inspection_member").all()
    assert sorted(g.user_id for g in grants) == sorted(m.id for m in members)
    assert {(g.village_id, g.starts_on, g.ends_on) for g in grants} == {(None, date(2025, 12, 10),
                                                                          date(2030, 12, 1))}
    item = make_item(db, commune, a, cat, stage="inspect")
    assert boards.inspecting_board(db, item).id == board.id
    assert boards.member_ids(db, board) == frozenset(m.id for m in members)
    actions = [e.action for e in audit_events(db, commune.id) if e.action.startswith("board_")]
    assert actions == ["board_elected"] + ["board_member_added"] * 5 + ["board_recognised"]
    for e in audit_events(db, commune.id):
        assert "Lê Thị Thanh" not in str(e.payload) and members[0].phone not in str(e.payload)


def test_an_inspection_board_without_a_member_from_each_village_or_five_members_is_not_recognised(db):
    commune, a, b, _cat, users = world(db)
    board, _m = make_board(db, commune, [a], users["admin"], size=5, recognise=False)
    with pytest.raises(Conflict) as caught:
        boards.recognise(db, viewer(db, users["admin"]), board.id,
                         RecogniseForm.parse({"decision_no": "1/QĐ", "recognised_on": "2025-12-10"}))
    assert caught.value.message == "A people's inspection board has at least one member from each village."
    small, _m = make_board(db, commune, [a, b], users["admin"], size=4, recognise=False)
    with pytest.raises(Conflict):
        boards.recognise(db, viewer(db, users["admin"]), small.id,
                         RecogniseForm.parse({"decision_no": "1/QĐ", "recognised_on": "2025-12-10"}))
    assert count(db, RoleGrant, RoleGrant.role == "inspection_member") == 0
    assert db.get(Board, board.id).recognised_on is None


def test_an_elected_board_does_not_inspect_until_recognised(db):
    commune, a, b, cat, users = world(db)
    make_board(db, commune, [a, b], users["admin"], recognise=False)
    item = make_item(db, commune, a, cat, stage="inspect")
    assert boards.inspecting_board(db, item) is None


def test_a_project_board_is_up_to_five_residents_of_its_village_and_inspects_its_project(db):
    commune, a, b, cat, users = world(db)
    commune_board, _m = make_board(db, commune, [a, b], users["admin"])
    item = make_item(db, commune, a, cat, stage="inspect")
    other = make_item(db, commune, a, cat, stage="inspect")
    board, members = make_board(db, commune, [a], users["admin"], kind="investment", item=item, size=5)
    assert board.village_id == a.id and board.term_ends_on is None
    assert boards.inspecting_board(db, item).id == board.id
    assert boards.inspecting_board(db, other).id == commune_board.id
    grants = db.query(RoleGrant).filter(RoleGrant.role == "investment_monitor").all()
    title = f"Ban giám sát đầu tư của cộng đồng {item.code}"
    assert {(g.village_id, g.title) for g in grants} == {(a.id, title)}
    # A sixth member, a resident of another village, a second board for the project: refused.
    admin = viewer(db, users["admin"])
    third = make_item(db, commune, a, cat, stage="do")
    open_board = boards.create_board(db, admin, BoardForm.parse({
        "kind": "investment", "item": third.code, "elected_on": "2025-12-01",
        "election_ref": "Biên bản số 9",
        "term_starts_on": "2025-12-01"}))
    outsider = board_member(db, commune, b, 3, "Người Thôn Khác")
    with pytest.raises(Invalid) as caught:
        boards.add_member(db, admin, open_board.id, MemberForm.parse({"phone": outsider.phone}))
    assert caught.value.errors["phone"].startswith("A member of a community investment supervision board")
    with pytest.raises(Conflict):
        boards.create_board(db, admin, BoardForm.parse({
            "kind": "investment", "item": item.code, "elected_on": "2025-12-01",
            "election_ref": "Biên bản số 9",
            "term_starts_on": "2025-12-01"}))


def test_members_come_from_the_register_once_and_change_only_before_recognition(db):
    commune, a, b, _cat, users = world(db)
    admin = viewer(db, users["admin"])
    board, members = make_board(db, commune, [a, b], users["admin"], recognise=False)
    no_home = make_user(db, "supervisor", commune=commune, name="Cán Bộ Không Hộ")
    with pytest.raises(Invalid) as caught:
        boards.add_member(db, admin, board.id, MemberForm.parse({"phone": no_home.phone}))
    assert caught.value.errors == {"phone": "This person is not in the household register of the commune."}
    with pytest.raises(Conflict):
        boards.add_member(db, admin, board.id, MemberForm.parse({"phone": members[0].phone}))
    first = db.query(BoardMember).filter(BoardMember.board_id == board.id,
                                         BoardMember.user_id == members[0].id).one()
    boards.remove_member(db, admin, board.id, first.id)
    assert count(db, BoardMember, BoardMember.board_id == board.id) == 4
    boards.add_member(db, admin, board.id, MemberForm.parse({"phone": members[0].phone}))
    boards.recognise(db, admin, board.id,
                     RecogniseForm.parse({"decision_no": "7/QĐ", "recognised_on": "2025-12-10"}))
    with pytest.raises(Conflict):
        boards.remove_member(db, admin, board.id, first.id)


def test_only_the_commune_admin_records_boards_and_bad_dates_are_refused(db):
    commune, a, b, cat, users = world(db)
    data = {"kind": "inspection", "elected_on": "2025-12-01", "election_ref": "Biên bản số 1",
            "term_starts_on": "2025-12-01", "term_ends_on": "2030-12-01"}
    with pytest.raises(Forbidden):
        boards.create_board(db, viewer(db, users["supervisor"]), BoardForm.parse(data))
    admin = viewer(db, users["admin"])
    with pytest.raises(Invalid) as caught:
        boards.create_board(db, admin, BoardForm.parse({**data, "term_ends_on": "2025-11-01"}))
    assert caught.value.errors == {"term_ends_on": "The term must end after it starts."}
    with pytest.raises(Invalid) as caught:
        boards.create_board(db, admin, BoardForm.parse({**data, "kind": "investment"}))
    assert caught.value.errors == {"item": "Please give the item's code, like NS-2026-0042."}
    with pytest.raises(Invalid):
        boards.create_board(db, admin, BoardForm.parse({**data, "kind": "investment",
                                                        "item": "NS-2026-9999"}))
    assert count(db, Board) == 0
