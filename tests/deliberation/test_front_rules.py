"""The village Front work committee's answer to an online vote (Decree 59/2023/NĐ-CP Art. 5), pure rules:
who speaks for the committee, when and with which date, when the answer may be withdrawn, and the online
ballot that needs it. No database."""

from __future__ import annotations

from datetime import date

import pytest

from civic.deliberation import matters, rules
from civic.errors import Conflict, Forbidden, Invalid


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


VILLAGE, OTHER = 10, 11
ACCEPTED, TODAY = date(2026, 6, 1), date(2026, 6, 8)
GOOD = {"stage": "discuss", "online_allowed": True, "answered": False, "decision_started": False,
        "decided_on": date(2026, 6, 5), "accepted_on": ACCEPTED, "today": TODAY}


@pytest.mark.parametrize(("front_villages", "ok"), [
    (frozenset({VILLAGE}), True),
    (frozenset({OTHER, VILLAGE}), True),
    (frozenset({OTHER}), False),  # the head of another village's committee
    (frozenset(), False),  # anyone else: the village head, a supervisor, a resident
])
def test_only_the_head_of_the_items_village_committee_speaks_for_it(front_villages, ok):
    if ok:
        rules.check_front_head(front_villages, VILLAGE)
    else:
        with pytest.raises(Forbidden, match="Front work committee of this item's village"):
            rules.check_front_head(front_villages, VILLAGE)


@pytest.mark.parametrize("stage", ["know", "discuss"])
def test_the_answer_is_given_in_people_know_or_people_discuss(stage):
    rules.check_front_answer(**{**GOOD, "stage": stage})


@pytest.mark.parametrize("stage", ["submitted", "do", "inspect", "closed"])
def test_no_answer_before_acceptance_or_after_the_discussion(stage):
    with pytest.raises(Conflict, match="People know or People discuss"):
        rules.check_front_answer(**{**GOOD, "stage": stage})


@pytest.mark.parametrize(("over", "message"), [
    ({"online_allowed": False}, "only for other self-managed affairs"),
    ({"decision_started": True}, "already been started"),
    ({"answered": True}, "already recorded: withdraw it first"),
])
def test_an_answer_is_refused_in_these_states(over, message):
    with pytest.raises(Conflict, match=message):
        rules.check_front_answer(**{**GOOD, **over})


@pytest.mark.parametrize(("decided_on", "field"), [
    (date(2026, 5, 31), "decided_on"),  # the day before the item was accepted
    (date(2026, 6, 9), "decided_on"),  # tomorrow
    (date(2099, 1, 1), "decided_on"),
])
def test_the_committees_date_lies_between_acceptance_and_today(decided_on, field):
    with pytest.raises(Invalid) as exc:
        rules.check_front_answer(**{**GOOD, "decided_on": decided_on})
    assert field in exc.value.errors


@pytest.mark.parametrize("decided_on", [ACCEPTED, TODAY])  # both ends allowed
def test_the_day_of_acceptance_and_today_are_allowed(decided_on):
    rules.check_front_answer(**{**GOOD, "decided_on": decided_on})


def test_the_answer_is_withdrawn_until_the_online_ballot_opens():
    rules.check_front_withdraw(answered=True, online_ballot_opened=False)
    with pytest.raises(Conflict, match="can no longer be withdrawn"):
        rules.check_front_withdraw(answered=True, online_ballot_opened=True)
    with pytest.raises(Conflict, match="no answer"):
        rules.check_front_withdraw(answered=False, online_ballot_opened=False)


# --- the online ballot (civic.deliberation.matters.check_method) ----------------------------------------

def test_an_online_ballot_on_other_self_managed_affairs_needs_the_committees_agreement():
    six = matters.rule_for(6, "village")
    with pytest.raises(Conflict, match="village Front work committee"):  # the community agreed: not enough
        matters.check_method(six, matters.ONLINE_BALLOT, online_agreed=True, front_agreed=False)
    with pytest.raises(Invalid):  # the Front agreed, the community's acceptance is not recorded
        matters.check_method(six, matters.ONLINE_BALLOT, online_agreed=False, front_agreed=True)
    matters.check_method(six, matters.ONLINE_BALLOT, online_agreed=True, front_agreed=True)


@pytest.mark.parametrize("matter", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("scope", ["village", "commune"])
def test_matters_one_to_five_never_online_even_with_every_agreement(matter, scope):
    with pytest.raises(Conflict, match="only for other self-managed affairs"):
        matters.check_method(matters.rule_for(matter, scope), matters.ONLINE_BALLOT, online_agreed=True,
                             front_agreed=True)


def test_other_methods_need_no_agreement_of_the_committee():
    six = matters.rule_for(6, "village")
    for method in (matters.MEETING_VOTE, matters.PAPER_BALLOT, matters.AUTHORITY):
        matters.check_method(six, method)
