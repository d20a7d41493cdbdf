"""The matters of Law 10/2022/QH15 Art. 15 and the rules table: the pure rules with hand-written values, the
services against a real database, and what the pages show (the status page, the record, the admin table)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from civic import clock
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.deliberation import matters
from civic.deliberation import service as deliberation
from civic.deliberation.matters import Asks
from civic.deliberation.models import Decision, Discussion
from civic.deliberation.schemas import DecideForm, PaperBallotForm, VoteForm
from civic.errors import Conflict, Invalid
from civic.implementation import service as implementation
from civic.implementation.models import Pledge
from civic.implementation.schemas import PledgeOnBehalfForm
from civic.items.models import Item
from tests.builders import (
    count,
    csrf_token,
    disclose,
    front_agrees,
    login,
    make_discuss_item,
    make_household_rep,
    make_item,
    move,
    pledge_data,
    viewer,
    world,
)

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
AGREED = {"agreed_on": "2026-05-20", "agreement_ref": "Biên bản họp thôn 5/2026", "informed_on": "2026-05-21",
          "informed_ref": "CV 12/TB-TH"}
LAND = Asks(land_m2=Decimal("40"))


# --- the table ------------------------------------------------------------------------------------------

def test_every_matter_and_scope_has_one_row_with_its_article():
    assert set(matters.RULES) == {(m, s) for m in range(1, 7) for s in ("village", "commune")}
    for rule in matters.RULES.values():
        assert rule.article.startswith("Luật 10/2022/QH15")
        assert rule.quorum == matters.MORE_THAN_HALF


def test_matters_one_to_five_only_by_the_households_themselves():
    # Law 10/2022 Art. 15 and Decree 59/2023 Art. 5: no online vote and no authority decision for 1-5.
    for matter in range(1, 6):
        for scope in ("village", "commune"):
            assert matters.rule_for(matter, scope).methods == {"meeting_vote", "paper_ballot"}
    village6 = matters.rule_for(6, "village")
    assert village6.methods == {"meeting_vote", "paper_ballot", "online_ballot", "authority"}
    assert "Nghị định 59/2023/NĐ-CP, Điều 5" in village6.article and village6.online_needs_agreement


def test_commune_wide_contributions_need_two_thirds_from_a_secondary_source():
    for matter in (1, 2):
        rule = matters.rule_for(matter, "commune")
        assert (rule.threshold, rule.secondary) == (matters.TWO_THIRDS, True)
        assert "nguồn thứ cấp" in rule.article
    for matter in (3, 4, 5, 6):
        assert matters.rule_for(matter, "commune").threshold == matters.MORE_THAN_HALF
        assert not matters.rule_for(matter, "commune").secondary
    assert matters.rule_for(1, "village").threshold == matters.MORE_THAN_HALF


def test_an_unknown_matter_is_refused():
    with pytest.raises(Invalid) as exc:
        matters.rule_for(7, "village")
    assert "matter" in exc.value.errors


@pytest.mark.parametrize(("share", "count_", "total", "expected"), [
    ("more_than_half", 5, 10, False),  # exactly half is not enough
    ("more_than_half", 6, 10, True),
    ("more_than_half", 6, 11, True),
    ("more_than_half", 5, 11, False),
    ("more_than_half", 0, 0, False),
    ("more_than_half", 6, 5, False),  # more in favour than on the register never passes
    ("two_thirds", 2, 3, True),
    ("two_thirds", 6, 10, False),
    ("two_thirds", 7, 10, True),
    ("two_thirds", 13, 20, False),
    ("two_thirds", 14, 20, True),
])
def test_shares_by_hand(share, count_, total, expected):
    assert matters.reaches(share, count_, total) is expected


@given(st.sampled_from([matters.MORE_THAN_HALF, matters.TWO_THIRDS]), st.integers(0, 5000),
       st.integers(0, 5000))
def test_a_share_is_never_reached_by_more_households_than_the_register(share, in_favour, total):
    reached = matters.reaches(share, in_favour, total)
    if in_favour > total or total == 0:
        assert not reached
    elif share == matters.MORE_THAN_HALF:
        assert reached == (2 * in_favour > total)
    else:
        assert reached == (3 * in_favour >= 2 * total)


# --- the matter follows from the asks ---------------------------------------------------------------------

def test_a_proposal_asking_for_land_is_a_contribution_unless_a_reason_is_given():
    assert matters.required_matters(LAND) == {1, 2}
    assert matters.required_matters(Asks()) == {1, 2, 3, 4, 5, 6}
    matters.check_matter(1, "village", LAND, "")
    matters.check_matter(2, "commune", Asks(money=1_500_000), "")
    matters.check_matter(6, "village", Asks(), "")
    with pytest.raises(Invalid) as exc:
        matters.check_matter(6, "village", LAND, "ngắn")
    assert "matter_reason" in exc.value.errors and "land" in str(exc.value.params)
    matters.check_matter(6, "village", LAND, "Đất của xã, không hộ nào phải hiến.")
    assert Asks(labour_days=Decimal("2"), materials="Xi măng").kinds == ("labour", "materials")


def test_methods_by_matter():
    for matter in range(1, 6):
        rule = matters.rule_for(matter, "village")
        with pytest.raises(Conflict, match="online ballot"):
            matters.check_method(rule, "online_ballot", online_agreed=True, front_agreed=True)
        with pytest.raises(Conflict, match="not by"):
            matters.check_method(rule, "authority")
        matters.check_method(rule, "meeting_vote")
        matters.check_method(rule, "paper_ballot")
    six = matters.rule_for(6, "village")
    with pytest.raises(Invalid) as exc:
        matters.check_method(six, "online_ballot")
    assert "agreed_on" in exc.value.errors
    with pytest.raises(Conflict, match="Front work committee"):  # typed by the village head: not enough
        matters.check_method(six, "online_ballot", online_agreed=True)
    matters.check_method(six, "online_ballot", online_agreed=True, front_agreed=True)
    matters.check_method(six, "authority")
    with pytest.raises(Invalid):
        matters.check_method(six, "show_of_hands_on_facebook")


def test_pledges_follow_a_method_allowed_for_contributions():
    assert matters.allows_pledges(1, "village", "meeting_vote")
    assert matters.allows_pledges(6, "village", "paper_ballot")
    assert not matters.allows_pledges(6, "village", "online_ballot")
    assert not matters.allows_pledges(6, "village", "authority")
    with pytest.raises(Conflict, match="no pledge can be"):
        matters.check_pledge_decision(6, "village", "online_ballot")
    matters.check_pledge_decision(1, "village", "paper_ballot")


# --- services ----------------------------------------------------------------------------------------------

@pytest.fixture
def w(db):
    clock.freeze(T0)
    commune, a, b, cat, users = world(db)
    return {"db": db, "commune": commune, "a": a, "b": b, "cat": cat, "users": users,
            "sec": viewer(db, users["village_head"])}


def _events(db) -> int:
    return count(db, AuditEvent)


def _know_item(w):
    db = w["db"]
    item = make_item(db, w["commune"], w["a"], w["cat"], stage="know")
    disclose(db, item, w["users"]["village_head"], days_ago=3)
    return item


def test_lowering_the_matter_of_a_land_proposal_needs_a_reason(w):
    db, sec = w["db"], w["sec"]
    item = _know_item(w)
    before = _events(db)
    with pytest.raises(Invalid) as exc:
        move(db, item, "open_discussion", sec, {"question": "Làm mương thoát nước?", "matter": "6",
                                                "scope": "village", "land_area": "40"})
    assert "matter_reason" in exc.value.errors
    assert item.stage == "know" and count(db, Discussion) == 0 and _events(db) == before
    move(db, item, "open_discussion", sec, {"question": "Làm mương thoát nước?", "matter": "6",
                                            "scope": "village", "land_area": "40",
                                            "matter_reason": "Đất là đất công của thôn, không hộ nào hiến."})
    d = db.execute(select(Discussion).where(Discussion.item_id == item.id)).scalar_one()
    assert (d.matter, d.scope, d.ask_land_m2, d.asks_contribution) == (6, "village", Decimal("40"), True)
    assert d.matter_reason.startswith("Đất là đất công")
    event = db.execute(select(AuditEvent).where(AuditEvent.item_id == item.id)
                       .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
    payload = json.loads(event.payload) if isinstance(event.payload, str) else event.payload
    assert payload["matter"] == 6 and payload["matter_reason"].startswith("Đất là")


def test_the_matter_has_no_default(w):
    db, sec = w["db"], w["sec"]
    item = _know_item(w)
    with pytest.raises(Invalid) as exc:
        move(db, item, "open_discussion", sec, {"question": "Làm mương thoát nước?"})
    assert "matter" in exc.value.errors and item.stage == "know"


def test_online_ballot_and_authority_refused_for_matter_one_and_nothing_changes(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    before = _events(db)
    with pytest.raises(Conflict, match="Decree"):
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "online_ballot", "opens_on": "2026-06-02", "closes_on": "2026-06-04", **AGREED}))
    with pytest.raises(Conflict):
        deliberation.decide(db, item, sec, DecideForm.parse({
            "method": "authority", "document_no": "12/QĐ-UBND", "document_text": "Đồng ý thực hiện."}))
    assert count(db, Decision) == 0 and _events(db) == before


def test_an_online_ballot_needs_dated_records_of_the_agreement(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], w["users"]["village_head"],
                             asks_contribution=False)
    front_agrees(db, item)
    base = {"method": "online_ballot", "opens_on": "2026-06-02", "closes_on": "2026-06-04"}
    with pytest.raises(Invalid) as exc:  # the old checkbox alone is not a record
        DecideForm.parse({**base, "leaders_agreed": "1"})
    assert "agreed_on" in exc.value.errors
    with pytest.raises(Invalid) as exc:
        DecideForm.parse({**base, **AGREED, "informed_ref": ""})
    assert "informed_ref" in exc.value.errors
    with pytest.raises(Invalid) as exc:  # informed in the future
        deliberation.decide(db, item, sec, DecideForm.parse({**base, **AGREED, "informed_on": "2026-06-03"}))
    assert "informed_on" in exc.value.errors and count(db, Decision) == 0
    d = deliberation.decide(db, item, sec, DecideForm.parse({**base, **AGREED}))
    assert (d.online_agreement_ref, d.informed_ref, d.matter) ==\
        ("Biên bản họp thôn 5/2026", "CV 12/TB-TH", 6)
    assert str(d.online_agreed_on) == "2026-05-20"


def _paper_ballot(w, item, yes_codes):
    db, sec = w["db"], w["sec"]
    deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    for code in yes_codes:
        deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse({"household_code": code,
                                                                              "choice": "yes"}))
    return deliberation.close_count(db, item, sec)


def test_the_rule_applied_is_stored_with_the_decision(w):
    item = make_discuss_item(w["db"], w["commune"], w["a"], w["cat"], w["users"]["village_head"])
    d = _paper_ballot(w, item, [f"H{n:04d}" for n in range(6)])
    assert (d.matter, d.scope, d.threshold, d.households_total, d.yes, d.passed) ==\
        (1, "village", "more_than_half", 10, 6, True)
    assert "Điều 18" in d.rule_article and not d.rule_secondary


def test_a_commune_wide_contribution_is_not_decided_by_one_villages_ballot(w):
    """The commune opens it and adds every village's result up (tests/deliberation/test_commune_scope.py);
    the village head's own paper ballot would count one village against the whole commune."""
    db, sec = w["db"], w["sec"]
    item = _know_item(w)
    move(db, item, "open_discussion", viewer(db, w["users"]["supervisor"]), {
        "question": "Góp tiền làm đường trục xã?", "matter": "1", "scope": "commune",
        "money_amount": "1.500.000"})
    with pytest.raises(Conflict, match="decided by the commune"):
        deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
    assert count(db, Decision) == 0


def _online_passed_item(w):
    """A matter-6 item decided by an online ballot that passed, moved to Dân làm."""
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], sec.user, asks_contribution=False)
    front_agrees(db, item)
    deliberation.decide(db, item, sec, DecideForm.parse({
        "method": "online_ballot", "opens_on": "2026-06-01", "closes_on": "2026-06-02", **AGREED}))
    for n in range(6):
        deliberation.cast_online_ballot(db, item, viewer(db, make_household_rep(db, w["a"], n)),
                                        VoteForm.parse({"choice": "yes"}))
    clock.freeze(T0 + timedelta(days=2))
    assert deliberation.close_count(db, item, sec).passed
    move(db, item, "start_work", sec)
    return item


def test_a_land_pledge_is_refused_after_an_online_decision_and_nothing_changes(w):
    db, sec = w["db"], w["sec"]
    item = _online_passed_item(w)
    before = _events(db)
    with pytest.raises(Conflict, match="no pledge can be"):
        implementation.pledge(db, item, sec, PledgeOnBehalfForm.parse(pledge_data("land", household="H0001")))
    with pytest.raises(Conflict):
        implementation.pledge(db, item, sec, PledgeOnBehalfForm.parse(pledge_data("money", "1.500.000",
                                                                                  household="H0002")))
    assert count(db, Pledge) == 0 and _events(db) == before


def test_a_land_pledge_is_accepted_after_a_household_ballot(w):
    db, sec = w["db"], w["sec"]
    item = make_discuss_item(db, w["commune"], w["a"], w["cat"], sec.user)
    _paper_ballot(w, item, [f"H{n:04d}" for n in range(6)])
    move(db, item, "start_work", sec)
    implementation.pledge(db, item, sec, PledgeOnBehalfForm.parse(pledge_data("land", household="H0001")))
    assert count(db, Pledge) == 1


# --- pages -------------------------------------------------------------------------------------------------

@pytest.fixture
def frozen():
    clock.freeze(T0)
    yield



def test_the_desk_asks_for_the_matter_and_the_status_page_shows_the_reason(client, frozen):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        item = make_item(db, commune, a, cat, stage="know")
        disclose(db, item, users["village_head"], days_ago=3)
        code, head = item.code, users["village_head"]
    login(client, head)
    desk = client.get(f"/deliberation/{code}?lang=en")
    assert 'name="matter"' in desk.text and 'name="land_area"' in desk.text
    assert 'name="asks_contribution"' not in desk.text
    token = csrf_token(client, f"/deliberation/{code}")
    data = {"csrf_token": token, "question": "Làm mương thoát nước?", "matter": "6", "scope": "village",
            "land_area": "40"}
    refused = client.post(f"/deliberation/{code}/open_discussion?lang=en", data=data)
    assert refused.status_code == 422 and "give the public reason" in refused.text
    with unit_of_work() as db:
        assert db.execute(select(Item.stage).where(Item.code == code)).scalar_one() == "know"
    ok = client.post(f"/deliberation/{code}/open_discussion", follow_redirects=False,
                     data={**data, "matter_reason": "Đất công của thôn <b>không</b> phải hiến."})
    assert ok.status_code == 303
    status = client.get(f"/items/{code}?lang=en")
    assert "Matter 6 of Law 10/2022 Art. 15" in status.text and 'id="matter-reason"' in status.text
    assert "&lt;b&gt;không&lt;/b&gt;" in status.text and "40 m² of land" in status.text
    vi = client.get(f"/items/{code}?lang=vi")
    assert "Điều 15" in vi.text


def test_the_record_prints_the_rule_applied(client, frozen):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        item = make_discuss_item(db, commune, a, cat, users["village_head"])
        sec = viewer(db, users["village_head"])
        deliberation.decide(db, item, sec, DecideForm.parse({"method": "paper_ballot"}))
        for n in range(6):
            deliberation.enter_paper_ballot(db, item, sec, PaperBallotForm.parse(
                {"household_code": f"H{n:04d}", "choice": "yes"}))
        decision = deliberation.close_count(db, item, sec)
        code, did = item.code, decision.id
    page = client.get(f"/items/{code}/decisions/{did}/record?lang=en")
    assert page.status_code == 200
    assert "Rule applied: matter 1, more than half of all households" in page.text
    assert "Luật 10/2022/QH15, Điều 18" in page.text


def test_the_rules_table_page(client, frozen):
    with unit_of_work(write=True) as db:
        _commune, _a, _b, _cat, users = world(db)
    assert client.get("/admin/decision-rules", follow_redirects=False).status_code in (302, 303)
    login(client, users["resident"])
    assert client.get("/admin/decision-rules").status_code == 403
    client.cookies.clear()
    login(client, users["admin"])
    page = client.get("/admin/decision-rules?lang=en")
    assert page.status_code == 200 and page.text.count("<tr>") == 13  # the header and 12 rows
    assert "secondary source" in page.text and "at least two thirds of all households" in page.text
    assert len(page.content) < 30 * 1024
