"""Pure Dân làm and Dân kiểm tra rules: amounts as people type them, pledges, deliveries, withdrawals,
findings and verdicts. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from civic import clock
from civic.errors import Conflict, Forbidden, Invalid
from civic.implementation import rules as r
from civic.implementation.schemas import BudgetLineForm, DeliveryForm, PledgeForm
from civic.supervision import rules as s
from civic.supervision.schemas import FindingForm, MarkForm, OpenInspectionForm, VerdictForm
from civic.workflow.rules import ActorFacts, ItemFacts

TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
CONSENT = {"consent_text": "Hộ gia đình tự nguyện hiến đất.", "consent_on": "2026-06-01",
           "witness_name": "Nguyễn Văn Trưởng", "witness_role": "Trưởng thôn"}


@pytest.fixture(autouse=True)
def clean_db():
    yield


def item(stage="do", **over) -> ItemFacts:
    return ItemFacts(stage=stage, outcome=over.pop("outcome", None), commune_id=1, village_id=10, **over)


def quantity(typed):
    """An amount of land, labour or materials as the forms read it."""
    form = DeliveryForm.parse({"amount": typed, "delivered_on": "2026-06-10", "evidence": "Biên bản số 3"})
    return form.amount


def money(typed):
    """An amount of đồng as the forms read it."""
    return BudgetLineForm.parse({"source": "state", "label": "Ngân sách", "amount": typed}).amount


def validate_pledge(data, today):
    """A pledge's form, then what only today's date tells."""
    form = PledgeForm.parse(data)
    r.check_pledge(form.consent_on, today)
    return form


def validate_delivery(data, *, kind, remaining, withdrawn, today):
    """A delivery's form (of the pledge's kind), then what only the pledge and today's date tell."""
    form = DeliveryForm.for_kind(kind).parse(data)
    over = r.check_delivery(form.amount, remaining, confirmed_over=form.confirm_over, withdrawn=withdrawn,
                            delivered_on=form.delivered_on, today=today)
    return SimpleNamespace(money=form.money, quantity=form.quantity, over_confirmed=over)


@pytest.mark.parametrize(("typed", "value"), [
    ("1.240", Decimal("1240")), ("1,240", Decimal("1240")), ("12,5", Decimal("12.5")),
    ("12.5", Decimal("12.5")), ("1.400,5", Decimal("1400.5")), ("1,400.25", Decimal("1400.25")),
    (" 20 ", Decimal("20")), ("0,5", Decimal("0.5"))])
def test_quantities_as_typed(typed, value):
    assert quantity(typed) == value


@pytest.mark.parametrize("typed", ["", "0", "-3", "abc", "1,2,3", "0.001", "12.345.6", "1e5"])
def test_bad_quantities(typed):
    with pytest.raises(Invalid):
        quantity(typed)


@pytest.mark.parametrize(("typed", "value"), [("1.500.000", 1_500_000), ("1,500,000", 1_500_000),
                                              ("1 500 000", 1_500_000), ("200000đ", 200_000), ("5", 5)])
def test_money_as_typed(typed, value):
    assert money(typed) == value


@pytest.mark.parametrize("typed", ["", "0", "-100000", "1.5", "12,50", "abc", "1" * 20])
def test_bad_money(typed):
    with pytest.raises(Invalid):
        money(typed)


@pytest.mark.parametrize(("kind", "amount", "limit_message"), [
    ("land", "100.000,01", True), ("land", "100.000", False), ("money", "10.000.000.001", True),
    ("money", "10.000.000.000", False), ("labour", "1.000,5", True), ("labour", "1000", False)])
def test_implausible_amounts_need_a_confirmation(kind, amount, limit_message):
    data = {"kind": kind, "amount": amount, "parcel_ref": "Thửa 1", **CONSENT}
    if limit_message:
        with pytest.raises(Invalid) as exc:
            validate_pledge(data, TODAY)
        assert set(exc.value.errors) == {"amount"}
        assert validate_pledge({**data, "confirm_large": "1"}, TODAY)
    else:
        assert validate_pledge(data, TODAY)


def test_a_pledge_records_consent_and_kind_specific_facts():
    with pytest.raises(Invalid) as exc:
        validate_pledge({"kind": "land", "amount": "20"}, TODAY)
    assert set(exc.value.errors) == {"parcel_ref", "consent_text", "consent_on", "witness_name",
                                     "witness_role"}
    with pytest.raises(Invalid) as exc:
        validate_pledge({"kind": "materials", "amount": "5", **CONSENT}, TODAY)
    assert set(exc.value.errors) == {"description", "unit"}
    with pytest.raises(Invalid) as exc:
        validate_pledge({"kind": "gold", "amount": "5", **CONSENT}, TODAY)
    assert set(exc.value.errors) == {"kind"}
    with pytest.raises(Invalid) as exc:
        validate_pledge({"kind": "money", "amount": "5", **CONSENT, "consent_on": "2026-06-16"}, TODAY)
    assert set(exc.value.errors) == {"consent_on"}
    p = validate_pledge({"kind": "money", "amount": "1.500.000", **CONSENT}, TODAY)
    assert (p.money, p.quantity, p.consent_on) == (1_500_000, None, date(2026, 6, 1))


def test_households_of_another_village_or_out_of_the_register_are_refused():
    with pytest.raises(Forbidden):
        r.check_household(11, True, item())
    with pytest.raises(Conflict):
        r.check_household(10, False, item())
    with pytest.raises(Invalid):
        r.check_household(None, True, item())
    r.check_household(10, True, item())


def test_withdrawal_only_before_the_work_starts():
    r.check_withdraw(item(), withdrawn=False, delivered=False, work_started=False)
    for kw in ({"withdrawn": True, "delivered": False, "work_started": False},
               {"withdrawn": False, "delivered": True, "work_started": False},
               {"withdrawn": False, "delivered": False, "work_started": True}):
        with pytest.raises(Conflict):
            r.check_withdraw(item(), **kw)
    with pytest.raises(Conflict):
        r.check_withdraw(item("inspect"), withdrawn=False, delivered=False, work_started=False)


def test_deliveries_part_whole_or_more_with_confirmation():
    base = {"delivered_on": "2026-06-10", "evidence": "Biên bản số 3"}
    assert validate_delivery({**base, "amount": "5"}, kind="land", remaining=Decimal(20), withdrawn=False,
                             today=TODAY).quantity == Decimal(5)
    assert validate_delivery({**base, "amount": "20"}, kind="land", remaining=Decimal(20), withdrawn=False,
                             today=TODAY).quantity == Decimal(20)
    with pytest.raises(Invalid):
        validate_delivery({**base, "amount": "20,01"}, kind="land", remaining=Decimal(20), withdrawn=False,
                          today=TODAY)
    assert validate_delivery({**base, "amount": "25", "confirm_over": "on"}, kind="land",
                             remaining=Decimal(20), withdrawn=False, today=TODAY).over_confirmed
    with pytest.raises(Conflict):
        validate_delivery({**base, "amount": "1"}, kind="money", remaining=5, withdrawn=True, today=TODAY)
    with pytest.raises(Invalid) as exc:  # the form refuses a missing evidence …
        validate_delivery({"amount": "1", "delivered_on": "2026-07-01", "evidence": ""}, kind="money",
                          remaining=5, withdrawn=False, today=TODAY)
    assert set(exc.value.errors) == {"evidence"}
    with pytest.raises(Invalid) as exc:  # … the rule a date after today
        validate_delivery({"amount": "1", "delivered_on": "2026-07-01", "evidence": "Biên bản số 3"},
                          kind="money", remaining=5, withdrawn=False, today=TODAY)
    assert set(exc.value.errors) == {"delivered_on"}


def test_only_the_own_household_disputes_once():
    with pytest.raises(Forbidden):
        r.check_dispute(own_household=False, already_disputed=False)
    with pytest.raises(Conflict):
        r.check_dispute(own_household=True, already_disputed=True)


def test_what_is_missing_for_the_inspection():
    assert r.missing_for_inspection(100, 0) == []
    assert [p for _m, p in r.missing_for_inspection(40, 3)] == [{"percent": 40}, {"count": 3}]


def test_bars_are_exact_and_bounded():
    assert r.share(Decimal("1240"), Decimal("1400")) == 89
    assert r.share(2, 3) == 67 and r.share(1, 0) == 0 and r.share(5, 4) == 100


def test_village_head_of_the_village_only():
    r.check_village_head(item(), ActorFacts(user_id=1, head_villages=frozenset({10})))
    for actor in (ActorFacts(user_id=2, head_villages=frozenset({11})),
                  ActorFacts(user_id=3, supervisor_communes=frozenset({1})), ActorFacts()):
        with pytest.raises(Forbidden):
            r.check_village_head(item(), actor)


# --- Dân kiểm tra ----------------------------------------------------------------------------------------

def test_findings_need_severity_text_and_a_future_due_date_unless_a_note():
    clock.freeze(NOW)
    try:
        assert FindingForm.parse({"severity": "note", "text": "Nên làm biển."}).due_on is None
        with pytest.raises(Invalid) as exc:
            FindingForm.parse({"severity": "serious", "text": "Nứt tấm đan."})
        assert set(exc.value.errors) == {"due_on"}
        with pytest.raises(Invalid):
            FindingForm.parse({"severity": "serious", "text": "Nứt tấm đan.", "due_on": "2026-06-14"})
        assert FindingForm.parse({"severity": "serious", "text": "Nứt tấm đan.", "due_on": "2026-06-15"})
    finally:
        clock.reset()


def test_a_village_head_of_another_village_cannot_answer():
    s.check_answerer(item("inspect"), ActorFacts(user_id=1, head_villages=frozenset({10})))
    with pytest.raises(Forbidden):
        s.check_answerer(item("inspect"), ActorFacts(user_id=1, head_villages=frozenset({11})))


def test_checklist_entries():
    assert OpenInspectionForm.parse({"checklist": "a b\n\n a b \nc d"}).checklist == ["a b", "c d"]
    with pytest.raises(Invalid):
        OpenInspectionForm.parse({"checklist": " \x00\n "})
    with pytest.raises(Invalid):
        MarkForm.parse({"mark": "not_ok", "note": ""})
    assert (lambda f: (f.mark, f.note))(MarkForm.parse({"mark": "ok"})) == ("ok", "")


DONE_AT = NOW - timedelta(days=10)


def done(**over):
    return item("closed", outcome="done", closed_at=over.pop("closed_at", DONE_AT), **over)


@pytest.mark.parametrize(("after", "ok"), [(timedelta(0), True), (timedelta(days=30), True),
                                           (timedelta(days=30, seconds=1), False)])
def test_verdict_window(after, ok):
    when = DONE_AT + after
    if ok:
        s.check_verdict(done(), when, already_given=False)
    else:
        with pytest.raises(Conflict):
            s.check_verdict(done(), when, already_given=False)


def test_one_verdict_per_household_and_only_on_done_items():
    with pytest.raises(Conflict):
        s.check_verdict(done(), NOW, already_given=True)
    with pytest.raises(Conflict):
        s.check_verdict(item("closed", outcome="not_done", closed_at=DONE_AT), NOW, already_given=False)
    with pytest.raises(Invalid):
        VerdictForm.parse({"verdict": "done", "satisfaction": "0"})
    with pytest.raises(Invalid):
        VerdictForm.parse({"verdict": "maybe", "satisfaction": "3"})


def test_only_a_not_done_household_asks_to_reopen_once_within_the_window():
    s.check_reopen_request(done(), NOW, household_verdict="not_done", already_asked=False)
    for verdict in ("done", "partly", None):
        with pytest.raises(Conflict):
            s.check_reopen_request(done(), NOW, household_verdict=verdict, already_asked=False)
    with pytest.raises(Conflict):
        s.check_reopen_request(done(), NOW, household_verdict="not_done", already_asked=True)
    with pytest.raises(Conflict):
        s.check_reopen_request(done(), DONE_AT + timedelta(days=31), household_verdict="not_done",
                               already_asked=False)


# --- land consent evidence ------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "scan", "in_person", "by_head", "ok"), [
    ("land", True, False, False, True),  # the household's own pledge with the signed form's scan
    ("land", False, False, False, False),  # ... without it
    ("land", False, True, False, False),  # a household cannot confirm its own consent "in person"
    ("land", False, True, True, True),  # the village head confirmed it in person, before the witness
    ("land", False, False, True, False),
    ("land", True, False, True, True),
    ("money", False, False, False, True), ("labour", False, False, True, True),
    ("materials", False, False, False, True),
])
def test_a_land_pledge_needs_the_scan_or_the_village_heads_confirmation(kind, scan, in_person, by_head, ok):
    if ok:
        r.check_land_consent(kind, has_scan=scan, in_person=in_person, by_village_head=by_head)
    else:
        with pytest.raises(Invalid) as caught:
            r.check_land_consent(kind, has_scan=scan, in_person=in_person, by_village_head=by_head)
        assert set(caught.value.errors) == {"consent_scan"}


@pytest.mark.parametrize(("consent_on", "ok"), [
    (date(2026, 6, 9), False), (date(2026, 6, 10), True), (date(2026, 6, 15), True)])
def test_a_consent_cannot_precede_the_item(consent_on, ok):
    raised_on = date(2026, 6, 10)
    if ok:
        r.check_consent_date(consent_on, raised_on)
    else:
        with pytest.raises(Invalid) as caught:
            r.check_consent_date(consent_on, raised_on)
        assert caught.value.errors == {"consent_on": "The consent cannot be dated before the item was raised "
                                                     "(%(date)s)."}
        assert caught.value.params == {"date": "10/06/2026"}
