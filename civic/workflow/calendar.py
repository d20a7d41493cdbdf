"""Vietnamese public holidays (from the `holidays` package), for working-day deadlines."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def _year(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


def is_holiday(day: date) -> bool:
    return day in _year(day.year)
