"""Dân biết → Dân bàn → Dân làm: the facts, preconditions and effects this domain gives the workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from civic import clock
from civic.core.facts import ActorFacts, ItemFacts
from civic.deliberation import matters, rules
from civic.deliberation import service as deliberation
from civic.deliberation.models import Discussion
from civic.deliberation.schemas import OpenDiscussionForm
from civic.errors import N_, Conflict, Invalid
from civic.workflow.registry import Move, effect, facts_provider, precondition

facts_provider(deliberation.workflow_facts)


@precondition("deliberation.disclosure_period_over")
def disclosure_period_over(item: ItemFacts, actor: ActorFacts, now: datetime, *,
                           review_window_days: int) -> None:
    blocker = rules.open_discussion_blocker(item.disclosure_count, item.disclosure_ready_on,
                                            now.astimezone(clock.LOCAL_TZ).date())
    if blocker is not None:
        raise Conflict(blocker.message, **blocker.params)


@precondition("deliberation.decision_passed")
def decision_passed(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    if not item.decision_passed:
        raise Conflict(N_("The item moves to People do only after a decision of the households passed."))


@precondition("deliberation.decision_failed")
def decision_failed(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    if not item.decision_failed:
        raise Conflict(N_("The item closes as not approved only after a decision failed."))


@effect("deliberation.open_discussion", form=OpenDiscussionForm)
def open_discussion(move: Move) -> dict[str, Any]:
    """The question the households decide (what the village head typed, or the item's title), its matter
    and scope, and what it asks of each household."""
    session, item, viewer, form = move.session, move.item, move.viewer, move.form
    # The stage table lets the village head and the commune's officials open a discussion; which of them
    # may depends on the scope chosen here.
    rules.check_may_open(form.scope, viewer.facts(), item.commune_id, item.village_id)
    question = form.question or item.title
    if not rules.QUESTION_MIN <= len(question) <= rules.QUESTION_MAX:
        raise Invalid(N_("Please state the question the households decide (5 to 1000 characters)."),
                      field="question", minimum=rules.QUESTION_MIN, maximum=rules.QUESTION_MAX)
    own = matters.Asks(item.ask_land_m2, item.ask_money, item.ask_labour_days, item.ask_materials)
    matter, asks = form.matter_number, matters.with_item_asks(form.asks, own)
    matters.check_matter(matter, form.scope, asks, form.matter_reason)
    reason = form.matter_reason if matters.is_lowered(matter, asks) else ""
    values = {"question": question, "matter": matter, "scope": form.scope, "matter_reason": reason,
              "asks_contribution": asks.any or matter in matters.CONTRIBUTION_MATTERS,
              "ask_land_m2": asks.land_m2, "ask_money": asks.money, "ask_labour_days": asks.labour_days,
              "ask_materials": asks.materials}
    discussion = session.execute(select(Discussion).where(col(Discussion.item_id) == item.id)
                                 ).scalar_one_or_none()
    if discussion is None:
        session.add(Discussion(item_id=item.id, opened_at=clock.now(), opened_by_id=viewer.id, **values))
    else:
        for name, value in values.items():
            setattr(discussion, name, value)
    public: dict[str, Any] = {"question": question, "matter": matter, "scope": form.scope,
                              "asks_contribution": values["asks_contribution"], "asks": list(asks.kinds)}
    if reason:
        public["matter_reason"] = reason
    return public


@effect("deliberation.record_result")
def record_result(move: Move) -> dict[str, Any]:
    """The decision that moved the item, on its timeline; a failed one's tally is the public reason."""
    session, item = move.session, move.item
    decision = deliberation.latest_result(session, item.id)
    if decision is None:  # the precondition saw one
        raise Conflict(N_("The item moves to People do only after a decision of the households passed."))
    extra: dict[str, Any] = {"decision_id": decision.id, "method": decision.method}
    if decision.method != "authority":
        extra.update({"in_favour": decision.yes, "households": decision.households_total})
    if not decision.passed:
        tally_reason = (rules.commune_tally_reason if decision.method == matters.VILLAGE_RESULTS
                        else rules.tally_reason)
        extra["reason"] = tally_reason(decision.yes or 0, decision.households_total or 0)
    return extra
