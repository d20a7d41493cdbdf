"""Dân kiểm tra shapes: what a form gives (the rules' *Input classes) and what a page shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from civic.supervision.rules import FindingInput, VerdictInput  # noqa: F401  (input shapes)


@dataclass
class VerdictTotals:
    count: int
    by_verdict: dict[str, int]
    average: float | None  # satisfaction, one decimal, for display only
    households: int

    @property
    def any(self) -> bool:
        return self.count > 0


@dataclass
class SupervisorQueue:
    awaiting: list[Any]  # (item, inspection or None)
    past_due: list[Any]  # (item, finding)
    reopen: list[Any]  # (item, request)
