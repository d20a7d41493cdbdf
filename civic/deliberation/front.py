"""The village Front work committee's answer to an online vote on an item (Decree 59/2023/NĐ-CP Art. 5),
recorded by the head of that committee from their own account: it agreed, it refused, or its answer is
withdrawn before an online ballot opened. The village head opens an online ballot only on an agreement
recorded here (civic.deliberation.service.decide).

Loads, asks the rules, changes, records one audit event, flushes; never commits. The events name the
committee's minutes and the public reason; a free note only by its digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import RoleGrant, User
from civic.accounts.rules import FRONT_POWER, ROLES, in_force
from civic.accounts.service import Viewer
from civic.audit import service as audit
from civic.audit.rules import text_digest
from civic.db import row_id
from civic.deliberation import matters, rules
from civic.deliberation import service as deliberation
from civic.deliberation.models import Decision, Discussion, FrontAgreement
from civic.deliberation.schemas import FrontAgreeForm, FrontRefuseForm, FrontWithdrawForm
from civic.errors import N_, Conflict
from civic.items.models import Item

ROLE = "front_head"  # the actor role of the events (the timeline names it)
ALREADY = N_("The Front work committee's answer on this item is already recorded: withdraw it first to "
             "record another.")


def front_villages(viewer: Viewer) -> frozenset[int]:
    return viewer.villages(FRONT_POWER)


_FRONT_ROLES = sorted(code for code, kind in ROLES.items() if FRONT_POWER in kind.powers)


def head_name(session: Session, village_id: int | None, on: date) -> str:
    """The name of the village Front work committee's head on that day, for the signature block of a
    printed record ("" when the village has none recorded in civic)."""
    if village_id is None:
        return ""
    rows = session.execute(
        select(col(User.display_name), col(RoleGrant.starts_on), col(RoleGrant.ends_on))
        .join(RoleGrant, col(RoleGrant.user_id) == col(User.id))
        .where(col(RoleGrant.role).in_(_FRONT_ROLES), col(RoleGrant.village_id) == village_id)
        .order_by(col(RoleGrant.starts_on).desc(), col(RoleGrant.id).desc())).all()
    return next((name for name, starts_on, ends_on in rows if in_force(starts_on, ends_on, on)), "")


def _decisions(session: Session, item_id: int) -> tuple[bool, bool]:
    """(any decision started, an online ballot opened) on the item."""
    rows = session.execute(select(col(Decision.method)).where(col(Decision.item_id) == item_id)
                           ).scalars().all()
    return bool(rows), matters.ONLINE_BALLOT in rows


def online_allowed(session: Session, item: Item) -> bool:
    """Can the item be decided online? Unknown in People know (the matter is set when the discussion
    opens): yes; in People discuss: as the rules table says for its matter and scope."""
    discussion = session.execute(select(Discussion).where(col(Discussion.item_id) == item.id)
                                 ).scalar_one_or_none()
    if discussion is None:
        return True
    return matters.ONLINE_BALLOT in deliberation.rule_of(discussion).methods


def _answer(session: Session, item: Item, viewer: Viewer, *, agreed: bool, decided_on: date, minutes_ref: str,
            note: str = "", reason: str = "") -> FrontAgreement:
    rules.check_front_head(front_villages(viewer), item.village_id)
    started, _opened = _decisions(session, row_id(item))
    rules.check_front_answer(stage=item.stage, online_allowed=online_allowed(session, item),
                             answered=deliberation.front_answer(session, row_id(item)) is not None,
                             decision_started=started, decided_on=decided_on,
                             accepted_on=deliberation.accepted_on(item), today=clock.today_local())
    now = clock.now()
    row = FrontAgreement(item_id=row_id(item), village_id=item.village_id, agreed=agreed,
                         decided_on=decided_on, minutes_ref=minutes_ref, note=note, reason=reason,
                         recorded_by_id=viewer.id, recorded_at=now)
    try:
        with session.begin_nested():  # two answers sent at once: the partial unique index keeps one
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(ALREADY) from None
    item.updated_at = now
    payload: dict[str, object] = {"front_agreement_id": row.id, "decided_on": decided_on.isoformat(),
                                  "minutes_ref": minutes_ref}
    if note:
        payload["note_sha256"] = text_digest(note)
    if reason:
        payload["reason"] = reason
    audit.record(session, commune_id=item.commune_id, item_id=item.id,
                 action="front_agreed" if agreed else "front_refused", actor_id=viewer.id, actor_role=ROLE,
                 payload=payload)
    return row


def agree(session: Session, item: Item, viewer: Viewer, form: FrontAgreeForm) -> FrontAgreement:
    """The committee agreed to an online vote on the item."""
    return _answer(session, item, viewer, agreed=True, decided_on=form.decided_on,
                   minutes_ref=form.minutes_ref, note=form.note)


def refuse(session: Session, item: Item, viewer: Viewer, form: FrontRefuseForm) -> FrontAgreement:
    """The committee did not agree to an online vote on the item."""
    return _answer(session, item, viewer, agreed=False, decided_on=form.decided_on,
                   minutes_ref=form.minutes_ref, reason=form.reason)


def withdraw(session: Session, item: Item, viewer: Viewer, form: FrontWithdrawForm) -> FrontAgreement:
    """The committee's answer taken back, while no online ballot is open on it."""
    rules.check_front_head(front_villages(viewer), item.village_id)
    current = deliberation.front_answer_to_change(session, row_id(item))
    _started, opened = _decisions(session, row_id(item))
    rules.check_front_withdraw(answered=current is not None, online_ballot_opened=opened)
    assert current is not None  # check_front_withdraw refused to withdraw nothing
    now = clock.now()
    current.withdrawn_at, current.withdrawn_by_id, current.withdraw_reason = now, viewer.id, form.reason
    item.updated_at = now
    session.flush()
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="front_withdrawn",
                 actor_id=viewer.id, actor_role=ROLE,
                 payload={"front_agreement_id": current.id, "agreed": current.agreed, "reason": form.reason})
    return current


# --- what the pages show ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FrontView:
    """The committee's answer on an item as the status page shows it, and what this viewer may do."""

    answer: FrontAgreement | None
    is_front_head: bool  # the viewer heads the Front work committee of the item's village
    can_answer: bool  # …and may record an answer now
    can_withdraw: bool
    accepted_on: date
    today: date

    @property
    def shown(self) -> bool:
        return self.answer is not None or self.can_answer or self.can_withdraw


def view(session: Session, item: Item, viewer: Viewer) -> FrontView:
    answer = deliberation.front_answer(session, row_id(item))
    mine = item.village_id in front_villages(viewer)
    started, opened = _decisions(session, row_id(item)) if (mine or answer is not None) else (False, False)
    can_answer = (mine and answer is None and not started and item.stage in rules.FRONT_STAGES
                  and online_allowed(session, item))
    return FrontView(answer=answer, is_front_head=mine, can_answer=can_answer,
                     can_withdraw=mine and answer is not None and not opened,
                     accepted_on=deliberation.accepted_on(item), today=clock.today_local())


# --- the Front head's to-do ------------------------------------------------------------------------------

def _online_matters() -> list[int]:
    """The matters a village may decide online (the rules table: other self-managed affairs)."""
    return sorted(m for (m, scope), r in matters.RULES.items()
                  if scope == "village" and matters.ONLINE_BALLOT in r.methods)


def _waiting_query(villages: frozenset[int]) -> tuple[Any, ...]:
    """Items of the villages in People discuss on a matter a village may decide online, with no decision
    started and no answer of the committee standing: they wait for the committee's answer."""
    answered = exists().where(col(FrontAgreement.item_id) == col(Item.id),
                              col(FrontAgreement.withdrawn_at).is_(None))
    decided = exists().where(col(Decision.item_id) == col(Item.id))
    return (col(Item.village_id).in_(sorted(villages)), col(Item.stage) == "discuss",
            col(Discussion.scope) == "village", col(Discussion.matter).in_(_online_matters()), ~answered,
            ~decided)


def waiting_count(session: Session, villages: frozenset[int]) -> int:
    if not villages:
        return 0
    return int(session.execute(select(func.count()).select_from(Item)
                               .join(Discussion, col(Discussion.item_id) == col(Item.id))
                               .where(*_waiting_query(villages))).scalar_one())


def waiting_items(session: Session, villages: frozenset[int], limit: int) -> list[Item]:
    if not villages:
        return []
    return list(session.execute(select(Item).join(Discussion, col(Discussion.item_id) == col(Item.id))
                                .where(*_waiting_query(villages))
                                .order_by(col(Item.stage_changed_at), col(Item.id)).limit(limit)).scalars())
