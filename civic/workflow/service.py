"""The one mover: every change of an item's stage goes through transition()."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlmodel import Session, col

from civic import clock
from civic.accounts.service import Viewer
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.facts import ItemFacts
from civic.core.inputs import Form
from civic.db import AMONG_SQL, IdSet, Plain, among, memoized
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

# Built once, run with the head's villages as one parameter (db.among: the same statement for 1 or 200
# villages). Two ways to read one page, oldest first; triage_queue takes the one that reads fewer rows:
# - by the (village, stage, created) index: every new item of the head's villages, then sorted. Cheap for a
#   head of a few villages of a large commune;
# - along the commune's new items in order (the partial index `ix_item_submitted_created`), keeping those of
#   the head's villages until the page is full: about (offset + limit) / share rows, where share is the
#   head's part of the commune's new items. `village_id + 0` keeps either database from choosing the
#   village index for it (a head of all 200 villages read all 2,830 new items of the bench and sorted them:
#   1.4 ms of the page's 12).
_TRIAGE_COLUMNS: tuple[Any, ...] = (col(Item.id), col(Item.code), col(Item.title), col(Item.kind),
                                   col(Item.village_id), col(Item.category_id), col(Item.created_at))
_TRIAGE_BY_VILLAGE = Plain(select(*_TRIAGE_COLUMNS)
                           .where(among(col(Item.village_id), "villages"), col(Item.stage) == Stage.SUBMITTED)
                           .order_by(col(Item.created_at), col(Item.id))
                           .offset(bindparam("offset")).limit(bindparam("limit")))
# The second names its index on SQLite, whose planner (without statistics) prefers the (stage, changed)
# index and a sort; the stage is written out, as a partial index is used only for the very condition it
# was built with.
_IN_ORDER_SQL = ("SELECT id, code, title, kind, village_id, category_id, created_at FROM item{hint} "
                 "WHERE village_id + 0 {among} AND stage = '" + Stage.SUBMITTED.value + "' "
                 "ORDER BY created_at, id LIMIT :limit OFFSET :offset")
_TRIAGE_IN_ORDER = {
    dialect: Plain(text(_IN_ORDER_SQL.format(hint=hint, among=AMONG_SQL[dialect].format(name="villages")))
                   .bindparams(bindparam("villages", type_=IdSet()), bindparam("limit"), bindparam("offset"))
                   .columns(*_TRIAGE_COLUMNS))
    for dialect, hint in (("sqlite", " INDEXED BY ix_item_submitted_created"), ("postgresql", ""))}
_TRIAGE_COUNT = Plain(select(func.coalesce(func.sum(col(ItemCount.n)), 0)).where(
    among(col(ItemCount.commune_id), "communes"), among(col(ItemCount.village_id), "villages"),
    col(ItemCount.stage) == Stage.SUBMITTED))
_NEW_IN_COMMUNES = Plain(select(func.coalesce(func.sum(col(ItemCount.n)), 0)).where(
    among(col(ItemCount.commune_id), "communes"), col(ItemCount.stage) == Stage.SUBMITTED))


def triage_queue(session: Session, viewer: Viewer, limit: int = QUEUE_PAGE, offset: int = 0,
                 waiting: int | None = None) -> list[QueueEntry]:
    """New items of the village head's villages, oldest first, with the working days they have waited:
    one page of plain rows, never the whole commune (see _TRIAGE_BY_VILLAGE). `waiting` is
    triage_count() when the caller has it already."""
    villages = viewer.villages("village_head")
    if not villages:
        return []
    params = {"villages": villages, "offset": offset, "limit": limit}
    theirs = triage_count(session, viewer) if waiting is None else waiting
    everyone = int(_NEW_IN_COMMUNES.rows(session, {"communes": viewer.communes("village_head")}).scalar())
    in_order = theirs and (offset + limit) * everyone / theirs < theirs
    statement = _TRIAGE_IN_ORDER[session.get_bind().dialect.name] if in_order else _TRIAGE_BY_VILLAGE
    rows = statement.rows(session, params)
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
    return int(_TRIAGE_COUNT.rows(session, {"communes": viewer.communes("village_head"),
                                            "villages": villages}).scalar())


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

