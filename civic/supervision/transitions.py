"""Dân kiểm tra: the facts, preconditions and effects of handing over, signing off, rework, closing as not
done and reopening."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from civic.boards import service as boards
from civic.core.facts import ActorFacts, ItemFacts
from civic.errors import N_, Conflict
from civic.supervision import rules
from civic.supervision import service as supervision
from civic.supervision.models import Finding
from civic.workflow.registry import Move, effect, facts_provider, precondition

facts_provider(supervision.workflow_facts)


@precondition("supervision.may_sign_off")
def may_sign_off(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    rules.check_sign_off(item)


@precondition("supervision.may_rework")
def may_rework(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    rules.check_rework(item)


@precondition("supervision.may_reopen")
def may_reopen(item: ItemFacts, actor: ActorFacts, now: datetime, *, review_window_days: int) -> None:
    rules.check_reopen(item)


@effect("supervision.hand_over")
def hand_over(move: Move) -> dict[str, Any]:
    return {"percent": 100}


def _close_inspection(move: Move, result: str) -> dict[str, Any]:
    """The open inspection, if any, ends with this result."""
    inspection = supervision.open_inspection(move.session, move.item.id)
    if inspection is None:
        return {}
    inspection.result = result
    inspection.closed_at = move.now
    return {"inspection_id": inspection.id}


@effect("supervision.sign_off")
def sign_off(move: Move) -> dict[str, Any]:
    """The board's decision: the timeline names the board and the members who agreed."""
    inspection = supervision.open_inspection(move.session, move.item.id)
    agreed = supervision.sign_off_record(move.session, inspection) if inspection is not None else {}
    board = boards.inspecting_board(move.session, move.item)
    if board is not None:  # a board under its minimum cannot decide
        boards.check_can_decide(move.session, board)
    members = boards.member_ids(move.session, board)
    payload = _close_inspection(move, "signed_off")
    payload.update(agreed)
    if "agreed_by" in payload:  # the agreements of members who left no longer count
        payload["agreed_by"] = [u for u in payload["agreed_by"] if u in members]
    payload["members"] = len(members)
    return payload


@effect("supervision.rework")
def rework(move: Move) -> dict[str, Any]:
    """Back to Dân làm; the timeline says how many findings the village must answer."""
    session, item = move.session, move.item
    payload = _close_inspection(move, "rework")
    payload["findings_open"] = session.execute(select(func.count()).select_from(Finding).where(
        col(Finding.item_id) == item.id, col(Finding.resolved_at).is_(None))).scalar_one()
    return payload


@effect("supervision.close_not_done")
def close_not_done(move: Move) -> dict[str, Any]:
    return _close_inspection(move, "not_done")


@effect("supervision.reopen")
def reopen(move: Move) -> dict[str, Any]:
    """A household's request to reopen is granted: the item goes back to inspection, no longer done."""
    session, item, viewer, reason = move.session, move.item, move.viewer, move.reason
    request = supervision.current_closure_reopen(session, item)
    if request is None:
        raise Conflict(N_("No household has asked to reopen this item."))
    request.decision = "reopened"
    request.decision_reason = reason
    request.decided_at = move.now
    request.decided_by_id = viewer.id
    item.outcome = None
    item.closed_at = None
    item.close_reason = ""
    return {"reopen_request_id": request.id}
