"""The one mover: every change of an item's stage goes through transition()."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from civic import clock
from civic.accounts.service import Viewer
from civic.areas.models import Village
from civic.audit import service as audit
from civic.config import get_settings
from civic.errors import N_, Invalid
from civic.items import rules as item_rules
from civic.items.models import Category, Item
from civic.workflow import calendar, rules
from civic.workflow.models import ReviewRequest
from civic.workflow.stages import TRIAGE_ACTIONS, Stage


def current_review(session: Session, item: Item) -> ReviewRequest | None:
    """The review request of the item's current closure, if the author asked for one."""
    if item.closed_at is None:
        return None
    return session.execute(
        select(ReviewRequest).where(ReviewRequest.item_id == item.id,
                                    ReviewRequest.requested_at >= item.closed_at)
        .order_by(ReviewRequest.id.desc()).limit(1)
    ).scalar_one_or_none()


def facts(session: Session, item: Item, review: ReviewRequest | None = ...) -> rules.ItemFacts:
    if review is ...:
        review = current_review(session, item) if item.stage == Stage.CLOSED else None
    from civic.deliberation import service as deliberation  # the deliberation service reads workflow facts
    from civic.implementation import service as implementation  # issue 5: Dân làm facts
    from civic.supervision import service as supervision  # issue 5: Dân kiểm tra facts

    return rules.ItemFacts(
        stage=item.stage, outcome=item.outcome, commune_id=item.commune_id, village_id=item.village_id,
        closed_at=clock.as_utc(item.closed_at), review_requested=review is not None,
        review_pending=review is not None and review.decision is None,
        **deliberation.workflow_facts(session, item),
        **implementation.workflow_facts(session, item),
        **supervision.workflow_facts(session, item),
    )


def allowed_actions(session: Session, item: Item, viewer: Viewer, *, is_author: bool = False) -> list[str]:
    return rules.allowed_actions(facts(session, item), viewer.facts(is_author=is_author), clock.now(),
                                 review_window_days=get_settings().review_window_days)


def transition(session: Session, item: Item, action: str, viewer: Viewer, inputs: dict[str, Any] | None = None,
               *, is_author: bool = False) -> Item:
    """Check the rules, apply the action, record it in the audit chain. Never commits."""
    inputs = inputs or {}
    now = clock.now()
    item_facts = facts(session, item)
    actor = viewer.facts(is_author=is_author)
    t = rules.check(action, item_facts, actor, now, review_window_days=get_settings().review_window_days)
    role = rules.acting_role(item_facts, actor, action)
    payload: dict[str, Any] = {"from": item.stage}

    reason = ""
    if t.needs_reason:
        reason = item_rules.clean_reason(inputs.get("reason"))
    elif inputs.get("reason"):
        reason = item_rules.clean_reason(inputs.get("reason"), required=False)
    if reason:
        payload["reason"] = reason

    if action == "mark_duplicate":
        original = _original(session, item, inputs.get("original_code"))
        item.duplicate_of_id = original.id
        payload["original"] = original.code
    elif action == "redirect":
        destination = item_rules.clean_text(inputs.get("destination"))
        if len(destination) < 3 or len(destination) > 200:
            raise Invalid(N_("Please say where the item was sent (3 to 200 characters)."), field="destination")
        item.redirected_to = destination
        payload["destination"] = destination
    elif action == "recategorize":
        payload.update(_recategorize(session, item, inputs))
    elif action in ("open_discussion", "start_work", "close_not_approved"):
        from civic.deliberation import service as deliberation

        extra = deliberation.on_transition(session, item, action, viewer, inputs)
        if action == "close_not_approved":
            reason = extra.pop("reason")
            payload["reason"] = reason
        payload.update(extra)
    elif action in ("start_inspection", "sign_off", "rework", "close_not_done", "reopen"):
        from civic.supervision import service as supervision

        payload.update(supervision.on_transition(session, item, action, viewer, reason))
    elif action == "request_review":
        session.add(ReviewRequest(item_id=item.id, closed_outcome=item.outcome or "", reason=reason,
                                  requested_at=now, requested_by_id=viewer.id))
    elif action in ("uphold", "send_back"):
        review = current_review(session, item)
        review.decision = "upheld" if action == "uphold" else "sent_back"
        review.decision_reason = reason
        review.decided_at = now
        review.decided_by_id = viewer.id

    if t.to_stage is not None and t.to_stage != item.stage:
        item.stage = t.to_stage
        item.stage_changed_at = now
        payload["to"] = t.to_stage
    if t.outcome is not None:
        item.outcome = t.outcome
        item.closed_at = now
        item.close_reason = reason
        payload["outcome"] = t.outcome
    if action == "send_back":
        item.outcome = None
        item.closed_at = None
        item.close_reason = ""
        item.redirected_to = ""
        item.duplicate_of_id = None
        item.acknowledged_at = None
    if action in TRIAGE_ACTIONS and action != "recategorize" and item.acknowledged_at is None:
        item.acknowledged_at = now
    item.updated_at = now
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action=action, actor_id=viewer.id,
                 actor_role=role, payload=payload)
    return item


def _original(session: Session, item: Item, raw_code: Any) -> Item:
    code = item_rules.parse_code(str(raw_code or ""))
    if not code:
        raise Invalid(N_("Please give the code of the original item, like NS-2026-0042."), field="original_code")
    original = session.execute(select(Item).where(Item.code == code)).scalar_one_or_none()
    if original is None or original.commune_id != item.commune_id:
        raise Invalid(N_("No item of this commune has the code %(code)s."), field="original_code", code=code)
    if original.id == item.id:
        raise Invalid(N_("An item cannot be a duplicate of itself."), field="original_code")
    return original


def _recategorize(session: Session, item: Item, inputs: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    changes: dict[str, Any] = {}
    village_id = item_rules._int(inputs.get("village_id"))
    category_id = item_rules._int(inputs.get("category_id"))
    village = session.get(Village, village_id) if village_id else None
    category = session.get(Category, category_id) if category_id else None
    if village is None or village.commune_id != item.commune_id:
        errors["village_id"] = N_("This village does not exist in this commune.")
    if category is None or category.commune_id != item.commune_id or not category.active:
        errors["category_id"] = N_("This category does not exist.")
    if errors:
        raise Invalid(errors=errors)
    if village.id == item.village_id and category.id == item.category_id:
        raise Invalid(N_("Nothing was changed: choose another village or category."), field="category_id")
    if village.id != item.village_id:
        changes["village_from"], changes["village_to"] = item.village_id, village.id
        item.village_id = village.id
    if category.id != item.category_id:
        changes["category_from"], changes["category_to"] = item.category_id, category.id
        item.category_id = category.id
    return changes


# --- queues -----------------------------------------------------------------------------------------

@dataclass
class QueueEntry:
    item: Item
    waited: int
    allowed: int
    due_on: date
    overdue: bool


def triage_queue(session: Session, viewer: Viewer, limit: int = 200) -> list[QueueEntry]:
    """New items of the secretary's villages, oldest first, with the working days they have waited."""
    villages = viewer.villages("secretary")
    if not villages:
        return []
    rows = session.execute(select(Item).where(Item.village_id.in_(villages), Item.stage == Stage.SUBMITTED)
                           .order_by(Item.created_at, Item.id).limit(limit)).scalars().all()
    today = clock.today_local()
    allowed_days = get_settings().ack_working_days
    out = []
    for item in rows:
        submitted_on = clock.as_utc(item.created_at).astimezone(clock.LOCAL_TZ).date()
        status = rules.ack_status(submitted_on, today, allowed_days, calendar.is_holiday)
        out.append(QueueEntry(item, status.waited, status.allowed, status.due_on, status.overdue))
    return out


@dataclass
class ReviewEntry:
    item: Item
    review: ReviewRequest


def review_queue(session: Session, viewer: Viewer, limit: int = 200) -> list[ReviewEntry]:
    communes = viewer.communes("supervisor")
    if not communes:
        return []
    rows = session.execute(
        select(Item, ReviewRequest).join(ReviewRequest, ReviewRequest.item_id == Item.id)
        .where(Item.commune_id.in_(communes), Item.stage == Stage.CLOSED, ReviewRequest.decision.is_(None),
               ReviewRequest.requested_at >= Item.closed_at)
        .order_by(ReviewRequest.requested_at).limit(limit)
    ).all()
    return [ReviewEntry(item, review) for item, review in rows]

