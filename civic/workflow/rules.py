"""Pure workflow decisions: plain facts in, a decision or a CivicError out. No session, no request."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from civic.clock import LOCAL_TZ
from civic.deliberation import rules as deliberation_rules
from civic.errors import N_, Conflict, Forbidden, NotFound
from civic.workflow.stages import (
    ADMIN,
    AUTHOR,
    SECRETARY,
    STAGE_LABELS,
    SUPERVISOR,
    TRANSITIONS,
    Stage,
    Transition,
)


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
    # Dân biết / Dân bàn (issue 4): disclosures recorded, the first day the item may move to Dân bàn,
    # and whether the item's decision passed or failed.
    disclosure_count: int = 0
    disclosure_ready_on: date | None = None
    decision_passed: bool = False
    decision_failed: bool = False
    # Dân làm / Dân kiểm tra (issue 5): the latest progress, pledges neither delivered nor withdrawn, the
    # open inspection and its unmarked checklist entries, open findings, a household's pending reopen request.
    progress_percent: int = 0
    pledges_open: int = 0
    inspection_open: bool = False
    checklist_unmarked: int = 0
    findings_open: int = 0
    serious_findings_open: int = 0
    reopen_pending: bool = False


@dataclass(frozen=True)
class ActorFacts:
    user_id: int | None = None
    is_author: bool = False
    secretary_villages: frozenset[int] = field(default_factory=frozenset)
    supervisor_communes: frozenset[int] = field(default_factory=frozenset)
    admin_communes: frozenset[int] = field(default_factory=frozenset)


ANONYMOUS = ActorFacts()


def relations(item: ItemFacts, actor: ActorFacts) -> frozenset[str]:
    """What the actor is to this item: author, its village's secretary, its commune's supervisor, admin."""
    rel = set()
    if actor.is_author:
        rel.add(AUTHOR)
    if item.village_id in actor.secretary_villages:
        rel.add(SECRETARY)
    if item.commune_id in actor.supervisor_communes:
        rel.add(SUPERVISOR)
    if item.commune_id in actor.admin_communes:
        rel.add(ADMIN)
    return frozenset(rel)


def acting_role(item: ItemFacts, actor: ActorFacts, action: str) -> str:
    """The role under which the actor performs an action (shown on the timeline)."""
    t = TRANSITIONS[action]
    for role in (SECRETARY, SUPERVISOR, ADMIN, AUTHOR):
        if role in t.actors and role in relations(item, actor):
            return role
    return ""


def check(action: str, item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int = 30) -> Transition:
    """Raise Forbidden when the actor may not do this to the item, Conflict when its state forbids it."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise NotFound(N_("This action does not exist."))
    if not (t.actors & relations(item, actor)):
        raise Forbidden(N_("You are not allowed to do this for this item."))
    if item.stage not in t.from_stages:
        raise Conflict(N_("This cannot be done while the item is at the stage “%(stage)s”."), stage=STAGE_LABELS.get(item.stage, item.stage))
    if t.from_outcomes and item.outcome not in t.from_outcomes:
        raise Conflict(N_("This cannot be done for an item closed this way."))
    if action == "request_review":
        if item.review_requested:
            raise Conflict(N_("A review has already been asked for; it can be asked only once."))
        if item.closed_at is None or now > item.closed_at + timedelta(days=review_window_days):
            raise Conflict(N_("A review can be asked for only within %(days)s days of the decision."),
                           days=review_window_days)
    if action in ("uphold", "send_back") and not item.review_pending:
        raise Conflict(N_("Nobody has asked for a review of this decision."))
    if action == "open_discussion":
        blocker = deliberation_rules.open_discussion_blocker(
            item.disclosure_count, item.disclosure_ready_on, now.astimezone(LOCAL_TZ).date())
        if blocker is not None:
            raise Conflict(blocker.message, **blocker.params)
    if action == "start_work" and not item.decision_passed:
        raise Conflict(N_("The item moves to People do only after a decision of the households passed."))
    if action == "close_not_approved" and not item.decision_failed:
        raise Conflict(N_("The item closes as not approved only after a decision failed."))
    if action in ("start_inspection", "sign_off", "rework", "reopen"):
        _check_do_inspect(action, item)
    return t



def _check_do_inspect(action: str, item: ItemFacts) -> None:
    """Issue 5's preconditions, decided by its own rules (imported here: they import this module)."""
    from civic.implementation import rules as implementation_rules
    from civic.supervision import rules as supervision_rules

    if action == "start_inspection":
        implementation_rules.check_ready_for_inspection(item.progress_percent, item.pledges_open)
    elif action == "sign_off":
        supervision_rules.check_sign_off(item)
    elif action == "rework":
        supervision_rules.check_rework(item)
    elif action == "reopen":
        supervision_rules.check_reopen(item)

def allowed(action: str, item: ItemFacts, actor: ActorFacts, now: datetime, **kw) -> bool:
    try:
        check(action, item, actor, now, **kw)
    except (Forbidden, Conflict, NotFound):
        return False
    return True


def allowed_actions(item: ItemFacts, actor: ActorFacts, now: datetime, actions: Iterable[str] | None = None,
                    **kw) -> list[str]:
    return [a for a in (actions or TRANSITIONS) if allowed(a, item, actor, now, **kw)]


def is_open(stage: str) -> bool:
    return stage != Stage.CLOSED


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


def ack_status(submitted_on: date, today: date, allowed_days: int, is_holiday: Callable[[date], bool]) -> AckStatus:
    waited = working_days_between(submitted_on, today, is_holiday)
    due = add_working_days(submitted_on, allowed_days, is_holiday)
    return AckStatus(waited, allowed_days, due, today > due)


# --- who may open the staff pages -------------------------------------------------------------------

QUEUE_ROLES = {"triage": ("secretary_villages",), "review": ("supervisor_communes",)}


def check_queue(queue: str, actor: ActorFacts) -> None:
    """Only secretaries open the triage queue and only supervisors the review queue."""
    if not any(getattr(actor, attr) for attr in QUEUE_ROLES[queue]):
        raise Forbidden(N_("This page is for village secretaries.") if queue == "triage"
                        else N_("This page is for supervisors."))


def check_staff_view(item: ItemFacts, actor: ActorFacts) -> None:
    """Staff pages of an item show private contacts: its village's secretary, its commune's supervisors."""
    if not (relations(item, actor) & {SECRETARY, SUPERVISOR, ADMIN}):
        raise Forbidden(N_("You are not allowed to see this item's private details."))
