"""Communes, villages and the household register."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select
from sqlmodel import Session, col

from civic.areas.models import Commune, Household, Village
from civic.audit import service as audit
from civic.db import row_id
from civic.errors import N_, Conflict, Invalid, NotFound


def create_commune(session: Session, *, code: str, name: str, kind: str = "xa",
                   province: str = "") -> Commune:
    commune = Commune(code=code.upper(), name=name, kind=kind, province=province)
    session.add(commune)
    session.flush()
    audit.ensure_head(session, row_id(commune))
    audit.record(session, commune_id=row_id(commune), action="commune_created",
                 payload={"code": commune.code, "name": name})
    return commune


def create_village(session: Session, commune: Commune, *, name: str, slug: str, kind: str = "thon",
                   label: str = "") -> Village:
    village = Village(commune_id=row_id(commune), name=name, slug=slug, kind=kind, label=label)
    session.add(village)
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="village_created",
                 payload={"village_id": village.id, "name": name})
    return village


def default_commune(session: Session, code: str | None = None) -> Commune:
    stmt = select(Commune).order_by(col(Commune.id)).limit(1)
    if code:
        stmt = select(Commune).where(col(Commune.code) == code.upper())
    commune = session.execute(stmt).scalar_one_or_none()
    if commune is None:
        raise NotFound(N_("This site has not been set up yet: no commune exists."))
    return commune


def villages(session: Session, commune_id: int) -> list[Village]:
    return list(session.execute(select(Village).where(col(Village.commune_id) == commune_id)
                                .order_by(col(Village.name))).scalars())


def active_households(session: Session, village_id: int, on: date) -> int:
    """Households in the register on a date: the denominator of every vote."""
    return session.execute(
        select(func.count()).select_from(Household).where(
            col(Household.village_id) == village_id,
            col(Household.active_from) <= on,
            or_(col(Household.active_to).is_(None), col(Household.active_to) > on),
        )
    ).scalar_one()


def household_leaves(session: Session, household: Household, on: date, *,
                     actor_id: int | None = None) -> None:
    """The household leaves the register on `on`: from that day it is neither in a vote's denominator nor
    among the households whose ballots count (the register keeps its history by these dates)."""
    if on <= household.active_from:
        raise Invalid(N_("A household cannot leave the register before it joined (%(date)s)."),
                      field="active_to", date=household.active_from.isoformat())
    if household.active_to is not None and household.active_to <= on:
        raise Conflict(N_("This household already left the register on %(date)s."),
                       date=household.active_to.isoformat())
    village = session.get(Village, household.village_id)
    assert village is not None  # a household belongs to a village (foreign key)
    household.active_to = on
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="household_left", actor_id=actor_id,
                 payload={"village_id": village.id, "household": household.code, "on": on.isoformat()})
