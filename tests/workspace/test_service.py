"""The to-do's facts, read for a page of items at once, agree with the domains' own facts providers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civic import clock
from civic.implementation import service as impl
from civic.implementation.schemas import DeliveryForm, PledgeOnBehalfForm, ProgressForm
from civic.workflow import service as workflow
from civic.workspace import service as workspace
from tests.builders import (
    disclose,
    households_of,
    make_discuss_item,
    make_item,
    pledge_data,
    viewer,
    world,
)

FIELDS = ("stage", "disclosure_count", "disclosure_ready_on", "decision_passed", "decision_failed",
          "progress_percent", "pledges_open")


def test_the_facts_of_a_page_are_those_of_each_item(db):
    clock.freeze(datetime(2026, 3, 2, 2, tzinfo=UTC))
    commune, a, _b, cat, users = world(db)
    head = users["village_head"]
    sec = viewer(db, head)
    new = make_item(db, commune, a, cat, title="Mục mới")
    bare = make_item(db, commune, a, cat, stage="know", title="Chưa niêm yết")
    shown = make_item(db, commune, a, cat, stage="know", title="Đã niêm yết")
    disclose(db, shown, head, days_ago=2)
    discussed = make_discuss_item(db, commune, a, cat, head, title="Đang bàn")
    doing = make_item(db, commune, a, cat, stage="do", title="Đang làm")
    households = households_of(db, a)
    forms = [PledgeOnBehalfForm.parse(pledge_data(household=h.code, amount=amount))
             for h, amount in zip(households, ("20", "30", "5"), strict=False)]
    pledges = [impl.pledge(db, doing, sec, form) for form in forms]
    # One delivered in full, one in part: two still open.
    for p, amount in ((pledges[0], "20"), (pledges[1], "10")):
        impl.record_delivery(db, doing, p.id, sec, DeliveryForm.for_kind(p.kind).parse(
            {"amount": amount, "delivered_on": "2026-03-01", "evidence": "Biên bản bàn giao số 1"}))
    impl.post_progress(db, doing, sec, ProgressForm.parse({"percent": "10", "text": "Đã dọn mặt bằng."}))
    clock.advance(timedelta(minutes=5))
    impl.post_progress(db, doing, sec, ProgressForm.parse({"percent": "40", "text": "Đã đổ nửa đường."}))
    items = [new, bare, shown, discussed, doing]
    page = workspace.list_facts(db, items)
    for item in items:
        one = workflow.facts(db, item)
        mine = {f: getattr(page[item.id], f) for f in FIELDS}
        assert mine == {f: getattr(one, f) for f in FIELDS}, item.title
    assert page[doing.id].pledges_open == 2 and page[doing.id].progress_percent == 40
    assert page[bare.id].disclosure_count == 0 and page[shown.id].disclosure_count == 1
