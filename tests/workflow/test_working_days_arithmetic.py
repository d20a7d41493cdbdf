"""The arithmetic working-day count (weeks plus a sorted holiday list) agrees with the day-by-day walk."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civic.workflow import calendar, rules


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


DAYS = st.dates(min_value=date(2018, 1, 1), max_value=date(2032, 12, 31))


@settings(max_examples=3000, deadline=None)
@given(DAYS, st.integers(min_value=-30, max_value=1200))
def test_count_matches_the_walk(start, span):
    end = start + timedelta(days=span)
    assert calendar.working_days_between(start, end) == rules.working_days_between(start, end,
                                                                                  calendar.is_holiday)


@settings(max_examples=3000, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=60))
def test_due_date_matches_the_walk(start, days):
    assert calendar.add_working_days(start, days) == rules.add_working_days(start, days, calendar.is_holiday)


def test_every_start_of_a_tet_season():
    """Each day from December to March of two years, deadlines of 1 to 10 working days and waits up to
    40 days: the weeks around Tết, where most holidays fall together."""
    for first in (date(2025, 12, 1), date(2026, 12, 1)):
        for offset in range(120):
            start = first + timedelta(days=offset)
            for days in range(1, 11):
                assert calendar.add_working_days(start, days) == rules.add_working_days(
                    start, days, calendar.is_holiday)
            for span in range(40):
                end = start + timedelta(days=span)
                assert calendar.working_days_between(start, end) == rules.working_days_between(
                    start, end, calendar.is_holiday)


def test_three_years_in_one_count():
    """An item three years old: 2024-01-01 to 2026-12-31 holds 784 weekdays (262 + 261 + 261), less the
    weekday holidays."""
    start, end = date(2023, 12, 31), date(2026, 12, 31)
    weekday_holidays = sum(1 for n in range((end - start).days)
                           if calendar.is_holiday(d := start + timedelta(days=n + 1)) and d.weekday() < 5)
    assert weekday_holidays > 20
    assert calendar.working_days_between(start, end) == 784 - weekday_holidays


def test_queue_status_uses_the_same_deadline():
    sent, today = date(2026, 2, 13), date(2026, 2, 26)
    fast = rules.ack_status(sent, today, 3, calendar.is_holiday, count=calendar.working_days_between,
                            add=calendar.add_working_days)
    assert fast == rules.ack_status(sent, today, 3, calendar.is_holiday)
    assert (fast.due_on, fast.overdue) == (date(2026, 2, 25), True)
