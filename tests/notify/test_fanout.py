"""A meeting's invitation reaches every household of the village register, queued, not sent in the request."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from civic import clock
from civic.areas.models import Household
from civic.deliberation import service as deliberation
from civic.deliberation.schemas import ScheduleMeetingForm
from civic.notify import worker
from civic.notify.models import Outbox
from tests.builders import make_discuss_item, make_household_rep, make_village, viewer, world


def schedule(db, item, head, days=6):
    start = (clock.now() + timedelta(days=days)).astimezone(clock.LOCAL_TZ)
    return deliberation.schedule_meeting(db, item, viewer(db, head), ScheduleMeetingForm.parse({
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá thôn",
        "agenda": "Bàn việc làm mương thoát nước"}))


def test_each_household_is_invited_with_date_place_and_agenda(db, sms_on, email_on, daytime):
    commune, a, _, cat, users = world(db)
    households = list(db.execute(select(Household).where(Household.village_id == a.id)
                                 .order_by(Household.id)).scalars())
    households[0].phone, households[1].phone = "0912000001", "0912000002"
    member = make_household_rep(db, a, 2)
    member.email = "chu.ho@example.vn"
    db.flush()
    item = make_discuss_item(db, commune, a, cat, users["village_head"])
    worker.expand_fanouts(db)  # the worker has told the village heads of the new item (its own fan-out row)
    schedule(db, item, users["village_head"])
    [job] = db.execute(select(Outbox)).scalars().all()[-1:]
    assert (job.status, job.kind) == ("fanout", "meeting_scheduled")  # one row in the request…
    assert worker.expand_fanouts(db) == 3  # …one message per household when the worker takes it
    assert job.status == "expanded"
    assert worker.expand_fanouts(db) == 0
    rows = list(db.execute(select(Outbox).where(Outbox.kind == "meeting_scheduled",
                                                Outbox.channel != "fanout")).scalars())
    assert sorted((r.channel, r.address) for r in rows) == [
        ("email", "chu.ho@example.vn"), ("sms", "0912000001"), ("sms", "0912000002")]
    sms = next(r for r in rows if r.channel == "sms")
    assert "Nhà văn hoá thôn" in sms.body and "Bàn việc làm mương" in sms.body and item.code in sms.body
    assert sms.recipient == f"h:{households[0].id}" and "TU CHOI" in sms.body
    assert all(r.status == "queued" for r in rows)


def test_2000_households_are_one_row_in_the_request_and_2000_messages_in_the_worker(db, sms_on, daytime):
    commune, _, _, cat, users = world(db)
    big = make_village(db, commune, "Thôn Lớn", households=2000)
    ids = db.execute(select(Household.id).where(Household.village_id == big.id)).scalars().all()
    db.execute(update(Household), [{"id": i, "phone": f"09{i:08d}"} for i in ids])
    from tests.builders import make_user

    head = make_user(db, "village_head", commune=commune, village=big)
    item = make_discuss_item(db, commune, big, cat, head)
    worker.expand_fanouts(db)  # the worker has told the village heads of the new item (its own fan-out row)
    schedule(db, item, head)  # its time is measured by scripts/bench_notify.py, never asserted here
    fanouts = select(func.count()).select_from(Outbox).where(Outbox.channel == "fanout",
                                                             Outbox.kind == "meeting_scheduled")
    assert db.execute(fanouts).scalar_one() == 1
    assert worker.expand_fanouts(db) == 2000
    queued = db.execute(select(func.count()).select_from(Outbox)
                        .where(Outbox.kind == "meeting_scheduled", Outbox.channel == "sms")).scalar_one()
    assert queued == 2000


def test_households_hear_of_the_decision(db, sms_on, daytime):
    from civic.deliberation.schemas import DecideForm

    commune, a, _, cat, users = world(db)
    first = db.execute(select(Household).where(Household.village_id == a.id).order_by(Household.id)
                       ).scalars().first()
    first.phone = "0912000001"
    item = make_discuss_item(db, commune, a, cat, users["village_head"], asks_contribution=False)
    worker.expand_fanouts(db)  # the worker has told the village heads of the new item (its own fan-out row)
    deliberation.decide(db, item, viewer(db, users["village_head"]), DecideForm.parse({
        "method": "authority", "document_no": "12/QĐ-UBND", "document_text": "UBND xã sửa đèn."}))
    assert worker.expand_fanouts(db) == 1
    [sms] = db.execute(select(Outbox).where(Outbox.kind == "decision_recorded", Outbox.channel == "sms")
                       ).scalars().all()
    assert sms.address == "0912000001" and item.code in sms.body


def test_households_hear_when_the_meeting_is_moved_or_cancelled(db, sms_on, daytime):
    from civic.deliberation.schemas import CancelMeetingForm, MoveMeetingForm

    commune, a, _, cat, users = world(db)
    first = db.execute(select(Household).where(Household.village_id == a.id)
                       .order_by(Household.id)).scalars().first()
    first.phone = "0912000001"
    db.flush()
    head = viewer(db, users["village_head"])
    item = make_discuss_item(db, commune, a, cat, users["village_head"])
    meeting = schedule(db, item, users["village_head"])
    later = (clock.now() + timedelta(days=9)).astimezone(clock.LOCAL_TZ)
    deliberation.move_meeting(db, item, head, MoveMeetingForm.parse({
        "meeting_id": str(meeting.id), "starts_at": later.strftime("%Y-%m-%dT%H:%M"),
        "reason": "Trùng lịch tiêm chủng"}))
    deliberation.cancel_meeting(db, item, head, CancelMeetingForm.parse({
        "meeting_id": str(meeting.id), "reason": "Chờ thiết kế mới của xã"}))
    worker.expand_fanouts(db)
    sms = {r.kind: r.body for r in db.execute(select(Outbox).where(Outbox.channel == "sms",
                                                                  Outbox.kind.startswith("meeting"))).scalars()}
    assert set(sms) == {"meeting_scheduled", "meeting_moved", "meeting_cancelled"}
    assert later.strftime("%d/%m/%Y") in sms["meeting_moved"]
    assert "Chờ thiết kế mới của xã" in sms["meeting_cancelled"] and item.code in sms["meeting_cancelled"]
