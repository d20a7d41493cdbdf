"""Triage through the one mover, move(), against the real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from civic import clock
from civic.accounts.service import Viewer
from civic.db import unit_of_work
from civic.errors import Conflict, Forbidden, Invalid, NotFound
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import SubmitForm
from civic.workflow import service as workflow
from civic.workflow.stages import Stage
from tests.builders import (
    audit_events,
    item_data,
    make_category,
    make_commune,
    make_item,
    make_user,
    make_village,
    move,
    setup_item,
    setup_world,
    snapshot,
    viewer,
    world,
)


def events_of(db, item):
    return [e for e in audit_events(db, item.commune_id) if e.item_id == item.id]


def test_accept_moves_to_know_and_writes_one_event(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    before = len(audit_events(db, commune.id))
    clock.advance(timedelta(hours=2))
    move(db, item, "accept", viewer(db, users["village_head"]))
    assert (item.stage, item.outcome, item.closed_at) == (Stage.KNOW, None, None)
    assert item.acknowledged_at is not None and item.updated_at == item.acknowledged_at
    events = audit_events(db, commune.id)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.action, event.item_id, event.actor_id, event.actor_role) ==\
        ("accept", item.id, users["village_head"].id, "village_head")
    assert json.loads(event.payload) == {"from": "submitted", "to": "know"}


@pytest.mark.parametrize(("action", "inputs", "outcome"), [
    ("reject", {"reason": "Việc này thuộc thẩm quyền của huyện."}, "rejected"),
    ("redirect", {"destination": "Bộ phận tiếp công dân xã", "reason": "Là tranh chấp đất đai."},
     "redirected"),
])
def test_closing_decisions(db, action, inputs, outcome):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    before = len(audit_events(db, commune.id))
    move(db, item, action, viewer(db, users["village_head"]), inputs)
    assert (item.stage, item.outcome) == (Stage.CLOSED, outcome)
    assert item.close_reason == inputs["reason"]
    assert item.closed_at is not None
    if action == "redirect":
        assert item.redirected_to == "Bộ phận tiếp công dân xã"
    events = audit_events(db, commune.id)
    assert len(events) == before + 1
    payload = json.loads(events[-1].payload)
    assert (payload["outcome"], payload["to"], payload["reason"]) == (outcome, "closed", inputs["reason"])


def test_mark_duplicate_links_the_original(db):
    commune, a, _b, cat, users = world(db)
    original = make_item(db, commune, a, cat, title="Cống tắc lần đầu")
    item = make_item(db, commune, a, cat)
    typed = original.code.lower().replace("-", " ")
    move(db, item, "mark_duplicate", viewer(db, users["village_head"]),
                        {"original_code": typed, "reason": "Đã có người phản ánh."})
    assert (item.stage, item.outcome, item.duplicate_of_id) == (Stage.CLOSED, "duplicate", original.id)
    assert json.loads(audit_events(db, commune.id)[-1].payload)["original"] == original.code


@pytest.mark.parametrize("code", ["", "garbage", "NS-2099-0999"])
def test_mark_duplicate_needs_an_existing_original(db, code):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    with pytest.raises(Invalid) as exc:
        move(db, item, "mark_duplicate", viewer(db, users["village_head"]),
                            {"original_code": code, "reason": "Đã có người phản ánh."})
    assert "original_code" in exc.value.errors


def test_an_item_is_not_a_duplicate_of_itself_or_of_another_communes_item(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    sec = viewer(db, users["village_head"])
    with pytest.raises(Invalid):
        move(db, item, "mark_duplicate", sec, {"original_code": item.code, "reason": "Trùng lặp."})
    other = make_commune(db, code="TT", name="Thanh Thủy")
    foreign = items.submit(db, other, SubmitForm.parse(item_data(make_village(db, other, "Đồng Xuân"),
                                                                 make_category(db, other))),
                           Viewer()).item
    with pytest.raises(Invalid):
        move(db, item, "mark_duplicate", sec, {"original_code": foreign.code, "reason": "Trùng."})
    assert item.stage == Stage.SUBMITTED


@pytest.mark.parametrize(("action", "inputs", "field"), [
    ("reject", {}, "reason"),
    ("reject", {"reason": "   "}, "reason"),
    ("reject", {"reason": "ngắn"}, "reason"),
    ("reject", {"reason": "x" * 2001}, "reason"),
    ("redirect", {"reason": "Là tranh chấp đất đai."}, "destination"),
    ("redirect", {"destination": "xy", "reason": "Là tranh chấp đất đai."}, "destination"),
    ("redirect", {"destination": "Bộ phận tiếp dân"}, "reason"),
    ("mark_duplicate", {"original_code": "NS-2026-0001"}, "reason"),
])
def test_decisions_need_their_inputs_and_change_nothing_without_them(action, inputs, field):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat)
    before = snapshot(item.code)
    with pytest.raises(Invalid) as exc, unit_of_work(write=True) as db:
        live = db.get(Item, item.id)
        move(db, live, action, viewer(db, users["village_head"]), inputs)
    assert field in exc.value.errors
    assert snapshot(item.code) == before


def test_recategorize_moves_the_item_to_the_right_village_and_category(db):
    commune, a, b, cat, users = world(db)
    roads = make_category(db, commune, code="roads", vi="Đường giao thông", en="Roads")
    item = make_item(db, commune, a, cat)
    move(db, item, "recategorize", viewer(db, users["village_head"]),
                        {"village_id": str(b.id), "category_id": str(roads.id)})
    assert (item.stage, item.village_id, item.category_id) == (Stage.SUBMITTED, b.id, roads.id)
    payload = json.loads(audit_events(db, commune.id)[-1].payload)
    assert (payload["village_from"], payload["village_to"]) == (a.id, b.id)
    assert (payload["category_from"], payload["category_to"]) == (cat.id, roads.id)
    # Now it belongs to the other village: its village head triages it, the first one no longer may.
    with pytest.raises(Forbidden):
        move(db, item, "accept", viewer(db, users["village_head"]))
    move(db, item, "accept", viewer(db, users["other_head"]))
    assert item.stage == Stage.KNOW


@pytest.mark.parametrize("inputs", [
    {},
    {"village_id": "abc", "category_id": "xyz"},
    {"village_id": "999999", "category_id": "999999"},
    {"village_id": "9" * 30, "category_id": "-" + "9" * 30},  # beyond any integer column
])
def test_recategorize_refuses_unknown_places(db, inputs):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    with pytest.raises(Invalid) as exc:
        move(db, item, "recategorize", viewer(db, users["village_head"]), inputs)
    assert {"village_id", "category_id"} <= set(exc.value.errors)


def test_recategorize_refuses_a_village_of_another_commune_and_no_change(db):
    commune, a, _b, cat, users = world(db)
    other = make_commune(db, code="TT", name="Thanh Thủy")
    foreign = make_village(db, other, "Đồng Xuân")
    item = make_item(db, commune, a, cat)
    sec = viewer(db, users["village_head"])
    with pytest.raises(Invalid) as exc:
        move(db, item, "recategorize", sec, {"village_id": foreign.id, "category_id": cat.id})
    assert "village_id" in exc.value.errors
    with pytest.raises(Invalid):
        move(db, item, "recategorize", sec, {"village_id": a.id, "category_id": cat.id})
    assert (item.village_id, item.category_id) == (a.id, cat.id)


def test_author_withdraws_before_the_discussion(db):
    commune, a, _b, cat, users = world(db)
    resident = users["resident"]
    item = make_item(db, commune, a, cat, reporter=resident)
    move(db, item, "withdraw", viewer(db, resident), is_author=True)
    assert (item.stage, item.outcome) == (Stage.CLOSED, "withdrawn")
    assert audit_events(db, commune.id)[-1].actor_role == "author"


def test_anonymous_author_withdraws_with_the_manage_link(db):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat, stage="know")
    assert items.is_author(item, Viewer(), item._manage_token)
    assert not items.is_author(item, Viewer(), "x" * 43)
    move(db, item, "withdraw", Viewer(), is_author=items.is_author(item, Viewer(), item._manage_token))
    assert item.outcome == "withdrawn"


@pytest.mark.parametrize("actor", ["resident", "other_head", "supervisor", "admin", None])
@pytest.mark.parametrize("action", ["accept", "reject", "mark_duplicate", "redirect", "recategorize"])
def test_forbidden_triage_changes_nothing(actor, action):
    commune, a, b, cat, users = setup_world()
    item = setup_item(commune, a, cat)
    original = setup_item(commune, a, cat)
    clock.advance(timedelta(minutes=5))
    inputs = {"reason": "Một lý do đủ dài.", "destination": "Bộ phận tiếp dân",
              "original_code": original.code, "village_id": str(b.id), "category_id": str(cat.id)}
    before = snapshot(item.code)
    with pytest.raises(Forbidden) as exc, unit_of_work(write=True) as db:
        live = db.get(Item, item.id)
        move(db, live, action, viewer(db, users[actor]) if actor else Viewer(), inputs)
    assert exc.value.status == 403
    assert snapshot(item.code) == before


def test_accepting_twice_is_a_conflict_and_changes_nothing():
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know")
    before = snapshot(item.code)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(Conflict) as exc, unit_of_work(write=True) as db:
        move(db, db.get(Item, item.id), "accept", viewer(db, users["village_head"]))
    assert exc.value.status == 409
    assert snapshot(item.code) == before


@pytest.mark.parametrize("stage", ["rejected", "duplicate", "redirected"])
def test_a_closed_item_cannot_be_triaged_again(stage):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage=stage)
    before = snapshot(item.code)
    for action, inputs in (("accept", {}), ("reject", {"reason": "Lý do khác hẳn."})):
        with pytest.raises(Conflict), unit_of_work(write=True) as db:
            move(db, db.get(Item, item.id), action, viewer(db, users["village_head"]), inputs)
    assert snapshot(item.code) == before


def test_unknown_action_is_not_found(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    with pytest.raises(NotFound):
        move(db, item, "publish", viewer(db, users["village_head"]))


def test_allowed_actions_of_the_pages(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, reporter=users["resident"])
    assert workflow.allowed_actions(db, item, viewer(db, users["village_head"])) ==\
        ["accept", "reject", "mark_duplicate", "redirect", "recategorize"]
    assert workflow.allowed_actions(db, item, viewer(db, users["resident"]), is_author=True) == ["withdraw"]
    assert workflow.allowed_actions(db, item, viewer(db, users["other_head"])) == []
    assert workflow.allowed_actions(db, item, Viewer()) == []


# --- the triage queue -----------------------------------------------------------------------------

def at_local(year, month, day, hour=9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=clock.LOCAL_TZ).astimezone(UTC)


def test_triage_queue_shows_only_new_items_of_own_villages_oldest_first(db):
    clock.freeze(at_local(2026, 3, 2))
    commune, a, b, cat, users = world(db)
    first = make_item(db, commune, a, cat, title="Cũ nhất")
    clock.advance(timedelta(hours=1))
    make_item(db, commune, b, cat, title="Của thôn khác")
    clock.advance(timedelta(hours=1))
    second = make_item(db, commune, a, cat, title="Mới hơn")
    clock.advance(timedelta(hours=1))
    make_item(db, commune, a, cat, stage="know", title="Đã tiếp nhận")
    make_item(db, commune, a, cat, stage="rejected", title="Đã từ chối")
    queue = workflow.triage_queue(db, viewer(db, users["village_head"]))
    assert [e.item.code for e in queue] == [first.code, second.code]
    other_queue = workflow.triage_queue(db, viewer(db, users["other_head"]))
    assert [e.item.title for e in other_queue] == ["Của thôn khác"]
    for who in ("resident", "supervisor", "admin"):
        assert workflow.triage_queue(db, viewer(db, users[who])) == []


def test_triage_queue_pages_are_the_same_whichever_way_they_are_read(db):
    """A head's share of the commune's new items chooses how a page is read (along the commune's new items
    in order, or every item of the head's villages sorted): the pages are the same either way."""
    clock.freeze(at_local(2026, 3, 2))
    commune, a, b, cat, users = world(db)
    made = []
    for n in range(8):  # six in village a, two in village b, interleaved, an hour apart
        village = b if n in (2, 5) else a
        made.append((village, make_item(db, commune, village, cat, title=f"Việc {n}")))
        clock.advance(timedelta(hours=1))
    head_a, head_b = viewer(db, users["village_head"]), viewer(db, users["other_head"])
    mine = [item.code for village, item in made if village is a]
    pages = [[e.item.code for e in workflow.triage_queue(db, head_a, limit=2, offset=start)]
             for start in (0, 2, 4, 6)]
    assert pages == [mine[0:2], mine[2:4], mine[4:6], []]
    assert ([e.item.code for e in workflow.triage_queue(db, head_b, limit=2)]
            == [item.code for village, item in made if village is b])
    assert workflow.triage_count(db, head_a) == 6


def test_triage_queue_counts_working_days_in_local_time(db):
    """Sent at 01:00 on Monday in Hà Nội (Sunday in UTC): due Thursday, overdue on Friday."""
    clock.freeze(datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    commune, a, _b, cat, users = world(db)
    make_item(db, commune, a, cat)
    sec = viewer(db, users["village_head"])
    clock.freeze(at_local(2026, 3, 5, 16))
    entry = workflow.triage_queue(db, sec)[0]
    assert ((entry.waited, entry.allowed, entry.due_on, entry.overdue)
            == (3, 3, datetime(2026, 3, 5).date(), False))
    clock.freeze(at_local(2026, 3, 6, 8))
    entry = workflow.triage_queue(db, sec)[0]
    assert (entry.waited, entry.overdue) == (4, True)


def test_triage_queue_over_tet(db):
    clock.freeze(at_local(2026, 2, 13))
    commune, a, _b, cat, users = world(db)
    make_item(db, commune, a, cat)
    sec = viewer(db, users["village_head"])
    clock.freeze(at_local(2026, 2, 24))
    entry = workflow.triage_queue(db, sec)[0]
    assert (entry.waited, entry.due_on, entry.overdue) == (2, datetime(2026, 2, 25).date(), False)


def test_a_second_village_head_of_the_same_village_shares_the_queue(db):
    commune, a, _b, cat, users = world(db)
    deputy = make_user(db, "village_head", commune=commune, village=a, name="Phó Trưởng Thôn")
    item = make_item(db, commune, a, cat)
    assert [e.item.id for e in workflow.triage_queue(db, viewer(db, deputy))] == [item.id]
    move(db, item, "accept", viewer(db, deputy))
    assert workflow.triage_queue(db, viewer(db, users["village_head"])) == []
