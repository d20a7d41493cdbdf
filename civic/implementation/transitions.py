"""Dân làm → Dân kiểm tra: the facts and the precondition this domain gives the workflow."""

from __future__ import annotations

from datetime import datetime

from civic.core.facts import ActorFacts, ItemFacts
from civic.implementation import rules
from civic.implementation import service as implementation
from civic.workflow.registry import facts_provider, precondition

facts_provider(implementation.workflow_facts)


@precondition("implementation.ready_for_inspection")
def ready_for_inspection(item: ItemFacts, actor: ActorFacts, now: datetime, *,
                         review_window_days: int) -> None:
    """Handed over only at 100 % progress with every pledge delivered or withdrawn."""
    rules.check_ready_for_inspection(item.progress_percent, item.pledges_open)
