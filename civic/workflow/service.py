"""The one mover: every change of an item's stage goes through transition()."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts.service import Viewer
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.facts import ItemFacts
from civic.core.inputs import Form
from civic.db import memoized
from civic.items import service as items
from civic.items.models import Item, ItemCount
from civic.workflow import calendar, registry, rules
from civic.workflow.models import ReviewRequest
from civic.workflow.schemas import TransitionForm
from civic.workflow.stages import TRANSITIONS, Action, Stage
from civic.workflow.transitions import current_review

__all__ = ["allowed_actions", "current_review", "facts", "form_for", "review_queue", "transition",
           "triage_queue"]


def facts(session: Session, item: Item) -> ItemFacts:
    """What the rules know about an item: its own columns and what each domain's provider adds (read
    once for a page whose session remembers its reads: civic.db.remember_reads)."""
    return memoized(session, ("facts", item.id, item.stage, item.outcome), lambda: _facts(session, item))


def _facts(session: Session, item: Item) -> ItemFacts:
    known: dict[str, Any] = {}
    for provider in registry.FACTS:
        known.update(provider(session, item))
    return ItemFacts(stage=item.stage, outcome=item.outcome, commune_id=item.commune_id,
                     village_id=item.village_id, closed_at=clock.as_utc(item.closed_at), **known)


def allowed_actions(session: Session, item: Item, viewer: Viewer, *, is_author: bool = False) -> list[str]:
    return rules.allowed_actions(facts(session, item), viewer.facts(is_author=is_author), clock.now(),
                                 review_window_days=get_settings().review_window_days)


def form_for(action: str) -> type[Form]:
    """The form a move's inputs are parsed into (a reason, and what its effect needs)."""
    t = TRANSITIONS.get(action)
    return registry.FORMS.get(t.effect or "", TransitionForm) if t else TransitionForm


def transition(session: Session, item: Item, action: Action | str, viewer: Viewer, form: Form | None = None,
               *, is_author: bool = False) -> Item:
    """Check the rules, apply the action and its domain's effect, record it in the audit chain.

    The TRANSITIONS row says who may act, from where to where, which precondition must hold and which
    effect runs; this function has no per-action branches. Never commits."""
    missing = registry.check_complete(TRANSITIONS)
    if missing:  # pragma: no cover - a programming error: civic.domains was not imported
        raise RuntimeError(f"transitions not registered (import civic.domains): {', '.join(missing)}")
    now = clock.now()
    item_facts = facts(session, item)
    actor = viewer.facts(is_author=is_author)
    t = rules.check(action, item_facts, actor, now, review_window_days=get_settings().review_window_days)
    role = rules.acting_role(item_facts, actor, action)
    form = form if form is not None else form_for(action).parse({})
    reason = rules.check_reason(t, str(getattr(form, "reason", "") or ""))
    payload: dict[str, Any] = {"from": item.stage}
    if reason:
        payload["reason"] = reason
    if t.effect:
        payload.update(registry.EFFECTS[t.effect](registry.Move(session, item, viewer, form, reason, now)))
    reason = payload.get("reason", reason)  # a decision's tally may be the public reason

    if t.to_stage is not None and t.to_stage != item.stage:
        item.stage = t.to_stage
        item.stage_changed_at = now
        payload["to"] = t.to_stage
    if t.outcome is not None:
        item.outcome = t.outcome
        item.closed_at = now
        item.close_reason = reason
        payload["outcome"] = t.outcome
    items.reindex(item)  # what the public search may read follows what the public sees at this stage
    item.updated_at = now
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action=str(action), actor_id=viewer.id,
                 actor_role=role, payload=payload)
    return item


# --- queues -----------------------------------------------------------------------------------------

@dataclass
class QueueEntry:
    item: Any  # a plain row: id, code, title, kind, village_id, category_id, created_at
    waited: int
    allowed: int
    due_on: date
    overdue: bool

    @property
    def days_late(self) -> int:
        """Working days past the time allowed (0 while on time)."""
        return max(0, self.waited - self.allowed)

    @property
    def days_left(self) -> int:
        """Working days still allowed (0 once due)."""
        return max(0, self.allowed - self.waited)


QUEUE_PAGE = 50

# Built once, run with the head's villages (with the lists in them, building cost more than running).
_TRIAGE_PAGE = (select(col(Item.id), col(Item.code), col(Item.title), col(Item.kind), col(Item.village_id),
                       col(Item.category_id), col(Item.created_at))
                .where(col(Item.village_id).in_(bindparam("villages", expanding=True)),
                       col(Item.stage) == Stage.SUBMITTED)
                .order_by(col(Item.created_at), col(Item.id))
                .offset(bindparam("offset")).limit(bindparam("limit")))
_TRIAGE_COUNT = select(func.coalesce(func.sum(col(ItemCount.n)), 0)).where(
    col(ItemCount.commune_id).in_(bindparam("communes", expanding=True)),
    col(ItemCount.village_id).in_(bindparam("villages", expanding=True)),
    col(ItemCount.stage) == Stage.SUBMITTED)


def triage_queue(session: Session, viewer: Viewer, limit: int = QUEUE_PAGE, offset: int = 0
                 ) -> list[QueueEntry]:
    """New items of the village head's villages, oldest first, with the working days they have waited:
    one page of plain rows, read from the (village, stage, created) index, never the whole commune."""
    villages = viewer.villages("village_head")
    if not villages:
        return []
    params = {"villages": sorted(villages), "offset": offset, "limit": limit}
    rows = session.execute(_TRIAGE_PAGE, params).all()
    today = clock.today_local()
    allowed_days = get_settings().ack_working_days
    out = []
    for row in rows:
        submitted_on = clock.as_utc(row.created_at).astimezone(clock.LOCAL_TZ).date()
        status = rules.ack_status(submitted_on, today, allowed_days, calendar.is_holiday,
                                  count=calendar.working_days_between, add=calendar.add_working_days)
        out.append(QueueEntry(row, status.waited, status.allowed, status.due_on, status.overdue))
    return out


def triage_count(session: Session, viewer: Viewer) -> int:
    """How many new items wait in the village head's villages: the sum of the counters the item triggers
    keep (a row a village), so it costs the same however long the backlog grows."""
    villages = viewer.villages("village_head")
    if not villages:
        return 0
    return int(session.execute(_TRIAGE_COUNT, {"communes": sorted(viewer.communes("village_head")),
                                               "villages": sorted(villages)}).scalar_one())


@dataclass
class ReviewEntry:
    item: Item
    review: ReviewRequest


def review_queue(session: Session, viewer: Viewer, limit: int = 200) -> list[ReviewEntry]:
    communes = viewer.communes("supervisor")
    if not communes:
        return []
    rows = session.execute(
        select(Item, ReviewRequest).join(ReviewRequest, col(ReviewRequest.item_id) == col(Item.id))
        .where(col(Item.commune_id).in_(communes), col(Item.stage) == Stage.CLOSED,
               col(ReviewRequest.decision).is_(None), col(ReviewRequest.requested_at) >= col(Item.closed_at))
        .order_by(col(ReviewRequest.requested_at)).limit(limit)
    ).all()
    return [ReviewEntry(item, review) for item, review in rows]

