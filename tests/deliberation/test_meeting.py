"""The village meeting: the roll by household (and by cluster), the chair, the secretary, the counting
committee, moving and cancelling; against a real database and over HTTP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.areas.models import Household
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Decision, Meeting, MeetingAttendance, MeetingCluster
from civic.deliberation.schemas import (
    CancelMeetingForm,
    ClusterForm,
    DecideForm,
    MoveMeetingForm,
    RecordMeetingForm,
    RollForm,
    ScheduleMeetingForm,
)
from civic.errors import Conflict, Invalid
from tests.builders import (
    count,
    csrf_token,
    hold_meeting,
    leave_register,
    login,
    make_discuss_item,
    make_user,
    make_village,
    viewer,
    world,
)

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội


@pytest.fixture
def w(db):
    clock.freeze(T0)
    commune, a, b, cat, users = world(db)
    return {"db": db, "commune": commune, "a": a, "b": b, "cat": cat, "users": users,
            "sec": viewer(db, users["village_head"])}


def _events(db) -> int:
    return count(db, AuditEvent)


def _schedule(db, item, sec, days=5):
    start = (clock.now() + timedelta(days=days, minutes=1)).astimezone(clock.LOCAL_TZ)
    return deliberation.schedule_meeting(db, item, sec, ScheduleMeetingForm.parse({
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá",
        "agenda": "Bàn việc làm mương"}))


def _ids(db, village, n=None, offset=0) -> list[str]:
    stmt = select(Household.id).where(Household.village_id == village.id).order_by(Household.code)\
        .offset(offset)
    if n is not None:
        stmt = stmt.limit(n)
    return [str(h) for h in db.execute(stmt).scalars()]


def _roll(db, item, sec, meeting, shown, ticked, cluster=None):
    data = {"meeting_id": str(meeting.id), "shown": shown, "household": ticked}
    if cluster is not None:
        data["cluster_id"] = str(cluster.id)
    return deliberation.mark_roll(db, item, sec, RollForm.parse(data))


def _meeting_item(w):
    db = w["db"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    return item, _schedule(db, item, w["sec"]), w["a"]


# --- the roll -------------------------------------------------------------------------------------------

def test_the_quorum_is_the_count_of_households_ticked(w):
    db, sec = w["db"], w["sec"]
    item, meeting, village = _meeting_item(w)
    ids = _ids(db, village)
    with pytest.raises(Conflict, match="not taken place"):  # no roll before the meeting
        _roll(db, item, sec, meeting, ids, ids[:6])
    clock.advance(timedelta(days=6))
    assert _roll(db, item, sec, meeting, ids[:5], ids[:5]) == 5  # first screen
    assert _roll(db, item, sec, meeting, ids[5:], ids[5:7]) == 7  # second screen keeps the first
    with pytest.raises(Invalid, match="needs a reason"):  # one unticked: only with the reason
        _roll(db, item, sec, meeting, ids[:5], ids[:4])
    assert deliberation.mark_roll(db, item, sec, RollForm.parse({
        "meeting_id": str(meeting.id), "shown": ids[:5], "household": ids[:4],
        "reason": "Ghi nhầm hộ này"})) == 6
    deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse({
        "meeting_id": str(meeting.id), "minutes_taker_name": "Bà Lan", "secretary_votes": "5",
        "voting_mode": "show_of_hands", "people_present": "9"}))
    assert (meeting.households_present, meeting.people_present, meeting.quorum) == (6, 9, True)
    with pytest.raises(Conflict, match="already been recorded"):
        _roll(db, item, sec, meeting, ids, ids)


def test_a_roll_that_ticks_a_household_twice_is_refused_and_changes_nothing(w):
    db = w["db"]
    item, meeting, village = _meeting_item(w)
    clock.advance(timedelta(days=6))
    ids = _ids(db, village)
    before = _events(db)
    with pytest.raises(Invalid, match="ticked twice") as exc:
        RollForm.parse({"meeting_id": str(meeting.id), "shown": ids, "household": [ids[0], ids[1], ids[0]]})
    assert "household" in exc.value.errors
    with pytest.raises(Invalid, match="ticked twice"):  # "01" is household 1 again
        RollForm.parse({"meeting_id": "1", "household": ["1", "01"]})
    assert count(db, MeetingAttendance) == 0 and _events(db) == before


def test_a_household_of_another_village_or_off_the_register_is_refused(w):
    db, sec = w["db"], w["sec"]
    item, meeting, village = _meeting_item(w)
    clock.advance(timedelta(days=6))
    ids = _ids(db, village)
    other = _ids(db, w["b"], 1)
    before = _events(db)
    with pytest.raises(Invalid, match="not of this village"):
        _roll(db, item, sec, meeting, ids + other, ids[:3] + other)
    meeting_day = meeting.starts_at.astimezone(clock.LOCAL_TZ).date()
    leave_register(db, village, ["H0009"], meeting_day - timedelta(days=1))
    before = _events(db)
    with pytest.raises(Invalid, match="not on the register on the meeting date") as exc:
        _roll(db, item, sec, meeting, ids, ids)
    assert exc.value.params["code"] == "H0009"
    assert count(db, MeetingAttendance) == 0 and _events(db) == before
    assert _roll(db, item, sec, meeting, ids[:9], ids[:9]) == 9


def test_sixty_two_households_in_one_post(w):
    db = w["db"]
    village = make_village(db, w["commune"], "Thôn Sáu Hai", 62)
    head = make_user(db, "village_head", commune=w["commune"], village=village, name="Trưởng Thôn C")
    item = make_discuss_item(db, w["commune"], village, w["cat"], head)
    sec = viewer(db, head)
    meeting = _schedule(db, item, sec)
    clock.advance(timedelta(days=6))
    ids = _ids(db, village)
    assert len(ids) == 62 and _roll(db, item, sec, meeting, ids, ids) == 62


def test_a_big_village_meets_in_clusters_each_with_its_chair_and_roll(w):
    db = w["db"]
    village = make_village(db, w["commune"], "Thôn Lớn", 210)
    head = make_user(db, "village_head", commune=w["commune"], village=village, name="Trưởng Thôn L")
    sec = viewer(db, head)
    item = make_discuss_item(db, w["commune"], village, w["cat"], head)
    meeting = _schedule(db, item, sec)
    upper, lower = (deliberation.add_cluster(db, item, sec, ClusterForm.parse({
        "meeting_id": str(meeting.id), "name": name, "chair_name": chair}))
        for name, chair in (("Xóm Trên", "Ông Tư"), ("Xóm Dưới", "Bà Năm")))
    with pytest.raises(Invalid, match="already has a cluster"):
        deliberation.add_cluster(db, item, sec, ClusterForm.parse({
            "meeting_id": str(meeting.id), "name": "xóm trên", "chair_name": "Ông Sáu"}))
    clock.advance(timedelta(days=6))
    ids = _ids(db, village)
    _roll(db, item, sec, meeting, ids[:100], ids[:60], upper)
    _roll(db, item, sec, meeting, ids[100:], ids[100:152], lower)
    before = _events(db)
    with pytest.raises(Conflict, match="another cluster"):  # ticked in the upper cluster already
        _roll(db, item, sec, meeting, ids[:5], ids[:5], lower)
    assert _events(db) == before
    deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse({
        "meeting_id": str(meeting.id), "minutes_taker_name": "Bà Lan", "secretary_votes": "100",
        "voting_mode": "show_of_hands"}))
    assert (meeting.households_present, meeting.households_total, meeting.quorum, meeting.by_cluster) ==\
        (112, 210, True, True)
    assert (upper.households_present, lower.households_present) == (60, 52)


# --- clusters --------------------------------------------------------------------------------------------

def test_a_small_village_does_not_meet_by_cluster(w):
    db, sec = w["db"], w["sec"]
    item, meeting, _village = _meeting_item(w)
    with pytest.raises(Invalid, match="or more households may meet by cluster"):
        deliberation.add_cluster(db, item, sec, ClusterForm.parse({
            "meeting_id": str(meeting.id), "name": "Xóm Trên", "chair_name": "Ông Tư"}))
    assert count(db, MeetingCluster) == 0


# --- the record: chair, secretary, counting committee -----------------------------------------------------

def test_secretary_committee_and_chair(w):
    db, sec = w["db"], w["sec"]
    item, meeting, village = _meeting_item(w)
    clock.advance(timedelta(days=6))
    ids = _ids(db, village)
    _roll(db, item, sec, meeting, ids, ids[:8])
    base = {"meeting_id": str(meeting.id), "minutes_taker_name": "Bà Lan", "secretary_votes": "5",
            "voting_mode": "show_of_hands"}
    before = _events(db)
    for over, field in (({"secretary_votes": "4"}, "secretary_votes"),  # 4 of 8 is not more than half
                        ({"secretary_votes": "9"}, "secretary_votes"),
                        ({"voting_mode": "secret_ballot", "counting_committee": "Ông A\nBà B"},
                         "counting_committee"),
                        ({"voting_mode": "secret_ballot",
                          "counting_committee": "A1\nB2\nC3\nD4\nE5\nF6"}, "counting_committee")):
        with pytest.raises(Invalid) as exc:
            deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse({**base, **over}))
        assert field in exc.value.errors, over
    with pytest.raises(Invalid) as exc:  # a designated chair needs the commune chairman's designation
        RecordMeetingForm.parse({**base, "chair": "designated", "chair_name": "Ông Tư"})
    assert "chair_designation_ref" in exc.value.errors
    assert meeting.recorded_at is None and _events(db) == before
    deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse({
        **base, "voting_mode": "secret_ballot", "counting_committee": "Ông An\n\nBà Bình\nÔng Cường\n"}))
    assert meeting.counting_committee == "Ông An\nBà Bình\nÔng Cường"
    assert meeting.chair_name == "Trưởng Thôn A" and meeting.secretary_votes == 5
    # A secret ballot's count needs the counting committee's figures, and they add up.
    vote = {"method": "meeting_vote", "yes": "6", "no": "1", "abstain": "0"}
    with pytest.raises(Invalid) as exc:
        deliberation.decide(db, item, sec, DecideForm.parse(vote))
    assert "ballots_issued" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        deliberation.decide(db, item, sec, DecideForm.parse({
            **vote, "ballots_issued": "8", "ballots_returned": "8", "ballots_valid": "7",
            "ballots_invalid": "0"}))
    assert "ballots_valid" in exc.value.errors and count(db, Decision) == 0
    d = deliberation.decide(db, item, sec, DecideForm.parse({
        **vote, "ballots_issued": "8", "ballots_returned": "8", "ballots_valid": "7", "ballots_invalid": "1",
        "written_form": "resolution"}))
    assert (d.passed, d.written_form, meeting.ballots_valid) == (True, "resolution", 7)


def test_a_designated_chair_is_recorded_with_the_designation(w):
    db, sec = w["db"], w["sec"]
    item, meeting, _village = _meeting_item(w)
    clock.advance(timedelta(days=6))
    hold_meeting(db, item, sec, meeting, 6, chair="designated", chair_name="Ông Tư",
                 chair_designation_ref="QĐ 15/QĐ-UBND ngày 20/5/2026")
    assert (meeting.chair_name, meeting.chair_designation_ref) == ("Ông Tư", "QĐ 15/QĐ-UBND ngày 20/5/2026")


# --- moving and cancelling ------------------------------------------------------------------------------

def _local(moment: datetime) -> str:
    return moment.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def test_a_moved_meeting_starts_a_new_notice_period(w):
    db, sec = w["db"], w["sec"]
    item, meeting, _village = _meeting_item(w)
    clock.advance(timedelta(days=2))
    old = meeting.starts_at
    before = _events(db)
    with pytest.raises(Invalid) as exc:  # the old date is no longer 5 days' notice away from now
        deliberation.move_meeting(db, item, sec, MoveMeetingForm.parse({
            "meeting_id": str(meeting.id), "starts_at": _local(clock.now() + timedelta(days=4)),
            "reason": "Trùng lịch bầu cử"}))
    assert "starts_at" in exc.value.errors and meeting.starts_at == old and _events(db) == before
    new = clock.now() + timedelta(days=5, hours=1)
    deliberation.move_meeting(db, item, sec, MoveMeetingForm.parse({
        "meeting_id": str(meeting.id), "starts_at": _local(new), "reason": "Trùng lịch bầu cử"}))
    assert clock.as_utc(meeting.moved_from) == clock.as_utc(old) and meeting.revision == 1
    assert clock.as_utc(meeting.notice_at) == clock.now() and _events(db) == before + 1
    clock.advance(timedelta(days=4))  # the old date has passed, the new one has not
    with pytest.raises(Conflict, match="not taken place"):
        hold_meeting(db, item, sec, meeting, 6)


def test_a_cancelled_meeting_cannot_be_recorded_or_rolled(w):
    db, sec = w["db"], w["sec"]
    item, meeting, village = _meeting_item(w)
    with pytest.raises(Invalid) as exc:
        CancelMeetingForm.parse({"meeting_id": str(meeting.id), "reason": ""})
    assert "reason" in exc.value.errors
    deliberation.cancel_meeting(db, item, sec, CancelMeetingForm.parse({
        "meeting_id": str(meeting.id), "reason": "Bão số 3 về"}))
    assert meeting.cancel_reason == "Bão số 3 về" and meeting.revision == 1
    clock.advance(timedelta(days=6))
    before = _events(db)
    ids = _ids(db, village)
    with pytest.raises(Conflict, match="cancelled"):
        _roll(db, item, sec, meeting, ids, ids)
    with pytest.raises(Conflict, match="cancelled"):
        deliberation.record_meeting(db, item, sec, RecordMeetingForm.parse({
            "meeting_id": str(meeting.id), "minutes_taker_name": "Bà Lan", "secretary_votes": "6",
            "voting_mode": "show_of_hands"}))
    with pytest.raises(Conflict, match="cancelled"):
        deliberation.cancel_meeting(db, item, sec, CancelMeetingForm.parse({
            "meeting_id": str(meeting.id), "reason": "Hủy lần nữa"}))
    assert _events(db) == before and count(db, MeetingAttendance) == 0


# --- over HTTP ----------------------------------------------------------------------------------------------

@pytest.fixture
def frozen():
    clock.freeze(T0)
    yield


def test_cancelled_meeting_on_the_page_and_in_the_calendar(client, frozen):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        sec = viewer(db, users["village_head"])
        item = make_discuss_item(db, commune, a, cat, users["village_head"])
        meeting = _schedule(db, item, sec)
        code, village_id, meeting_id = item.code, a.id, meeting.id
    page = client.get(f"/items/{code}?lang=en")
    assert "In 6 days." in page.text
    login(client, users["village_head"])
    desk = client.get(f"/deliberation/{code}?lang=en")
    assert "Move the meeting" in desk.text and "Cancel the meeting" in desk.text
    assert len(desk.content) < 30 * 1024
    token = csrf_token(client, f"/deliberation/{code}")
    refused = client.post(f"/deliberation/{code}/cancel_meeting?lang=en", data={
        "csrf_token": token, "meeting_id": str(meeting_id), "reason": "x"})
    assert refused.status_code == 422 and "public reason" in refused.text
    ok = client.post(f"/deliberation/{code}/cancel_meeting", data={
        "csrf_token": token, "meeting_id": str(meeting_id), "reason": "Bão <b>số 3</b> về"},
        follow_redirects=False)
    assert ok.status_code == 303
    client.cookies.clear()
    page = client.get(f"/items/{code}?lang=en")
    assert "In 6 days." not in page.text and "meeting-cancelled" in page.text
    assert "Bão &lt;b&gt;số 3&lt;/b&gt; về" in page.text
    assert "cancelled the village meeting: Bão &lt;b&gt;số 3&lt;/b&gt; về" in page.text  # on the timeline
    ics = client.get(f"/villages/{village_id}/meetings.ics").content.decode()
    assert "STATUS:CANCELLED" in ics and "SEQUENCE:1" in ics


def test_the_roll_page_of_two_thousand_households_is_paged_and_searchable(client, frozen):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        for n in range(10, 2000):
            db.add(Household(village_id=a.id, code=f"H{n:04d}", head_name=f"Nguyễn Văn Số {n}",
                             active_from=date(2020, 1, 1)))
        db.flush()
        sec = viewer(db, users["village_head"])
        item = make_discuss_item(db, commune, a, cat, users["village_head"])
        meeting = _schedule(db, item, sec)
        code, meeting_id = item.code, meeting.id
    clock.advance(timedelta(days=6))
    login(client, users["village_head"])
    desk = client.get(f"/deliberation/{code}?lang=en")
    assert f"/deliberation/{code}/roll/{meeting_id}" in desk.text and len(desk.content) < 30 * 1024
    page = client.get(f"/deliberation/{code}/roll/{meeting_id}?lang=en")
    assert page.status_code == 200 and len(page.content) < 30 * 1024
    assert "0 of 2,000 households present" in page.text and "Page 1 of 20" in page.text
    assert page.text.count('type="checkbox"') == 100
    found = client.get(f"/deliberation/{code}/roll/{meeting_id}?lang=en&q=Số 1234")
    assert "H1234" in found.text and found.text.count('type="checkbox"') == 1
    by_code = client.get(f"/deliberation/{code}/roll/{meeting_id}?q=h0012")
    assert "H0012" in by_code.text and 'type="checkbox"' in by_code.text
    with unit_of_work() as db:
        ids = [str(h) for h in db.execute(select(Household.id).where(Household.village_id == a.id)
                                          .order_by(Household.code).limit(100)).scalars()]
    token = csrf_token(client, f"/deliberation/{code}/roll/{meeting_id}")
    saved = client.post(f"/deliberation/{code}/roll/{meeting_id}/mark?page=1", data={
        "csrf_token": token, "meeting_id": str(meeting_id), "shown": ids, "household": ids[:62]},
        follow_redirects=False)
    assert saved.status_code == 303
    assert "62 of 2,000 households present" in client.get(
        f"/deliberation/{code}/roll/{meeting_id}?lang=en").text
    twice = client.post(f"/deliberation/{code}/roll/{meeting_id}/mark?lang=en", data={
        "csrf_token": token, "meeting_id": str(meeting_id), "shown": ids, "household": [ids[0], ids[0]]})
    assert twice.status_code == 422 and "ticked twice" in twice.text
    with unit_of_work() as db:
        assert count(db, MeetingAttendance) == 62
        assert db.get(Meeting, meeting_id).recorded_at is None
    markup = client.get(f"/deliberation/{code}/roll/{meeting_id}?q=<b>H00</b>")
    assert "&lt;b&gt;H00&lt;/b&gt;" in markup.text and "<b>H00</b>" not in markup.text
    for bad in ("?page=abc", "?q=" + "x" * 200, "?cluster=¹"):
        assert client.get(f"/deliberation/{code}/roll/{meeting_id}{bad}").status_code == 200, bad
    assert client.get(f"/deliberation/{code}/roll/99999").status_code == 404
    client.cookies.clear()
    login(client, users["resident"])
    assert client.get(f"/deliberation/{code}/roll/{meeting_id}").status_code == 403
