"""The activity page's reads (one query for the items of every kind, one for their counts, one for what
changed) and the one write: the person's last visit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, literal, or_, select, union_all
from sqlmodel import Session, col

from civic import clock
from civic.activity import rules
from civic.activity.models import ActivityVisit
from civic.audit.models import AuditEvent
from civic.deliberation.models import Comment, Support
from civic.implementation.models import Pledge
from civic.items.models import Item
from civic.items.service import LIST_COLUMNS, Page
from civic.notify.models import Follow
from civic.supervision.models import Verdict
from civic.workflow.stages import TRANSITIONS

# Events that move an item to another stage or close it: the page says "moved" when one came since.
STAGE_EVENTS = frozenset({str(t.action) for t in TRANSITIONS.values() if t.to_stage is not None}
                         | {"stage_changed"})


def touch_visit(session: Session, user_id: int, now: datetime) -> datetime | None:
    """Record a look at the activity page; returns the moment after which changes are new (None on the
    first look ever: nothing to compare with)."""
    row = session.get(ActivityVisit, user_id)
    seen_at, visit_at = rules.next_visit(clock.as_utc(row.seen_at) if row else None,
                                         clock.as_utc(row.visit_at) if row else None, now)
    if row is None:
        session.add(ActivityVisit(user_id=user_id, seen_at=seen_at, visit_at=visit_at))
        session.flush()
        return None
    row.seen_at, row.visit_at = seen_at, visit_at
    session.add(row)
    session.flush()
    return seen_at


@dataclass
class ActivityRow:
    item: Any  # a row of items.LIST_COLUMNS
    reasons: list[str]
    new_events: int = 0
    moved: bool = False


@dataclass
class Activity:
    page: Page
    rows: list[ActivityRow] = field(default_factory=list)
    since: datetime | None = None


def _ties(user_id: int, household_ids: frozenset[int]) -> Any:
    """(item_id, why) for every tie of a person to an item, one SELECT per kind in one UNION ALL."""
    hh = sorted(household_ids)
    return union_all(
        select(col(Item.id).label("item_id"), literal("sent").label("why"))
        .where(col(Item.reporter_id) == user_id),
        select(col(Support.item_id), literal("supported"))
        .where(or_(col(Support.user_id) == user_id, col(Support.household_id).in_(hh))),
        select(col(Pledge.item_id), literal("pledged")).where(col(Pledge.household_id).in_(hh)),
        select(col(Comment.item_id), literal("commented")).where(col(Comment.author_id) == user_id),
        select(col(Verdict.item_id), literal("verdict"))
        .where(or_(col(Verdict.given_by_id) == user_id, col(Verdict.household_id).in_(hh))),
        select(col(Follow.item_id), literal("followed"))
        .where(col(Follow.user_id) == user_id, col(Follow.stopped_at).is_(None)),
    ).subquery("ties")


def my_activity(session: Session, commune_id: int, user_id: int, household_ids: frozenset[int],
                since: datetime | None, *, page: int = 1, page_size: int = 20) -> Activity:
    """The items of the commune this person is tied to, latest change first, with why and what is new
    since `since`: three queries whatever the number of items."""
    ties = _ties(user_id, household_ids)
    total = int(session.execute(
        select(func.count(distinct(ties.c.item_id))).select_from(ties)
        .join(Item, col(Item.id) == ties.c.item_id).where(col(Item.commune_id) == commune_id)).scalar_one())
    page = max(1, min(page, max(1, -(-total // page_size))))
    flags = [func.max(case((ties.c.why == why, 1), else_=0)).label(f"is_{why}") for why in rules.REASONS]
    found = session.execute(
        select(*LIST_COLUMNS, *flags).join(ties, ties.c.item_id == col(Item.id))
        .where(col(Item.commune_id) == commune_id)
        .group_by(*LIST_COLUMNS)
        .order_by(col(Item.updated_at).desc(), col(Item.id).desc())
        .offset((page - 1) * page_size).limit(page_size)).all()
    n = len(LIST_COLUMNS)
    rows = [ActivityRow(r, [why for i, why in enumerate(rules.REASONS) if r[n + i]]) for r in found]
    if since is not None and rows:
        by_id = {r.item.id: r for r in rows}
        changes = session.execute(
            select(col(AuditEvent.item_id), func.count(),
                   func.max(case((col(AuditEvent.action).in_(sorted(STAGE_EVENTS)), 1), else_=0)))
            .where(col(AuditEvent.item_id).in_(list(by_id)), col(AuditEvent.created_at) > since,
                   or_(col(AuditEvent.actor_id).is_(None), col(AuditEvent.actor_id) != user_id))
            .group_by(col(AuditEvent.item_id))).all()
        for item_id, count, moved in changes:
            by_id[item_id].new_events = int(count)
            by_id[item_id].moved = bool(moved)
    return Activity(Page([r.item for r in rows], total, page, page_size), rows, since)


__all__ = ["Activity", "ActivityRow", "my_activity", "touch_visit"]
