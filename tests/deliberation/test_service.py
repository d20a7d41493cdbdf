"""Dân biết and Dân bàn against a real database: disclosures and the period, comments, supports, meetings,
decisions and ballots, moving on. Time is moved with the clock, never by sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from civic import clock
from civic.audit.models import AuditEvent
from civic.db import run_write, unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Ballot, Comment, Decision, Disclosure, Meeting, Support
from civic.deliberation.schemas import (
    CommentForm,
    DecideForm,
    DisclosureForm,
    HideCommentForm,
    MinDisclosureDaysForm,
    PaperBallotForm,
    RecordMeetingForm,
    ScheduleMeetingForm,
    VoteForm,
)
from civic.errors import Conflict, Forbidden, Invalid
from civic.items.models import Item
from civic.workflow import service as workflow
from tests.builders import (
    count,
    disclose,
    front_agrees,
    hold_meeting,
    leave_register,
    make_discuss_item,
    make_household_rep,
    make_item,
    move,
    viewer,
    world,
)

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội

# The online ballot's records: the community agreed, the commune People's Committee and the Front were told.
AGREED = {"agreed_on": "2020-01-05", "agreement_ref": "Biên bản họp thôn 3/2020", "informed_on": "2020-01-06",
          "informed_ref": "CV 12/TB"}


@pytest.fixture
def w(db):
    clock.freeze(T0)
    commune, a, b, cat, users = world(db)
    return {"db": db, "commune": commune, "a": a, "b": b, "cat": cat, "users": users,
            "sec": viewer(db, users["village_head"])}


def _events(db) -> int:
    return count(db, AuditEvent)


# --- Dân biết -------------------------------------------------------------------------------------

def test_disclosure_period_with_time_moved_by_the_clock(w):
    db, sec = w["db"], w["sec"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    with pytest.raises(Conflict):  # no disclosure yet
        move(db, item, "open_discussion", sec, {"question": "Làm mương?", "matter": "1"})
    disclose(db, item, w["users"]["village_head"], days_ago=0)
    assert "open_discussion" not in workflow.allowed_actions(db, item, sec)
    clock.advance(timedelta(days=2, hours=14))  # 23:00 on the third day, local time
    with pytest.raises(Conflict) as exc:
        move(db, item, "open_discussion", sec, {"question": "Làm mương?", "matter": "1"})
    assert exc.value.params["date"] == T0.date() + timedelta(days=3)
    assert item.stage == "know"
    clock.advance(timedelta(hours=1, minutes=1))  # just past midnight: 3 days after the first disclosure
    assert "open_discussion" in workflow.allowed_actions(db, item, sec)
    move(db, item, "open_discussion", sec, {"question": "Làm mương?", "matter": "1"})
    assert item.stage == "discuss"


def test_the_category_sets_the_disclosure_days(w):
    db, sec = w["db"], w["sec"]
    w["cat"].min_disclosure_days = 10
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    # Posted nine days ago and still on the board: ten days covered only once the tenth day has passed.
    disclose(db, item, w["users"]["village_head"], days_ago=9,
             ends_on=(clock.today_local() + timedelta(days=5)).isoformat())
    assert not workflow.allowed_actions(db, item, sec, ) or "open_discussion" not in\
        workflow.allowed_actions(db, item, sec)
    clock.advance(timedelta(days=1))
    assert "open_discussion" in workflow.allowed_actions(db, item, sec)


def test_bad_disclosure_changes_nothing(w):
    db, sec = w["db"], w["sec"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    before = _events(db)
    with pytest.raises(Invalid) as exc:
        deliberation.add_disclosure(db, item, sec, DisclosureForm.parse({
            "channel": "loudspeaker", "place": "Loa", "starts_on": "2026-06-05", "ends_on": "2026-06-04"}))
    assert "ends_on" in exc.value.errors
    with pytest.raises(Forbidden):
        disclose(db, item, w["users"]["other_head"])
    assert count(db, Disclosure) == 0 and _events(db) == before


# --- comments and supports ------------------------------------------------------------------------

def test_comments_official_replies_and_hiding(w):
    db, sec = w["db"], w["sec"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    resident = viewer(db, w["users"]["resident"])
    c = deliberation.add_comment(db, item, resident, CommentForm.parse({
        "body": "Nên làm sớm trước mùa mưa."}))
    rude = deliberation.add_comment(db, item, resident, CommentForm.parse({"body": "Lời lẽ xúc phạm."}))
    reply = deliberation.add_comment(db, item, viewer(db, w["users"]["supervisor"]), CommentForm.parse({
        "body": "Đã ghi nhận."}))
    assert not c.official and reply.official and reply.author_role == "supervisor"
    with pytest.raises(Forbidden):
        deliberation.hide_comment(db, item, resident, HideCommentForm.parse({
            "comment_id": str(rude.id), "reason": "Xúc phạm"}))
    deliberation.hide_comment(db, item, sec, HideCommentForm.parse({
        "comment_id": str(rude.id), "reason": "Lời lẽ xúc phạm người khác"}))
    assert db.get(Comment, rude.id).body == "Lời lẽ xúc phạm."  # text kept
    public = deliberation.page_context(db, item, resident)
    shown = {x.id: x for x in public.comments}
    assert shown[rude.id].hidden and shown[rude.id].body is None
    assert shown[rude.id].hidden_reason == "Lời lẽ xúc phạm người khác"
    staff = deliberation.page_context(db, item, viewer(db, w["users"]["supervisor"]))
    assert {x.id: x for x in staff.comments}[rude.id].body == "Lời lẽ xúc phạm."
    with pytest.raises(Invalid):
        deliberation.add_comment(db, item, resident, CommentForm.parse({"body": " "}))


def test_comments_only_in_know_and_discuss(w):
    db = w["db"]
    item = make_item(db, w["commune"], w["a"], w["cat"])
    with pytest.raises(Conflict):
        deliberation.add_comment(db, item, viewer(db, w["users"]["resident"]), CommentForm.parse({
            "body": "Sớm quá"}))


def test_one_support_per_household(w):
    db = w["db"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    first = make_household_rep(db, w["a"], 0)
    same_house = make_household_rep(db, w["a"], 0, representative=False, name="Con")
    other = make_household_rep(db, w["a"], 1)
    deliberation.support(db, item, viewer(db, first))
    with pytest.raises(Conflict):
        deliberation.support(db, item, viewer(db, same_house))
    deliberation.support(db, item, viewer(db, other))
    with pytest.raises(Forbidden):  # not of a household of this village
        deliberation.support(db, item, viewer(db, w["users"]["resident"]))
    ctx = deliberation.page_context(db, item, viewer(db, same_house))
    assert (ctx.supports, ctx.households_total, ctx.supported, ctx.can_support) == (2, 10, True, False)
    nobody = deliberation.page_context(db, item, viewer(db, w["users"]["resident"]))  # of no household
    assert (nobody.supports, nobody.supported) == (2, False)


# --- meetings ---------------------------------------------------------------------------------------

def _schedule(db, item, sec, days=5):
    start = (clock.now() + timedelta(days=days, minutes=1)).astimezone(clock.LOCAL_TZ)
    return deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá",
        "agenda": "Bàn việc làm mương"}))


def test_meeting_notice_period_and_record(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    soon = (clock.now() + timedelta(days=4, hours=23)).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")
    with pytest.raises(Invalid) as exc:
        deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
            "starts_at": soon, "place": "Nhà văn hoá", "agenda": "Bàn việc làm mương"}))
    assert "starts_at" in exc.value.errors
    meeting = _schedule(db, item, sec)
    assert deliberation.page_context(db, item, sec).meetings[0].days_left == 6
    record = {"meeting_id": str(meeting.id), "minutes_taker_name": "Bà Lan", "secretary_votes": "6",
              "voting_mode": "show_of_hands"}
    with pytest.raises(Conflict):  # it has not taken place yet
        deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse(record))
    clock.advance(timedelta(days=6))
    with pytest.raises(Invalid) as exc:  # nobody on the roll yet
        deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse(record))
    assert "roll" in exc.value.errors
    hold_meeting(db, item, sec, meeting, 6)
    assert (meeting.households_total, meeting.households_present, meeting.quorum) == (10, 6, True)
    assert meeting.chair_name == "Trưởng Thôn A"  # the village head chairs
    with pytest.raises(Conflict):
        deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse(record))


def test_meeting_vote_valid_only_with_quorum(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    meeting = _schedule(db, item, sec)
    clock.advance(timedelta(days=6))
    hold_meeting(db, item, sec, meeting, 5)
    assert meeting.quorum is False  # 5 of 10 is not more than half
    with pytest.raises(Conflict):
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "meeting_vote", "yes": "5", "no": "0", "abstain": "0"}))
    assert count(db, Decision) == 0


@pytest.mark.parametrize(("yes", "passed"), [("5", False), ("6", True)])
def test_meeting_vote_passes_above_half_of_all_households(w, yes, passed):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    meeting = _schedule(db, item, sec)
    clock.advance(timedelta(days=6))
    hold_meeting(db, item, sec, meeting, 8)
    with pytest.raises(Invalid):  # 9 votes from 8 households present
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "meeting_vote", "yes": yes, "no": "3", "abstain": "1"}))
    d = deliberation.decide(db, item, sec, DecideForm.parse({
        "method": "meeting_vote", "yes": yes, "no": "2", "abstain": "0"}))
    assert (d.passed, d.households_total, d.yes) == (passed, 10, int(yes))
    action = "start_work" if passed else "close_not_approved"
    assert action in workflow.allowed_actions(db, item, sec)
    move(db, item, action, sec)
    if passed:
        assert item.stage == "do"
    else:
        assert (item.stage, item.outcome) == ("closed", "not_approved")
        assert "5/10" in item.close_reason


def test_paper_ballot_one_per_household_and_close(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    codes = [f"H{n:04d}" for n in range(6)]
    for code in codes:
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": code, "choice": "yes"}))
    with pytest.raises(Conflict):
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": "h0000", "choice": "no"}))
    with pytest.raises(Invalid):
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": "X9999", "choice": "no"}))
    with pytest.raises(Invalid):
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": "H0009", "choice": "maybe"}))
    assert count(db, Ballot) == 6
    d = deliberation.close_count(db, item, sec)
    assert (d.yes, d.households_total, d.passed) == (6, 10, True)
    with pytest.raises(Conflict):  # counted once
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": "H0009", "choice": "no"}))


def test_online_ballot_refused_for_contribution_items(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"],
                             asks_contribution=True)
    before = _events(db)
    with pytest.raises(Conflict):
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "online_ballot", "opens_on": "2026-06-10", "closes_on": "2026-06-12",
            **AGREED}))
    with pytest.raises(Conflict):
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "authority", "document_no": "12/QĐ-UBND", "document_text": "Đồng ý thực hiện."}))
    assert count(db, Decision) == 0 and _events(db) == before


def test_online_ballot_between_two_dates_changeable_until_close(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"],
                             asks_contribution=False)
    front_agrees(db, item)
    with pytest.raises(Invalid):  # no dated records of the community's agreement
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "online_ballot", "opens_on": "2026-06-02", "closes_on": "2026-06-04"}))
    deliberation.decide(db, item, sec, DecideForm.parse({"method": "online_ballot", "opens_on": "2026-06-02",
                                        "closes_on": "2026-06-04", **AGREED}))
    reps = [make_household_rep(db, w["a"], n) for n in range(7)]
    member = make_household_rep(db, w["a"], 7, representative=False)
    with pytest.raises(Conflict):  # not open yet
        deliberation.cast_online_ballot(db, item, viewer(db, reps[0]), VoteForm.parse({"choice": "yes"}))
    clock.freeze(datetime(2026, 6, 2, 0, 0, tzinfo=clock.LOCAL_TZ))
    for r in reps:
        deliberation.cast_online_ballot(db, item, viewer(db, r), VoteForm.parse({"choice": "no"}))
    deliberation.cast_online_ballot(db, item, viewer(db, reps[0]), VoteForm.parse({
        "choice": "yes"}))  # changed
    with pytest.raises(Forbidden):
        deliberation.cast_online_ballot(db, item, viewer(db, member), VoteForm.parse({"choice": "yes"}))
    with pytest.raises(Conflict):  # the close is after the last day
        deliberation.close_count(db, item, sec)
    assert deliberation.tally(db, item.id and deliberation.open_decision(db, item).id) ==\
        {"yes": 1, "no": 6, "abstain": 0}
    clock.freeze(datetime(2026, 6, 5, 0, 0, tzinfo=clock.LOCAL_TZ))
    with pytest.raises(Conflict):
        deliberation.cast_online_ballot(db, item, viewer(db, reps[1]), VoteForm.parse({"choice": "yes"}))
    d = deliberation.close_count(db, item, sec)
    assert (d.yes, d.no, d.households_total, d.passed) == (1, 6, 10, False)
    move(db, item, "close_not_approved", sec)
    assert item.outcome == "not_approved"


def test_authority_decision_for_a_plain_concern(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"],
                             asks_contribution=False)
    with pytest.raises(Invalid):
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "authority", "document_no": "", "document_text": ""}))
    d = deliberation.decide(db, item, sec, DecideForm.parse({
        "method": "authority", "document_no": "12/QĐ-UBND",
        "document_text": "UBND xã sửa đèn bằng ngân sách xã."}))
    assert d.passed
    with pytest.raises(Conflict):  # decided once
        deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    move(db, item, "start_work", sec)
    assert item.stage == "do"


def test_decision_in_the_wrong_stage_is_refused(w):
    db, sec = w["db"], w["sec"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    with pytest.raises(Conflict):
        deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    assert count(db, Decision) == 0


def test_the_denominator_follows_the_register_on_the_decision_date(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    from civic.areas.models import Household

    leaving = db.execute(Household.__table__.select().where(Household.village_id == w["a"].id)
                         .order_by(Household.id.desc()).limit(2)).all()
    for row in leaving:
        db.get(Household, row.id).active_to = clock.today_local()  # left today: 8 in the register
    deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    for n in range(5):
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": f"H{n:04d}", "choice": "yes"}))
    d = deliberation.close_count(db, item, sec)
    assert (d.yes, d.households_total, d.passed) == (5, 8, True)  # 5 of 10 would not pass; 5 of 8 does


def test_ballots_of_households_that_left_before_the_count_do_not_count(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    for n in range(6):
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
            "household_code": f"H{n:04d}", "choice": "yes"}))
    left_on = clock.today_local() + timedelta(days=1)
    leave_register(db, w["a"], [f"H{n:04d}" for n in range(1, 6)] + ["H0009"], left_on)  # 6 of 10 leave
    clock.advance(timedelta(days=2))
    before = _events(db)
    d = deliberation.close_count(db, item, sec)
    assert (d.yes, d.households_present, d.households_total, d.passed) == (1, 1, 4, False)
    excluded = deliberation.excluded_ballots(db, d)
    assert [(e.household_code, e.reason, e.on) for e in excluded] ==\
        [(f"H{n:04d}", "left", left_on) for n in range(1, 6)]
    assert _events(db) == before + 1


def test_a_household_cannot_leave_before_it_joined_or_twice(w):
    db = w["db"]
    with pytest.raises(Invalid):
        leave_register(db, w["a"], ["H0000"], date(2019, 1, 1))
    leave_register(db, w["a"], ["H0000"], date(2026, 5, 1))
    with pytest.raises(Conflict):
        leave_register(db, w["a"], ["H0000"], date(2026, 5, 20))


def test_a_disclosure_before_the_item_was_accepted_is_refused_and_changes_nothing(w):
    db = w["db"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    before = _events(db)
    with pytest.raises(Invalid) as exc:
        disclose(db, item, w["users"]["village_head"], days_ago=3, backdate=False)
    assert "starts_on" in exc.value.errors and exc.value.params["date"] == clock.today_local().isoformat()
    assert count(db, Disclosure) == 0 and _events(db) == before


def test_a_one_day_posting_never_opens_the_discussion(w):
    db, sec = w["db"], w["sec"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    today = clock.today_local().isoformat()
    disclose(db, item, w["users"]["village_head"], days_ago=0, ends_on=today)
    clock.advance(timedelta(days=10))
    with pytest.raises(Conflict) as exc:
        move(db, item, "open_discussion", sec, {"question": "Làm mương?", "matter": "1"})
    assert "do not yet cover" in exc.value.message and item.stage == "know"
    # Two more days on the board continue the first: three consecutive days, ready the day after.
    start = clock.today_local() - timedelta(days=9)
    disclose(db, item, w["users"]["village_head"], days_ago=9,
             ends_on=(start + timedelta(days=1)).isoformat())
    move(db, item, "open_discussion", sec, {"question": "Làm mương?", "matter": "1"})
    assert item.stage == "discuss"


def test_the_category_minimum_is_at_least_one_day(w):
    db = w["db"]
    admin = viewer(db, w["users"]["admin"])
    with pytest.raises(Invalid) as exc:
        MinDisclosureDaysForm.parse({"days": "0"})
    assert "days" in exc.value.errors
    w["cat"].code = "village_convention"
    with pytest.raises(Invalid) as exc:
        deliberation.set_min_disclosure_days(db, admin, w["cat"].id,
                                             MinDisclosureDaysForm.parse({"days": "7"}))
    assert exc.value.params["days"] == 30 and w["cat"].min_disclosure_days == 3
    deliberation.set_min_disclosure_days(db, admin, w["cat"].id,
                                         MinDisclosureDaysForm.parse({"days": "30"}))
    assert w["cat"].min_disclosure_days == 30


# --- one ballot per household under concurrent submissions --------------------------------------------

def _committed_discuss_item(asks_contribution: bool):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        item = make_discuss_item(db, commune, a, cat, users["village_head"],
                                 asks_contribution=asks_contribution)
        rep = make_household_rep(db, a, 0)
        other_phone = make_household_rep(db, a, 0, name="Vợ")  # a second representative of the same household
        return item.code, users["village_head"].id, rep.id, other_phone.id


def _twice_at_once(fn):
    barrier = threading.Barrier(2)
    results: list = []

    def run(arg):
        barrier.wait()
        try:
            results.append(run_write(lambda db: fn(db, arg)))
        except Exception as exc:  # noqa: BLE001 - the loser's answer is what we check
            results.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_paper_ballots_of_one_household_at_once_count_once():
    code, sec_id, _rep, _other = _committed_discuss_item(True)
    from civic.accounts.service import load_viewer

    with unit_of_work(write=True) as db:
        item = db.execute(Item.__table__.select().where(Item.code == code)).one()
        deliberation.decide(db, db.get(Item, item.id), load_viewer(db, sec_id), DecideForm.parse({
            "method": "paper_ballot"}))

    def enter(db, n):
        it = db.execute(Item.__table__.select().where(Item.code == code)).one()
        form = PaperBallotForm.parse({"household_code": "H0000", "choice": "yes" if n else "no"})
        return deliberation.enter_paper_ballot(db, db.get(Item, it.id), load_viewer(db, sec_id), form)

    results = _twice_at_once(enter)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], Conflict), results
    with unit_of_work() as db:
        assert count(db, Ballot) == 1


def test_two_online_ballots_of_one_household_at_once_count_once():
    code, sec_id, rep, other = _committed_discuss_item(False)
    from civic.accounts.service import load_viewer

    with unit_of_work(write=True) as db:
        it = db.execute(Item.__table__.select().where(Item.code == code)).one()
        today = clock.today_local()
        front_agrees(db, db.get(Item, it.id))
        deliberation.decide(db, db.get(Item, it.id), load_viewer(db, sec_id), DecideForm.parse({
            "method": "online_ballot", "opens_on": today.isoformat(), "closes_on": today.isoformat(),
            **AGREED}))

    def vote(db, n):
        it = db.execute(Item.__table__.select().where(Item.code == code)).one()
        return deliberation.cast_online_ballot(db, db.get(Item, it.id), load_viewer(db, (rep, other)[n]),
                                               VoteForm.parse({"choice": "yes"}))

    results = _twice_at_once(vote)
    assert not [r for r in results if isinstance(r, Exception)], results
    with unit_of_work() as db:
        assert count(db, Ballot) == 1


def test_the_unique_key_itself_refuses_a_second_ballot(w):
    """Whatever the code path, the database holds at most one ballot per household and decision."""
    from sqlalchemy.exc import IntegrityError

    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    d = deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    b = deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
        "household_code": "H0001", "choice": "yes"}))
    with pytest.raises(IntegrityError):
        with db.begin_nested():
            db.add(Ballot(decision_id=d.id, household_id=b.household_id, choice="no", cast_at=clock.now(),
                          updated_at=clock.now()))
            db.flush()
    assert count(db, Ballot) == 1


def test_no_personal_vote_in_the_chain(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({
        "household_code": "H0001", "choice": "no"}))
    events = db.execute(AuditEvent.__table__.select().where(AuditEvent.action == "ballot_entered")).all()
    assert len(events) == 1 and '"no"' not in events[0].payload and "household" not in events[0].payload
    assert count(db, Support) == 0 and count(db, Meeting) == 0
