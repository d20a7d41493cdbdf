"""Linking residents to their households: claim letters and codes, join requests, members.

Every change writes one audit event with ids and counts only: never a code, a name or a phone number.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, or_, select, update
from sqlmodel import Session, col

from civic import clock
from civic.accounts.models import User
from civic.accounts.service import Viewer
from civic.areas.models import Commune, Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.collation import vi_key
from civic.core.kinds import Role
from civic.db import row_id
from civic.errors import N_, Conflict, Forbidden, Invalid, NotFound
from civic.households import rules
from civic.households.models import ClaimCode, JoinRequest
from civic.households.schemas import ClaimForm, DecideJoinForm, HandoverForm, JoinForm, LettersForm

# Letters printed at once: about 75 A4 sheets, four letters a sheet.
MAX_LETTERS = 300
WRONG_CODE = N_("This code is not valid. Please check it against your letter.")
NO_HOUSEHOLD = N_("No household of this village has this code.")
LEFT = N_("This household has left the village register.")


def code_hash(code: str) -> str:
    """The stored form of a claim code: an HMAC under the server secret, so that a copy of the table cannot
    be searched through all 2^50 codes."""
    return hmac.new(get_settings().secret_key.encode(), f"claim:{code}".encode(), hashlib.sha256).hexdigest()


def code_days() -> int:
    return get_settings().claim_code_days


def _active(on: date):
    return (col(Household.active_from) <= on,
            or_(col(Household.active_to).is_(None), col(Household.active_to) > on))


def _village(session: Session, village_id: int | None) -> Village:
    village = session.get(Village, village_id) if village_id is not None else None
    if village is None:
        raise Invalid(N_("This village does not exist."), field="village_id")
    return village


# --- letters ----------------------------------------------------------------------------------------

def can_print(viewer: Viewer, village: Village) -> bool:
    """The village's head, or an administrator of its commune."""
    return (village.id in viewer.villages(Role.VILLAGE_HEAD)
            or village.commune_id in viewer.communes(Role.ADMIN))


def printable_villages(session: Session, viewer: Viewer) -> list[Village]:
    heads, admins = viewer.villages(Role.VILLAGE_HEAD), viewer.communes(Role.ADMIN)
    if not heads and not admins:
        return []
    rows = session.execute(select(Village).where(or_(col(Village.id).in_(heads or [-1]),
                                                     col(Village.commune_id).in_(admins or [-1])))
                           .order_by(col(Village.id))).scalars()
    return sorted(rows, key=lambda v: vi_key(v.name))


@dataclass(frozen=True)
class Letter:
    household_code: str
    head_name: str
    code: str  # as printed: "7KQ2M-XR4PD"
    claim_path: str  # /household/claim?code=7KQ2MXR4PD


@dataclass
class Letters:
    commune: Commune
    village: Village
    expires_on: date
    letters: list[Letter] = field(default_factory=list)


def _expiry(today: date, days: int) -> tuple[date, datetime]:
    """The last day a code works, and the moment it stops: the end of that day, local time."""
    last = today + timedelta(days=days)
    # Stored in UTC, as every moment is: SQLite keeps no time zone, and a naive time reads as UTC.
    return last, datetime.combine(last + timedelta(days=1), time(0), tzinfo=clock.LOCAL_TZ).astimezone(UTC)


def issue_letters(session: Session, viewer: Viewer, form: LettersForm) -> Letters:
    """New claim codes for the chosen households of a village; their earlier unused codes stop working."""
    village = _village(session, form.village_id)
    today, now = clock.today_local(), clock.now()
    allowed = can_print(viewer, village)
    rules.check_letters(can_print=allowed, households=1, most=MAX_LETTERS)
    stmt = select(Household).where(col(Household.village_id) == village.id, *_active(today))
    listed = form.code_list()
    if listed:
        stmt = stmt.where(col(Household.code).in_(listed))
        known = set(session.execute(select(col(Household.code)).where(
            col(Household.village_id) == village.id, col(Household.code).in_(listed), *_active(today))
        ).scalars())
        missing = sorted(set(listed) - known)
        if missing:
            raise Invalid(N_("Not in this village's register today: %(codes)s."), field="codes",
                          codes=", ".join(missing[:20]))
    if form.unrepresented:
        stmt = stmt.where(~exists().where(col(HouseholdMember.household_id) == col(Household.id),
                                          col(HouseholdMember.is_representative).is_(True)))
    households = list(session.execute(stmt.order_by(col(Household.code))).scalars())
    rules.check_letters(can_print=allowed, households=len(households), most=MAX_LETTERS)
    ids = [row_id(h) for h in households]
    revoked = 0
    for start in range(0, len(ids), 500):
        revoked += session.execute(
            update(ClaimCode).where(col(ClaimCode.household_id).in_(ids[start:start + 500]),
                                    col(ClaimCode.used_at).is_(None), col(ClaimCode.revoked_at).is_(None))
            .values(revoked_at=now)).rowcount or 0  # type: ignore[attr-defined]
    expires_on, expires_at = _expiry(today, code_days())
    out = Letters(session.get_one(Commune, village.commune_id), village, expires_on)
    for household in households:
        code = rules.new_code()
        session.add(ClaimCode(household_id=row_id(household), code_hash=code_hash(code), issued_at=now,
                              issued_by_id=viewer.id, expires_at=expires_at))
        out.letters.append(Letter(household.code, household.head_name, rules.printed(code),
                                  f"/household/claim?code={code}"))
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="claim_letters_printed", actor_id=viewer.id,
                 payload={"village_id": village.id, "letters": len(households), "codes_revoked": revoked,
                          "unrepresented_only": form.unrepresented, "listed": len(listed)})
    return out


# --- claiming ---------------------------------------------------------------------------------------

def _other_household(session: Session, user_id: int, village_id: int, today: date, household_id: int
                     ) -> str | None:
    """The code of another active household of the village the user is a member of, if any."""
    return session.execute(
        select(col(Household.code))
        .join(HouseholdMember, col(HouseholdMember.household_id) == col(Household.id))
        .where(col(HouseholdMember.user_id) == user_id, col(Household.village_id) == village_id,
               col(Household.id) != household_id, *_active(today)).limit(1)).scalar_one_or_none()


def _members(session: Session, household_id: int) -> list[HouseholdMember]:
    return list(session.execute(select(HouseholdMember)
                                .where(col(HouseholdMember.household_id) == household_id)
                                .order_by(col(HouseholdMember.id))).scalars())


def _join(session: Session, user_id: int, household: Household, village: Village, today: date) -> bool:
    """Make the user a member (the representative when the household has none); True if representative."""
    members = _members(session, row_id(household))
    rules.check_can_join(already_member=any(m.user_id == user_id for m in members),
                         other_household_code=_other_household(session, user_id, row_id(village), today,
                                                               row_id(household)))
    representative = not any(m.is_representative for m in members)
    session.add(HouseholdMember(household_id=row_id(household), user_id=user_id,
                                is_representative=representative))
    session.flush()
    return representative


@dataclass(frozen=True)
class Claimed:
    household: Household
    village: Village
    representative: bool


def claim(session: Session, viewer: Viewer, form: ClaimForm) -> Claimed:
    """The signed-in resident joins the household of a letter's code. The code is found by its hash only;
    each refusal is one line that says nothing about any household."""
    if viewer.user is None:
        raise Forbidden(N_("Please log in first."))
    now, today = clock.now(), clock.today_local()
    row = session.execute(select(ClaimCode).where(col(ClaimCode.code_hash) == code_hash(form.code))
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        raise Invalid(WRONG_CODE, field="code")
    # The household's row is locked too: two codes of one household claimed at once make one representative.
    household = session.execute(select(Household).where(col(Household.id) == row.household_id)
                                .with_for_update()).scalar_one()
    rules.check_claim(used=row.used_at is not None, revoked=row.revoked_at is not None,
                      expires_at=clock.as_utc(row.expires_at), now=now,
                      household_active=rules.is_active(household.active_from, household.active_to, today))
    village = session.get_one(Village, household.village_id)
    representative = _join(session, row_id(viewer.user), household, village, today)
    row.used_at, row.used_by_id = now, viewer.id
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="household_claimed", actor_id=viewer.id,
                 payload={"household_id": household.id, "user_id": viewer.id,
                          "representative": representative})
    return Claimed(household, village, representative)


# --- my household -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberView:
    user_id: int
    name: str
    is_representative: bool


@dataclass(frozen=True)
class HouseholdView:
    household: Household
    village: Village
    members: list[MemberView]
    is_representative: bool

    @property
    def representative(self) -> MemberView | None:
        return next((m for m in self.members if m.is_representative), None)


@dataclass(frozen=True)
class RequestView:
    request: JoinRequest
    household_code: str
    village_name: str


def my_households(session: Session, viewer: Viewer) -> list[HouseholdView]:
    """The viewer's households in the register today, each with its members (shown to members only)."""
    if viewer.user is None:
        return []
    today = clock.today_local()
    rows = session.execute(
        select(Household, Village)
        .join(HouseholdMember, col(HouseholdMember.household_id) == col(Household.id))
        .join(Village, col(Village.id) == col(Household.village_id))
        .where(col(HouseholdMember.user_id) == viewer.id, *_active(today))
        .order_by(col(Village.name), col(Household.code))).all()
    ids = [row_id(h) for h, _v in rows]
    members: dict[int, list[MemberView]] = {}
    for m, name in session.execute(
            select(HouseholdMember, col(User.display_name))
            .join(User, col(User.id) == col(HouseholdMember.user_id))
            .where(col(HouseholdMember.household_id).in_(ids or [-1]))
            .order_by(col(HouseholdMember.is_representative).desc(), col(HouseholdMember.id))).all():
        members.setdefault(m.household_id, []).append(MemberView(m.user_id, name, m.is_representative))
    out = []
    for h, v in rows:
        mine = members.get(row_id(h), [])
        rep = any(m.user_id == viewer.id and m.is_representative for m in mine)
        out.append(HouseholdView(h, v, mine, rep))
    return out


def my_requests(session: Session, viewer: Viewer, limit: int = 10) -> list[RequestView]:
    if viewer.user is None:
        return []
    rows = session.execute(
        select(JoinRequest, col(Household.code), col(Village.name))
        .join(Household, col(Household.id) == col(JoinRequest.household_id))
        .join(Village, col(Village.id) == col(Household.village_id))
        .where(col(JoinRequest.user_id) == viewer.id)
        .order_by(col(JoinRequest.created_at).desc(), col(JoinRequest.id).desc()).limit(limit)).all()
    return [RequestView(r, code, name) for r, code, name in rows]


def _membership(session: Session, viewer: Viewer, household_id: int) -> tuple[Household, Village,
                                                                             list[HouseholdMember]]:
    household = session.execute(select(Household).where(col(Household.id) == household_id)
                                .with_for_update()).scalar_one_or_none()
    members = _members(session, household_id) if household is not None else []
    if household is None or not any(m.user_id == viewer.id for m in members):
        raise NotFound(N_("You are not a member of this household."))
    return household, session.get_one(Village, household.village_id), members


def hand_over(session: Session, viewer: Viewer, household_id: int, form: HandoverForm) -> None:
    """The representative makes another member the representative."""
    household, village, members = _membership(session, viewer, household_id)
    me = next(m for m in members if m.user_id == viewer.id)
    to = next((m for m in members if m.user_id == form.member_id), None)
    rules.check_handover(is_representative=me.is_representative, to_is_member=to is not None,
                         to_self=form.member_id == viewer.id)
    assert to is not None
    me.is_representative, to.is_representative = False, True
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="household_representative_changed",
                 actor_id=viewer.id, payload={"household_id": household.id, "from_user_id": viewer.id,
                                              "to_user_id": to.user_id})


def leave(session: Session, viewer: Viewer, household_id: int) -> None:
    """A member leaves the household (the representative only once no one else is left)."""
    household, village, members = _membership(session, viewer, household_id)
    me = next(m for m in members if m.user_id == viewer.id)
    rules.check_leave(is_representative=me.is_representative, members=len(members))
    session.delete(me)
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="household_member_left", actor_id=viewer.id,
                 payload={"household_id": household.id, "user_id": viewer.id})


# --- join requests ----------------------------------------------------------------------------------

def request_join(session: Session, viewer: Viewer, form: JoinForm) -> JoinRequest:
    """Ask the village head to be added to a household of the register, without a letter."""
    if viewer.user is None:
        raise Forbidden(N_("Please log in first."))
    village = _village(session, form.village_id)
    today = clock.today_local()
    household = session.execute(select(Household).where(col(Household.village_id) == village.id,
                                                        col(Household.code) == form.household_code)
                                ).scalar_one_or_none()
    if household is None:
        raise Invalid(NO_HOUSEHOLD, field="household_code")
    if not rules.is_active(household.active_from, household.active_to, today):
        raise Invalid(LEFT, field="household_code")
    rules.check_can_join(
        already_member=session.execute(select(col(HouseholdMember.id)).where(
            col(HouseholdMember.household_id) == household.id, col(HouseholdMember.user_id) == viewer.id)
        ).first() is not None,
        other_household_code=_other_household(session, row_id(viewer.user), row_id(village), today,
                                              row_id(household)))
    waiting = list(session.execute(select(col(JoinRequest.household_id)).where(
        col(JoinRequest.user_id) == viewer.id, col(JoinRequest.status) == rules.Outcome.PENDING)).scalars())
    rules.check_pending(duplicate=household.id in waiting, waiting=len(waiting))
    request = JoinRequest(household_id=row_id(household), user_id=row_id(viewer.user), created_at=clock.now())
    session.add(request)
    session.flush()
    audit.record(session, commune_id=village.commune_id, action="household_join_requested",
                 actor_id=viewer.id,
                 payload={"request_id": request.id, "household_id": household.id, "user_id": viewer.id})
    return request


@dataclass(frozen=True)
class PendingView:
    request: JoinRequest
    household: Household
    village: Village
    name: str
    phone: str  # the village head sees the contacts of the village's residents (§5)
    members: int


def pending_requests(session: Session, viewer: Viewer, limit: int = 200) -> list[PendingView]:
    """The requests the viewer decides: pending, of households of the villages they head."""
    villages = viewer.villages(Role.VILLAGE_HEAD)
    if not villages:
        return []
    rows = session.execute(
        select(JoinRequest, Household, Village, col(User.display_name), col(User.phone))
        .join(Household, col(Household.id) == col(JoinRequest.household_id))
        .join(Village, col(Village.id) == col(Household.village_id))
        .join(User, col(User.id) == col(JoinRequest.user_id))
        .where(col(JoinRequest.status) == rules.Outcome.PENDING, col(Household.village_id).in_(villages))
        .order_by(col(JoinRequest.created_at), col(JoinRequest.id)).limit(limit)).all()
    counts: dict[int, int] = {}
    for (hid,) in session.execute(select(col(HouseholdMember.household_id)).where(
            col(HouseholdMember.household_id).in_([row_id(h) for _r, h, _v, _n, _p in rows] or [-1]))).all():
        counts[hid] = counts.get(hid, 0) + 1
    return [PendingView(r, h, v, name, phone, counts.get(row_id(h), 0)) for r, h, v, name, phone in rows]


def decide(session: Session, viewer: Viewer, request_id: int, form: DecideJoinForm) -> JoinRequest:
    """The village head approves (the resident becomes a member) or refuses with a reason."""
    request = session.execute(select(JoinRequest).where(col(JoinRequest.id) == request_id)
                              .with_for_update()).scalar_one_or_none()
    if request is None:
        raise NotFound(N_("This request does not exist."))
    household = session.execute(select(Household).where(col(Household.id) == request.household_id)
                                .with_for_update()).scalar_one()
    village = session.get_one(Village, household.village_id)
    rules.check_village_head(viewer.villages(Role.VILLAGE_HEAD), row_id(village))
    if request.status != rules.Outcome.PENDING:
        raise Conflict(N_("This request was already answered."))
    today = clock.today_local()
    representative = False
    if form.decision == "approve":
        if not rules.is_active(household.active_from, household.active_to, today):
            raise Conflict(LEFT)
        representative = _join(session, request.user_id, household, village, today)
        request.status = rules.Outcome.APPROVED
    else:
        request.status, request.reason = rules.Outcome.REFUSED, form.reason
    request.decided_at, request.decided_by_id = clock.now(), viewer.id
    session.flush()
    payload: dict[str, object] = {"request_id": request.id, "household_id": household.id,
                                  "user_id": request.user_id, "outcome": request.status}
    if form.decision == "approve":
        payload["representative"] = representative
    audit.record(session, commune_id=village.commune_id, action="household_join_decided", actor_id=viewer.id,
                 payload=payload)
    return request


def join_villages(session: Session) -> list[tuple[Village, Commune]]:
    """The villages a resident may ask to join a household of."""
    rows = session.execute(select(Village, Commune).join(Commune, col(Commune.id) == col(Village.commune_id))
                           .order_by(col(Village.id))).all()
    return sorted(((v, c) for v, c in rows), key=lambda vc: (vi_key(vc[1].name), vi_key(vc[0].name)))
