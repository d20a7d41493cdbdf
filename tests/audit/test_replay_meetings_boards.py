"""The audit replay of meetings and boards: a clean chain reconciles with the tables, and each field of a
meeting (its roll, clusters, chair, secretary and secret-ballot count), a board, a member's time in
office or a sign-off agreement edited with plain SQL behind the chain's back is reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from civic import clock
from civic.audit import service as audit
from civic.boards import service as boards
from civic.boards.models import BoardMember
from civic.boards.schemas import BoardJoinForm, BoardLeaveForm, BoardReplaceForm, EndBoardForm
from civic.deliberation import service as deliberation
from civic.deliberation.schemas import (
    CancelMeetingForm,
    ClusterForm,
    DecideForm,
    MoveMeetingForm,
    RecordMeetingForm,
    RollForm,
    ScheduleMeetingForm,
)
from civic.supervision import service as sup
from civic.supervision.models import SignOffVote
from civic.supervision.schemas import SignOffVoteForm
from tests.boards.helpers import board_member, make_board
from tests.builders import households_of, make_discuss_item, make_item, make_user, make_village, viewer, world
from tests.supervision.test_service import ready

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _at(moment: datetime) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def _schedule(db, item, sec, days=5):
    return deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
        "starts_at": _at(clock.now() + timedelta(days=days, minutes=1)), "place": "Nhà văn hoá",
        "agenda": "Bàn việc làm mương"}))


@pytest.fixture
def chain(db):
    """Meetings held (by cluster, secret ballot and its count), moved and cancelled; boards recognised,
    changed and ended; sign-off agreements: everything through the services, so the chain records it."""
    clock.freeze(T0)
    commune, a, b, cat, users = world(db)
    # Boards: the commune's, changed after its recognition; a project's, ended.
    admin = viewer(db, users["admin"])
    board, members = make_board(db, commune, [a, b], users["admin"])
    big = make_village(db, commune, "Thôn Lớn", 200)
    head = make_user(db, "village_head", commune=commune, village=big, name="Trưởng Thôn L")
    sec = viewer(db, head)
    item = make_discuss_item(db, commune, big, cat, head)
    held = _schedule(db, item, sec)
    deliberation.move_meeting(db, item, sec, MoveMeetingForm.parse({
        "meeting_id": str(held.id), "starts_at": _at(clock.now() + timedelta(days=5, hours=1)),
        "reason": "Trùng lịch bầu cử"}))
    cancelled = _schedule(db, item, sec, days=7)
    deliberation.cancel_meeting(db, item, sec, CancelMeetingForm.parse({
        "meeting_id": str(cancelled.id), "reason": "Bão số 3 về"}))
    clusters = [deliberation.add_cluster(db, item, sec, ClusterForm.parse({
        "meeting_id": str(held.id), "name": name, "chair_name": chair}))
        for name, chair in (("Xóm Trên", "Ông Tư"), ("Xóm Dưới", "Bà Năm"))]
    clock.advance(timedelta(days=6))
    ids = [str(h.id) for h in households_of(db, big)]
    for cluster, shown, ticked in ((clusters[0], ids[:100], ids[:70]),
                                   (clusters[1], ids[100:], ids[100:160])):
        deliberation.mark_roll(db, item, sec, RollForm.parse({
            "meeting_id": str(held.id), "shown": shown, "household": ticked, "cluster_id": str(cluster.id)}))
    deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse({
        "meeting_id": str(held.id), "minutes_taker_name": "Bà Lan", "secretary_votes": "100",
        "voting_mode": "secret_ballot", "counting_committee": "Ông An\nBà Bình\nÔng Cường"}))
    deliberation.decide(db, item, sec, DecideForm.parse({
        "method": "meeting_vote", "yes": "110", "no": "20", "abstain": "0", "ballots_issued": "130",
        "ballots_returned": "130", "ballots_valid": "130", "ballots_invalid": "0"}))
    rows = {u.id: db.query(BoardMember).filter(BoardMember.user_id == u.id).one() for u in members}
    dates = {"elected_on": "15/01/2026", "election_ref": "Biên bản số 7", "decision_no": "31/QĐ-UBND",
             "recognised_on": "20/01/2026"}
    replaced = boards.replace(db, admin, board.id, BoardReplaceForm.parse({
        **dates, "target_id": str(rows[members[1].id].id), "reason": "moved_away",
        "phone": board_member(db, commune, b, 4, "Trần Văn Tân").phone}))
    boards.join(db, admin, board.id, BoardJoinForm.parse({
        **dates, "phone": board_member(db, commune, a, 4, "Trần Văn Mới").phone}))
    boards.leave(db, admin, board.id, BoardLeaveForm.parse({
        "target_id": str(rows[members[4].id].id), "reason": "resigned", "left_on": "01/03/2026"}))
    project = make_item(db, commune, a, cat, stage="do")
    ended, _m = make_board(db, commune, [a], users["admin"], kind="investment", item=project, size=3)
    boards.end_board(db, admin, ended.id, EndBoardForm.parse({
        "reason": "dissolved", "decision_no": "40/QĐ-UBND", "ended_on": "01/02/2026"}))
    inspected = make_item(db, commune, a, cat, stage="inspect")
    ready(db, inspected, viewer(db, members[0]))
    for member in (members[0], members[2]):
        sup.vote_sign_off(db, inspected, viewer(db, member), SignOffVoteForm.parse({"vote": "agree"}))
    votes = sorted(v.id for v in db.query(SignOffVote))
    return {"db": db, "commune": commune, "set_stages": {project.id, inspected.id}, "held": held,
            "cancelled": cancelled, "cluster": clusters[0],
            "board": board, "ended": ended, "left": rows[members[4].id], "replaced": rows[members[1].id],
            "newcomer": replaced, "votes": votes}


def found(c) -> set[tuple[str, int, str]]:
    return {(d.table, d.row_id, d.field) for d in audit.reconcile(c["db"], c["commune"].id)}


def test_a_clean_chain_of_meetings_and_boards_reconciles_with_the_tables(chain):
    # The project and the inspected item were put in their stage by the builder, not by moves.
    assert found(chain) == {("item", n, "stage") for n in chain["set_stages"]}


# (table, which row, the SQL, the field reported)
EDITS = [
    ("meeting", "held", "UPDATE meeting SET households_present = 3 WHERE id = :id", "households_present"),
    ("meeting", "held", "UPDATE meeting SET households_total = 99 WHERE id = :id", "households_total"),
    ("meeting", "held", "UPDATE meeting SET quorum = false WHERE id = :id", "quorum"),
    ("meeting", "held", "UPDATE meeting SET people_present = 300 WHERE id = :id", "people_present"),
    ("meeting", "held", "UPDATE meeting SET by_cluster = false WHERE id = :id", "by_cluster"),
    ("meeting", "held", "UPDATE meeting SET recorded_at = NULL WHERE id = :id", "recorded"),
    ("meeting", "held", "UPDATE meeting SET starts_at = moved_from WHERE id = :id", "starts_at"),
    ("meeting", "held", "UPDATE meeting SET moved_from = starts_at WHERE id = :id", "moved_from"),
    ("meeting", "held", "UPDATE meeting SET revision = 0 WHERE id = :id", "revision"),
    ("meeting", "held", "UPDATE meeting SET place = 'Sân đình' WHERE id = :id", "place"),
    ("meeting", "held", "UPDATE meeting SET chair_name = 'Ông Khác' WHERE id = :id", "chair_name"),
    ("meeting", "held", "UPDATE meeting SET minutes_taker_name = 'Bà Khác' WHERE id = :id",
     "minutes_taker_name"),
    ("meeting", "held", "UPDATE meeting SET secretary_votes = 60 WHERE id = :id", "secretary_votes"),
    ("meeting", "held", "UPDATE meeting SET voting_mode = 'show_of_hands' WHERE id = :id", "voting_mode"),
    ("meeting", "held", "UPDATE meeting SET counting_committee = 'Ông An' WHERE id = :id",
     "counting_committee"),
    ("meeting", "held", "UPDATE meeting SET ballots_valid = 129, ballots_invalid = 1 WHERE id = :id",
     "ballots_valid"),
    ("meeting", "held", "UPDATE meeting SET ballots_issued = 131 WHERE id = :id", "ballots_issued"),
    ("meeting", "held", "DELETE FROM meeting_attendance WHERE id = (SELECT MAX(id) FROM meeting_attendance "
                        "WHERE meeting_id = :id)", "meeting_attendance rows"),
    ("meeting", "cancelled", "UPDATE meeting SET cancelled_at = NULL WHERE id = :id", "cancelled"),
    ("meeting", "cancelled", "UPDATE meeting SET cancel_reason = 'Khác' WHERE id = :id", "cancel_reason"),
    ("meeting_cluster", "cluster", "UPDATE meeting_cluster SET households_present = 1 WHERE id = :id",
     "households_present"),
    ("meeting_cluster", "cluster", "UPDATE meeting_cluster SET name = 'Xóm Giữa' WHERE id = :id", "name"),
    ("board", "board", "UPDATE board SET recognised_on = NULL WHERE id = :id", "recognised_on"),
    ("board", "board", "UPDATE board SET decision_no = '1/QĐ' WHERE id = :id", "decision_no"),
    ("board", "board", "UPDATE board SET term_ends_on = elected_on WHERE id = :id", "term_ends_on"),
    ("board", "board", "UPDATE board SET kind = 'investment' WHERE id = :id", "kind"),
    ("board", "ended", "UPDATE board SET ended_on = NULL WHERE id = :id", "ended_on"),
    ("board", "ended", "UPDATE board SET end_reason = 'project_closed' WHERE id = :id", "end_reason"),
    ("board_member", "left", "UPDATE board_member SET ends_on = NULL WHERE id = :id", "ends_on"),
    ("board_member", "left", "UPDATE board_member SET end_reason = 'died' WHERE id = :id", "end_reason"),
    ("board_member", "replaced", "UPDATE board_member SET ends_on = NULL WHERE id = :id", "ends_on"),
    ("board_member", "left", "UPDATE board_member SET starts_on = NULL WHERE id = :id", "starts_on"),
    ("board_member", "newcomer", "UPDATE board_member SET starts_on = '2025-12-10' WHERE id = :id",
     "starts_on"),
    ("board_member", "newcomer", "UPDATE board_member SET decision_no = '99/QĐ' WHERE id = :id",
     "decision_no"),
    ("board_member", "newcomer", "UPDATE board_member SET replaces_id = NULL WHERE id = :id", "replaces_id"),
    ("board_member", "newcomer", "UPDATE board_member SET village_id = (SELECT MIN(id) FROM village) "
                                 "WHERE id = :id", "village_id"),
    ("board_member", "newcomer", "UPDATE board_member SET user_id = (SELECT MIN(id) FROM \"user\") "
                                 "WHERE id = :id", "user_id"),
    ("sign_off_vote", "vote", "UPDATE sign_off_vote SET agree = false WHERE id = :id", "agree"),
    ("sign_off_vote", "vote", "DELETE FROM sign_off_vote WHERE id = :id", "row"),
]


def test_each_field_edited_behind_the_chain_s_back_is_reported(chain):
    """One chain, each edit in a savepoint rolled back after reconciling (the chain is built once)."""
    db, missed = chain["db"], []
    for table, which, sql, field in EDITS:
        row = chain["votes"][0] if which == "vote" else chain[which].id
        savepoint = db.begin_nested()
        db.execute(text(sql), {"id": row})
        if (table, row, field) not in found(chain):
            missed.append(sql)
        savepoint.rollback()
    assert missed == []
    assert found(chain) == {("item", n, "stage") for n in chain["set_stages"]}  # every edit was undone


def test_a_member_or_an_agreement_slipped_in_without_an_event_is_reported(chain):
    db = chain["db"]
    board = chain["board"]
    left = chain["left"]
    db.execute(text("INSERT INTO board_member (board_id, user_id, household_id, village_id, position, "
                    "added_at, starts_on, end_reason, election_ref, decision_no) SELECT :b, user_id, "
                    "household_id, village_id, 'member', added_at, '2026-03-02', '', '', '' "
                    "FROM board_member WHERE id = :m"), {"b": chain["ended"].id, "m": left.id})
    slipped = db.execute(text("SELECT MAX(id) FROM board_member")).scalar_one()
    db.execute(text("INSERT INTO sign_off_vote (inspection_id, board_id, user_id, agree, voted_at) "
                    "SELECT inspection_id, board_id, :u, true, voted_at FROM sign_off_vote WHERE id = :v"),
               {"u": left.user_id, "v": chain["votes"][0]})
    vote = db.execute(text("SELECT MAX(id) FROM sign_off_vote")).scalar_one()
    assert {("board_member", slipped, "row"), ("sign_off_vote", vote, "row")} <= found(chain)
    assert board.id != chain["ended"].id
