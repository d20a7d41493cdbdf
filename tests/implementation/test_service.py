"""Dân làm services against a real database: pledges with consent, deliveries, budget, progress, totals."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from civic import clock
from civic.errors import Conflict, Forbidden, Invalid
from civic.implementation import service as impl
from civic.implementation.models import Delivery, Pledge, ProgressUpdate
from civic.implementation.schemas import (
    BudgetLineForm,
    DeliveryForm,
    DisputeForm,
    PledgeForm,
    PledgeOnBehalfForm,
    ProgressForm,
    SettingsForm,
    SpendingForm,
    WithdrawForm,
)
from tests.builders import (
    audit_events,
    consent_scan,
    count,
    households_of,
    make_item,
    make_representative,
    make_village,
    move,
    pledge_data,
    viewer,
    world,
)


def pledge(db, item, who, form, **kw):
    """impl.pledge, with the signed form's scan a household's own land pledge needs."""
    if form.kind == "land" and isinstance(form, PledgeForm) and "consent_scan" not in kw:
        kw["consent_scan"] = consent_scan()
    return impl.pledge(db, item, who, form, **kw)


def setup(db, stage="do"):
    commune, a, b, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage=stage)
    sec = viewer(db, users["village_head"])
    return commune, a, b, item, users, sec


def deliver(db, item, sec, p, amount, **over):
    data = {"amount": amount, "delivered_on": "2026-02-01", "evidence": "Biên bản bàn giao số 1"}
    data.update(over)
    return impl.record_delivery(db, item, p.id, sec, DeliveryForm.for_kind(p.kind).parse(data))


def pledge_form(*args, **over):
    """A household's own pledge, as its representative types it."""
    return PledgeForm.parse(pledge_data(*args, **over))


def progress(percent, text):
    return ProgressForm.parse({"percent": percent, "text": text})


def on_behalf(*args, **over):
    """A pledge the village head records for a household."""
    return PledgeOnBehalfForm.parse(pledge_data(*args, **over))


def test_a_representative_pledges_land_with_consent_and_it_is_recorded_once_in_the_chain(db):
    commune, a, _b, item, users, _sec = setup(db)
    rep = make_representative(db, commune, a)
    before = len(audit_events(db, commune.id))
    p = pledge(db, item, viewer(db, rep), pledge_form("land", "20,5"))
    assert ((p.kind, p.quantity, p.parcel_ref, p.on_behalf)
            == ("land", Decimal("20.50"), "Thửa 123, tờ bản đồ 5", False))
    assert p.witness_name == "Nguyễn Văn Trưởng" and p.consent_on == clock.today_local()
    events = audit_events(db, commune.id)[before:]
    assert [e.action for e in events] == ["pledge_added", "attached"]  # the pledge, and its consent scan
    assert "Nguyễn" not in events[0].payload  # the witness and the household's name never reach the chain
    assert p.consent_scan_id is not None


def test_the_village_head_pledges_on_behalf_of_a_household_and_the_fact_is_recorded(db):
    _c, a, _b, item, _users, sec = setup(db)
    h = households_of(db, a)[3]
    p = pledge(db, item, sec, on_behalf("money", "1.500.000", household=h.code))
    assert (p.household_id, p.money, p.on_behalf) == (h.id, 1_500_000, True)


def test_a_household_of_another_village_cannot_pledge_and_nothing_is_stored(db):
    commune, a, b, item, users, sec = setup(db)
    outsider = make_representative(db, commune, b)
    with pytest.raises(Forbidden):
        pledge(db, item, viewer(db, outsider), pledge_form())
    with pytest.raises(Invalid) as exc:  # the register of the item's village has no such code
        pledge(db, item, sec, on_behalf(household="X-999"))
    assert "household" in exc.value.errors
    assert count(db, Pledge) == 0


def test_a_resident_without_a_household_and_a_village_head_of_another_village_are_refused(db):
    _c, _a, _b, item, users, _sec = setup(db)
    with pytest.raises(Forbidden):
        pledge(db, item, viewer(db, users["resident"]), pledge_form())
    with pytest.raises(Forbidden):
        pledge(db, item, viewer(db, users["other_head"]), on_behalf(household="H0001"))


@pytest.mark.parametrize(("kind", "amount"), [("land", "0"), ("money", "-5"), ("labour", "abc"),
                                              ("land", "")])
def test_zero_negative_or_unreadable_amounts_are_refused(db, kind, amount):
    commune, a, _b, item, _users, _sec = setup(db)
    rep = make_representative(db, commune, a)
    with pytest.raises(Invalid) as exc:
        pledge(db, item, viewer(db, rep), pledge_form(kind, amount))
    assert "amount" in exc.value.errors
    assert count(db, Pledge) == 0


@pytest.mark.parametrize(("kind", "amount"), [("land", "100.001"), ("money", "10.000.000.001"),
                                              ("labour", "1001")])
def test_implausible_amounts_need_an_explicit_confirmation(db, kind, amount):
    commune, a, _b, item, _users, _sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    with pytest.raises(Invalid):
        pledge(db, item, rep, pledge_form(kind, amount))
    assert count(db, Pledge) == 0
    assert pledge(db, item, rep, pledge_form(kind, amount, confirm_large="1")).id


def test_pledges_are_taken_only_in_dan_lam(db):
    commune, a, _b, _item, _users, _sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    item = make_item(db, commune, a, _item_category(db), stage="know")
    with pytest.raises(Conflict):
        pledge(db, item, rep, pledge_form())


def _item_category(db):
    from sqlalchemy import select

    from civic.items.models import Category

    return db.execute(select(Category)).scalars().first()


def test_withdrawal_until_the_work_starts_and_it_is_kept(db):
    commune, a, _b, item, _users, sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    p = pledge(db, item, rep, pledge_form())
    impl.withdraw(db, item, p.id, rep, WithdrawForm.parse({"reason": "Gia đình đổi ý."}))
    assert p.withdrawn_at is not None and count(db, Pledge) == 1
    with pytest.raises(Conflict):
        impl.withdraw(db, item, p.id, rep)
    second = pledge(db, item, rep, pledge_form("labour", "3"))
    impl.post_progress(db, item, sec, progress("10", "Đã đào xong 30 m mương."))
    with pytest.raises(Conflict):
        impl.withdraw(db, item, second.id, rep)
    assert second.withdrawn_at is None


def test_someone_else_cannot_withdraw_a_households_pledge(db):
    commune, a, _b, item, users, _sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    other = viewer(db, make_representative(db, commune, a, households_of(db, a)[1]))
    p = pledge(db, item, rep, pledge_form())
    with pytest.raises(Forbidden):
        impl.withdraw(db, item, p.id, other)


def test_deliveries_partly_then_wholly_and_over_the_pledge_only_with_confirmation(db):
    commune, a, _b, item, _users, sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    p = pledge(db, item, rep, pledge_form("land", "20"))
    deliver(db, item, sec, p, "12,5")
    assert impl.open_pledges(db, item.id) == 1
    with pytest.raises(Invalid) as exc:
        deliver(db, item, sec, p, "8")
    assert "amount" in exc.value.errors and count(db, Delivery) == 1
    deliver(db, item, sec, p, "7,5")
    assert impl.open_pledges(db, item.id) == 0
    d = deliver(db, item, sec, p, "1", confirm_over="1")
    assert d.over_confirmed


def test_only_the_village_head_records_deliveries(db):
    commune, a, _b, item, users, _sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    p = pledge(db, item, rep, pledge_form())
    for who in (rep, viewer(db, users["other_head"]), viewer(db, users["supervisor"])):
        with pytest.raises(Forbidden):
            deliver(db, item, who, p, "5")
    assert count(db, Delivery) == 0


def test_a_household_disputes_a_delivery_recorded_for_it_once(db):
    commune, a, _b, item, users, sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    p = pledge(db, item, rep, pledge_form("money", "500000"))
    d = deliver(db, item, sec, p, "500.000")
    with pytest.raises(Forbidden):
        impl.dispute(db, item, d.id, viewer(db, users["resident"]),
                     DisputeForm.parse({"dispute_text": "Không đúng."}))
    impl.dispute(db, item, d.id, rep, DisputeForm.parse({"dispute_text": "Hộ tôi mới nộp 300.000 đồng."}))
    assert d.disputed_at is not None
    with pytest.raises(Conflict):
        impl.dispute(db, item, d.id, rep, DisputeForm.parse({"dispute_text": "Lần nữa."}))


def test_budget_spent_and_remaining(db):
    _c, _a, _b, item, _users, sec = setup(db)
    state = impl.add_budget_line(db, item, sec, BudgetLineForm.parse(
        {"source": "state", "label": "Hỗ trợ nông thôn mới", "amount": "200.000.000"}))
    community = impl.add_budget_line(db, item, sec, BudgetLineForm.parse(
        {"source": "community", "label": "Các hộ đóng góp", "amount": "50.000.000"}))
    impl.add_spending(db, item, sec, SpendingForm.parse(
        {"budget_line_id": str(state.id), "amount": "120.000.000", "spent_on": "2026-03-01",
         "description": "Xi măng, cát, đá", "document_ref": "HĐ 0001234"}))
    b = impl.budget(db, item)
    assert (b.total, b.spent, b.remaining) == (250_000_000, 120_000_000, 130_000_000)
    assert b.by_source() == {"state": 200_000_000, "community": 50_000_000}
    assert [r.remaining for r in b.rows] == [80_000_000, 50_000_000]
    with pytest.raises(Invalid) as exc:  # what the form itself refuses …
        SpendingForm.parse({"budget_line_id": "999", "amount": "0", "spent_on": "2999-01-01",
                            "description": "", "document_ref": ""})
    assert set(exc.value.errors) == {"amount", "spent_on", "description", "document_ref"}
    tomorrow = (clock.today_local() + timedelta(days=1)).isoformat()
    with pytest.raises(Invalid) as exc:  # … and what only the item's budget lines and today's date tell
        impl.add_spending(db, item, sec, SpendingForm.parse({"budget_line_id": "999", "amount": "5",
                                                             "spent_on": tomorrow, "description": "Xi măng",
                                                             "document_ref": "HĐ 1"}))
    assert set(exc.value.errors) == {"budget_line_id", "spent_on"}
    assert community.id


def test_progress_and_the_move_to_inspection_says_what_is_missing(db):
    commune, a, _b, item, _users, sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    p = pledge(db, item, rep, pledge_form("labour", "2"))
    withdrawn = pledge(db, item, rep, pledge_form("money", "100000"))
    impl.withdraw(db, item, withdrawn.id, rep)
    impl.post_progress(db, item, sec, progress("60", "Xong phần đào mương."))
    with pytest.raises(Conflict) as exc:
        move(db, item, "start_inspection", sec)
    assert "60" in str(exc.value.params) or exc.value.params.get("percent") == 60
    impl.post_progress(db, item, sec, progress("100", "Hoàn thành, đã lát tấm đan."))
    with pytest.raises(Conflict) as exc:
        move(db, item, "start_inspection", sec)
    assert exc.value.params == {"count": 1}
    assert item.stage == "do"
    deliver(db, item, sec, p, "2")
    move(db, item, "start_inspection", sec)
    assert item.stage == "inspect"
    assert count(db, ProgressUpdate) == 2


def test_progress_only_from_0_to_100(db):
    _c, _a, _b, item, _users, sec = setup(db)
    for bad in ("101", "-1", "", "abc"):
        with pytest.raises(Invalid):
            impl.post_progress(db, item, sec, progress(bad, "Cập nhật tiến độ."))
    assert count(db, ProgressUpdate) == 0


def test_totals_stay_exact_with_thousands_of_pledges(db):
    """3,000 pledges of 0.1 m², 0.01 person-days and 333 đồng: floats would drift, the totals must not."""
    commune, a, _b, item, _users, _sec = setup(db)
    big = make_village(db, commune, "Làng Lớn", households=0)
    from civic.areas.models import Household
    from civic.clock import now

    item.village_id = big.id
    hh = [Household(village_id=big.id, code=f"L{n:05d}", active_from=now().date().replace(year=2020))
          for n in range(1000)]
    db.add_all(hh)
    db.flush()
    rows = []
    for _n, h in enumerate(hh):
        common = dict(item_id=item.id, household_id=h.id, consent_text="Tự nguyện.", consent_on=now().date(),
                      witness_name="A", witness_role="B", created_at=now())
        rows += [Pledge(kind="land", quantity=Decimal("0.10"), **common),
                 Pledge(kind="labour", quantity=Decimal("0.01"), **common),
                 Pledge(kind="money", money=333, **common)]
    db.add_all(rows)
    db.flush()
    db.add_all([Delivery(item_id=item.id, pledge_id=p.id, household_id=p.household_id, money=p.money,
                         quantity=p.quantity, delivered_on=now().date(), evidence="x", created_at=now())
                for p in rows[: 3 * 700]])
    db.flush()
    t = impl.totals(db, item)
    land, labour, money = t.kinds["land"], t.kinds["labour"], t.kinds["money"]
    assert (land.pledged, land.delivered) == (Decimal("100.00"), Decimal("70.00"))
    assert (labour.pledged, labour.delivered) == (Decimal("10.00"), Decimal("7.00"))
    assert (money.pledged, money.delivered) == (333_000, 233_100)
    assert isinstance(money.pledged, int) and isinstance(land.pledged, Decimal)
    assert (t.households_pledged, t.households_in_register) == (1000, 1000)
    assert t.pledges_open == 900


def test_totals_count_households_and_leave_out_withdrawn_pledges(db):
    commune, a, _b, item, _users, sec = setup(db)
    impl.save_settings(db, item, sec, SettingsForm.parse({"needed_land_m2": "1.400", "needed_money": "",
                                                          "publish_pledger_names": ""}))
    reps = [viewer(db, make_representative(db, commune, a, h)) for h in households_of(db, a)[:3]]
    p1 = pledge(db, item, reps[0], pledge_form("land", "1.000"))
    pledge(db, item, reps[1], pledge_form("land", "240"))
    p3 = pledge(db, item, reps[2], pledge_form("land", "99"))
    impl.withdraw(db, item, p3.id, reps[2])
    deliver(db, item, sec, p1, "1.000")
    t = impl.totals(db, item, impl.settings_for(db, item))
    land = t.kinds["land"]
    assert ((land.pledged, land.delivered, land.needed)
            == (Decimal("1240.00"), Decimal("1000.00"), Decimal("1400.00")))
    assert land.delivered_share == 71
    assert (t.households_pledged, t.households_in_register, t.withdrawn) == (2, 10, 1)


# --- land consent evidence ----------------------------------------------------------------------------------

def test_a_land_pledge_without_consent_evidence_is_refused_and_changes_nothing(db):
    commune, a, _b, item, _users, sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    before = (count(db, Pledge), len(audit_events(db, commune.id)))
    with pytest.raises(Invalid) as caught:
        impl.pledge(db, item, rep, pledge_form("land", "40"))  # no scan
    assert caught.value.errors == {"consent_scan": "A land pledge needs the scan or a photo of the signed "
                                                   "consent form."}
    h = households_of(db, a)[5]
    with pytest.raises(Invalid) as caught:
        impl.pledge(db, item, sec, on_behalf("land", "40", household=h.code, consent_in_person=""))
    assert set(caught.value.errors) == {"consent_scan"}
    assert (count(db, Pledge), len(audit_events(db, commune.id))) == before
    # The village head's confirmation in person, before the witness, is recorded with the pledge.
    p = impl.pledge(db, item, sec, on_behalf("land", "40", household=h.code))
    assert p.consent_in_person and p.consent_scan_id is None and p.witness_name == "Nguyễn Văn Trưởng"
    assert json.loads(audit_events(db, commune.id)[-1].payload)["consent"] == "in_person"
    # Money needs neither.
    assert impl.pledge(db, item, rep, pledge_form("money", "500.000")).consent_scan_id is None


def test_a_consent_dated_before_the_item_is_refused(db):
    commune, a, _b, item, _users, sec = setup(db)
    rep = viewer(db, make_representative(db, commune, a))
    day_before = (clock.as_utc(item.created_at).astimezone(clock.LOCAL_TZ).date() - timedelta(days=1))
    with pytest.raises(Invalid) as caught:
        pledge(db, item, rep, pledge_form("land", "40", consent_on=day_before.isoformat()))
    assert set(caught.value.errors) == {"consent_on"}
    assert count(db, Pledge) == 0
