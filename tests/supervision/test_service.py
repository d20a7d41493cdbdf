"""Dân kiểm tra services: inspections, findings and answers, outcomes, verdicts, reopening, the queue."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from civic import clock
from civic.errors import Conflict, Forbidden, Invalid
from civic.implementation import service as impl
from civic.implementation.schemas import ProgressForm
from civic.supervision import service as sup
from civic.supervision.models import Finding, Verdict
from civic.supervision.schemas import (
    AnswerForm,
    ChecklistEntryForm,
    FindingForm,
    MarkForm,
    RefuseReopenForm,
    ReopenRequestForm,
    SignOffVoteForm,
    VerdictForm,
)
from tests.boards.helpers import make_board
from tests.builders import (
    audit_events,
    count,
    households_of,
    make_item,
    make_representative,
    move,
    viewer,
    world,
)


def setup(db, stage="inspect"):
    """An item, and the commune's people's inspection board of 5: `su` is its first member (who inspects);
    users["board"] are all five, users["supervisor"] the commune official who reviews appeals."""
    commune, a, b, cat, users = world(db)
    _board, users["board"] = make_board(db, commune, [a, b], users["admin"])
    item = make_item(db, commune, a, cat, stage=stage)
    return commune, a, b, item, users, viewer(db, users["village_head"]), viewer(db, users["board"][0])


def official(db, users):
    return viewer(db, users["supervisor"])


def sign_off(db, item, users, majority=3):
    """Members agree one by one; the third of five signs the item off."""
    for n, member in enumerate(users["board"][:majority]):
        done = sup.vote_sign_off(db, item, viewer(db, member), SignOffVoteForm.parse({"vote": "agree"}))
        assert done is (n == majority - 1)


def mark_all(db, item, su, inspection, mark="ok"):
    for entry in sup.checklist(db, [inspection.id])[inspection.id]:
        sup.mark_entry(db, item, su, MarkForm.parse({"target_id": entry.id, "mark": mark}))


def finding(db, item, su, severity="serious", due=7):
    due_on = (clock.today_local() + timedelta(days=due)).isoformat()
    return sup.add_finding(db, item, su, FindingForm.parse(
        {"severity": severity, "text": "Tấm đan bị nứt ở đoạn cuối.", "due_on": due_on}))


def test_an_inspection_opens_with_the_default_checklist_which_can_be_edited(db):
    _c, _a, _b, item, _u, _sec, su = setup(db)
    ins = sup.open_new_inspection(db, item, su)
    labels = [e.label for e in sup.checklist(db, [ins.id])[ins.id]]
    assert labels == ["Done as decided", "Quality of the work", "Contributions used as recorded",
                      "Spending matches the documents", "Site clean and safe"]
    sup.add_checklist_entry(db, item, su, ChecklistEntryForm.parse({"label": "Biển công khai công trình"}))
    first = sup.checklist(db, [ins.id])[ins.id][0]
    sup.remove_checklist_entry(db, item, su, first.id)
    labels = [e.label for e in sup.checklist(db, [ins.id])[ins.id]]
    assert labels[0] == "Quality of the work" and labels[-1] == "Biển công khai công trình"
    with pytest.raises(Conflict):
        sup.open_new_inspection(db, item, su)


def test_only_a_member_of_the_board_opens_an_inspection_and_only_in_dan_kiem_tra(db):
    commune, a, _b, item, users, sec, su = setup(db)
    with pytest.raises(Forbidden):
        sup.open_new_inspection(db, item, sec)
    with pytest.raises(Forbidden):  # the commune official no longer inspects alone
        sup.open_new_inspection(db, item, official(db, users))
    do_item = make_item(db, commune, a, item_category(db), stage="do")
    with pytest.raises(Conflict):
        sup.open_new_inspection(db, do_item, su)


def item_category(db):
    from sqlalchemy import select

    from civic.items.models import Category

    return db.execute(select(Category)).scalars().first()


def test_sign_off_is_refused_while_a_serious_finding_is_open(db):
    _c, _a, _b, item, users, sec, su = setup(db)
    ins = sup.open_new_inspection(db, item, su)
    mark_all(db, item, su, ins)
    f = finding(db, item, su, "serious")
    finding(db, item, su, "note")
    with pytest.raises(Conflict):
        sup.vote_sign_off(db, item, su, SignOffVoteForm.parse({"vote": "agree"}))
    assert item.stage == "inspect"
    with pytest.raises(Conflict):  # not answered yet
        sup.resolve_finding(db, item, su, f.id)
    sup.answer_finding(db, item, sec,
                       AnswerForm.parse({"target_id": f.id, "answer": "Đã thay 3 tấm đan nứt ngày 12/3."}))
    sup.resolve_finding(db, item, su, f.id)
    sign_off(db, item, users)
    assert (item.stage, item.outcome) == ("closed", "done")
    assert sup.inspections(db, item)[0].result == "signed_off"


def test_sign_off_needs_an_open_inspection_with_every_entry_marked(db):
    _c, _a, _b, item, users, _sec, su = setup(db)
    with pytest.raises(Conflict):
        sup.vote_sign_off(db, item, su, SignOffVoteForm.parse({"vote": "agree"}))
    ins = sup.open_new_inspection(db, item, su)
    with pytest.raises(Conflict) as exc:
        sup.vote_sign_off(db, item, su, SignOffVoteForm.parse({"vote": "agree"}))
    assert exc.value.params == {"count": 5}
    mark_all(db, item, su, ins)
    sign_off(db, item, users)


def test_a_village_head_of_another_village_cannot_answer_a_finding(db):
    _c, _a, _b, item, users, _sec, su = setup(db)
    sup.open_new_inspection(db, item, su)
    f = finding(db, item, su)
    with pytest.raises(Forbidden):
        sup.answer_finding(db, item, viewer(db, users["other_head"]),
                           AnswerForm.parse({"target_id": f.id, "answer": "Tôi trả lời."}))
    assert f.answer == ""


def test_findings_need_a_severity_text_and_a_due_date_in_the_future(db):
    _c, _a, _b, item, _u, _sec, su = setup(db)
    sup.open_new_inspection(db, item, su)
    with pytest.raises(Invalid) as exc:
        sup.add_finding(db, item, su,
                        FindingForm.parse({"severity": "catastrophic", "text": "x", "due_on": "2000-01-01"}))
    assert set(exc.value.errors) == {"severity", "text", "due_on"}
    with pytest.raises(Invalid) as exc:
        finding(db, item, su, "needs_fixing", due=-1)
    assert set(exc.value.errors) == {"due_on"}
    assert count(db, Finding) == 0


def test_rework_sends_the_item_back_to_dan_lam_with_its_findings(db):
    _c, _a, _b, item, users, sec, su = setup(db)
    sup.open_new_inspection(db, item, su)
    with pytest.raises(Conflict):  # nothing recorded to fix
        move(db, item, "rework", official(db, users), {"reason": "Cần sửa lại mặt mương."})
    f = finding(db, item, su, "needs_fixing")
    move(db, item, "rework", official(db, users), {"reason": "Cần sửa lại mặt mương."})
    assert item.stage == "do"
    impl.post_progress(db, item, sec, ProgressForm.parse({"percent": "100", "text": "Đã sửa xong."}))
    move(db, item, "start_inspection", sec)
    assert sup.workflow_facts(db, item)["findings_open"] == 1  # the finding came back with the item
    assert f.resolved_at is None


def test_not_done_is_a_closure_with_a_reason(db):
    _c, _a, _b, item, users, sec, _bm = setup(db, stage="do")
    su = official(db, users)
    with pytest.raises(Forbidden):
        move(db, item, "close_not_done", sec, {"reason": "Không làm được."})
    with pytest.raises(Invalid):
        move(db, item, "close_not_done", su, {"reason": ""})
    move(db, item, "close_not_done", su, {"reason": "Không xin được đất, dừng thực hiện."})
    assert ((item.stage, item.outcome, item.close_reason)
            == ("closed", "not_done", "Không xin được đất, dừng thực hiện."))


def signed_off(db):
    commune, a, b, item, users, sec, bm = setup(db)
    ins = sup.open_new_inspection(db, item, bm)
    mark_all(db, item, bm, ins)
    sign_off(db, item, users)
    su = official(db, users)
    reps = [viewer(db, make_representative(db, commune, a, h)) for h in households_of(db, a)[:4]]
    return commune, a, b, item, users, sec, su, reps


def test_verdicts_once_per_household_within_30_days_and_their_totals(db):
    commune, a, b, item, users, sec, su, reps = signed_off(db)
    sup.give_verdict(db, item, reps[0],
                     VerdictForm.parse({"verdict": "done", "satisfaction": "5", "comment": "Tốt."}))
    sup.give_verdict(db, item, reps[1], VerdictForm.parse({"verdict": "partly", "satisfaction": "3"}))
    sup.give_verdict(db, item, reps[2], VerdictForm.parse({"verdict": "not_done", "satisfaction": "1"}))
    with pytest.raises(Conflict):
        sup.give_verdict(db, item, reps[0], VerdictForm.parse({"verdict": "not_done", "satisfaction": "1"}))
    with pytest.raises(Forbidden):  # a household of another village
        sup.give_verdict(db, item, viewer(db, make_representative(db, commune, b)),
                         VerdictForm.parse({"verdict": "done", "satisfaction": "4"}))
    with pytest.raises(Invalid):
        sup.give_verdict(db, item, reps[3], VerdictForm.parse({"verdict": "done", "satisfaction": "6"}))
    clock.freeze(clock.now() + timedelta(days=30, minutes=1))
    with pytest.raises(Conflict):
        sup.give_verdict(db, item, reps[3], VerdictForm.parse({"verdict": "done", "satisfaction": "4"}))
    t = sup.verdict_totals(db, item)
    assert ((t.count, t.by_verdict, t.average, t.households)
            == (3, {"done": 1, "partly": 1, "not_done": 1}, 3.0, 10))
    assert count(db, Verdict) == 3


def test_a_household_that_said_not_done_asks_to_reopen_and_a_supervisor_decides(db):
    commune, a, b, item, users, sec, su, reps = signed_off(db)
    sup.give_verdict(db, item, reps[0], VerdictForm.parse({"verdict": "done", "satisfaction": "4"}))
    sup.give_verdict(db, item, reps[1], VerdictForm.parse({"verdict": "not_done", "satisfaction": "1"}))
    with pytest.raises(Conflict):
        sup.ask_reopen(db, item, reps[0], ReopenRequestForm.parse({"reason": "Mương vẫn ngập."}))
    with pytest.raises(Conflict):
        move(db, item, "reopen", su, {"reason": "Kiểm tra lại."})
    sup.ask_reopen(db, item, reps[1], ReopenRequestForm.parse({"reason": "Đoạn cuối mương chưa làm."}))
    with pytest.raises(Conflict):
        sup.ask_reopen(db, item, reps[1], ReopenRequestForm.parse({"reason": "Lần nữa."}))
    with pytest.raises(Forbidden):
        move(db, item, "reopen", sec, {"reason": "Kiểm tra lại."})
    move(db, item, "reopen", su, {"reason": "Đoàn sẽ kiểm tra lại đoạn cuối."})
    assert (item.stage, item.outcome, item.closed_at) == ("inspect", None, None)
    assert sup.reopen_requests(db, item)[0].decision == "reopened"


def test_a_supervisor_may_refuse_to_reopen_with_a_reason(db):
    commune, a, b, item, users, sec, su, reps = signed_off(db)
    sup.give_verdict(db, item, reps[1], VerdictForm.parse({"verdict": "not_done", "satisfaction": "1"}))
    sup.ask_reopen(db, item, reps[1], ReopenRequestForm.parse({"reason": "Đoạn cuối mương chưa làm."}))
    sup.refuse_reopen(db, item, su,
                      RefuseReopenForm.parse({"reason": "Đoạn cuối thuộc dự án khác của xã."}))
    assert (item.stage, item.outcome) == ("closed", "done")
    with pytest.raises(Conflict):
        sup.refuse_reopen(db, item, su, RefuseReopenForm.parse({"reason": "Lần nữa."}))


def test_the_supervisors_queue(db):
    commune, a, b, item, users, sec, bm = setup(db)
    sup.open_new_inspection(db, item, bm)
    late = finding(db, item, bm, "needs_fixing", due=2)
    su = official(db, users)
    waiting = make_item(db, commune, a, item_category(db), stage="inspect")
    clock.freeze(clock.now() + timedelta(days=5))
    q = sup.queue(db, su)
    assert {i.code for i, _ in q.awaiting} == {item.code, waiting.code}
    assert [f.id for _, f in q.past_due] == [late.id]
    assert q.reopen == []
    assert sup.queue(db, sec).awaiting == []


def test_an_empty_checklist_field_opens_with_the_default_checklist(db):
    from civic.supervision.schemas import OpenInspectionForm

    _c, _a, _b, item, _u, _sec, su = setup(db)
    for sent in ({}, {"checklist": " \n "}, {"checklist": []}):
        assert OpenInspectionForm.parse(sent).checklist == []
    ins = sup.open_new_inspection(db, item, su, OpenInspectionForm.parse({}))
    assert len(sup.checklist(db, [ins.id])[ins.id]) == 5


# --- the people's board decides ---------------------------------------------------------------------------

def ready(db, item, su):
    ins = sup.open_new_inspection(db, item, su)
    mark_all(db, item, su, ins)
    return ins


def test_a_sign_off_by_one_member_of_five_is_refused_and_the_majority_of_all_members_signs_off(db):
    _c, _a, _b, item, users, _sec, su = setup(db)
    ready(db, item, su)
    with pytest.raises(Conflict) as caught:  # the move itself, by one member: refused with the count
        move(db, item, "sign_off", su)
    assert caught.value.params == {"agreed": 0, "members": 5, "needed": 3}
    board = [viewer(db, u) for u in users["board"]]
    assert sup.vote_sign_off(db, item, board[0], SignOffVoteForm.parse({"vote": "agree"})) is False
    with pytest.raises(Conflict) as caught:
        move(db, item, "sign_off", board[0])
    assert caught.value.params == {"agreed": 1, "members": 5, "needed": 3}
    # Two "no" and two "yes" of five: four voted, but two is not more than half of all five members.
    sup.vote_sign_off(db, item, board[1], SignOffVoteForm.parse({"vote": "disagree"}))
    sup.vote_sign_off(db, item, board[2], SignOffVoteForm.parse({"vote": "disagree"}))
    assert sup.vote_sign_off(db, item, board[3], SignOffVoteForm.parse({"vote": "agree"})) is False
    assert item.stage == "inspect"
    # A member changes their mind: the third "yes" of five signs it off.
    assert sup.vote_sign_off(db, item, board[1], SignOffVoteForm.parse({"vote": "agree"})) is True
    assert (item.stage, item.outcome) == ("closed", "done")
    event = [e for e in audit_events(db) if e.action == "sign_off"][-1]
    assert event.actor_role == "inspector"
    payload = json.loads(event.payload)
    assert payload["agreed_by"] == sorted([users["board"][n].id for n in (0, 1, 3)])
    assert payload["members"] == 5
    names = {(v.name, v.agree) for v in sup.votes(db, sup.inspections(db, item)[0].id)[0]}
    assert names == {("Lê Thị Thanh", True), ("Phạm Văn Tra", True), ("Hoàng Thị Nhân", False),
                     ("Vũ Văn Dân", True)}


def test_a_row_marked_not_met_blocks_the_sign_off_until_a_finding_covers_it(db):
    _c, _a, _b, item, users, _sec, su = setup(db)
    ins = ready(db, item, su)
    entry = sup.checklist(db, [ins.id])[ins.id][1]
    sup.mark_entry(db, item, su, MarkForm.parse({"target_id": entry.id, "mark": "not_ok",
                                                 "note": "Bê tông chưa đủ mác."}))
    with pytest.raises(Conflict) as caught:
        sup.vote_sign_off(db, item, su, SignOffVoteForm.parse({"vote": "agree"}))
    assert caught.value.params == {"count": 1}
    # A finding that does not name the entry does not cover it.
    finding(db, item, su, "note")
    with pytest.raises(Conflict):
        sup.vote_sign_off(db, item, su, SignOffVoteForm.parse({"vote": "agree"}))
    due_on = (clock.today_local() + timedelta(days=7)).isoformat()
    sup.add_finding(db, item, su, FindingForm.parse({"severity": "needs_fixing", "text": "Đổ lại đoạn 20 m.",
                                                     "due_on": due_on, "entry_id": str(entry.id)}))
    sign_off(db, item, users)
    assert item.outcome == "done"


def test_a_change_to_the_checklist_asks_the_members_again(db):
    _c, _a, _b, item, users, _sec, su = setup(db)
    ins = ready(db, item, su)
    board = [viewer(db, u) for u in users["board"]]
    for member in board[:2]:
        sup.vote_sign_off(db, item, member, SignOffVoteForm.parse({"vote": "agree"}))
    entry = sup.checklist(db, [ins.id])[ins.id][0]
    sup.mark_entry(db, item, su, MarkForm.parse({"target_id": entry.id, "mark": "not_applicable"}))
    assert sup.workflow_facts(db, item)["sign_off_agreed"] == 0
    marked = [json.loads(e.payload) for e in audit_events(db) if e.action == "checklist_marked"]
    assert marked[-1]["votes_cleared"] == 2
    assert sup.vote_sign_off(db, item, board[2], SignOffVoteForm.parse({"vote": "agree"})) is False


def test_a_project_board_inspects_its_project_and_the_commune_board_does_not(db):
    commune, a, _b, item, users, _sec, su = setup(db)
    _board, monitors = make_board(db, commune, [a], users["admin"], kind="investment", item=item, size=3)
    with pytest.raises(Forbidden):
        sup.open_new_inspection(db, item, su)  # a member of the commune's board
    m = [viewer(db, u) for u in monitors]
    ready(db, item, m[0])
    assert sup.vote_sign_off(db, item, m[0], SignOffVoteForm.parse({"vote": "agree"})) is False
    assert sup.vote_sign_off(db, item, m[1], SignOffVoteForm.parse({"vote": "agree"})) is True  # 2 of 3


def test_without_a_recognised_board_nobody_inspects_and_the_reason_is_given(db):
    commune, a, b, cat, users = world(db)
    _board, members = make_board(db, commune, [a, b], users["admin"], recognise=False)
    item = make_item(db, commune, a, cat, stage="inspect")
    with pytest.raises(Conflict) as caught:
        sup.open_new_inspection(db, item, viewer(db, members[0]))
    assert caught.value.message.startswith("No recognised people's board can inspect this item yet")
    with pytest.raises(Conflict):
        sup.open_new_inspection(db, item, viewer(db, users["supervisor"]))


def test_a_board_whose_term_ended_no_longer_inspects(db):
    commune, a, b, cat, users = world(db)
    _board, members = make_board(db, commune, [a, b], users["admin"], term_ends_on="2026-01-01")
    item = make_item(db, commune, a, cat, stage="inspect")
    clock.freeze(clock.now().replace(year=2026, month=3, day=1))
    with pytest.raises(Conflict):
        sup.open_new_inspection(db, item, viewer(db, members[0]))
