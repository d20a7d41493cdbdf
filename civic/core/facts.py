"""The plain facts a rule reads about an item and about the person acting on it.

Each domain adds its part of ItemFacts through the facts provider it registers in its transitions.py
(civic.workflow.registry), so a rule never needs a database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ItemFacts:
    stage: str
    outcome: str | None
    commune_id: int
    village_id: int
    closed_at: datetime | None = None
    # A review was already asked for the current closure / is waiting for a supervisor.
    review_requested: bool = False
    review_pending: bool = False
    # Dân biết / Dân bàn: disclosures recorded, the first day the item may move to Dân bàn, and whether
    # the item's decision passed or failed.
    disclosure_count: int = 0
    disclosure_ready_on: date | None = None
    decision_passed: bool = False
    decision_failed: bool = False
    # Dân làm / Dân kiểm tra: the latest progress, pledges neither delivered nor withdrawn, the open
    # inspection and its unmarked checklist entries, open findings, a household's pending reopen request.
    progress_percent: int = 0
    pledges_open: int = 0
    inspection_open: bool = False
    checklist_unmarked: int = 0
    findings_open: int = 0
    serious_findings_open: int = 0
    reopen_pending: bool = False
    # Dân kiểm tra by a people's board: the user ids of the members of the board that inspects the item, how
    # many of them agreed to sign the open inspection off, and "not satisfactory" marks no finding covers.
    inspectors: frozenset[int] = frozenset()
    sign_off_agreed: int = 0
    checklist_not_met_uncovered: int = 0


@dataclass(frozen=True)
class ActorFacts:
    user_id: int | None = None
    is_author: bool = False
    head_villages: frozenset[int] = field(default_factory=frozenset)
    supervisor_communes: frozenset[int] = field(default_factory=frozenset)
    admin_communes: frozenset[int] = field(default_factory=frozenset)


ANONYMOUS = ActorFacts()
