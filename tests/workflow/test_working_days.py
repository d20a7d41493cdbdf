"""Working days for the acknowledgement deadline: weekends and Vietnamese public holidays do not count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from civic.workflow import rules
from civic.workflow.calendar import is_holiday


@pytest.fixture(autouse=True)
def clean_db():
    """Pure rules: nothing to empty (overrides the database fixture of tests/conftest.py)."""
    yield


def no_holidays(_day: date) -> bool:
    return False


@pytest.mark.parametrize("day", [date(2026, 1, 1), date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18),
                                 date(2026, 2, 19), date(2026, 2, 20), date(2026, 4, 30), date(2026, 5, 1),
                                 date(2026, 9, 2)])
def test_vietnamese_public_holidays(day):
    assert is_holiday(day)
    assert not rules.is_working_day(day, is_holiday)


@pytest.mark.parametrize("day", [date(2026, 2, 12), date(2026, 2, 23), date(2026, 3, 4), date(2026, 9, 4)])
def test_ordinary_weekdays_are_working_days(day):
    assert not is_holiday(day)
    assert rules.is_working_day(day, is_holiday)


@pytest.mark.parametrize("day", [date(2026, 3, 7), date(2026, 3, 8)])
def test_weekends_are_not_working_days(day):
    assert not rules.is_working_day(day, no_holidays)


@pytest.mark.parametrize(("start", "due"), [
    (date(2026, 3, 2), date(2026, 3, 5)),    # Monday -> Thursday
    (date(2026, 3, 4), date(2026, 3, 9)),    # Wednesday -> Monday, over the weekend
    (date(2026, 3, 6), date(2026, 3, 11)),   # Friday -> Wednesday
    (date(2026, 3, 7), date(2026, 3, 11)),   # sent on a Saturday: counts from Monday
    (date(2026, 3, 8), date(2026, 3, 11)),   # sent on a Sunday
    (date(2026, 2, 13), date(2026, 2, 25)),  # Friday before Tết: 16–20 Feb are holidays
    (date(2026, 2, 12), date(2026, 2, 24)),  # Thursday before Tết: Fri 13, then Mon 23, Tue 24
    (date(2026, 8, 28), date(2026, 9, 7)),   # National Day: 31 Aug, 1 and 2 Sep off
    (date(2026, 4, 29), date(2026, 5, 6)),   # 30 April and 1 May
])
def test_due_date_after_three_working_days(start, due):
    assert rules.add_working_days(start, 3, is_holiday) == due


def test_due_date_ignores_holidays_only_when_told():
    assert rules.add_working_days(date(2026, 2, 13), 3, no_holidays) == date(2026, 2, 18)


@pytest.mark.parametrize(("start", "end", "waited"), [
    (date(2026, 3, 2), date(2026, 3, 2), 0),
    (date(2026, 3, 2), date(2026, 3, 1), 0),
    (date(2026, 3, 2), date(2026, 3, 3), 1),
    (date(2026, 3, 6), date(2026, 3, 9), 1),   # Friday to Monday
    (date(2026, 3, 6), date(2026, 3, 8), 0),   # Friday to Sunday
    (date(2026, 2, 13), date(2026, 2, 22), 0),  # all of Tết and a weekend
    (date(2026, 2, 13), date(2026, 2, 23), 1),
    (date(2026, 3, 2), date(2026, 3, 30), 20),
])
def test_working_days_waited(start, end, waited):
    assert rules.working_days_between(start, end, is_holiday) == waited


def test_overdue_exactly_after_the_due_day():
    sent = date(2026, 3, 2)  # Monday; due Thursday 5 March
    on_time = rules.ack_status(sent, date(2026, 3, 5), 3, is_holiday)
    assert ((on_time.waited, on_time.allowed, on_time.due_on, on_time.overdue)
            == (3, 3, date(2026, 3, 5), False))
    late = rules.ack_status(sent, date(2026, 3, 6), 3, is_holiday)
    assert (late.waited, late.due_on, late.overdue) == (4, date(2026, 3, 5), True)


def test_not_overdue_on_the_day_it_was_sent():
    status = rules.ack_status(date(2026, 3, 2), date(2026, 3, 2), 3, is_holiday)
    assert (status.waited, status.overdue) == (0, False)


def test_tet_does_not_make_an_item_overdue():
    sent = date(2026, 2, 13)
    during_tet = rules.ack_status(sent, date(2026, 2, 20), 3, is_holiday)
    assert (during_tet.waited, during_tet.overdue) == (0, False)
    last_day = rules.ack_status(sent, date(2026, 2, 25), 3, is_holiday)
    assert (last_day.waited, last_day.overdue) == (3, False)
    assert rules.ack_status(sent, date(2026, 2, 26), 3, is_holiday).overdue


def test_a_weekend_after_the_due_day_is_overdue():
    """Due on Friday: on Saturday it is already late, though no working day has passed."""
    status = rules.ack_status(date(2026, 3, 3), date(2026, 3, 7), 3, is_holiday)
    assert status.due_on == date(2026, 3, 6)
    assert status.overdue
    assert status.waited == 3


@pytest.mark.parametrize("days", [1, 3, 5, 10])
def test_due_date_is_always_a_working_day(days):
    start = date(2026, 1, 1)
    for offset in range(0, 366, 3):
        due = rules.add_working_days(start + timedelta(days=offset), days, is_holiday)
        assert rules.is_working_day(due, is_holiday)
        assert rules.working_days_between(start + timedelta(days=offset), due, is_holiday) == days
