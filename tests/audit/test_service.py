"""The audit chain against the real database: every change is a linked event; tampering shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from civic import clock
from civic.accounts.service import Viewer
from civic.audit import service as audit
from civic.audit.rules import GENESIS
from civic.db import unit_of_work
from civic.errors import Conflict
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import SubmitForm
from tests.builders import (
    audit_events,
    item_data,
    make_category,
    make_commune,
    make_item,
    make_village,
    move,
    setup_world,
    viewer,
    world,
)


def busy_commune():
    """A commune whose chain has a submission, an acceptance, a rejection and a duplicate (committed)."""
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        sec = viewer(db, users["village_head"])
        first = items.submit(db, commune, SubmitForm.parse(item_data(a, cat)), Viewer()).item
        clock.advance(timedelta(minutes=1))
        move(db, first, "accept", sec)
        second = make_item(db, commune, a, cat)
        move(db, second, "reject", sec, {"reason": "Không thuộc phạm vi thôn."})
        make_item(db, commune, a, cat, stage="duplicate")
    return commune


def verify(commune_id):
    with unit_of_work() as db:
        return audit.verify(db, commune_id)


def tamper(sql, **params):
    with unit_of_work(write=True) as db:
        db.execute(text(sql), params)


def test_every_event_links_to_the_one_before(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    move(db, item, "accept", viewer(db, users["village_head"]))
    events = audit_events(db, commune.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    head = audit.head(db, commune.id)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    assert audit.count_events(db, commune.id) == len(events)
    assert [e.action for e in events if e.item_id == item.id] == ["submitted", "accept"]


def test_an_intact_chain_verifies():
    commune = busy_commune()
    result = verify(commune.id)
    assert result.ok and result.broken_seq is None
    with unit_of_work() as db:
        assert result.checked == audit.count_events(db, commune.id) >= 8


def middle_event(commune_id):
    with unit_of_work() as db:
        events = audit_events(db, commune_id)
    return events[len(events) // 2], len(events)


def test_a_changed_payload_is_named_by_its_seq():
    commune = busy_commune()
    event, _total = middle_event(commune.id)
    payload = json.loads(event.payload)
    payload["forged"] = True
    tamper("UPDATE audit_event SET payload = :p WHERE commune_id = :c AND seq = :s",
           p=json.dumps(payload), c=commune.id, s=event.seq)
    result = verify(commune.id)
    assert not result.ok
    assert result.broken_seq == event.seq
    assert result.checked == event.seq - 1


@pytest.mark.parametrize(("column", "value"), [
    ("action", "'reject'"),
    ("actor_role", "'admin'"),
    ("actor_id", "NULL"),
    ("item_id", "NULL"),
])
def test_any_changed_field_is_named(column, value):
    commune = busy_commune()
    with unit_of_work() as db:
        event = [e for e in audit_events(db, commune.id) if e.action == "accept"][0]
    tamper(f"UPDATE audit_event SET {column} = {value} WHERE commune_id = :c AND seq = :s",
           c=commune.id, s=event.seq)
    assert verify(commune.id).broken_seq == event.seq


def test_a_changed_time_is_named():
    commune = busy_commune()
    event, _total = middle_event(commune.id)
    tamper("UPDATE audit_event SET created_at = :t WHERE commune_id = :c AND seq = :s",
           t=clock.as_utc(event.created_at) - timedelta(days=3), c=commune.id, s=event.seq)
    assert verify(commune.id).broken_seq == event.seq


def test_a_rewritten_hash_is_named_even_when_the_next_link_follows_it():
    """Rewriting an event and its hash breaks it; rewriting the next link too just moves the break on."""
    commune = busy_commune()
    event, _total = middle_event(commune.id)
    forged = "f" * 64
    tamper("UPDATE audit_event SET hash = :h WHERE commune_id = :c AND seq = :s", h=forged, c=commune.id,
           s=event.seq)
    assert verify(commune.id).broken_seq == event.seq
    tamper("UPDATE audit_event SET prev_hash = :h WHERE commune_id = :c AND seq = :s", h=forged, c=commune.id,
           s=event.seq + 1)
    assert verify(commune.id).broken_seq == event.seq


def test_a_removed_event_is_named():
    commune = busy_commune()
    event, _total = middle_event(commune.id)
    tamper("DELETE FROM audit_event WHERE commune_id = :c AND seq = :s", c=commune.id, s=event.seq)
    result = verify(commune.id)
    assert result.broken_seq == event.seq
    assert "missing" in result.problem


def test_a_removed_last_event_is_noticed_through_the_head():
    commune = busy_commune()
    _event, total = middle_event(commune.id)
    tamper("DELETE FROM audit_event WHERE commune_id = :c AND seq = :s", c=commune.id, s=total)
    result = verify(commune.id)
    assert not result.ok
    assert result.broken_seq == total


def test_each_commune_has_its_own_chain():
    commune = busy_commune()
    with unit_of_work(write=True) as db:
        other = make_commune(db, code="TT", name="Thanh Thủy")
        village, cat = make_village(db, other, "Đồng Xuân"), make_category(db, other)
        items.submit(db, other, SubmitForm.parse(item_data(village, cat)), Viewer())
    with unit_of_work() as db:
        theirs = audit_events(db, other.id)
    assert theirs[0].seq == 1 and theirs[0].prev_hash == GENESIS
    event, _total = middle_event(commune.id)
    tamper("UPDATE audit_event SET payload = '{}' WHERE commune_id = :c AND seq = :s", c=commune.id,
           s=event.seq)
    assert verify(commune.id).broken_seq == event.seq
    assert verify(other.id).ok


def test_personal_data_is_refused_by_the_chain(db):
    commune, *_ = world(db)
    before = audit.count_events(db, commune.id)
    for key in ("phone", "contact_phone", "email", "contact_name", "manage_token", "password"):
        with pytest.raises(ValueError):
            audit.record(db, commune_id=commune.id, action="note", payload={key: "0912345678"})
    assert audit.count_events(db, commune.id) == before


def test_a_refused_change_writes_no_event():
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = make_item(db, commune, a, cat, stage="know")
    with unit_of_work() as db:
        head_before = audit.head(db, commune.id)
    with pytest.raises(Conflict), unit_of_work(write=True) as db:
        move(db, db.get(Item, item.id), "accept", viewer(db, users["village_head"]))
    with unit_of_work() as db:
        assert audit.head(db, commune.id) == head_before
        assert db.execute(text("SELECT count(*) FROM audit_event WHERE item_id = :i"),
                          {"i": item.id}).scalar() == 2
    assert verify(commune.id).ok


def test_the_timeline_is_drawn_from_the_chain_without_contacts(db):
    commune, a, _b, cat, users = world(db)
    result = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, contact_name="Bà Năm Riêng",
                                                                  contact_phone="0987654321")),
                          Viewer())
    move(db, result.item, "reject", viewer(db, users["village_head"]), {"reason": "Không thuộc thôn."})
    entries = items.timeline(db, result.item)
    assert [(e.action, e.role) for e in entries] == [("submitted", "author"), ("reject", "village_head")]
    assert entries[0].actor_name == "", "the reporter chose not to show a name"
    assert entries[1].actor_name == "Trưởng Thôn A"
    assert entries[1].payload["reason"] == "Không thuộc thôn."
    assert all("0987654321" not in json.dumps(e.payload) for e in entries)


def test_timeline_shows_the_reporters_name_only_when_they_chose_to(db):
    commune, a, _b, cat, _users = world(db)
    shown = items.submit(db, commune,
                         SubmitForm.parse(item_data(a, cat, contact_name="Bà Năm", show_name="1")),
                         Viewer()).item
    assert items.timeline(db, shown)[0].actor_name == "Bà Năm"
    assert items.reporter_display(db, shown) == "Bà Năm"
    hidden = items.submit(db, commune, SubmitForm.parse(item_data(a, cat, contact_name="Bà Sáu",
                                                                  title="Đèn đường ngõ 3 hỏng")),
                          Viewer()).item
    assert items.timeline(db, hidden)[0].actor_name == ""
    assert items.reporter_display(db, hidden) == ""


def test_verify_reads_a_long_chain_in_batches():
    commune, a, _b, cat, _users = setup_world()
    with unit_of_work(write=True) as db:
        for n in range(12):
            items.submit(db, commune, SubmitForm.parse(item_data(a, cat, title=f"Cống số {n}")), Viewer())
    with unit_of_work() as db:
        total = audit.count_events(db, commune.id)
        assert audit.verify(db, commune.id, batch=5).checked == total
        tenth = db.execute(text("SELECT payload FROM audit_event WHERE commune_id = :c AND seq = 10"),
                           {"c": commune.id}).scalar()
    assert "NS-" in tenth
    tamper("UPDATE audit_event SET payload = :p WHERE commune_id = :c AND seq = 10",
           p=tenth.replace("NS-", "XX-"), c=commune.id)
    with unit_of_work() as db:
        assert audit.verify(db, commune.id, batch=5).broken_seq == 10
