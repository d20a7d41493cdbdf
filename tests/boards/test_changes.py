"""Board changes after the recognition: a member replaced, added or leaving, and a board ended early; each
taking effect on the date of the commune's decision, each audited without names or phones, each keeping
the board's rules; a board under its minimum cannot sign off, and only members in office count."""

from __future__ import annotations

import json
from datetime import date

import pytest

from civic.accounts.models import RoleGrant
from civic.boards import service as boards
from civic.boards.models import Board, BoardMember
from civic.boards.schemas import BoardJoinForm, BoardLeaveForm, BoardReplaceForm, EndBoardForm
from civic.errors import Conflict, Invalid
from civic.supervision import service as sup
from civic.supervision.schemas import SignOffVoteForm
from tests.boards.helpers import board_member, make_board
from tests.builders import audit_events, count, make_item, make_user, viewer, world
from tests.supervision.test_service import ready


def replacement(phone: str, **over) -> BoardReplaceForm:
    return BoardReplaceForm.parse({"reason": "moved_away", "phone": phone, "position": "member",
                              "elected_on": "15/01/2026", "election_ref": "Biên bản hội nghị thôn số 7",
                              "decision_no": "31/QĐ-UBND", "recognised_on": "20/01/2026", **over})


def joining(phone: str, **over) -> BoardJoinForm:
    return BoardJoinForm.parse({"phone": phone, "position": "member", "elected_on": "15/01/2026",
                           "election_ref": "Biên bản hội nghị thôn số 8", "decision_no": "32/QĐ-UBND",
                           "recognised_on": "20/01/2026", **over})


def member_row(db, board, user) -> BoardMember:
    return db.query(BoardMember).filter(BoardMember.board_id == board.id,
                                        BoardMember.user_id == user.id).one()


def grant_of(db, member: BoardMember) -> RoleGrant:
    return db.get(RoleGrant, member.grant_id)


def test_a_member_replaced_leaves_and_the_newcomer_takes_office_on_the_date_of_the_decision(db):
    commune, a, b, cat, users = world(db)
    board, members = make_board(db, commune, [a, b], users["admin"])
    admin = viewer(db, users["admin"])
    leaving = member_row(db, board, members[1])  # of village b
    newcomer = board_member(db, commune, b, 4, "Trần Văn Mới")
    new = boards.replace(db, admin, board.id, replacement(newcomer.phone, target_id=str(leaving.id)))
    assert (leaving.ends_on, leaving.end_reason) == (date(2026, 1, 20), "moved_away")
    assert grant_of(db, leaving).ends_on == date(2026, 1, 20)
    assert (new.starts_on, new.ends_on, new.replaces_id, new.village_id) == (date(2026, 1, 20), None,
                                                                            leaving.id, b.id)
    assert (new.decision_no, new.elected_on) == ("31/QĐ-UBND", date(2026, 1, 15))
    grant = grant_of(db, new)
    assert (grant.role, grant.starts_on, grant.ends_on, grant.user_id) == (
        "inspection_member", date(2026, 1, 20), date(2030, 12, 1), newcomer.id)
    # The day before the decision the leaving member is in office; from that day the newcomer is.
    item = make_item(db, commune, a, cat, stage="inspect")
    assert members[1].id in boards.inspecting(db, item, date(2026, 1, 19))[1]
    assert newcomer.id not in boards.inspecting(db, item, date(2026, 1, 19))[1]
    today = boards.inspecting(db, item, date(2026, 1, 20))[1]
    assert newcomer.id in today and members[1].id not in today and len(today) == 5
    event = [e for e in audit_events(db, commune.id) if e.action == "board_member_replaced"][-1]
    payload = json.loads(event.payload)
    assert (payload["replaces_id"], payload["reason"], payload["starts_on"]) == (leaving.id, "moved_away",
                                                                                "2026-01-20")
    assert "Trần Văn Mới" not in event.payload and newcomer.phone not in event.payload


def test_a_member_who_leaves_makes_the_board_not_complete_and_it_cannot_sign_off_until_a_new_member(db):
    commune, a, b, cat, users = world(db)
    board, members = make_board(db, commune, [a, b], users["admin"])
    admin = viewer(db, users["admin"])
    item = make_item(db, commune, a, cat, stage="inspect")
    ready(db, item, viewer(db, members[0]))
    boards.leave(db, admin, board.id, BoardLeaveForm.parse({
        "target_id": str(member_row(db, board, members[4]).id), "reason": "died", "left_on": "05/01/2026"}))
    view = boards.views(db, commune.id, board_id=board.id)[0]
    assert not view.complete and view.missing == ["A people's inspection board has at least 5 members."]
    assert [r.name for r in view.former] == ["Đỗ Thị Ban"] and len(view.members) == 4
    with pytest.raises(Conflict) as caught:
        sup.vote_sign_off(db, item, viewer(db, members[0]), SignOffVoteForm.parse({"vote": "agree"}))
    assert caught.value.message.startswith("This board is not complete")
    boards.join(db, admin, board.id, joining(board_member(db, commune, a, 4, "Trần Văn Mới").phone))
    assert boards.views(db, commune.id, board_id=board.id)[0].complete
    for n in range(2):
        assert sup.vote_sign_off(db, item, viewer(db, members[n]), SignOffVoteForm.parse({"vote": "agree"})) \
            is False
    assert sup.vote_sign_off(db, item, viewer(db, members[2]), SignOffVoteForm.parse({"vote": "agree"}))
    assert item.outcome == "done"


def test_the_majority_counts_the_members_in_office_and_an_agreement_of_a_member_who_left_no_longer_counts(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage="inspect")
    board, monitors = make_board(db, commune, [a], users["admin"], kind="investment", item=item, size=5)
    admin = viewer(db, users["admin"])
    m = [viewer(db, u) for u in monitors]
    ready(db, item, m[0])
    assert sup.vote_sign_off(db, item, m[0], SignOffVoteForm.parse({"vote": "agree"})) is False
    assert sup.vote_sign_off(db, item, m[1], SignOffVoteForm.parse({"vote": "agree"})) is False
    # Monitor 1 resigns: of the four in office, one agreed; three of four are needed.
    boards.leave(db, admin, board.id, BoardLeaveForm.parse({
        "target_id": str(member_row(db, board, monitors[1]).id), "reason": "resigned",
        "left_on": "05/01/2026"}))
    assert boards.inspecting(db, item)[1] == frozenset(u.id for u in monitors) - {monitors[1].id}
    assert sup.vote_sign_off(db, item, m[2], SignOffVoteForm.parse({"vote": "agree"})) is False
    assert item.stage == "inspect"
    assert sup.vote_sign_off(db, item, m[3], SignOffVoteForm.parse({"vote": "agree"})) is True
    payload = json.loads([e for e in audit_events(db) if e.action == "sign_off"][-1].payload)
    assert payload["members"] == 4
    assert payload["agreed_by"] == sorted(monitors[n].id for n in (0, 2, 3))


def test_a_project_board_ends_when_its_project_is_closed_and_the_commune_board_inspects_again(db):
    commune, a, b, cat, users = world(db)
    commune_board, _m = make_board(db, commune, [a, b], users["admin"])
    item = make_item(db, commune, a, cat, stage="inspect")
    board, monitors = make_board(db, commune, [a], users["admin"], kind="investment", item=item, size=3)
    admin = viewer(db, users["admin"])
    end = {"reason": "project_closed", "decision_no": "40/QĐ-UBND", "ended_on": "01/02/2026"}
    with pytest.raises(Invalid) as caught:
        boards.end_board(db, admin, board.id, EndBoardForm.parse(end))
    assert caught.value.errors == {"reason": "The project is not closed yet."}
    item.stage, item.outcome = "closed", "done"
    boards.end_board(db, admin, board.id, EndBoardForm.parse(end))
    assert (board.ended_on, board.end_reason) == (date(2026, 2, 1), "project_closed")
    assert {(m.ends_on, m.end_reason) for m in db.query(BoardMember).filter(BoardMember.board_id == board.id)
            } == {(date(2026, 2, 1), "board_ended")}
    assert {g.ends_on for g in db.query(RoleGrant).filter(RoleGrant.role == "investment_monitor")} == {
        date(2026, 2, 1)}
    assert boards.inspecting_board(db, item).id == commune_board.id
    # Ending twice, or a commune's board "because its project closed": refused, nothing changes.
    with pytest.raises(Conflict) as caught:
        boards.end_board(db, admin, board.id, EndBoardForm.parse({**end, "reason": "dissolved"}))
    assert caught.value.message == "This board has already ended."
    assert board.end_reason == "project_closed"
    with pytest.raises(Invalid) as caught:
        boards.end_board(db, admin, commune_board.id, EndBoardForm.parse(end))
    assert caught.value.errors == {"reason": "Only a project's board ends with its project."}
    assert db.get(Board, commune_board.id).ended_on is None
    with pytest.raises(Conflict):
        boards.join(db, admin, board.id, joining(board_member(db, commune, a, 4, "Trần Văn Mới").phone))


# --- bad input: refused with a message, nothing changed -----------------------------------------------------

def unchanged(db, board):
    return (count(db, BoardMember), count(db, RoleGrant),
            sorted((m.id, m.ends_on) for m in db.query(BoardMember).filter(BoardMember.board_id == board.id)))


def test_a_replacement_that_leaves_a_village_without_a_member_is_refused(db):
    commune, a, b, _cat, users = world(db)
    board, members = make_board(db, commune, [a, a, b, a, a], users["admin"])  # village b: members[2] only
    admin = viewer(db, users["admin"])
    from_a = board_member(db, commune, a, 5, "Trần Văn Mới")
    before = unchanged(db, board)
    with pytest.raises(Invalid) as caught:
        boards.replace(db, admin, board.id, replacement(
            from_a.phone, target_id=str(member_row(db, board, members[2]).id)))
    assert caught.value.errors["phone"].startswith("After this change a village would have no member")
    assert unchanged(db, board) == before
    # A newcomer from village b replaces them.
    from_b = board_member(db, commune, b, 5, "Trần Văn Tân")
    boards.replace(db, admin, board.id, replacement(from_b.phone,
                                                    target_id=str(member_row(db, board, members[2]).id)))
    assert boards.views(db, commune.id, board_id=board.id)[0].complete


def test_a_sixth_member_of_an_investment_board_is_refused(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage="do")
    board, _m = make_board(db, commune, [a], users["admin"], kind="investment", item=item, size=5)
    sixth = board_member(db, commune, a, 5, "Người Thứ Sáu")
    before = unchanged(db, board)
    with pytest.raises(Conflict) as caught:
        boards.join(db, viewer(db, users["admin"]), board.id, joining(sixth.phone))
    assert caught.value.message == "A community investment supervision board has at most 5 members."
    assert unchanged(db, board) == before


def test_a_recognition_dated_before_the_election_or_the_board_or_in_the_future_is_refused(db):
    commune, a, b, _cat, users = world(db)
    board, members = make_board(db, commune, [a, b], users["admin"])
    admin = viewer(db, users["admin"])
    phone = board_member(db, commune, a, 4, "Trần Văn Mới").phone
    target = str(member_row(db, board, members[0]).id)
    before = unchanged(db, board)
    for over, field, message in (
            ({"recognised_on": "10/01/2026"}, "recognised_on",
             "The recognition cannot come before the election."),
            ({"elected_on": "01/11/2025", "recognised_on": "05/12/2025"}, "recognised_on",
             "A change of members takes effect after the board's recognition."),
            ({"elected_on": "01/01/2099", "recognised_on": "02/01/2099"}, "elected_on",
             "This date is in the future.")):
        with pytest.raises(Invalid) as caught:
            boards.replace(db, admin, board.id, replacement(phone, target_id=target, **over))
        assert caught.value.errors[field] == message
        with pytest.raises(Invalid):
            boards.join(db, admin, board.id, joining(phone, **over))
    assert unchanged(db, board) == before


def test_a_member_replaced_by_a_person_not_on_the_register_is_refused(db):
    commune, a, b, _cat, users = world(db)
    board, members = make_board(db, commune, [a, b], users["admin"])
    admin = viewer(db, users["admin"])
    target = str(member_row(db, board, members[0]).id)
    no_household = make_user(db, commune=commune, name="Không Hộ Khẩu")
    before = unchanged(db, board)
    for phone in (no_household.phone, "0987111222"):
        with pytest.raises(Invalid) as caught:
            boards.replace(db, admin, board.id, replacement(phone, target_id=target))
        assert caught.value.errors == {
            "phone": "This person is not in the household register of the commune."}
    # A member of the board cannot replace another; an unknown member does not exist.
    with pytest.raises(Conflict) as conflict:
        boards.replace(db, admin, board.id, replacement(members[1].phone, target_id=target))
    assert conflict.value.message == "This person is already a member of this board."
    with pytest.raises(Invalid) as caught:
        boards.replace(db, admin, board.id, replacement(members[1].phone, target_id="99999"))
    assert caught.value.errors == {"target_id": "This member does not exist."}
    assert unchanged(db, board) == before
