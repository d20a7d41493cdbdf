"""What the Open311 routes read: fixed numbers of indexed queries, never one per row."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from civic.accounts.models import ApiKey
from civic.areas.models import Commune, Village
from civic.audit.models import AuditEvent
from civic.errors import N_
from civic.items import rules as item_rules
from civic.items.models import Category, Item
from civic.open311.errors import not_found
from civic.workflow.stages import Stage

REQUEST_COLUMNS = (Item.id, Item.code, Item.kind, Item.title, Item.description, Item.stage, Item.outcome,
                   Item.close_reason, Item.category_id, Item.village_id, Item.address, Item.lat, Item.lng,
                   Item.created_at, Item.updated_at)


def commune(session: Session, jurisdiction_id: str) -> Commune:
    """The commune this endpoint serves: the one named by `jurisdiction_id` (its code), or the site's own."""
    stmt = select(Commune).order_by(Commune.id).limit(1)
    if jurisdiction_id:
        stmt = select(Commune).where(Commune.code == jurisdiction_id.strip().upper()[:8])
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise not_found(N_("Unknown jurisdiction_id."))
    return found


@dataclass
class Lookups:
    commune: Commune
    categories: dict[int, Category]
    villages: dict[int, Village]

    def category_by_code(self, code: str) -> Category | None:
        return next((c for c in self.categories.values() if c.code == code and c.active), None)


def lookups(session: Session, c: Commune) -> Lookups:
    cats = {x.id: x for x in session.execute(select(Category).where(Category.commune_id == c.id)
                                             .order_by(Category.position, Category.id)).scalars()}
    villages = {v.id: v for v in session.execute(select(Village).where(Village.commune_id == c.id)
                                                 .order_by(Village.id)).scalars()}
    return Lookups(c, cats, villages)


@dataclass
class RequestQuery:
    codes: list[str]  # service_request_id: overrides everything else
    category_ids: list[int] | None  # None: every service
    start: datetime
    end: datetime
    statuses: set[str]
    page: int
    page_size: int


def list_requests(session: Session, commune_id: int, q: RequestQuery) -> list[Any]:
    """One page of requests, newest first; served by ix_item_commune_created (or the unique code)."""
    conds = [Item.commune_id == commune_id]
    if q.codes:
        canonical = [c for c in (item_rules.parse_code(x) for x in q.codes) if c]
        if not canonical:
            return []
        conds.append(Item.code.in_(canonical))
    else:
        conds += [Item.created_at >= q.start, Item.created_at <= q.end]
        if q.category_ids is not None:
            if not q.category_ids:
                return []
            conds.append(Item.category_id.in_(q.category_ids))
        if q.statuses == {"open"}:
            conds.append(Item.stage != Stage.CLOSED)
        elif q.statuses == {"closed"}:
            conds.append(Item.stage == Stage.CLOSED)
    return list(session.execute(
        select(*REQUEST_COLUMNS).where(and_(*conds)).order_by(Item.created_at.desc(), Item.id.desc())
        .offset((q.page - 1) * q.page_size).limit(q.page_size)).all())


def one_request(session: Session, commune_id: int, code: str) -> Any:
    canonical = item_rules.parse_code(code)
    row = None
    if canonical:
        row = session.execute(select(*REQUEST_COLUMNS).where(Item.code == canonical,
                                                             Item.commune_id == commune_id)).first()
    if row is None:
        raise not_found(N_("No request has the id %(id)s."), id=(code or "")[:40])
    return row


def events_of(session: Session, item_ids: list[int]) -> dict[int, list[Any]]:
    """Every item's public events, in chain order: one query (ix_audit_event_item)."""
    out: dict[int, list[Any]] = {i: [] for i in item_ids}
    if not item_ids:
        return out
    rows = session.execute(select(AuditEvent.item_id, AuditEvent.action, AuditEvent.actor_role,
                                  AuditEvent.payload, AuditEvent.created_at)
                           .where(AuditEvent.item_id.in_(item_ids)).order_by(AuditEvent.item_id, AuditEvent.seq))
    for row in rows:
        out[row.item_id].append(row)
    return out


def progress_of(session: Session, item_ids: list[int]) -> dict[int, int]:
    """The latest progress percent of each item, where the implementation package records one."""
    try:
        from civic.implementation.models import ProgressUpdate
    except ImportError:  # pragma: no cover - before Dân làm exists
        return {}
    if not item_ids:
        return {}
    rows = session.execute(select(ProgressUpdate.item_id, ProgressUpdate.percent)
                           .where(ProgressUpdate.item_id.in_(item_ids))
                           .order_by(ProgressUpdate.item_id, ProgressUpdate.created_at, ProgressUpdate.id))
    return {item_id: percent for item_id, percent in rows}


def updates(session: Session, commune_id: int, start: datetime, end: datetime, page: int, page_size: int
            ) -> list[Any]:
    """A page of the commune's item events between two datetimes (ix_audit_event_commune_created)."""
    return list(session.execute(
        select(AuditEvent.id, AuditEvent.seq, AuditEvent.item_id, AuditEvent.action, AuditEvent.actor_role,
               AuditEvent.payload, AuditEvent.created_at, Item.code, Item.stage, Item.outcome)
        .join(Item, Item.id == AuditEvent.item_id)
        .where(AuditEvent.commune_id == commune_id, AuditEvent.created_at >= start, AuditEvent.created_at <= end)
        .order_by(AuditEvent.created_at, AuditEvent.seq)
        .offset((page - 1) * page_size).limit(page_size)).all())


def client_token(api_key_id: int, token: str) -> str:
    """The item's idempotency key for a partner's Open311 token: one namespace per API key, so two
    partners' tokens never collide, in the charset and length the items accept."""
    return f"api{api_key_id}-" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:48]


def find_by_token(session: Session, commune_id: int, token: str, api_key_id: int | None) -> list[str]:
    """Codes of the requests filed with this token (by one partner, or by any partner of the commune)."""
    if api_key_id is not None:
        key_ids = [api_key_id]
    else:
        key_ids = list(session.execute(select(ApiKey.id).where(ApiKey.commune_id == commune_id)).scalars())
    candidates = [client_token(k, token) for k in key_ids]
    if not candidates:
        return []
    return list(session.execute(select(Item.code).where(Item.client_token.in_(candidates),
                                                        Item.commune_id == commune_id)
                                .order_by(Item.id)).scalars())
