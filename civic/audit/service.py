"""Append to and verify the hash chain. Appending locks the chain head in the caller's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from civic import clock
from civic.audit.models import AuditEvent, AuditHead
from civic.audit.rules import GENESIS, canonical_json, link_hash
from civic.clock import as_utc

# Keys that must never reach the public chain (docs/architecture.md, privacy).
PRIVATE_KEYS = {"phone", "contact_phone", "email", "contact_name", "password", "token", "manage_token"}


def ensure_head(session: Session, commune_id: int) -> None:
    if session.get(AuditHead, commune_id) is None:
        session.add(AuditHead(commune_id=commune_id, seq=0, hash=GENESIS))
        session.flush()


def record(session: Session, *, commune_id: int, action: str, item_id: int | None = None,
           actor_id: int | None = None, actor_role: str = "",
           payload: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the commune's chain, in the caller's transaction."""
    payload = dict(payload or {})
    leaked = PRIVATE_KEYS.intersection(payload)
    if leaked:
        raise ValueError(f"personal data in an audit payload: {sorted(leaked)}")
    session.flush()
    head = session.execute(
        select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.commune_id) == commune_id)
        .with_for_update()
    ).first()
    if head is None:
        ensure_head(session, commune_id)
        last_seq, prev = 0, GENESIS
    else:
        last_seq, prev = head[0], head[1]
    seq = last_seq + 1
    created_at = clock.now()
    digest = link_hash(prev, commune_id=commune_id, seq=seq, item_id=item_id, actor_id=actor_id,
                       actor_role=actor_role, action=action, payload=payload, created_at=created_at)
    event = AuditEvent(commune_id=commune_id, seq=seq, item_id=item_id, actor_id=actor_id,
                       actor_role=actor_role, action=action, payload=canonical_json(payload),
                       created_at=created_at, prev_hash=prev, hash=digest)
    session.add(event)
    session.execute(update(AuditHead).where(col(AuditHead.commune_id) == commune_id)
                    .values(seq=seq, hash=digest))
    session.flush()
    return event


@dataclass
class ChainHead:
    commune_id: int
    seq: int
    hash: str


def head(session: Session, commune_id: int) -> ChainHead:
    row = session.execute(select(col(AuditHead.seq), col(AuditHead.hash))
                          .where(col(AuditHead.commune_id) == commune_id)).first()
    return ChainHead(commune_id, row[0], row[1]) if row else ChainHead(commune_id, 0, GENESIS)


@dataclass
class VerifyResult:
    commune_id: int
    checked: int
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(session: Session, commune_id: int, batch: int = 5000) -> VerifyResult:
    """Recompute the chain from the start; name the first event whose link does not hold."""

    prev, expected_seq, checked = GENESIS, 1, 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(col(AuditEvent.commune_id) == commune_id,
                                     col(AuditEvent.seq) >= expected_seq)
            .order_by(col(AuditEvent.seq)).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(commune_id, checked, expected_seq, "missing event")
            if ev.prev_hash != prev:
                return VerifyResult(commune_id, checked, ev.seq,
                                    "prev_hash does not match the previous event")
            try:
                payload = json.loads(ev.payload)
            except ValueError:
                return VerifyResult(commune_id, checked, ev.seq, "payload is not JSON")
            digest = link_hash(prev, commune_id=ev.commune_id, seq=ev.seq, item_id=ev.item_id,
                               actor_id=ev.actor_id, actor_role=ev.actor_role, action=ev.action,
                               payload=payload, created_at=as_utc(ev.created_at))
            if digest != ev.hash:
                return VerifyResult(commune_id, checked, ev.seq, "hash does not match the event's content")
            prev, expected_seq, checked = ev.hash, ev.seq + 1, checked + 1
        session.expunge_all()
    stored = head(session, commune_id)
    if stored.seq != checked or stored.hash != prev:
        return VerifyResult(commune_id, checked, checked + 1 if stored.seq > checked else checked,
                            "chain head does not match the last event")
    return VerifyResult(commune_id, checked)


def count_events(session: Session, commune_id: int) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)
                           .where(col(AuditEvent.commune_id) == commune_id)).scalar_one()
