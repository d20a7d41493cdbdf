"""A matter of the whole commune, pure rules: who opens and decides it, who records a village's result, how
the villages' results are added up (Law 10/2022/QH15 Art. 15(1), 21). No database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civic.core.facts import ActorFacts
from civic.deliberation import matters, rules
from civic.deliberation.rules import VillageReport
from civic.errors import Conflict, Forbidden, Invalid


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


COMMUNE, A, B = 1, 10, 11
HEAD_A = ActorFacts(user_id=2, head_villages=frozenset({A}))
HEAD_B = ActorFacts(user_id=3, head_villages=frozenset({B}))
SUPERVISOR = ActorFacts(user_id=4, supervisor_communes=frozenset({COMMUNE}))
ADMIN = ActorFacts(user_id=5, admin_communes=frozenset({COMMUNE}))
OTHER_SUPERVISOR = ActorFacts(user_id=6, supervisor_communes=frozenset({2}))
RESIDENT = ActorFacts(user_id=7)


# --- who ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("actor", "scope", "allowed"), [
    (HEAD_A, "village", True),
    (HEAD_A, "commune", False),  # a village head does not open a matter of the whole commune
    (HEAD_B, "village", False),  # nor a matter of another village
    (SUPERVISOR, "commune", True),
    (ADMIN, "commune", True),
    (SUPERVISOR, "village", False),  # the commune does not open a village's own matter
    (ADMIN, "village", False),
    (OTHER_SUPERVISOR, "commune", False),
    (RESIDENT, "commune", False),
])
def test_who_opens_the_discussion(actor, scope, allowed):
    if allowed:
        rules.check_may_open(scope, actor, COMMUNE, A)
    else:
        with pytest.raises(Forbidden):
            rules.check_may_open(scope, actor, COMMUNE, A)


def test_only_the_commune_closes_the_commune_decision():
    rules.check_commune_official(SUPERVISOR, COMMUNE)
    rules.check_commune_official(ADMIN, COMMUNE)
    for actor in (HEAD_A, HEAD_B, OTHER_SUPERVISOR, RESIDENT):
        with pytest.raises(Forbidden, match="decided by the commune"):
            rules.check_commune_official(actor, COMMUNE)


def test_each_village_head_records_only_the_own_village():
    rules.check_reporting_head(HEAD_A, A)
    rules.check_reporting_head(HEAD_B, B)
    for actor, village in ((HEAD_A, B), (HEAD_B, A), (SUPERVISOR, A), (ADMIN, B)):
        with pytest.raises(Forbidden, match="Only the village head of that village"):
            rules.check_reporting_head(actor, village)


def test_a_village_records_its_result_once():
    rules.check_not_reported(False, "Hưng Đạo")
    with pytest.raises(Conflict, match="already been recorded") as exc:
        rules.check_not_reported(True, "Hưng Đạo")
    assert exc.value.params["village"] == "Hưng Đạo"


# --- adding up ---------------------------------------------------------------------------------------

def _v(village_id: int, name: str, households: int, present: int | None = None, yes: int = 0, no: int = 0,
       abstain: int = 0) -> VillageReport:
    return VillageReport(village_id, name, households, present, yes, no, abstain)


def test_two_thirds_of_all_households_of_the_commune_for_a_contribution():
    """30 households in three villages: 20 in favour is two thirds, 19 is the threshold minus one."""
    rule = matters.rule_for(1, "commune")
    villages = [_v(1, "An", 10, 10, 10), _v(2, "Bình", 10, 8, 6, 2), _v(3, "Cường", 10, 6, 4, 1, 1)]
    tally = rules.add_up(villages, rule.quorum, rule.threshold)
    assert (tally.households, tally.present, tally.yes, tally.no, tally.abstain) == (30, 24, 20, 3, 1)
    assert tally.quorum and tally.passed
    one_short = [_v(1, "An", 10, 10, 10), _v(2, "Bình", 10, 8, 5, 3), _v(3, "Cường", 10, 6, 4, 1, 1)]
    tally = rules.add_up(one_short, rule.quorum, rule.threshold)
    assert (tally.yes, tally.households, tally.passed) == (19, 30, False)


def test_more_than_half_of_the_commune_for_other_matters():
    rule = matters.rule_for(3, "commune")
    assert rule.threshold == matters.MORE_THAN_HALF
    # 16 of 30 is more than half; 15 of 30 is exactly half, which is not enough.
    assert rules.add_up([_v(1, "An", 20, 20, 16), _v(2, "Bình", 10)], rule.quorum, rule.threshold).passed
    tally = rules.add_up([_v(1, "An", 20, 20, 15), _v(2, "Bình", 10)], rule.quorum, rule.threshold)
    assert (tally.yes, tally.passed) == (15, False)


def test_a_village_that_did_not_report_counts_no_household_in_favour_but_stays_in_the_denominator():
    rule = matters.rule_for(1, "commune")
    tally = rules.add_up([_v(1, "An", 10, 10, 10), _v(2, "Bình", 5)], rule.quorum, rule.threshold)
    assert tally.households == 15 and tally.yes == 10 and tally.passed  # 10 of 15 is two thirds
    assert tally.missing == ("Bình",) and tally.reported == 1
    line = tally.lines[1]
    assert (line.name, line.reported, line.present, line.yes) == ("Bình", False, 0, 0)


def test_the_quorum_is_of_all_households_of_the_commune():
    """In favour are enough for the village that met, not for the commune: 6 of 20 present is no quorum."""
    rule = matters.rule_for(6, "commune")
    tally = rules.add_up([_v(1, "An", 10, 6, 6), _v(2, "Bình", 10)], rule.quorum, rule.threshold)
    assert (tally.present, tally.quorum, tally.passed) == (6, False, False)


def test_a_line_never_counts_more_households_than_the_village_has_on_the_decision_date():
    """Two households of An's roll left the register before the decision date: 8 remain, so at most 8
    count as present, and the 9 hands raised in favour count as 8."""
    line = rules.village_line(_v(1, "An", 8, 10, 9, 1))
    assert (line.households, line.present, line.yes, line.no, line.abstain) == (8, 8, 8, 0, 0)


def test_the_lines_are_in_the_order_of_the_villages_names():
    tally = rules.add_up([_v(2, "Bình", 3), _v(1, "An", 4)], matters.MORE_THAN_HALF, matters.MORE_THAN_HALF)
    assert [line.name for line in tally.lines] == ["An", "Bình"]


def test_closing_with_villages_not_reported_needs_the_reason():
    rules.check_close_commune((), "")
    with pytest.raises(Invalid) as exc:
        rules.check_close_commune(("Tân Tiến", "Hưng Đạo"), "chưa")
    assert "reason" in exc.value.errors and exc.value.params["villages"] == "Tân Tiến, Hưng Đạo"
    rules.check_close_commune(("Tân Tiến",), "Thôn Tân Tiến bị ngập lụt, không họp được.")


def test_the_commune_decision_allows_pledges_of_a_contribution():
    assert matters.allows_pledges(1, "commune", matters.VILLAGE_RESULTS)
    assert not matters.allows_pledges(1, "village", matters.VILLAGE_RESULTS)
    matters.check_pledge_decision(2, "commune", matters.VILLAGE_RESULTS)


# --- the property: never more in favour than households, the two-thirds row for matters 1-2 ------------

reports = st.lists(
    st.tuples(st.integers(0, 400), st.one_of(st.none(), st.integers(0, 500)), st.integers(0, 500),
              st.integers(0, 500), st.integers(0, 500)),
    min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(villages=reports, matter=st.integers(1, 6))
def test_the_total_in_favour_never_exceeds_the_communes_households(villages, matter):
    rule = matters.rule_for(matter, "commune")
    given_reports = [VillageReport(n, f"Thôn {n}", households, present, yes, no, abstain)
                     for n, (households, present, yes, no, abstain) in enumerate(villages)]
    tally = rules.add_up(given_reports, rule.quorum, rule.threshold)
    households = sum(v[0] for v in villages)
    assert tally.households == households
    assert tally.yes <= tally.present <= households
    assert tally.yes + tally.no + tally.abstain <= tally.present
    for line in tally.lines:
        assert line.yes + line.no + line.abstain <= line.present <= line.households
    if matter in (1, 2):  # the two-thirds row (secondary source) for commune-wide contributions
        assert rule.threshold == matters.TWO_THIRDS and rule.secondary
        assert tally.passed == (households > 0 and tally.yes * 3 >= households * 2
                                and tally.present * 2 > households)
    else:
        assert tally.passed == (tally.yes * 2 > households and tally.present * 2 > households)
