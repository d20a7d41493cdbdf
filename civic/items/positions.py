"""Where items are, for the public map (/map and its GeoJSON): only what the public list already shows
(code, title, kind, stage, village) and the position the reporter gave, of items the map may show
(civic.items.rules.MAP_HIDDEN_STAGES, MAP_HIDDEN_OUTCOMES). Never a contact, a description or an account."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from civic import clock
from civic.items import rules
from civic.items.models import Item
from civic.items.service import ListFilters

MAP_LIMIT = 2000  # the newest positions a map shows at once; the page says when there are more
SEARCH_WORDS = 8


@dataclass(frozen=True)
class Position:
    code: str
    kind: str
    title: str
    stage: str
    outcome: str | None
    village_id: int
    lat: float
    lng: float


@dataclass(frozen=True)
class Positions:
    rows: list[Position]
    truncated: bool


def _conditions(commune_id: int, f: ListFilters | None = None) -> list[Any]:
    conds: list[Any] = [
        col(Item.commune_id) == commune_id, col(Item.lat).is_not(None), col(Item.lng).is_not(None),
        col(Item.stage).not_in(rules.MAP_HIDDEN_STAGES),
        or_(col(Item.outcome).is_(None), col(Item.outcome).not_in(rules.MAP_HIDDEN_OUTCOMES)),
    ]
    if f is None:
        return conds
    for column, value in ((Item.village_id, f.village_id), (Item.stage, f.stage), (Item.outcome, f.outcome),
                          (Item.kind, f.kind), (Item.category_id, f.category_id)):
        if value:
            conds.append(col(column) == value)
    for word in rules.fold(f.q).split()[:SEARCH_WORDS]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(or_(col(Item.search_text).like(f"%{escaped}%", escape="\\"),
                         col(Item.code).ilike(f"%{escaped}%", escape="\\")))
    return conds


def public_positions(session: Session, commune_id: int, f: ListFilters, limit: int = MAP_LIMIT) -> Positions:
    """The positions of the items that match the list's filters, newest first, at most `limit`."""
    stmt = (select(col(Item.code), col(Item.kind), col(Item.title), col(Item.stage), col(Item.outcome),
                   col(Item.village_id), col(Item.lat), col(Item.lng))
            .where(and_(*_conditions(commune_id, f)))
            .order_by(col(Item.created_at).desc(), col(Item.id).desc()).limit(limit + 1))
    rows = [Position(*row) for row in session.execute(stmt).all()]  # type: ignore[arg-type]  # lat, lng: not None here
    return Positions(rows[:limit], len(rows) > limit)


# The middle of a commune's positions averages every public position it has: a scan of the commune's
# items (55 ms at 100,000 items) that the submission form and the map would otherwise pay on every
# request. Where a map opens may lag a few minutes behind the newest items: each process keeps each
# commune's middle for CENTRE_KEPT_S.
CENTRE_KEPT_S = 300
_centres: dict[int, tuple[float, tuple[float, float] | None]] = {}
_centres_lock = threading.Lock()


def centre(session: Session, commune_id: int) -> tuple[float, float] | None:
    """The middle of the commune's public positions (where a map opens), or None when it has none."""
    now = clock.now().timestamp()
    kept = _centres.get(commune_id)
    if kept is not None and 0 <= now - kept[0] < CENTRE_KEPT_S:
        return kept[1]
    lat, lng = session.execute(select(func.avg(col(Item.lat)), func.avg(col(Item.lng)))
                               .where(and_(*_conditions(commune_id)))).one()
    found = (float(lat), float(lng)) if lat is not None and lng is not None else None
    with _centres_lock:
        _centres[commune_id] = (now, found)
    return found


def kept_centre(commune_id: int) -> tuple[bool, tuple[float, float] | None]:
    """(True, the middle) while this process keeps the commune's middle, else (False, None): no read."""
    kept = _centres.get(commune_id)
    if kept is not None and 0 <= clock.now().timestamp() - kept[0] < CENTRE_KEPT_S:
        return True, kept[1]
    return False, None


def forget_centres() -> None:
    """Drop every kept middle (the database was emptied or replaced)."""
    with _centres_lock:
        _centres.clear()
