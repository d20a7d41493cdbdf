"""Communes, villages and the household register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, bindparam, func, or_, select
from sqlmodel import Session, col

from civic import clock
from civic.areas import rules
from civic.areas.models import Commune, Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.core.collation import vi_key
from civic.db import Plain, PlainModels, memoized, row_id
from civic.errors import N_, Conflict, Invalid, NotFound


def create_commune(session: Session, *, code: str, name: str, kind: str = "xa",
                   province: str = "", actor_id: int | None = None) -> Commune:
    """A new commune with its own audit chain. Its code begins every item code, so it is unique."""
    checked = rules.commune_code(code)
    if checked is None:
        raise Invalid(N_("The commune code must have 2 to 8 letters or digits (A–Z, 0–9), without "
                         "diacritics or spaces, e.g. NS."), field="code")
    if kind not in rules.COMMUNE_KINDS:
        raise Invalid(N_("Please choose xã, phường or đặc khu."), field="kind")
    name = " ".join(name.split())
    if not name:
        raise Invalid(N_("Please enter the commune's name (2 to 120 characters)."), field="name")
    if session.execute(select(col(Commune.id)).where(col(Commune.code) == checked)).first() is not None:
        raise Invalid(N_("The commune code %(code)s is already used by another commune."), field="code",
                      code=checked)
    commune = Commune(code=checked, name=name, kind=kind, province=province)
    session.add(commune)
    session.flush()
    audit.ensure_head(session, row_id(commune))
    audit.record(session, commune_id=row_id(commune), action="commune_created", actor_id=actor_id,
                 payload={"code": commune.code, "name": name, "kind": kind})
    return commune


def has_commune(session: Session) -> bool:
    """Whether the site has been set up (a commune exists)."""
    return session.execute(select(col(Commune.id)).limit(1)).first() is not None


def _names_and_slugs(session: Session, commune_id: int, *, besides: int | None = None
                     ) -> tuple[list[str], list[str]]:
    rows = session.execute(select(col(Village.id), col(Village.name), col(Village.slug))
                           .where(col(Village.commune_id) == commune_id)).all()
    return [n for vid, n, _s in rows if vid != besides], [s for _v, _n, s in rows]


def create_village(session: Session, commune: Commune, *, name: str, slug: str | None = None,
                   kind: str = "thon", label: str = "", actor_id: int | None = None) -> Village:
    """A new village of the commune; its slug is made from the name (without diacritics) when not given.
    The name must differ from every other village's of the commune, merged ones included (their pages
    still show it)."""
    names, slugs = _names_and_slugs(session, row_id(commune))
    rules.check_new_name(name, names)
    if kind not in rules.VILLAGE_KINDS:
        raise Invalid(N_("Please choose thôn or tổ dân phố."), field="kind")
    if slug is None:
        slug = rules.unique_slug(name, slugs)
    elif slug in slugs:
        raise Invalid(N_("A village named %(name)s already exists in this commune."), field="name", name=name)
    village = Village(commune_id=row_id(commune), name=name, slug=slug, kind=kind, label=label)
    session.add(village)
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="village_created", actor_id=actor_id,
                 payload={"village_id": village.id, "name": name, "slug": slug, "kind": kind, "label": label})
    return village


def get_village(session: Session, commune_id: int, village_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None or village.commune_id != commune_id:
        raise NotFound(N_("This village does not exist."))
    return village


def rename_village(session: Session, commune_id: int, village_id: int, name: str, *,
                   actor_id: int | None = None) -> Village:
    """A new name; the old one stays in the audit chain, and the slug (the village's address) stays."""
    village = get_village(session, commune_id, village_id)
    if name == village.name:
        return village
    names, _slugs = _names_and_slugs(session, commune_id, besides=village_id)
    rules.check_new_name(name, names)
    old = village.name
    village.name = name
    session.flush()
    audit.record(session, commune_id=commune_id, action="village_renamed", actor_id=actor_id,
                 payload={"village_id": village.id, "old_name": old, "name": name})
    return village


def merge_villages(session: Session, commune: Commune, village_ids: list[int], on: date, *,
                   into: int | None = None, new_name: str = "", new_kind: str | None = None,
                   actor_id: int | None = None) -> Village:
    """Merge villages into `into`, or into a new village named `new_name`, from the date `on`.

    Nothing is moved backwards in time: the merged villages keep their rows (marked merged_into_id and
    merged_on), their items and past decisions. Each household still in the register on `on` leaves the
    merged village on that date and joins the receiving village from it, with the same code; when a code
    would be twice in the receiving village the merge is refused, naming the codes."""
    cid = row_id(commune)
    merged = [get_village(session, cid, vid) for vid in village_ids]
    receiver = get_village(session, cid, into) if into is not None else None
    rules.check_merge([(row_id(v), v.name, v.merged_into_id is not None) for v in merged], into, on,
                      clock.today_local())
    if receiver is not None and receiver.merged_into_id is not None:
        raise Conflict(N_("These villages were merged already: %(names)s."), names=receiver.name)
    merged_ids = [row_id(v) for v in merged]
    moving = list(session.execute(select(Household).where(
        col(Household.village_id).in_(merged_ids),
        or_(col(Household.active_to).is_(None), col(Household.active_to) > on),
    ).order_by(col(Household.village_id), col(Household.code))).scalars())
    staying: list[str] = []
    if receiver is not None:
        staying = list(session.execute(select(col(Household.code)).where(
            col(Household.village_id) == receiver.id)).scalars())
    clashes = rules.code_clashes([h.code for h in moving], staying)
    if clashes:
        raise Conflict(N_("The merge was not made: these household codes would be twice in the receiving "
                          "village: %(codes)s. Give these households different codes first."),
                       codes=", ".join(clashes))
    if receiver is None:
        receiver = create_village(session, commune, name=new_name, kind=new_kind or merged[0].kind,
                                  actor_id=actor_id)
    for household in moving:
        moved_on = max(on, household.active_from)
        session.add(Household(village_id=row_id(receiver), code=household.code, head_name=household.head_name,
                               active_from=moved_on, active_to=household.active_to))
        household.active_to = moved_on
    session.flush()
    for household in moving:
        joined = session.execute(select(Household).where(col(Household.village_id) == receiver.id,
                                                         col(Household.code) == household.code)).scalar_one()
        for member in session.execute(select(HouseholdMember).where(
                col(HouseholdMember.household_id) == household.id)).scalars().all():
            session.add(HouseholdMember(household_id=row_id(joined), user_id=member.user_id,
                                        is_representative=member.is_representative))
    for village in merged:
        village.merged_into_id = receiver.id
        village.merged_on = on
    session.flush()
    audit.record(session, commune_id=cid, action="villages_merged", actor_id=actor_id,
                 payload={"village_ids": merged_ids, "names": [v.name for v in merged],
                          "into_id": receiver.id, "into": receiver.name, "on": on.isoformat(),
                          "households": len(moving)})
    return receiver


class NotSetUp(NotFound):
    """No commune exists yet: the pages send the visitor to the set-up page."""


# Every page reads its commune: built once (building a select() costs more than running it), as plain rows
# made into a model: a copy to read. What changes a commune's row (a merger, civic/setup/communes.py) reads
# the session's own row.
_FIRST_COMMUNE = PlainModels(select(Commune).order_by(col(Commune.id)).limit(1), Commune)
_COMMUNE_BY_CODE = PlainModels(select(Commune).where(col(Commune.code) == bindparam("code")), Commune)


def default_commune(session: Session, code: str | None = None) -> Commune:
    """The commune of that code, else the first one made: a copy to read."""
    if code:
        commune = _COMMUNE_BY_CODE.first(session, {"code": code.upper()})
    else:
        commune = _FIRST_COMMUNE.first(session)
    if commune is None:
        if code:
            raise NotFound(N_("There is no commune with the code %(code)s."), code=code.upper())
        raise NotSetUp(N_("This site has not been set up yet: no commune exists."))
    return commune


def villages(session: Session, commune_id: int, *, include_merged: bool = False) -> list[Village]:
    """The commune's villages by name; merged villages only with `include_merged` (they take no new items,
    but their items' pages still name them)."""
    stmt = select(Village).where(col(Village.commune_id) == commune_id)
    if not include_merged:
        stmt = stmt.where(col(Village.merged_into_id).is_(None))
    return sorted(session.execute(stmt).scalars(), key=lambda v: vi_key(v.name))


_TAKES_ITEMS = Plain(select(col(Village.id)).where(col(Village.id) == bindparam("village_id"),
                                                   col(Village.commune_id) == bindparam("commune_id"),
                                                   col(Village.merged_into_id).is_(None)))


def takes_items(session: Session, commune_id: int, village_id: int) -> bool:
    """The village is the commune's and takes new items (a merged village takes none)."""
    found = _TAKES_ITEMS.rows(session, {"commune_id": commune_id, "village_id": village_id}).first()
    return found is not None


def active_households(session: Session, village_id: int, on: date) -> int:
    """Households in the register on a date: the denominator of every vote."""
    return memoized(session, ("active_households", village_id, on),
                    lambda: _active_households(session, village_id, on))


_ACTIVE_HOUSEHOLDS = Plain(select(func.count()).select_from(Household).where(
    col(Household.village_id) == bindparam("village_id"),
    col(Household.active_from) <= bindparam("on", type_=Date),
    or_(col(Household.active_to).is_(None), col(Household.active_to) > bindparam("on", type_=Date))))


def _active_households(session: Session, village_id: int, on: date) -> int:
    return int(_ACTIVE_HOUSEHOLDS.rows(session, {"village_id": village_id, "on": on}).scalar())


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


# --- several communes in one deployment -----------------------------------------------------------------

@dataclass(frozen=True)
class CommuneEntry:
    commune: Commune
    merged_into: Commune | None


def communes(session: Session) -> list[Commune]:
    """Every commune of the deployment, merged ones too, by id."""
    return list(session.execute(select(Commune).order_by(col(Commune.id))).scalars())


def commune_groups(session: Session, query: str = "") -> tuple[list[tuple[str, list[CommuneEntry]]], int]:
    """The communes the picker shows, grouped by province in alphabetical order; with a search, only those
    whose name, code or province has its words (diacritics or not). Also how many communes there are."""
    every = communes(session)
    by_id = {c.id: c for c in every}
    groups: dict[str, list[CommuneEntry]] = {}
    for commune in every:
        if query and not rules.commune_matches(query, commune.name, commune.code, commune.province):
            continue
        entry = CommuneEntry(commune, by_id.get(commune.merged_into_id) if commune.merged_into_id else None)
        groups.setdefault(commune.province, []).append(entry)
    ordered = [(province, sorted(entries, key=lambda e: vi_key(e.commune.name)))
               for province, entries in sorted(groups.items(), key=lambda kv: vi_key(kv[0]))]
    return ordered, len(every)


MERGED_AWAY = N_("The commune %(name)s was merged into %(into)s on %(date)s. Please send new items to "
                 "%(into)s.")


def check_accepting(session: Session, commune: Commune) -> None:
    """A commune merged into another takes no new items: the message names the commune that does."""
    if commune.merged_into_id is None:
        return
    into = session.get(Commune, commune.merged_into_id)
    raise Invalid(MERGED_AWAY, field="village_id", name=commune.name, into=into.name if into else "",
                  date=commune.merged_on.strftime("%d/%m/%Y") if commune.merged_on else "")


def move_households(session: Session, old: Village, new: Village, on: date) -> int:
    """Households of `old` still in the register on `on` leave it then and join `new` (members too)."""
    moving = list(session.execute(select(Household).where(
        col(Household.village_id) == old.id,
        or_(col(Household.active_to).is_(None), col(Household.active_to) > on),
    ).order_by(col(Household.code))).scalars())
    for household in moving:
        moved_on = max(on, household.active_from)
        joined = Household(village_id=row_id(new), code=household.code, head_name=household.head_name,
                           address=household.address, phone=household.phone, active_from=moved_on,
                           active_to=household.active_to)
        session.add(joined)
        household.active_to = moved_on
        session.flush()
        for member in session.execute(select(HouseholdMember).where(
                col(HouseholdMember.household_id) == household.id)).scalars().all():
            session.add(HouseholdMember(household_id=row_id(joined), user_id=member.user_id,
                                        is_representative=member.is_representative))
    session.flush()
    return len(moving)
