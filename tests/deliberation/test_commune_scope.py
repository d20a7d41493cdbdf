"""A matter of the whole commune against a real database: the commune opens it, each village head holds and
records the own village's meeting (or household ballot) once, the commune adds the results up on one decision
date against every household of the commune (Law 10/2022/QH15 Art. 15(1), 21)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.areas.models import Household
from civic.audit.models import AuditEvent
from civic.deliberation import service as deliberation
from civic.deliberation.models import Decision, Discussion, MeetingAttendance, VillageResult
from civic.deliberation.schemas import (
    CommuneDecisionForm,
    DecideForm,
    RollForm,
    ScheduleMeetingForm,
    VillageResultForm,
)
from civic.errors import Conflict, Forbidden, Invalid
from tests.builders import count, disclose, hold_meeting, leave_register, make_item, move, viewer, world

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
REASON = "Thôn Tân Tiến bị ngập lụt, không tổ chức họp được."


@pytest.fixture
def w(db):
    clock.freeze(T0)
    commune, a, b, cat, users = world(db)  # villages A and B of 10 households each
    return {"db": db, "commune": commune, "a": a, "b": b, "cat": cat, "users": users,
            "head_a": viewer(db, users["village_head"]), "head_b": viewer(db, users["other_head"]),
            "supervisor": viewer(db, users["supervisor"]), "admin": viewer(db, users["admin"])}


def _events(db) -> int:
    return count(db, AuditEvent)


def _payload(event: AuditEvent) -> dict:
    return json.loads(event.payload) if isinstance(event.payload, str) else event.payload


def _last_event(db) -> AuditEvent:
    return db.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()


OPEN = {"question": "Góp tiền làm đường trục xã?", "matter": "1", "scope": "commune",
        "money_amount": "1.500.000"}


def _know_item(w):
    item = make_item(w["db"], w["commune"], w["a"], w["cat"], stage="know")
    disclose(w["db"], item, w["users"]["village_head"], days_ago=3)
    return item


def _commune_item(w, opener="supervisor"):
    item = _know_item(w)
    move(w["db"], item, "open_discussion", w[opener], OPEN)
    return item


def _schedule(w, item, head, village=None):
    start = (clock.now() + timedelta(days=5, minutes=1)).astimezone(clock.LOCAL_TZ)
    data = {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá", "agenda": "Bàn làm đường"}
    if village is not None:
        data["village_id"] = str(village.id)
    return deliberation.schedule_meeting(w["db"], item, head, ScheduleMeetingForm.parse(data))


def _met(w, item, present_a=10, present_b=10):
    """Both villages hold their meeting for the item; returns the two meetings."""
    ma, mb = _schedule(w, item, w["head_a"]), _schedule(w, item, w["head_b"])
    clock.freeze(T0 + timedelta(days=6))
    hold_meeting(w["db"], item, w["head_a"], ma, present_a)
    hold_meeting(w["db"], item, w["head_b"], mb, present_b)
    return ma, mb


def _result(w, item, head, meeting, yes, no=0, abstain=0):
    return deliberation.record_village_result(w["db"], item, head, VillageResultForm.parse({
        "method": "meeting_vote", "meeting_id": str(meeting.id), "yes": str(yes), "no": str(no),
        "abstain": str(abstain)}))


def _close(w, item, who="supervisor", reason=""):
    return deliberation.close_commune_decision(w["db"], item, w[who], CommuneDecisionForm.parse(
        {"reason": reason}))


# --- who opens it ---------------------------------------------------------------------------------------

def test_the_commune_opens_a_commune_wide_matter_and_a_village_head_cannot(w):
    db = w["db"]
    item = _know_item(w)
    before = _events(db)
    with pytest.raises(Forbidden, match="decided by the commune"):
        move(db, item, "open_discussion", w["head_a"], OPEN)
    assert item.stage == "know" and count(db, Discussion) == 0 and _events(db) == before
    with pytest.raises(Forbidden, match="opened by the village head"):
        move(db, item, "open_discussion", w["supervisor"], {**OPEN, "scope": "village"})
    assert item.stage == "know" and count(db, Discussion) == 0 and _events(db) == before
    move(db, item, "open_discussion", w["admin"], OPEN)
    assert item.stage == "discuss"
    d = db.execute(select(Discussion).where(Discussion.item_id == item.id)).scalar_one()
    assert (d.scope, d.matter, d.opened_by_id) == ("commune", 1, w["users"]["admin"].id)


def test_a_village_head_cannot_decide_a_commune_wide_matter_alone(w):
    db = w["db"]
    item = _commune_item(w)
    before = _events(db)
    with pytest.raises(Conflict, match="decided by the commune"):
        deliberation.decide(db, item, w["head_a"], DecideForm.parse({"method": "paper_ballot"}))
    assert count(db, Decision) == 0 and _events(db) == before


# --- each village's meeting ---------------------------------------------------------------------------------

def test_each_village_head_holds_the_own_villages_meeting_with_the_own_villages_roll(w):
    db = w["db"]
    item = _commune_item(w)
    ma, mb = _schedule(w, item, w["head_a"]), _schedule(w, item, w["head_b"])
    assert (ma.village_id, mb.village_id) == (w["a"].id, w["b"].id)
    with pytest.raises(Forbidden):  # the head of B does not convene a meeting of A
        _schedule(w, item, w["head_b"], village=w["a"])
    clock.freeze(T0 + timedelta(days=6))
    b_households = [str(h) for h in db.execute(select(Household.id).where(Household.village_id == w["b"].id)
                                               .order_by(Household.code).limit(2)).scalars()]
    before = _events(db)
    with pytest.raises(Invalid, match="not of this village's register"):  # a household of B on A's roll
        deliberation.mark_roll(db, item, w["head_a"], RollForm.parse({
            "meeting_id": str(ma.id), "shown": b_households, "household": b_households}))
    with pytest.raises(Forbidden):  # the head of A does not tick B's roll
        deliberation.mark_roll(db, item, w["head_a"], RollForm.parse({
            "meeting_id": str(mb.id), "shown": b_households, "household": b_households}))
    assert count(db, MeetingAttendance) == 0 and _events(db) == before
    hold_meeting(db, item, w["head_b"], mb, 7)
    assert (mb.households_present, mb.households_total, mb.quorum) == (7, 10, True)


def test_a_village_records_its_result_once_and_only_its_own_head_records_it(w):
    db = w["db"]
    item = _commune_item(w)
    ma, mb = _met(w, item)
    with pytest.raises(Forbidden, match="Only the village head of that village"):
        _result(w, item, w["head_a"], mb, 5)
    with pytest.raises(Invalid) as exc:  # more votes than households represented
        _result(w, item, w["head_a"], ma, 8, 3)
    assert "yes" in exc.value.errors
    assert count(db, VillageResult) == 0
    row = _result(w, item, w["head_a"], ma, 9, 1)
    assert (row.village_id, row.households_total, row.households_present, row.yes, row.no) ==\
        (w["a"].id, 10, 10, 9, 1)
    event = _last_event(db)
    assert event.action == "village_result_recorded" and event.item_id == item.id
    assert _payload(event)["in_favour"] == 9 and _payload(event)["village"] == "Hưng Đạo"
    before = _events(db)
    with pytest.raises(Conflict, match="already been recorded"):
        _result(w, item, w["head_a"], ma, 10)
    with pytest.raises(Conflict, match="already been recorded"):  # by paper ballot neither
        deliberation.record_village_result(db, item, w["head_a"], VillageResultForm.parse({
            "method": "paper_ballot", "returned": "10", "yes": "10", "no": "0", "abstain": "0"}))
    assert count(db, VillageResult) == 1 and _events(db) == before and row.yes == 9


def test_a_paper_ballot_returns_no_more_ballots_than_the_village_has_households(w):
    db = w["db"]
    item = _commune_item(w)
    form = VillageResultForm.parse({"method": "paper_ballot", "returned": "11", "yes": "11", "no": "0",
                                    "abstain": "0"})
    with pytest.raises(Invalid) as exc:
        deliberation.record_village_result(db, item, w["head_b"], form)
    assert "returned" in exc.value.errors and count(db, VillageResult) == 0
    row = deliberation.record_village_result(db, item, w["head_b"], VillageResultForm.parse({
        "method": "paper_ballot", "returned": "9", "yes": "8", "no": "1", "abstain": "0"}))
    assert (row.village_id, row.method, row.households_present, row.yes) == (w["b"].id, "paper_ballot", 9, 8)


# --- the commune adds up ------------------------------------------------------------------------------

def test_only_a_commune_official_closes_and_not_while_a_village_has_not_reported_without_a_reason(w):
    db = w["db"]
    item = _commune_item(w)
    ma, _mb = _met(w, item)
    _result(w, item, w["head_a"], ma, 10)
    before = _events(db)
    with pytest.raises(Forbidden):
        _close(w, item, "head_a", REASON)
    with pytest.raises(Invalid) as exc:
        _close(w, item, reason="")
    assert "reason" in exc.value.errors and "Tân Tiến" in exc.value.params["villages"]
    assert count(db, Decision) == 0 and _events(db) == before and item.stage == "discuss"
    d = _close(w, item, reason=REASON)
    # B did not report: no household in favour. 10 of the commune's 20 is not two thirds.
    assert (d.method, d.scope, d.threshold, d.rule_secondary) ==\
        ("village_results", "commune", "two_thirds", True)
    assert (d.households_total, d.households_present, d.yes, d.passed) == (20, 10, 10, False)
    assert d.unreported_reason == REASON and d.decided_on == date(2026, 6, 7)
    lines = deliberation.village_results_of(db, d)
    assert [(x.name, x.households, x.present, x.yes, x.reported) for x in lines] ==\
        [("Hưng Đạo", 10, 10, 10, True), ("Tân Tiến", 10, 0, 0, False)]
    event = _last_event(db)
    payload = _payload(event)
    assert event.action == "decision_recorded" and event.actor_role == "supervisor"
    assert payload["unreported_reason"] == REASON and payload["households"] == 20
    assert [v["reported"] for v in payload["villages"]] == [True, False]
    assert "phone" not in json.dumps(payload) and "Trưởng Thôn" not in json.dumps(payload)
    move(db, item, "close_not_approved", w["head_a"])
    assert item.outcome == "not_approved" and "20" in item.close_reason


def test_exactly_the_threshold_passes_and_the_threshold_minus_one_does_not(w):
    """Two thirds of the commune's 20 households is 14 (14 × 3 = 42 ≥ 40); 13 is one short."""
    db = w["db"]
    item = _commune_item(w)
    ma, mb = _met(w, item)
    _result(w, item, w["head_a"], ma, 10)
    _result(w, item, w["head_b"], mb, 3, 7)
    d = _close(w, item)
    assert (d.yes, d.households_total, d.passed) == (13, 20, False)
    with pytest.raises(Conflict, match="already been decided"):
        _close(w, item, "admin")

    other = _commune_item(w)
    clock.freeze(T0)
    ma, mb = _met(w, other)
    _result(w, other, w["head_a"], ma, 10)
    _result(w, other, w["head_b"], mb, 4, 6)
    d = _close(w, other, "admin")
    assert (d.yes, d.households_total, d.passed) == (14, 20, True)
    assert _last_event(db).actor_role == "admin"
    move(db, other, "start_work", w["head_a"])
    assert other.stage == "do"
    deliberation.check_pledge_allowed(db, other)  # a contribution decided by the households


def test_a_household_counts_only_if_on_the_register_on_the_decision_date(w):
    """Two households of A's roll leave the register after the meeting, before the commune adds up: A counts
    8 households (register and roll), its 10 hands in favour count as 8."""
    db = w["db"]
    item = _commune_item(w)
    ma, mb = _met(w, item)
    _result(w, item, w["head_a"], ma, 10)
    _result(w, item, w["head_b"], mb, 6, 4)
    leave_register(db, w["a"], ["H0008", "H0009"], date(2026, 6, 8))
    clock.freeze(T0 + timedelta(days=8))
    d = _close(w, item)
    lines = {x.name: x for x in deliberation.village_results_of(db, d)}
    assert (lines["Hưng Đạo"].households, lines["Hưng Đạo"].present, lines["Hưng Đạo"].yes) == (8, 8, 8)
    assert (d.households_total, d.households_present, d.yes) == (18, 18, 14)
    assert d.passed  # 14 of 18: 42 ≥ 36


def test_the_running_total_on_the_status_page(w):
    db = w["db"]
    item = _commune_item(w)
    ma, _mb = _met(w, item)
    _result(w, item, w["head_a"], ma, 9, 1)
    view = deliberation.page_context(db, item, w["head_b"])
    assert view.commune is not None and not view.commune.decided
    assert (view.commune.tally.reported, view.commune.tally.yes, view.commune.tally.households) == (1, 9, 20)
    assert view.commune.to_report == [(w["b"].id, "Tân Tiến")] and not view.commune.can_close
    assert view.desk_link and view.meeting_villages == [(w["b"].id, "Tân Tiến")]
    assert deliberation.page_context(db, item, w["supervisor"]).commune.can_close


def test_a_village_meeting_by_secret_ballot_gives_its_counting_committees_figures(w):
    db = w["db"]
    item = _commune_item(w)
    ma, mb = _schedule(w, item, w["head_a"]), _schedule(w, item, w["head_b"])
    clock.freeze(T0 + timedelta(days=6))
    hold_meeting(db, item, w["head_b"], mb, 8, voting_mode="secret_ballot",
                 counting_committee="Ông Tâm\nBà Hoa\nAnh Minh")
    base = {"method": "meeting_vote", "meeting_id": str(mb.id), "yes": "6", "no": "1", "abstain": "0"}
    issued = {"ballots_issued": "8", "ballots_returned": "8", "ballots_valid": "7"}
    with pytest.raises(Invalid) as exc:
        deliberation.record_village_result(db, item, w["head_b"], VillageResultForm.parse(base))
    assert "ballots_issued" in exc.value.errors
    with pytest.raises(Invalid) as exc:  # 7 valid and 0 invalid do not make the 8 returned
        deliberation.record_village_result(db, item, w["head_b"], VillageResultForm.parse({
            **base, **issued, "ballots_invalid": "0"}))
    assert "ballots_valid" in exc.value.errors and count(db, VillageResult) == 0
    row = deliberation.record_village_result(db, item, w["head_b"], VillageResultForm.parse({
        **base, **issued, "ballots_invalid": "1"}))
    assert (row.yes, row.households_present) == (6, 8)
    assert (mb.ballots_issued, mb.ballots_valid, mb.ballots_invalid) == (8, 7, 1)
    assert _payload(_last_event(db))["ballots_valid"] == 7
    assert ma.ballots_issued is None


def test_a_villages_result_edited_behind_the_chains_back_is_named_by_the_audit_check(w):
    """`civic audit verify` replays the events: a village's figures changed by hand no longer match them."""
    from sqlalchemy import text

    from civic.audit import service as audit

    db = w["db"]
    item = _commune_item(w)
    ma, _mb = _met(w, item)
    row = _result(w, item, w["head_a"], ma, 9, 1)
    db.flush()
    assert [d for d in audit.reconcile(db, w["commune"].id) if d.table == "village_result"] == []
    db.execute(text("UPDATE village_result SET yes = 10, no = 0 WHERE id = :i"), {"i": row.id})
    db.expire_all()
    named = {(d.table, d.row_id, d.field) for d in audit.reconcile(db, w["commune"].id)}
    assert ("village_result", row.id, "yes") in named and ("village_result", row.id, "no") in named
