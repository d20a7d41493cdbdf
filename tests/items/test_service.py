"""Submitting an item against the real database: codes, idempotency, privacy, assisted intake."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlmodel import col

from civic import clock
from civic.accounts.service import Viewer
from civic.audit.models import AuditEvent
from civic.db import run_write, unit_of_work
from civic.errors import Forbidden, Invalid
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import SubmitForm
from civic.workflow.stages import Stage
from tests.builders import (
    audit_events,
    count,
    item_data,
    make_category,
    make_commune,
    make_item,
    make_user,
    setup_world,
    viewer,
    world,
)

MARCH = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def form(village, category, **over) -> SubmitForm:
    """The submission as the form reads what a person typed."""
    return SubmitForm.parse(item_data(village, category, **over))


def test_submit_creates_one_item_with_the_next_code(db):
    clock.freeze(MARCH)
    commune, a, _b, cat, _users = world(db)
    first = items.submit(db, commune, form(a, cat, title="Đường ngõ 3 bị ngập"), Viewer())
    second = items.submit(db, commune, form(a, cat), Viewer())
    assert first.created and second.created
    assert (first.item.code, second.item.code) == ("NS-2026-0001", "NS-2026-0002")
    assert count(db, Item) == 2
    item = first.item
    assert (item.stage, item.outcome, item.kind, item.channel) == (Stage.SUBMITTED, None, "concern", "web")
    assert item.village_id == a.id and item.category_id == cat.id
    assert item.title == "Đường ngõ 3 bị ngập"
    assert clock.as_utc(item.created_at) == MARCH
    assert "duong ngo 3 bi ngap" in item.search_text
    assert items.get_by_code(db, "ns-2026-1").id == item.id


def test_codes_count_per_year_in_the_local_time_zone(db):
    """31 Dec 17:30 UTC is already 1 January in Hà Nội: the first item of the new year is -0001."""
    clock.freeze(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    commune, a, _b, cat, _users = world(db)
    assert items.submit(db, commune, form(a, cat, title="Cống số 1"), Viewer()).item.code == "NS-2026-0001"
    assert items.submit(db, commune, form(a, cat, title="Cống thứ hai"), Viewer()).item.code == "NS-2026-0002"
    clock.freeze(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    assert items.submit(db, commune, form(a, cat, title="Cống thứ ba"), Viewer()).item.code == "NS-2027-0001"


def test_each_commune_has_its_own_numbers(db):
    clock.freeze(MARCH)
    commune, a, _b, cat, _users = world(db)
    other = make_commune(db, code="TT", name="Thanh Thủy")
    from tests.builders import make_category, make_village

    ov, oc = make_village(db, other, "Đồng Xuân"), make_category(db, other)
    items.submit(db, commune, form(a, cat), Viewer())
    assert items.submit(db, other, form(ov, oc), Viewer()).item.code == "TT-2026-0001"
    assert items.submit(db, commune, form(a, cat, title="Cống thứ hai"), Viewer()).item.code == "NS-2026-0002"


def test_a_village_of_another_commune_is_refused(db):
    commune, a, _b, cat, _users = world(db)
    other = make_commune(db, code="TT", name="Thanh Thủy")
    from tests.builders import make_village

    foreign = make_village(db, other, "Đồng Xuân")
    with pytest.raises(Invalid) as exc:
        items.submit(db, commune, form(foreign, cat), Viewer())
    assert "village_id" in exc.value.errors
    assert count(db, Item) == 0


def test_submission_writes_one_audit_event_without_personal_data(db):
    commune, a, _b, cat, _users = world(db)
    before = len(audit_events(db, commune.id))
    result = items.submit(db, commune, form(a, cat, contact_phone="+84 912 345 678",
                                                   contact_name="Nguyễn Thị Riêng Tư"), Viewer())
    events = audit_events(db, commune.id)
    assert len(events) == before + 1
    event = events[-1]
    assert (event.action, event.item_id, event.actor_role, event.actor_id) ==\
        ("submitted", result.item.id, "author", None)
    assert json.loads(event.payload)["code"] == result.item.code
    assert result.item.contact_phone == "0912345678"


def test_anonymous_submission_needs_a_phone_and_keeps_it_private(db):
    commune, a, _b, cat, _users = world(db)
    with pytest.raises(Invalid) as exc:
        items.submit(db, commune, form(a, cat, contact_phone=""), Viewer())
    assert set(exc.value.errors) == {"contact_phone"}
    with pytest.raises(Invalid) as exc:
        items.submit(db, commune, form(a, cat, contact_phone="0241234567"), Viewer())
    assert set(exc.value.errors) == {"contact_phone"}
    assert count(db, Item) == 0

    result = items.submit(db, commune, form(a, cat, contact_phone="0912 345 678", contact_name="Bà Tư"),
                          Viewer())
    assert result.item.reporter_id is None
    assert result.manage_token and len(result.manage_token) >= 32
    assert result.item.contact_phone == "0912345678"
    assert result.manage_token not in (result.item.manage_token_hash or "")
    assert items.get_by_manage_token(db, result.manage_token).id == result.item.id
    for event in audit_events(db):
        stored = event.payload
        for secret in ("0912345678", "912345678", "Bà Tư", result.manage_token, "phone"):
            assert secret not in stored, f"{secret!r} leaked into audit event {event.seq}: {stored}"


def test_submission_with_an_account_is_linked_to_it(db):
    commune, a, _b, cat, users = world(db)
    resident = users["resident"]
    result = items.submit(db, commune, form(a, cat, contact_phone=""), viewer(db, resident))
    assert result.created
    assert result.item.reporter_id == resident.id
    assert result.manage_token is None and result.item.manage_token_hash is None
    assert result.item.contact_phone == ""
    assert [row.code for row in items.my_items(db, resident.id)] == [result.item.code]
    assert audit_events(db, commune.id)[-1].actor_id == resident.id


def test_the_same_client_token_twice_returns_the_same_item(db):
    commune, a, _b, cat, _users = world(db)
    first = items.submit(db, commune, form(a, cat, client_token="tok-123"), Viewer(), submitter="session-A")
    events = len(audit_events(db, commune.id))
    again = items.submit(db, commune, form(a, cat, title="Một tiêu đề khác hẳn", client_token="tok-123"),
                         Viewer(), submitter="session-A")
    assert not again.created and again.own
    assert again.item.id == first.item.id
    assert again.manage_token == first.manage_token, "the same session sees its link again"
    assert count(db, Item) == 1
    assert len(audit_events(db, commune.id)) == events


@pytest.mark.parametrize("submitter", [None, "session-B"])
def test_a_replay_from_another_session_gets_no_manage_link(db, submitter):
    commune, a, _b, cat, _users = world(db)
    first = items.submit(db, commune, form(a, cat, client_token="tok-123"), Viewer(), submitter="session-A")
    replay = items.submit(db, commune, form(a, cat, client_token="tok-123"), Viewer(), submitter=submitter)
    assert replay.item.id == first.item.id and not replay.created
    assert not replay.own and replay.manage_token is None
    assert first.manage_token and items.is_manage_token(first.item, first.manage_token)


def test_different_client_tokens_make_different_items(db):
    commune, a, _b, cat, _users = world(db)
    one = items.submit(db, commune, form(a, cat, client_token="tok-1"), Viewer())
    two = items.submit(db, commune, form(a, cat, client_token="tok-2", title="Cống thứ hai"), Viewer())
    assert one.item.id != two.item.id
    assert one.manage_token != two.manage_token


@pytest.mark.parametrize("token", ["has space", "x" * 65, "<script>", "tok;DROP", "a/b"])
def test_a_damaged_client_token_is_refused(db, token):
    commune, a, _b, cat, _users = world(db)
    with pytest.raises(Invalid):
        items.submit(db, commune, form(a, cat, client_token=token), Viewer())
    assert count(db, Item) == 0


def test_concurrent_submissions_with_one_client_token_make_one_item():
    commune, a, _b, cat, _users = setup_world()
    data = form(a, cat, client_token="same-token")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def send():
        try:
            barrier.wait(timeout=10)
            results.append(run_write(lambda db: items.submit(db, commune, data, Viewer()).item.code))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    with unit_of_work() as db:
        assert count(db, Item) == 1
        assert count(db, AuditEvent, AuditEvent.action == "submitted") == 1


def test_concurrent_submissions_get_distinct_codes():
    commune, a, _b, cat, _users = setup_world()
    barrier = threading.Barrier(4)
    codes, errors = [], []

    def send(n):
        try:
            barrier.wait(timeout=10)
            codes.append(run_write(lambda db: items.submit(db, commune, form(a, cat, client_token=f"tok-{n}",
                                                                               title=f"Cống số {n}"),
                                                           Viewer()).item.code))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(set(codes)) == 4
    year = clock.today_local().year
    assert sorted(codes) == [f"NS-{year}-{n:04d}" for n in range(1, 5)]


def test_a_failed_transaction_leaves_neither_item_nor_event():
    commune, a, _b, cat, _users = setup_world()
    with unit_of_work() as db:
        events_before = len(audit_events(db, commune.id))
    with pytest.raises(RuntimeError), unit_of_work(write=True) as db:
        items.submit(db, commune, form(a, cat), Viewer())
        raise RuntimeError("the request failed after the service ran")
    with unit_of_work() as db:
        assert count(db, Item) == 0
        assert len(audit_events(db, commune.id)) == events_before
        from civic.audit import service as audit

        assert audit.verify(db, commune.id).ok


# --- filing on behalf of a resident --------------------------------------------------------------

def test_village_head_files_on_behalf_of_a_resident(db):
    commune, a, _b, cat, users = world(db)
    sec = users["village_head"]
    result = items.submit(db, commune, form(a, cat, contact_phone="", contact_name="Cụ Ông Năm"),
                          viewer(db, sec), on_behalf=True)
    item = result.item
    assert (item.channel, item.entered_by_id, item.reporter_id) == ("assisted", sec.id, None)
    assert item.contact_name == "Cụ Ông Năm" and item.contact_phone == ""
    event = audit_events(db, commune.id)[-1]
    assert (event.actor_id, event.actor_role, json.loads(event.payload)["channel"]) ==\
        (sec.id, "village_head", "assisted")
    assert "Cụ Ông Năm" not in event.payload


def test_on_behalf_needs_the_residents_name_and_a_valid_phone_if_given(db):
    commune, a, _b, cat, users = world(db)
    sec = viewer(db, users["village_head"])
    with pytest.raises(Invalid) as exc:
        items.submit(db, commune, form(a, cat, contact_name=""), sec, on_behalf=True)
    assert "contact_name" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        items.submit(db, commune, form(a, cat, contact_name="Cụ Năm", contact_phone="12"), sec,
                     on_behalf=True)
    assert "contact_phone" in exc.value.errors
    ok = items.submit(db, commune, form(a, cat, contact_name="Cụ Năm", contact_phone="84912000111"), sec,
                      on_behalf=True)
    assert ok.item.contact_phone == "0912000111"


def test_on_behalf_only_for_the_village_heads_own_villages(db):
    commune, a, b, cat, users = world(db)
    with pytest.raises(Invalid) as exc:
        items.submit(db, commune, form(b, cat, contact_name="Cụ Năm"), viewer(db, users["village_head"]),
                     on_behalf=True)
    assert "village_id" in exc.value.errors
    assert count(db, Item) == 0


@pytest.mark.parametrize("who", ["resident", "supervisor", "admin", None])
def test_only_a_village_head_files_on_behalf(db, who):
    commune, a, _b, cat, users = world(db)
    actor = viewer(db, users[who]) if who else Viewer()
    with pytest.raises(Forbidden):
        items.submit(db, commune, form(a, cat, contact_name="Cụ Năm"), actor, on_behalf=True)
    assert count(db, Item) == 0


# --- lists and search -----------------------------------------------------------------------------

def test_search_ignores_diacritics_and_case(db):
    commune, a, _b, cat, _users = world(db)
    road = items.submit(db, commune, form(a, cat, title="Đường liên thôn xuống cấp",
                                               description="Nhiều ổ gà sau mùa mưa."), Viewer()).item
    items.submit(db, commune, form(a, cat, title="Đèn chiếu sáng hỏng", description="Tối om cả ngõ."),
                 Viewer())
    for q in ("duong", "ĐƯỜNG", "Đường", "duong lien", "  lien   thon "):
        page = items.list_public(db, commune.id, items.ListFilters(q=q))
        assert [r.code for r in page.rows] == [road.code], q
    assert items.list_public(db, commune.id, items.ListFilters(q="duong den")).total == 0


def test_the_list_without_a_search_shows_what_each_set_of_filters_matches_newest_first_a_page_at_a_time(db):
    commune, a, b, cat, _users = world(db)
    other = make_category(db, commune, "lighting", "Chiếu sáng", "Lighting")
    shapes = itertools.product((a, b), ("concern", "proposal"), ("submitted", "know", "rejected"))
    for n, (village, kind, stage) in enumerate(shapes):
        make_item(db, commune, village, other if n % 3 == 0 else cat, kind=kind, stage=stage,
                  title=f"Việc thứ {n + 1} của thôn")
    every = db.execute(select(Item).where(col(Item.commune_id) == commune.id)).scalars().all()
    every = sorted(every, key=lambda i: (i.created_at, i.id), reverse=True)
    assert len({i.outcome for i in every}) == 2 and len({i.stage for i in every}) == 3
    for village, stage, outcome, kind, category in itertools.product(
            (None, a.id, b.id), (None, "submitted", "know", Stage.CLOSED), (None, "rejected"),
            (None, "concern", "proposal"), (None, cat.id, other.id)):
        want = [i.code for i in every
                if village in (None, i.village_id) and stage in (None, i.stage)
                and outcome in (None, i.outcome) and kind in (None, i.kind)
                and category in (None, i.category_id)]
        for page in (1, 2, 99):
            f = items.ListFilters(village_id=village, stage=stage, outcome=outcome, kind=kind,
                                  category_id=category, page=page)
            got = items.list_public(db, commune.id, f, page_size=2)
            shown = min(page, max(1, -(-len(want) // 2)))  # past the last page: the last page
            assert (got.total, got.page) == (len(want), shown), f
            assert [r.code for r in got.rows] == want[(shown - 1) * 2:shown * 2], f


@pytest.mark.parametrize("q", ["%", "_", "\\", "'", "100%_x"])
def test_search_treats_wildcards_as_text(db, q):
    commune, a, _b, cat, _users = world(db)
    items.submit(db, commune, form(a, cat, title="Đèn chiếu sáng hỏng"), Viewer())
    assert items.list_public(db, commune.id, items.ListFilters(q=q)).total == 0


def test_item_with_a_second_account_is_not_in_my_items(db):
    commune, a, _b, cat, users = world(db)
    other = make_user(db, "resident", commune=commune, village=a, name="Người Khác")
    items.submit(db, commune, form(a, cat), viewer(db, other))
    assert items.my_items(db, users["resident"].id) == []
