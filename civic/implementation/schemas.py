"""Dân làm shapes: what a form gives (the rules' *Input classes) and what a page shows (totals, budget, rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from civic.implementation import rules
from civic.implementation.models import BudgetLine, Pledge
from civic.implementation.rules import (  # noqa: F401  (input shapes, decided by the rules)
    BudgetLineInput,
    DeliveryInput,
    PledgeInput,
    ProgressInput,
    SettingsInput,
    SpendingInput,
)


@dataclass
class KindTotal:
    kind: str
    pledged: int | Decimal = 0
    delivered: int | Decimal = 0
    needed: int | Decimal | None = None
    pledges: int = 0

    @property
    def target(self) -> int | Decimal:
        return self.needed if self.needed else self.pledged

    @property
    def delivered_share(self) -> int:
        return rules.share(self.delivered, self.target)

    @property
    def pledged_share(self) -> int:
        return rules.share(self.pledged, self.target)


@dataclass
class Totals:
    kinds: dict[str, KindTotal]
    households_pledged: int
    households_in_register: int
    pledges_open: int
    withdrawn: int
    disputed: int
    materials: list[Any] = field(default_factory=list)  # (description, unit, pledged, delivered)

    @property
    def any(self) -> bool:
        return any(k.pledges for k in self.kinds.values()) or bool(self.materials)


@dataclass
class BudgetRow:
    line: BudgetLine
    spent: int

    @property
    def remaining(self) -> int:
        return self.line.amount - self.spent


@dataclass
class Budget:
    rows: list[BudgetRow]

    @property
    def total(self) -> int:
        return sum(r.line.amount for r in self.rows)

    @property
    def spent(self) -> int:
        return sum(r.spent for r in self.rows)

    @property
    def remaining(self) -> int:
        return self.total - self.spent

    def by_source(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.line.source] = out.get(r.line.source, 0) + r.line.amount
        return out


@dataclass
class PledgeRow:
    pledge: Pledge
    household_code: str
    delivered: int | Decimal
    deliveries: int

    @property
    def amount(self) -> int | Decimal:
        return self.pledge.money if self.pledge.kind == rules.MONEY else self.pledge.quantity

    @property
    def remaining(self) -> int | Decimal:
        return rules.open_amount(self.amount, self.delivered)

    @property
    def complete(self) -> bool:
        return self.pledge.withdrawn_at is None and self.remaining == 0
