"""The rules of the people's boards, case by case (borderline cases included). Pure, no database."""

from __future__ import annotations

from datetime import date

import pytest

from civic.boards import rules
from civic.errors import Conflict, Invalid


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty."""
    yield


# The board decides by majority of ALL its members, not of those who voted.
@pytest.mark.parametrize(("agreed", "members", "passes"), [
    (1, 5, False), (2, 5, False), (3, 5, True), (5, 5, True),
    (2, 4, False), (3, 4, True),  # exactly half of four is not a majority
    (3, 6, False), (4, 6, True),
    (1, 1, True), (0, 1, False), (0, 0, False),
])
def test_majority_is_more_than_half_of_all_members(agreed, members, passes):
    assert rules.has_majority(agreed, members) is passes
    if passes:
        rules.check_majority(agreed, members)
    else:
        with pytest.raises(Conflict):
            rules.check_majority(agreed, members)


def test_one_member_of_five_is_refused_with_the_count_and_what_is_needed():
    with pytest.raises(Conflict) as caught:
        rules.check_majority(1, 5)
    assert caught.value.params == {"agreed": 1, "members": 5, "needed": 3}
    assert rules.majority_of(5) == 3 and rules.majority_of(4) == 3 and rules.majority_of(6) == 4


def test_an_inspection_board_needs_five_members_and_one_from_each_village():
    villages = [1, 2, 3]
    assert rules.missing_for_recognition("inspection", [1, 2, 3, 1, 2], villages) == []
    assert rules.missing_for_recognition("inspection", [1, 2, 3, 1], villages) == [
        "A people's inspection board has at least 5 members."]
    assert rules.missing_for_recognition("inspection", [1, 1, 2, 2, 1], villages) == [
        "A people's inspection board has at least one member from each village."]
    with pytest.raises(Conflict):
        rules.check_recognition("inspection", recognised=False, member_villages=[1, 2, 1, 2],
                                commune_villages=[1, 2], elected_on=date(2026, 1, 1),
                                recognised_on=date(2026, 1, 5), today=date(2026, 2, 1))


def test_an_investment_board_has_at_most_five_residents_of_the_project_village():
    rules.check_new_member("investment", members=4, already=False, household_village_id=7,
                           project_village_id=7)
    with pytest.raises(Conflict):
        rules.check_new_member("investment", members=5, already=False, household_village_id=7,
                               project_village_id=7)
    with pytest.raises(Invalid) as caught:
        rules.check_new_member("investment", members=0, already=False, household_village_id=8,
                               project_village_id=7)
    assert caught.value.errors == {"phone": "A member of a community investment supervision board lives in "
                                            "the project's village."}
    with pytest.raises(Invalid):  # not in the register
        rules.check_new_member("inspection", members=0, already=False, household_village_id=None,
                               project_village_id=None)
    with pytest.raises(Conflict):  # not twice
        rules.check_new_member("inspection", members=3, already=True, household_village_id=1,
                               project_village_id=None)
    # The inspection board has no upper limit here and takes members of any village.
    rules.check_new_member("inspection", members=9, already=False, household_village_id=2,
                           project_village_id=None)
    assert rules.missing_for_recognition("investment", [], []) == ["A board needs at least one member."]


def test_recognition_comes_after_the_election_and_not_in_the_future_and_only_once():
    ok = {"kind": "investment", "member_villages": [7], "commune_villages": [7, 8],
          "elected_on": date(2026, 1, 1),
          "today": date(2026, 2, 1)}
    rules.check_recognition(recognised=False, recognised_on=date(2026, 1, 1), **ok)
    with pytest.raises(Invalid):
        rules.check_recognition(recognised=False, recognised_on=date(2025, 12, 31), **ok)
    with pytest.raises(Invalid):
        rules.check_recognition(recognised=False, recognised_on=date(2026, 2, 2), **ok)
    with pytest.raises(Conflict):
        rules.check_recognition(recognised=True, recognised_on=date(2026, 1, 5), **ok)


def test_a_board_acts_from_recognition_within_its_term():
    start, end = date(2026, 1, 1), date(2028, 1, 1)
    assert not rules.in_force(None, start, end, date(2026, 6, 1))  # elected, not recognised
    assert not rules.in_force(date(2026, 2, 1), start, end, date(2026, 1, 31))
    assert rules.in_force(date(2026, 2, 1), start, end, date(2026, 2, 1))
    assert rules.in_force(date(2026, 2, 1), start, end, date(2027, 12, 31))
    assert not rules.in_force(date(2026, 2, 1), start, end, date(2028, 1, 1))  # the first day after the term
    assert rules.in_force(date(2026, 2, 1), start, None, date(2040, 1, 1))  # a project's board
    assert rules.grant_term(date(2026, 2, 1), start, end) == (date(2026, 2, 1), end)
    assert rules.grant_term(date(2025, 12, 1), start, None) == (start, None)


def test_a_term_ends_after_it_starts_and_starts_no_earlier_than_the_election():
    rules.check_term(date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 1))
    with pytest.raises(Invalid) as caught:
        rules.check_term(date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 2))
    assert set(caught.value.errors) == {"term_ends_on", "term_starts_on"}


# --- changes after the recognition ------------------------------------------------------------------------

@pytest.mark.parametrize(("starts", "ends", "today", "serving"), [
    (None, None, date(2026, 1, 1), False),  # not recognised yet
    (date(2026, 1, 20), None, date(2026, 1, 19), False), (date(2026, 1, 20), None, date(2026, 1, 20), True),
    (date(2025, 12, 10), date(2026, 1, 20), date(2026, 1, 19), True),
    (date(2025, 12, 10), date(2026, 1, 20), date(2026, 1, 20), False),  # the day they leave: out
])
def test_a_member_is_in_office_from_the_decision_until_the_day_before_they_leave(starts, ends, today,
                                                                                 serving):
    assert rules.in_office(starts, ends, today) is serving


@pytest.mark.parametrize(("kind", "in_office", "served", "missing"), [
    ("inspection", [1, 1, 2, 2, 1], [1, 2], []),
    ("inspection", [1, 1, 2, 2], [1, 2], ["A people's inspection board has at least 5 members."]),
    ("inspection", [1, 1, 1, 1, 1], [1, 2],
     ["A people's inspection board has at least one member from each village."]),
    ("inspection", [1, 1, 2, 2, 1], [1, 2, 3], []),  # village 3 was merged away: no longer required
    ("inspection", [1, 1, 2, 2, 2], [1, 2], []),
    ("investment", [4], [4], []), ("investment", [], [4], ["A board needs at least one member."]),
])
def test_a_recognised_board_is_complete_while_its_members_in_office_meet_its_rules(kind, in_office, served,
                                                                                   missing):
    assert rules.missing_in_office(kind, in_office, served, [1, 2]) == missing


def test_a_replacement_keeps_a_member_from_each_village_that_had_one():
    rules.check_replacement("inspection", before=[1, 1, 2, 1, 1], after=[1, 1, 2, 1, 2],
                            commune_villages=[1, 2])
    with pytest.raises(Invalid) as caught:
        rules.check_replacement("inspection", before=[1, 1, 2, 1, 1], after=[1, 1, 1, 1, 1],
                                commune_villages=[1, 2])
    assert "phone" in caught.value.errors
    # A village without a member before the change is not the replacement's doing.
    rules.check_replacement("inspection", before=[1, 1, 1, 1, 1], after=[1, 1, 1, 1, 1],
                            commune_villages=[1, 2])
    rules.check_replacement("investment", before=[4], after=[4], commune_villages=[1, 2])


@pytest.mark.parametrize(("elected", "recognised", "field", "message"), [
    (date(2026, 1, 15), date(2026, 1, 14), "recognised_on",
     "The recognition cannot come before the election."),
    (date(2025, 11, 1), date(2025, 12, 9), "recognised_on",
     "A change of members takes effect after the board's recognition."),
    (date(2026, 1, 15), date(2026, 2, 2), "recognised_on", "This date is in the future."),
    (date(2026, 2, 2), date(2026, 2, 3), "elected_on", "This date is in the future."),
])
def test_a_change_s_dates(elected, recognised, field, message):
    with pytest.raises(Invalid) as caught:
        rules.check_change_dates(elected_on=elected, recognised_on=recognised,
                                 board_recognised_on=date(2025, 12, 10), today=date(2026, 2, 1))
    assert caught.value.errors[field] == message
    rules.check_change_dates(elected_on=date(2026, 1, 15), recognised_on=date(2026, 1, 15),
                             board_recognised_on=date(2025, 12, 10), today=date(2026, 1, 15))


def test_a_board_ends_once_and_only_a_project_s_board_with_its_project():
    base = {"kind": "investment", "reason": "project_closed", "ended": False,
            "recognised_on": date(2025, 12, 10), "project_closed": True, "ended_on": date(2026, 2, 1),
            "today": date(2026, 2, 1)}
    rules.check_end(**base)
    with pytest.raises(Conflict):
        rules.check_end(**{**base, "ended": True})
    with pytest.raises(Invalid):
        rules.check_end(**{**base, "project_closed": False})
    with pytest.raises(Invalid):
        rules.check_end(**{**base, "kind": "inspection"})
    with pytest.raises(Invalid):
        rules.check_end(**{**base, "ended_on": date(2025, 12, 10)})  # the day of the recognition
    with pytest.raises(Conflict):
        rules.check_end(**{**base, "recognised_on": None})
