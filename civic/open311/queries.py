"""What the Open311 routes read: fixed numbers of indexed queries, never one per row."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session, col

from civic.areas.models import Commune, Village
from civic.audit.models import AuditEvent
from civic.config import get_settings
from civic.errors import N_
from civic.implementation.models import ProgressUpdate
from civic.items import rules as item_rules
from civic.items.models import Category, Item
from civic.open311.errors import not_found
from civic.workflow.stages import Stage

REQUEST_COLUMNS = (col(Item.id), col(Item.code), col(Item.kind), col(Item.title), col(Item.description),
                   col(Item.stage), col(Item.outcome), col(Item.close_reason), col(Item.category_id),
                   col(Item.village_id), col(Item.address), col(Item.lat), col(Item.lng),
                   col(Item.created_at), col(Item.updated_at))


def commune(session: Session, jurisdiction_id: str) -> Commune:
    """The commune this endpoint serves: the one named by `jurisdiction_id` (its code), or the site's own."""
    stmt = select(Commune).order_by(col(Commune.id)).limit(1)
    if jurisdiction_id:
        stmt = select(Commune).where(col(Commune.code) == jurisdiction_id.strip().upper()[:8])
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
    cats = {x.id: x for x in session.execute(select(Category).where(col(Category.commune_id) == c.id)
                                             .order_by(col(Category.position), col(Category.id))).scalars()}
    villages = {v.id: v for v in session.execute(select(Village).where(col(Village.commune_id) == c.id)
                                                 .order_by(col(Village.id))).scalars()}
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
    conds = [col(Item.commune_id) == commune_id]
    if q.codes:
        canonical = [c for c in (item_rules.parse_code(x) for x in q.codes) if c]
        if not canonical:
            return []
        conds.append(col(Item.code).in_(canonical))
    else:
        conds += [col(Item.created_at) >= q.start, col(Item.created_at) <= q.end]
        if q.category_ids is not None:
            if not q.category_ids:
                return []
            conds.append(col(Item.category_id).in_(q.category_ids))
        if q.statuses == {"open"}:
            conds.append(col(Item.stage) != Stage.CLOSED)
        elif q.statuses == {"closed"}:
            conds.append(col(Item.stage) == Stage.CLOSED)
    return list(session.execute(
        select(*REQUEST_COLUMNS).where(and_(*conds))
        .order_by(col(Item.created_at).desc(), col(Item.id).desc())
        .offset((q.page - 1) * q.page_size).limit(q.page_size)).all())


def one_request(session: Session, commune_id: int, code: str) -> Any:
    canonical = item_rules.parse_code(code)
    row = None
    if canonical:
        row = session.execute(select(*REQUEST_COLUMNS).where(col(Item.code) == canonical,
                                                             col(Item.commune_id) == commune_id)).first()
    if row is None:
        raise not_found(N_("No request has the id %(id)s."), id=(code or "")[:40])
    return row


def events_of(session: Session, item_ids: list[int]) -> dict[int, list[Any]]:
    """Every item's public events, in chain order: one query (ix_audit_event_item)."""
    out: dict[int, list[Any]] = {i: [] for i in item_ids}
    if not item_ids:
        return out
    rows = session.execute(select(col(AuditEvent.item_id), col(AuditEvent.action), col(AuditEvent.actor_role),
                                  col(AuditEvent.payload), col(AuditEvent.created_at))
                           .where(col(AuditEvent.item_id).in_(item_ids))
                           .order_by(col(AuditEvent.item_id), col(AuditEvent.seq)))
    for row in rows:
        out[row.item_id].append(row)
    return out


def progress_of(session: Session, item_ids: list[int]) -> dict[int, int]:
    """The latest progress percent of each item, where the implementation package records one."""
    if not item_ids:
        return {}
    rows = session.execute(select(col(ProgressUpdate.item_id), col(ProgressUpdate.percent))
                           .where(col(ProgressUpdate.item_id).in_(item_ids))
                           .order_by(col(ProgressUpdate.item_id), col(ProgressUpdate.created_at),
                                     col(ProgressUpdate.id)))
    return {item_id: percent for item_id, percent in rows}


def updates(session: Session, commune_id: int, start: datetime, end: datetime, page: int, page_size: int
            ) -> list[Any]:
    """A page of the commune's item events between two datetimes (ix_audit_event_commune_created)."""
    return list(session.execute(
        select(col(AuditEvent.id), col(AuditEvent.seq), col(AuditEvent.item_id), col(AuditEvent.action),
               col(AuditEvent.actor_role), col(AuditEvent.payload), col(AuditEvent.created_at),
               col(Item.code), col(Item.stage), col(Item.outcome))
        .join(Item, col(Item.id) == col(AuditEvent.item_id))
        .where(col(AuditEvent.commune_id) == commune_id, col(AuditEvent.created_at) >= start,
               col(AuditEvent.created_at) <= end)
        .order_by(col(AuditEvent.created_at), col(AuditEvent.seq))
        .offset((page - 1) * page_size).limit(page_size)).all())


def client_token(api_key_id: int, token: str) -> str:
    """The item's idempotency key for a partner's Open311 token: one namespace per API key, so two
    partners' tokens never collide, in the charset and length the items accept. An HMAC under the server's
    secret, keyed by the API key too: without the secret nobody can make the key of another partner's
    request and replay it through the web form (OWASP ASVS 4.0 V4.2.1)."""
    secret = get_settings().secret_key.encode()
    digest = hmac.new(secret, f"open311-token\0{api_key_id}\0{token}".encode(), hashlib.sha256).hexdigest()
    return f"api{api_key_id}-" + digest[:48]


def find_by_token(session: Session, commune_id: int, token: str, api_key_id: int) -> list[str]:
    """Codes of the requests this partner filed with this token (another partner's are not looked at)."""
    key = client_token(api_key_id, token)
    return list(session.execute(select(col(Item.code)).where(col(Item.client_token) == key,
                                                             col(Item.commune_id) == commune_id)
                                .order_by(col(Item.id))).scalars())
