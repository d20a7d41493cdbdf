"""The workflow's own stage moves: triage (accept, reject, duplicate, redirect, recategorize) and review
on appeal. Registered with the TRANSITIONS table through civic.workflow.registry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from civic.areas.models import Village
from civic.core.facts import ActorFacts, ItemFacts
from civic.db import PlainModels, memoized
from civic.errors import N_, Conflict, Invalid
from civic.items import rules as item_rules
from civic.items.models import Category, Item
from civic.workflow.models import ReviewRequest
from civic.workflow.registry import Move, effect, facts_provider, precondition
from civic.workflow.schemas import DuplicateForm, RecategorizeForm, RedirectForm, TransitionForm
from civic.workflow.stages import Stage

_CURRENT_REVIEW = (select(ReviewRequest)
                   .where(col(ReviewRequest.item_id) == bindparam("item_id"),
                          col(ReviewRequest.requested_at) >= bindparam("closed_at"))
                   .order_by(col(ReviewRequest.id).desc()).limit(1))
_SHOWN_REVIEW = PlainModels(_CURRENT_REVIEW, ReviewRequest)


def current_review(session: Session, item: Item) -> ReviewRequest | None:
    """The review request of the item's current closure, if the author asked for one: a copy to read (a
    decision on it changes the row itself, `_decide_review`). A status page asks twice (its facts and its
    section): one read."""
    closed_at = item.closed_at
    if closed_at is None:
        return None
    return memoized(session, ("current_review", item.id, closed_at),
                    lambda: _SHOWN_REVIEW.first(session, {"item_id": item.id, "closed_at": closed_at}))


@facts_provider
def review_facts(session: Session, item: Item) -> dict[str, Any]:
    review = current_review(session, item) if item.stage == Stage.CLOSED else None
    return {"review_requested": review is not None,
            "review_pending": review is not None and review.decision is None}


# --- preconditions (pure) ---------------------------------------------------------------------------------

@precondition("review.may_request")
def may_request_review(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    if item.review_requested:
        raise Conflict(N_("A review has already been asked for; it can be asked only once."))
    if item.closed_at is None or now > item.closed_at + timedelta(days=review_window_days):
        raise Conflict(N_("A review can be asked for only within %(days)s days of the decision."),
                       days=review_window_days)


@precondition("review.pending")
def review_pending(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    if not item.review_pending:
        raise Conflict(N_("Nobody has asked for a review of this decision."))


# --- effects ---------------------------------------------------------------------------------------------

def _acknowledge(move: Move) -> None:
    if move.item.acknowledged_at is None:
        move.item.acknowledged_at = move.now


@effect("triage.acknowledge", form=TransitionForm)
def acknowledge(move: Move) -> dict[str, Any]:
    _acknowledge(move)
    return {}


@effect("triage.mark_duplicate", form=DuplicateForm)
def mark_duplicate(move: Move) -> dict[str, Any]:
    session, item, form = move.session, move.item, move.form
    code = item_rules.parse_code(form.original_code)
    if not code:
        raise Invalid(N_("Please give the code of the original item, like NS-2026-0042."),
                      field="original_code")
    original = session.execute(select(Item).where(col(Item.code) == code)).scalar_one_or_none()
    if original is None or original.commune_id != item.commune_id:
        raise Invalid(N_("No item of this commune has the code %(code)s."), field="original_code", code=code)
    if original.id == item.id:
        raise Invalid(N_("An item cannot be a duplicate of itself."), field="original_code")
    item.duplicate_of_id = original.id
    _acknowledge(move)
    return {"original": original.code}


@effect("triage.redirect", form=RedirectForm)
def redirect(move: Move) -> dict[str, Any]:
    item, form = move.item, move.form
    item.redirected_to = form.destination
    _acknowledge(move)
    return {"destination": form.destination}


@effect("triage.recategorize", form=RecategorizeForm)
def recategorize(move: Move) -> dict[str, Any]:
    session, item, form = move.session, move.item, move.form
    errors: dict[str, str] = {}
    village = session.get(Village, form.village_id) if form.village_id else None
    category = session.get(Category, form.category_id) if form.category_id else None
    if village is None or village.commune_id != item.commune_id:
        errors["village_id"] = N_("This village does not exist in this commune.")
    if category is None or category.commune_id != item.commune_id or not category.active:
        errors["category_id"] = N_("This category does not exist.")
    if errors or village is None or category is None:
        raise Invalid(errors=errors)
    if village.id == item.village_id and category.id == item.category_id:
        raise Invalid(N_("Nothing was changed: choose another village or category."), field="category_id")
    changes: dict[str, Any] = {}
    if village.id != item.village_id:
        changes["village_from"], changes["village_to"] = item.village_id, village.id
        item.village_id = village.id
    if category.id != item.category_id:
        changes["category_from"], changes["category_to"] = item.category_id, category.id
        item.category_id = category.id
    return changes


@effect("review.request", form=TransitionForm)
def request_review(move: Move) -> dict[str, Any]:
    session, item, viewer, reason = move.session, move.item, move.viewer, move.reason
    session.add(ReviewRequest(item_id=item.id, closed_outcome=item.outcome or "", reason=reason,
                              requested_at=move.now, requested_by_id=viewer.id))
    return {}


def _decide_review(move: Move, decision: str) -> ReviewRequest:
    item = move.item
    review = None if item.closed_at is None else move.session.execute(
        _CURRENT_REVIEW, {"item_id": item.id, "closed_at": item.closed_at}).scalar_one_or_none()
    if review is None:  # the precondition saw one; a concurrent decision took it
        raise Conflict(N_("Nobody has asked for a review of this decision."))
    review.decision = decision
    review.decision_reason = move.reason
    review.decided_at = move.now
    review.decided_by_id = move.viewer.id
    return review


@effect("review.uphold", form=TransitionForm)
def uphold(move: Move) -> dict[str, Any]:
    _decide_review(move, "upheld")
    return {}


@effect("review.send_back", form=TransitionForm)
def send_back(move: Move) -> dict[str, Any]:
    """Back to triage as if new: the closure, its reason and the acknowledgement are undone."""
    item = move.item
    _decide_review(move, "sent_back")
    item.outcome = None
    item.closed_at = None
    item.close_reason = ""
    item.redirected_to = ""
    item.duplicate_of_id = None
    item.acknowledged_at = None
    return {}
