"""Every notification is written to the outbox in the transaction of the audited change that causes it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import col

from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.notify import service as notify
from civic.notify import worker
from civic.notify.models import Follow, Outbox
from tests.builders import make_item, move, viewer, world


def outbox(db, **where) -> list[Outbox]:
    q = select(Outbox).order_by(col(Outbox.id))
    for k, v in where.items():
        q = q.where(getattr(Outbox, k) == v)
    return list(db.execute(q).scalars())


def test_the_reporter_follows_their_item_and_hears_of_its_stage_change(db, email_on, daytime):
    commune, a, _, cat, users = world(db)
    resident = users["resident"]
    resident.email = "dan.mot@example.vn"
    item = make_item(db, commune, a, cat, reporter=resident)
    follow = db.execute(select(Follow).where(col(Follow.item_id) == item.id)).scalars().one()
    assert follow.user_id == resident.id and follow.confirmed_at is not None
    assert outbox(db, kind="stage_changed") == []

    move(db, item, "accept", viewer(db, users["village_head"]))
    [row] = outbox(db, kind="stage_changed")
    assert (row.channel, row.address, row.status, row.recipient) == ("email", "dan.mot@example.vn", "queued",
                                                                      f"u:{resident.id}")
    assert item.code in row.subject and "Dân biết" in row.subject  # Vietnamese by default
    assert f"https://nhaoson.example.vn/items/{item.code}" in row.body
    assert "https://nhaoson.example.vn/notify/stop/" in row.body
    event = db.execute(select(AuditEvent).where(col(AuditEvent.action) == "accept")).scalars().one()
    assert row.event_id == event.id
    assert "dan.mot" not in event.payload  # no personal data in the chain


def test_an_english_reader_hears_in_english_with_the_public_reason(db, email_on, daytime):
    commune, a, _, cat, users = world(db)
    resident = users["resident"]
    resident.email = "dan.mot@example.vn"
    notify.save_preferences(db, viewer(db, resident), channels_chosen=["email"], quiet_from=0, quiet_to=0,
                            digest=False, language="en", commune_id=commune.id)
    item = make_item(db, commune, a, cat, reporter=resident)
    move(db, item, "reject", viewer(db, users["village_head"]), {"reason": "Ngoài khả năng của thôn."})
    [row] = outbox(db, kind="closed")
    assert row.subject == f"{item.code} is closed: rejected"
    assert "Reason: Ngoài khả năng của thôn." in row.body


def test_the_village_head_hears_of_a_new_item_and_the_actor_is_not_told_of_their_own_move(db, daytime):
    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat, reporter=users["resident"])
    assert outbox(db, kind="new_item") == []  # one fan-out row in the submission's transaction…
    worker.expand_fanouts(db)  # …which the worker expands into the village heads' messages
    rows = outbox(db, kind="new_item")
    assert [r.recipient for r in rows] == [f"u:{users['village_head'].id}"]
    # no channel is configured: recorded, shown as not sent
    assert rows[0].status == "no_channel" and rows[0].last_error == "no channel"
    follow_head = viewer(db, users["village_head"])
    notify.follow_account(db, item, follow_head)
    move(db, item, "accept", follow_head)
    assert [r.recipient for r in outbox(db, kind="stage_changed")] == [f"u:{users['resident'].id}"]


def test_a_rolled_back_change_sends_nothing(email_on, daytime):
    with unit_of_work(write=True) as db:
        commune, a, _, cat, users = world(db)
        users["resident"].email = "dan.mot@example.vn"
        item = make_item(db, commune, a, cat, reporter=users["resident"])
        head_id, item_id = users["village_head"].id, item.id
    with pytest.raises(RuntimeError), unit_of_work(write=True) as db:
        from civic.items.models import Item

        move(db, db.get(Item, item_id), "accept", viewer(db, db.get(type(users["village_head"]), head_id)))
        assert len(outbox(db, kind="stage_changed")) == 1  # written in the transaction…
        raise RuntimeError("the change fails after the move")
    with unit_of_work() as db:
        assert outbox(db, kind="stage_changed") == []  # …and gone with it


def test_unfollowing_stops_the_messages(db, email_on, daytime):
    commune, a, _, cat, users = world(db)
    resident = users["resident"]
    resident.email = "dan.mot@example.vn"
    item = make_item(db, commune, a, cat, reporter=resident)
    notify.unfollow_account(db, item, viewer(db, resident))
    move(db, item, "accept", viewer(db, users["village_head"]))
    assert outbox(db, kind="stage_changed") == []


def test_a_stopped_account_hears_nothing(db, email_on, daytime):
    commune, a, _, cat, users = world(db)
    resident = users["resident"]
    resident.email = "dan.mot@example.vn"
    item = make_item(db, commune, a, cat, reporter=resident)
    token = notify.stop_token(f"u:{resident.id}", resident.email)
    notify.stop(db, token, commune.id)
    move(db, item, "accept", viewer(db, users["village_head"]))
    assert outbox(db, kind="stage_changed") == []


def test_an_email_follower_hears_only_after_confirming(db, email_on, daytime):
    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    row, secret = notify.start_contact_follow(db, item, "email", "ban.doc@example.vn", "vi")
    [link] = outbox(db, kind="follow_link")
    assert f"/notify/confirm/{row.id}/{secret}" in link.body and link.address == "ban.doc@example.vn"
    head = viewer(db, users["village_head"])
    move(db, item, "accept", head)
    assert outbox(db, kind="stage_changed") == []  # not confirmed yet
    notify.confirm_follow(db, row, secret)
    move(db, item, "close_not_done", viewer(db, users["supervisor"]), {"reason": "Không làm được nữa."})
    [row_out] = outbox(db, kind="closed")
    assert row_out.recipient == f"f:{row.id}" and row_out.address == "ban.doc@example.vn"


def test_a_wrong_code_is_refused_and_counted(db, sms_on, daytime):
    from civic.errors import Conflict, Invalid

    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    row, secret = notify.start_contact_follow(db, item, "sms", "0912000111", "vi")
    [code_sms] = outbox(db, kind="follow_code")
    assert secret in code_sms.body and code_sms.address == "0912000111" and len(secret) == 6
    wrong = "000000" if secret != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(Invalid):
            notify.confirm_follow(db, row, wrong)
    with pytest.raises(Conflict):  # five tries: the code is spent
        notify.confirm_follow(db, row, secret)
    assert row.confirmed_at is None


def test_codes_to_one_phone_are_throttled(db, sms_on, daytime):
    from civic.errors import Conflict

    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    for _ in range(3):
        notify.start_contact_follow(db, item, "sms", "0912000111", "vi")
    with pytest.raises(Conflict):
        notify.start_contact_follow(db, item, "sms", "0912000111", "vi")


def test_following_by_a_channel_the_site_lacks_is_refused(db, daytime):
    from civic.errors import Conflict

    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    with pytest.raises(Conflict):
        notify.start_contact_follow(db, item, "sms", "0912000111", "vi")


def test_an_anonymous_reporter_who_ticks_sms_hears_of_the_change_by_sms(db, sms_on, daytime):
    commune, a, _, cat, users = world(db)
    silent = make_item(db, commune, a, cat)
    told = make_item(db, commune, a, cat, notify_sms="1", contact_phone="0912 777 888")
    event = db.execute(select(AuditEvent).where(AuditEvent.item_id == told.id)).scalars().one()
    assert '"sms_consent":true' in event.payload and "0912777888" not in event.payload
    head = viewer(db, users["village_head"])
    move(db, silent, "accept", head)
    move(db, told, "accept", head)
    [row] = outbox(db, kind="stage_changed")
    assert (row.item_id, row.channel, row.address) == (told.id, "sms", "0912777888")


def test_the_village_head_is_reminded_once_the_day_before_the_acknowledgement_is_due(db, daytime):
    from datetime import timedelta

    from civic import clock
    from civic.workflow import calendar
    from civic.workflow import rules as workflow_rules

    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    today = clock.today_local()
    due = workflow_rules.add_working_days(today, 3, calendar.is_holiday)  # CIVIC_ACK_WORKING_DAYS
    assert notify.reminders(db, clock.now()) == 0
    day_before = today
    while workflow_rules.add_working_days(day_before, 1, calendar.is_holiday) != due:
        day_before += timedelta(days=1)
    clock.advance(timedelta(days=(day_before - today).days))
    assert notify.reminders(db, clock.now()) == 1
    assert notify.reminders(db, clock.now()) == 0  # once a day
    [row] = outbox(db, kind="triage_due")
    assert row.recipient == f"u:{users['village_head'].id}" and item.code in row.subject


def test_the_village_head_is_reminded_once_a_day_of_a_finding_due_to_be_fixed(db, daytime):
    from datetime import timedelta

    from civic import clock
    from civic.implementation import service as impl
    from civic.implementation.schemas import ProgressForm
    from civic.supervision import service as sup
    from civic.supervision.schemas import AnswerForm, FindingForm
    from civic.workflow import calendar
    from civic.workflow import rules as workflow_rules
    from tests.boards.helpers import board_world

    commune, a, _, cat, users = board_world(db)
    head = viewer(db, users["village_head"])
    item = make_item(db, commune, a, cat, stage="do")
    impl.post_progress(db, item, head, ProgressForm.parse({"percent": "100", "text": "Xong."}))
    move(db, item, "start_inspection", head)
    inspector = viewer(db, users["inspector"])
    sup.open_new_inspection(db, item, inspector)
    today = clock.today_local()
    due = workflow_rules.add_working_days(today, 3, calendar.is_holiday)
    finding = sup.add_finding(db, item, inspector, FindingForm.parse({
        "severity": "needs_fixing", "text": "Nắp cống bị nứt.", "due_on": due.isoformat()}))
    assert notify.reminders(db, clock.now()) == 0  # not due yet
    day_before = today
    while workflow_rules.add_working_days(day_before, 1, calendar.is_holiday) < due:
        day_before += timedelta(days=1)
    clock.advance(timedelta(days=(day_before - today).days))
    made = notify.reminders(db, clock.now())
    rows = outbox(db, kind="finding_due")
    assert made == len(rows) >= 1  # every village head of the item's village, once
    assert f"u:{users['village_head'].id}" in {r.recipient for r in rows}
    assert all(item.code in r.subject for r in rows)
    assert notify.reminders(db, clock.now()) == 0  # once a day
    sup.answer_finding(db, item, head, AnswerForm.parse({"target_id": finding.id, "answer": "Đã thay nắp."}))
    clock.advance(timedelta(days=1))
    assert notify.reminders(db, clock.now()) == 0  # answered: no more reminders
    assert len(outbox(db, kind="finding_due")) == len(rows)


def test_the_author_of_a_comment_hears_the_answers_to_it(db, daytime):
    from civic.deliberation import service as deliberation
    from civic.deliberation.schemas import CommentForm
    from tests.builders import make_user

    commune, a, _, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage="know")
    first = users["resident"]
    other = make_user(db, "resident", commune=commune, village=a, name="Trần Văn Hai")
    asked = deliberation.add_comment(db, item, viewer(db, first), CommentForm.parse(
        {"body": "Mương này có làm qua đất nhà tôi không?"}))
    assert outbox(db, kind="comment_reply") == []  # a comment that answers nobody tells nobody
    deliberation.add_comment(db, item, viewer(db, other), CommentForm.parse(
        {"body": "Theo bản vẽ thì không qua.", "reply_to": str(asked.id)}))
    [told] = outbox(db, kind="comment_reply")
    assert told.recipient == f"u:{first.id}" and "Theo bản vẽ thì không qua." in told.body
    deliberation.add_comment(db, item, viewer(db, users["village_head"]), CommentForm.parse(
        {"body": "Không qua đất nhà bác, tuyến đi theo đường làng.", "reply_to": str(asked.id)}))
    [official] = outbox(db, kind="reply")  # the author follows nothing, yet hears the official answer
    assert official.recipient == f"u:{first.id}" and item.code in official.subject
    # answering oneself tells nobody
    deliberation.add_comment(db, item, viewer(db, first), CommentForm.parse(
        {"body": "Cảm ơn trưởng thôn.", "reply_to": str(asked.id)}))
    assert len(outbox(db, kind="comment_reply")) == 1


def test_the_new_item_message_is_expanded_by_the_worker_as_it_was_when_the_item_was_sent(db, sms_on):
    from datetime import UTC, datetime, timedelta

    from civic import clock
    from tests.builders import make_user

    night = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 23:00 in Vietnam: an SMS waits for 07:00
    clock.freeze(night)
    try:
        commune, a, b, cat, users = world(db)
        deputy = make_user(db, "deputy_head", commune=commune, village=a)
        item = make_item(db, commune, a, cat, reporter=users["resident"])
        title = item.title
        [fanout] = outbox(db, channel="fanout")
        assert (fanout.kind, fanout.status, fanout.recipient) == ("submitted", "fanout", "fanout")
        item.title = "Tiêu đề đã sửa"  # the reporter edits before the worker comes round
        db.flush()
        clock.advance(timedelta(hours=9))  # the worker takes it the next morning
        assert worker.expand_fanouts(db) == 2
        rows = outbox(db, kind="new_item")
        heads = [f"u:{users['village_head'].id}", f"u:{deputy.id}"]
        assert sorted(r.recipient for r in rows) == sorted(heads)
        assert {(r.channel, r.status) for r in rows} == {("sms", "queued")}
        assert all(clock.as_utc(r.created_at) == night for r in rows)
        assert all(clock.as_utc(r.next_attempt_at) == datetime(2026, 6, 11, 0, 0, tzinfo=UTC) for r in rows)
        assert all(title[:40] in r.body and item.code in r.body for r in rows)
        assert fanout.status == "expanded"
    finally:
        clock.reset()


def test_a_village_head_filing_for_a_resident_is_not_told_of_the_item_the_deputy_is(db, daytime):
    from civic.items import service as items
    from civic.items.schemas import SubmitForm
    from tests.builders import item_data, make_user

    commune, a, _, cat, users = world(db)
    deputy = make_user(db, "deputy_head", commune=commune, village=a)
    form = SubmitForm.parse(item_data(a, cat, contact_name="Bà Năm"))
    items.submit(db, commune, form, viewer(db, users["village_head"]), on_behalf=True)
    worker.expand_fanouts(db)
    assert [r.recipient for r in outbox(db, kind="new_item")] == [f"u:{deputy.id}"]
