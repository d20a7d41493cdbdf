"""The pure rules of the reports: the ten-year limit, medians and shares, the acknowledgement deadline, and
item counts brought up to date from the chain's events."""

from __future__ import annotations

from datetime import date

import pytest

from civic.errors import Forbidden, Invalid
from civic.reports import rules


@pytest.fixture(autouse=True)
def clean_db():  # no database here
    yield


def test_a_period_of_exactly_ten_years_is_allowed_and_one_day_more_is_not():
    rules.check_range(date(2016, 1, 1), date(2026, 1, 1))
    rules.check_range(date(2016, 2, 29), date(2026, 2, 28))
    rules.check_range(None, date(2026, 1, 1))
    with pytest.raises(Invalid) as exc:
        rules.check_range(date(2016, 1, 1), date(2026, 1, 2))
    assert exc.value.message == rules.RANGE_TOO_LONG and exc.value.params == {"years": 10}
    with pytest.raises(Invalid) as exc:
        rules.check_range(date(2026, 1, 2), date(2026, 1, 1))
    assert exc.value.message == rules.RANGE_REVERSED


def test_private_columns_only_for_own_villages():
    every = frozenset({1, 2, 3})
    assert rules.private_villages(commune_wide=True, head_villages=frozenset(), all_villages=every,
                                  village=None) == every
    assert rules.private_villages(commune_wide=False, head_villages=frozenset({2, 9}), all_villages=every,
                                  village=None) == {2}
    with pytest.raises(Forbidden):
        rules.private_villages(commune_wide=False, head_villages=frozenset({2}), all_villages=every,
                               village=3)
    with pytest.raises(Forbidden):
        rules.private_villages(commune_wide=False, head_villages=frozenset({9}), all_villages=every,
                               village=None)


def test_median_and_share():
    assert rules.median([]) is None
    assert rules.median([7, 1]) == 4.0
    assert rules.median([5, 1, 3]) == 3.0
    assert rules.share(1, 3) == 33 and rules.share(2, 3) == 67 and rules.share(1, 2) == 50
    assert rules.share(0, 0) is None


def test_acknowledged_in_time_counts_working_days_after_the_day_sent():
    # Sent Friday 30 January 2026: three working days are Mon 2, Tue 3, Wed 4 February.
    no_holiday = lambda _d: False  # noqa: E731
    sent = date(2026, 1, 30)
    assert rules.acknowledged_in_time(sent, date(2026, 2, 4), date(2026, 3, 1), 3, no_holiday) is True
    assert rules.acknowledged_in_time(sent, date(2026, 2, 5), date(2026, 3, 1), 3, no_holiday) is False
    assert rules.acknowledged_in_time(sent, None, date(2026, 2, 4), 3, no_holiday) is None  # may still be
    assert rules.acknowledged_in_time(sent, None, date(2026, 2, 5), 3, no_holiday) is False


def test_counts_follow_submissions_moves_and_a_change_of_village():
    counts = {(1, "submitted"): 2, (1, "know"): 1}
    events = [
        (10, "submitted", {"village_id": 1}),
        (10, "recategorize", {"from": "submitted", "village_from": 1, "village_to": 2}),
        (10, "accept", {"from": "submitted", "to": "know"}),
        (11, "accept", {"from": "submitted", "to": "know"}),
        (12, "support", {}),
    ]
    rules.fold_counts(counts, events, {10: 2, 11: 1, 12: 1})
    assert {k: v for k, v in counts.items() if v} == {(1, "submitted"): 1, (1, "know"): 2, (2, "know"): 1}
