"""Pure workflow decisions: plain facts in, a decision or a CivicError out. No session, no request."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from civic.core.facts import ANONYMOUS, ActorFacts, ItemFacts
from civic.errors import N_, Conflict, Forbidden, Invalid, NotFound
from civic.workflow import registry
from civic.workflow.stages import (
    ADMIN,
    AUTHOR,
    INSPECTOR,
    STAGE_LABELS,
    SUPERVISOR,
    TRANSITIONS,
    VILLAGE_HEAD,
    Stage,
    Transition,
)

__all__ = ["ANONYMOUS", "ActorFacts", "ItemFacts", "allowed", "allowed_actions", "check", "relations"]

REASON_MIN = 5


def is_closed(stage: str) -> bool:
    """The item left the four stages with an outcome."""
    return stage == Stage.CLOSED


def awaits_triage(stage: str) -> bool:
    """Not yet accepted into the four stages."""
    return stage == Stage.SUBMITTED


def relations(item: ItemFacts, actor: ActorFacts) -> frozenset[str]:
    """What the actor is to this item: author, its village's village head, its commune's supervisor, admin."""
    rel = set()
    if actor.is_author:
        rel.add(AUTHOR)
    if item.village_id in actor.head_villages:
        rel.add(VILLAGE_HEAD)
    if item.commune_id in actor.supervisor_communes:
        rel.add(SUPERVISOR)
    if item.commune_id in actor.admin_communes:
        rel.add(ADMIN)
    if actor.user_id is not None and actor.user_id in item.inspectors:
        rel.add(INSPECTOR)
    return frozenset(rel)


def acting_role(item: ItemFacts, actor: ActorFacts, action: str) -> str:
    """The role under which the actor performs an action (shown on the timeline)."""
    t = TRANSITIONS[action]
    for role in (VILLAGE_HEAD, SUPERVISOR, INSPECTOR, ADMIN, AUTHOR):
        if role in t.actors and role in relations(item, actor):
            return role
    return ""


def check(action: str, item: ItemFacts, actor: ActorFacts, now: datetime, *,
          review_window_days: int = 30) -> Transition:
    """Raise Forbidden when the actor may not do this to the item, Conflict when its state forbids it.

    Who and from where is read from the TRANSITIONS row; what else must hold is the row's `check`, a
    precondition its domain registered (civic.workflow.registry)."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise NotFound(N_("This action does not exist."))
    if not (t.actors & relations(item, actor)):
        raise Forbidden(N_("You are not allowed to do this for this item."))
    if item.stage not in t.from_stages:
        raise Conflict(N_("This cannot be done while the item is at the stage “%(stage)s”."),
                       stage=STAGE_LABELS.get(item.stage, item.stage))
    if t.from_outcomes and item.outcome not in t.from_outcomes:
        raise Conflict(N_("This cannot be done for an item closed this way."))
    if t.check:
        registry.CHECKS[t.check](item, actor, now, review_window_days=review_window_days)
    return t


def check_reason(t: Transition, reason: str) -> str:
    """A closing or reviewing decision says why, publicly; elsewhere a reason is optional."""
    if t.needs_reason and len(reason) < REASON_MIN:
        raise Invalid(N_("Please give a reason of at least 5 characters; it is shown publicly."),
                      field="reason")
    return reason


def allowed(action: str, item: ItemFacts, actor: ActorFacts, now: datetime, **kw) -> bool:
    try:
        check(action, item, actor, now, **kw)
    except (Forbidden, Conflict, NotFound):
        return False
    return True


def allowed_actions(item: ItemFacts, actor: ActorFacts, now: datetime, actions: Iterable[str] | None = None,
                    **kw) -> list[str]:
    return [a for a in (actions or TRANSITIONS) if allowed(a, item, actor, now, **kw)]


# --- the acknowledgement deadline, in working days -------------------------------------------------

def is_working_day(day: date, is_holiday: Callable[[date], bool]) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_working_days(start: date, days: int, is_holiday: Callable[[date], bool]) -> date:
    """The date `days` working days after `start` (the day of submission does not count)."""
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current, is_holiday):
            left -= 1
    return current


def working_days_between(start: date, end: date, is_holiday: Callable[[date], bool]) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if is_working_day(current, is_holiday):
            count += 1
    return count


@dataclass(frozen=True)
class AckStatus:
    waited: int  # working days waited so far
    allowed: int  # working days allowed
    due_on: date
    overdue: bool


def ack_status(submitted_on: date, today: date, allowed_days: int,
               is_holiday: Callable[[date], bool], *,
               count: Callable[[date, date], int] | None = None,
               add: Callable[[date, int], date] | None = None) -> AckStatus:
    """`count` and `add`, when given, are faster equivalents of working_days_between and add_working_days
    for the same holidays (civic.workflow.calendar counts them arithmetically)."""
    waited = count(submitted_on, today) if count else working_days_between(submitted_on, today, is_holiday)
    due = add(submitted_on, allowed_days) if add else add_working_days(submitted_on, allowed_days, is_holiday)
    return AckStatus(waited, allowed_days, due, today > due)


# --- who may open the staff pages -------------------------------------------------------------------

QUEUE_ROLES = {"triage": ("head_villages",), "review": ("supervisor_communes",)}


def check_queue(queue: str, actor: ActorFacts) -> None:
    """Only village heads open the triage queue and only supervisors the review queue."""
    if not any(getattr(actor, attr) for attr in QUEUE_ROLES[queue]):
        raise Forbidden(N_("This page is for village heads.") if queue == "triage"
                        else N_("This page is for supervisors."))


def check_staff_view(item: ItemFacts, actor: ActorFacts) -> None:
    """Staff pages of an item show private contacts: its village's village head, its commune's supervisors."""
    if not (relations(item, actor) & {VILLAGE_HEAD, SUPERVISOR, ADMIN}):
        raise Forbidden(N_("You are not allowed to see this item's private details."))
