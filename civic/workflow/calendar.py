"""Vietnamese public holidays (from the `holidays` package), for working-day deadlines.

Working days are counted arithmetically, not day by day: the weekdays between two dates follow from
their ordinals (whole weeks of five weekdays), less the public holidays that fall on a weekday, found by
bisecting a sorted list per year. The staff queue computes this for hundreds of items a page, some of
them years old; `civic.workflow.rules` keeps the day-by-day definition the tests compare against.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from functools import lru_cache


@lru_cache(maxsize=64)
def _year(year: int) -> frozenset[date]:
    import holidays  # about 0.3 s of imports (every country): paid by the first deadline, not every command

    return frozenset(holidays.country_holidays("VN", years=year))


def is_holiday(day: date) -> bool:
    return day in _year(day.year)


@lru_cache(maxsize=64)
def _weekday_holidays(year: int) -> tuple[date, ...]:
    """The year's public holidays that fall on Monday to Friday (a weekend holiday costs no working day)."""
    return tuple(sorted(d for d in _year(year) if d.weekday() < 5))


def _weekdays_through(ordinal: int) -> int:
    """Mondays to Fridays from 1 January of year 1 (a Monday, ordinal 1) up to and including `ordinal`."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def _weekday_number(n: int) -> date:
    """The n-th weekday (n >= 1) counted from 1 January of year 1: the inverse of _weekdays_through."""
    weeks, rest = divmod(n - 1, 5)
    return date.fromordinal(weeks * 7 + rest + 1)


def _holidays_after(start: date, end: date) -> int:
    """Weekday holidays after `start` up to and including `end`."""
    if end <= start:
        return 0
    count = 0
    for year in range(start.year, end.year + 1):
        days = _weekday_holidays(year)
        count += bisect_right(days, end) - bisect_right(days, start)
    return count


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    weekdays = _weekdays_through(end.toordinal()) - _weekdays_through(start.toordinal())
    return weekdays - _holidays_after(start, end)


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (the day of submission does not count)."""
    if days <= 0:
        return start
    base = _weekdays_through(start.toordinal())
    target = _weekday_number(base + days)
    missing = _holidays_after(start, target)
    while missing:  # each holiday passed over costs one more weekday, which may itself be a holiday
        reached = target
        base += days
        days = missing
        target = _weekday_number(base + days)
        missing = _holidays_after(reached, target)
    return target
