"""Review on appeal: the author asks once within 30 days; a supervisor upholds or sends back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from civic import clock
from civic.accounts.service import Viewer
from civic.db import unit_of_work
from civic.errors import Conflict, Forbidden, Invalid
from civic.items.models import Item
from civic.workflow import service as workflow
from civic.workflow.models import ReviewRequest
from civic.workflow.stages import Stage
from tests.builders import (
    audit_events,
    count,
    make_category,
    make_commune,
    make_user,
    make_village,
    move,
    setup_item,
    setup_world,
    snapshot,
    viewer,
)

DECIDED = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
WHY = {"reason": "Cống vẫn tắc, xin xem xét lại."}


def rejected_item(stage="rejected", *, anonymous=False):
    """A world and an item by the resident (or by someone without an account), closed at DECIDED."""
    clock.freeze(DECIDED - timedelta(days=1))
    commune, a, b, cat, users = setup_world()
    clock.freeze(DECIDED)
    item = setup_item(commune, a, cat, stage=stage, reporter=None if anonymous else users["resident"])
    return commune, a, b, cat, users, item


def act(item, action, who, inputs=None, *, author=False):
    """One request: load the item, transition, commit."""
    with unit_of_work(write=True) as db:
        live = db.get(Item, item.id)
        actor = viewer(db, who) if who is not None else Viewer()
        move(db, live, action, actor, inputs or {}, is_author=author)
        return live


def queue_codes(user):
    with unit_of_work() as db:
        return [e.item.code for e in workflow.review_queue(db, viewer(db, user))]


@pytest.mark.parametrize("stage", ["rejected", "duplicate", "redirected"])
def test_author_asks_for_a_review_within_30_days(stage):
    _c, _a, _b, _cat, users, item = rejected_item(stage)
    clock.advance(timedelta(days=30))
    act(item, "request_review", users["resident"], WHY, author=True)
    with unit_of_work() as db:
        review = db.execute(ReviewRequest.__table__.select()).one()
        assert (review.item_id, review.reason, review.decision, review.requested_by_id) ==\
            (item.id, WHY["reason"], None, users["resident"].id)
        live = db.get(Item, item.id)
        assert (live.stage, live.outcome) == (Stage.CLOSED, stage), "asking does not reopen the item"
        event = audit_events(db, live.commune_id)[-1]
        assert (event.action, event.actor_role, event.item_id) == ("request_review", "author", item.id)
    assert queue_codes(users["supervisor"]) == [item.code]


def test_a_review_cannot_be_asked_after_30_days():
    _c, _a, _b, _cat, users, item = rejected_item()
    clock.advance(timedelta(days=30, seconds=1))
    before = snapshot(item.code)
    with pytest.raises(Conflict):
        act(item, "request_review", users["resident"], WHY, author=True)
    assert snapshot(item.code) == before
    assert queue_codes(users["supervisor"]) == []


def test_a_review_can_be_asked_only_once():
    _c, _a, _b, _cat, users, item = rejected_item()
    clock.advance(timedelta(days=1))
    act(item, "request_review", users["resident"], WHY, author=True)
    clock.advance(timedelta(days=1))
    before = snapshot(item.code)
    with pytest.raises(Conflict):
        act(item, "request_review", users["resident"], {"reason": "Lần thứ hai xin xem lại."}, author=True)
    assert snapshot(item.code) == before
    # Still only once after the supervisor decided.
    act(item, "uphold", users["supervisor"], {"reason": "Quyết định đúng quy định."})
    with pytest.raises(Conflict):
        act(item, "request_review", users["resident"], {"reason": "Lần thứ ba xin xem lại."}, author=True)
    with unit_of_work() as db:
        assert count(db, ReviewRequest) == 1


def test_a_review_needs_a_reason():
    _c, _a, _b, _cat, users, item = rejected_item()
    with pytest.raises(Invalid) as exc:
        act(item, "request_review", users["resident"], {"reason": ""}, author=True)
    assert "reason" in exc.value.errors
    with unit_of_work() as db:
        assert count(db, ReviewRequest) == 0


@pytest.mark.parametrize("who", ["village_head", "supervisor", "other_head", "admin", None])
def test_only_the_author_asks_for_a_review(who):
    _c, _a, _b, _cat, users, item = rejected_item()
    with pytest.raises(Forbidden):
        act(item, "request_review", users[who] if who else None, WHY)
    with unit_of_work() as db:
        assert count(db, ReviewRequest) == 0


def test_anonymous_author_asks_with_the_manage_link():
    _c, _a, _b, _cat, users, item = rejected_item(anonymous=True)
    from civic.items import service as items

    with unit_of_work(write=True) as db:
        live = db.get(Item, item.id)
        assert items.is_author(live, Viewer(), item._manage_token)
        move(db, live, "request_review", Viewer(), WHY, is_author=True)
    assert queue_codes(users["supervisor"]) == [item.code]


def test_uphold_keeps_the_decision_and_empties_the_queue():
    _c, _a, _b, _cat, users, item = rejected_item()
    clock.advance(timedelta(days=3))
    act(item, "request_review", users["resident"], WHY, author=True)
    clock.advance(timedelta(days=2))
    act(item, "uphold", users["supervisor"], {"reason": "Việc này thuộc thẩm quyền huyện."})
    with unit_of_work() as db:
        live = db.get(Item, item.id)
        assert (live.stage, live.outcome) == (Stage.CLOSED, "rejected")
        review = db.execute(ReviewRequest.__table__.select()).one()
        assert (review.decision, review.decided_by_id) == ("upheld", users["supervisor"].id)
        assert clock.as_utc(review.decided_at) == DECIDED + timedelta(days=5)
        event = audit_events(db, live.commune_id)[-1]
        assert ((event.action, event.actor_role, event.actor_id)
                == ("uphold", "supervisor", users["supervisor"].id))
    assert queue_codes(users["supervisor"]) == []
    with pytest.raises(Conflict):
        act(item, "send_back", users["supervisor"], {"reason": "Đổi ý sau khi đã quyết."})


def test_send_back_returns_the_item_to_triage_where_it_can_be_accepted():
    _c, _a, _b, _cat, users, item = rejected_item()
    clock.advance(timedelta(days=3))
    act(item, "request_review", users["resident"], WHY, author=True)
    act(item, "send_back", users["supervisor"], {"reason": "Cần xem xét lại tại thôn."})
    with unit_of_work() as db:
        live = db.get(Item, item.id)
        assert ((live.stage, live.outcome, live.closed_at, live.close_reason)
                == (Stage.SUBMITTED, None, None, ""))
        assert live.acknowledged_at is None
        queue = workflow.triage_queue(db, viewer(db, users["village_head"]))
        assert [e.item.code for e in queue] == [item.code]
        review = db.execute(ReviewRequest.__table__.select()).one()
        assert review.decision == "sent_back"
    assert queue_codes(users["supervisor"]) == []
    act(item, "accept", users["village_head"])
    assert snapshot(item.code)["stage"] == Stage.KNOW


def test_send_back_clears_the_duplicate_link_and_redirect():
    commune, a, _b, cat, users, item = rejected_item("redirected")
    act(item, "request_review", users["resident"], WHY, author=True)
    live = act(item, "send_back", users["supervisor"], {"reason": "Việc này thôn tự làm được."})
    assert (live.redirected_to, live.duplicate_of_id) == ("", None)
    dup = setup_item(commune, a, cat, stage="duplicate", reporter=users["resident"])
    assert dup.duplicate_of_id is not None
    act(dup, "request_review", users["resident"], WHY, author=True)
    live = act(dup, "send_back", users["supervisor"], {"reason": "Không trùng với phản ánh kia."})
    assert live.duplicate_of_id is None


def test_a_new_decision_after_send_back_can_be_appealed_again():
    _c, _a, _b, _cat, users, item = rejected_item()
    act(item, "request_review", users["resident"], WHY, author=True)
    act(item, "send_back", users["supervisor"], {"reason": "Cần xem xét lại tại thôn."})
    clock.advance(timedelta(days=1))
    act(item, "reject", users["village_head"], {"reason": "Đã xem xét lại, vẫn không thuộc thôn."})
    clock.advance(timedelta(days=29))
    act(item, "request_review", users["resident"], {"reason": "Vẫn xin xem xét lại lần nữa."}, author=True)
    assert queue_codes(users["supervisor"]) == [item.code]


@pytest.mark.parametrize("action", ["uphold", "send_back"])
def test_supervisor_cannot_decide_when_nobody_asked(action):
    _c, _a, _b, _cat, users, item = rejected_item()
    before = snapshot(item.code)
    with pytest.raises(Conflict):
        act(item, action, users["supervisor"], {"reason": "Một lý do đủ dài."})
    assert snapshot(item.code) == before


@pytest.mark.parametrize("action", ["uphold", "send_back"])
@pytest.mark.parametrize("who", ["village_head", "resident", "admin", "other_supervisor", None])
def test_only_a_supervisor_of_the_commune_decides(action, who):
    _c, _a, _b, _cat, users, item = rejected_item()
    act(item, "request_review", users["resident"], WHY, author=True)
    if who == "other_supervisor":
        with unit_of_work(write=True) as db:
            other = make_commune(db, code="TT", name="Thanh Thủy")
            make_village(db, other, "Đồng Xuân")
            make_category(db, other)
            users["other_supervisor"] = make_user(db, "supervisor", commune=other, name="Giám Sát Khác")
    before = snapshot(item.code)
    with pytest.raises(Forbidden):
        act(item, action, users[who] if who else None, {"reason": "Một lý do đủ dài."})
    assert snapshot(item.code) == before
    assert queue_codes(users["supervisor"]) == [item.code]
    if who == "other_supervisor":
        assert queue_codes(users["other_supervisor"]) == []


@pytest.mark.parametrize("action", ["uphold", "send_back"])
def test_the_supervisors_decision_needs_a_reason(action):
    _c, _a, _b, _cat, users, item = rejected_item()
    act(item, "request_review", users["resident"], WHY, author=True)
    before = snapshot(item.code)
    with pytest.raises(Invalid):
        act(item, action, users["supervisor"], {"reason": ""})
    assert snapshot(item.code) == before


def test_review_queue_is_oldest_request_first():
    _c, a, _b, cat, users, first = rejected_item()
    second = setup_item(_c, a, cat, stage="duplicate", reporter=users["resident"])
    clock.advance(timedelta(days=1))
    act(second, "request_review", users["resident"], WHY, author=True)
    clock.advance(timedelta(hours=1))
    act(first, "request_review", users["resident"], WHY, author=True)
    assert queue_codes(users["supervisor"]) == [second.code, first.code]
    for who in ("village_head", "resident", "admin"):
        assert queue_codes(users[who]) == []
