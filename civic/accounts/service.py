"""Users, passwords, role grants, and the facts a rule needs about an actor."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from civic import clock
from civic.accounts import sessions
from civic.accounts.models import ApiKey, Invitation, PasswordReset, RoleGrant, User
from civic.accounts.rules import OPERATOR_POWER as OPERATOR
from civic.accounts.rules import ROLES as ROLES  # the role catalog, re-exported for `civic create-user`
from civic.accounts.rules import (
    check_scope,
    check_term,
    code_hash,
    code_state,
    end_on,
    in_force,
    new_code,
    normalize_code,
    role_kind,
    role_powers,
    touch_due,
)
from civic.accounts.schemas import (
    WRONG_LOGIN,
    AcceptNewForm,
    ChangePasswordForm,
    InviteForm,
    LoginForm,
    RegisterForm,
    ResetForm,
)
from civic.areas.models import Commune, Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.facts import ActorFacts
from civic.core.kinds import Role
from civic.db import Plain, row_id
from civic.errors import N_, Conflict, Forbidden, Invalid, NotFound

_hasher = PasswordHasher()
# A hash to verify against when the phone is unknown, so both paths take the same time. Made on first use,
# not at import: a full-strength hash costs about half a second, and every `civic` command imports this.
_DUMMY_HASH: str | None = None


def dummy_hash() -> str:
    """The dummy hash, made now if it was not yet (a server makes it when it starts, so that the first
    unknown phone takes no longer than the next)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    return _DUMMY_HASH


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Does the password match? With no hash (an unknown phone) a dummy one is verified, so both paths
    take the same time."""
    try:
        return _hasher.verify(password_hash or dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass
class Viewer:
    """The signed-in user (or nobody) and what they may see, computed once a request."""

    user: User | None = None
    grants: Sequence[GrantInForce | RoleGrant] = field(default_factory=list)
    household_ids: frozenset[int] = frozenset()
    # The login this viewer came with, and whether its "last seen" is due to be written.
    session_id: int | None = None
    touch_due: bool = False

    @property
    def id(self) -> int | None:
        return self.user.id if self.user else None

    # `grants` are the grants in force today (load_viewer); a role acts through its powers
    # (rules.ROLES): the deputy village head has the village head's, so villages("village_head") names
    # the villages of both.

    # A page asks the same questions many times (a head of 200 villages: thousands of times for one
    # triage page), so each answer is kept for the viewer's request, keyed by the grants it was read from.
    _answers: dict[tuple[str, str], frozenset[Any]] = field(default_factory=dict, repr=False, compare=False)
    _answered_from: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)

    def _kept(self, key: tuple[str, str], compute: Callable[[], frozenset[Any]]) -> frozenset[Any]:
        source = (id(self.grants), len(self.grants))
        if source != self._answered_from:
            self._answers.clear()
            self._answered_from = source
        found = self._answers.get(key)
        if found is None:
            found = self._answers[key] = compute()
        return found

    def villages(self, power: str) -> frozenset[int]:
        return self._kept(("villages", power), lambda: frozenset(
            g.village_id for g in self.grants if power in role_powers(g.role) and g.village_id is not None))

    def communes(self, power: str) -> frozenset[int]:
        return self._kept(("communes", power), lambda: frozenset(
            g.commune_id for g in self.grants if power in role_powers(g.role)))

    def _has(self, power: str) -> bool:
        return bool(self.communes(power))  # an operator's grant names no commune: {None} still counts

    @property
    def is_village_head(self) -> bool:
        return self._has(Role.VILLAGE_HEAD)

    @property
    def is_supervisor(self) -> bool:
        return self._has(Role.SUPERVISOR)

    @property
    def is_admin(self) -> bool:
        return self._has(Role.ADMIN)

    @property
    def is_operator(self) -> bool:
        """Runs the deployment (every commune's creation and merge), not any commune's affairs."""
        return self._has(OPERATOR)

    def facts(self, *, is_author: bool = False) -> ActorFacts:
        return ActorFacts(
            user_id=self.id,
            is_author=is_author,
            head_villages=self.villages(Role.VILLAGE_HEAD),
            supervisor_communes=self.communes(Role.SUPERVISOR),
            admin_communes=self.communes(Role.ADMIN),
        )

    def sees_private(self, commune_id: int, village_id: int) -> bool:
        """Village heads see contacts of their villages; supervisors and admins of their commune (§5)."""
        return (village_id in self.villages(Role.VILLAGE_HEAD)
                or commune_id in self.communes(Role.SUPERVISOR)
                or commune_id in self.communes(Role.ADMIN))


ANONYMOUS_VIEWER = Viewer()


def load_viewer(session: Session, user_id: int | None) -> Viewer:
    if not user_id:
        return ANONYMOUS_VIEWER
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return ANONYMOUS_VIEWER
    return _viewer_of(session, user)


class GrantInForce(NamedTuple):
    """What a viewer's power is read from: a role grant as plain values (a head of 200 villages has 200 of
    them, read on every page they open; as models they cost several milliseconds a page)."""

    id: int
    role: str
    commune_id: int | None
    village_id: int | None
    starts_on: date
    ends_on: date | None


_GRANTS = Plain(select(col(RoleGrant.id), col(RoleGrant.role), col(RoleGrant.commune_id),
                       col(RoleGrant.village_id), col(RoleGrant.starts_on), col(RoleGrant.ends_on))
                .where(col(RoleGrant.user_id) == bindparam("user_id")).order_by(col(RoleGrant.id)))


def grants_in_force(session: Session, user_id: int, today: date | None = None) -> list[GrantInForce]:
    """A user's role grants whose term covers today (rules.in_force)."""
    today = today or clock.today_local()
    return [GrantInForce(*row) for row in _GRANTS.rows(session, {"user_id": user_id})
            if in_force(row.starts_on, row.ends_on, today)]


_HOUSEHOLDS = Plain(select(col(HouseholdMember.household_id))
                    .where(col(HouseholdMember.user_id) == bindparam("user_id")))


def _viewer_of(session: Session, user: User) -> Viewer:
    grants = grants_in_force(session, row_id(user))
    households = frozenset(_HOUSEHOLDS.rows(session, {"user_id": user.id}).scalars())
    return Viewer(user, grants, households)


def load_session_viewer(session: Session, key: str | None, policy: sessions.SessionPolicy) -> Viewer:
    """The viewer of a browser's login key: anonymous when the login ended, is too old or idle too long,
    or its user was deactivated."""
    found = sessions.find(session, key)
    if found is None:
        return ANONYMOUS_VIEWER
    row, user = found
    if not user.is_active:
        return ANONYMOUS_VIEWER
    viewer = _viewer_of(session, user)
    now = clock.now()
    staff = viewer.is_village_head or viewer.is_supervisor or viewer.is_admin
    if not sessions.alive(row, policy, staff=staff, now=now):
        return ANONYMOUS_VIEWER
    viewer.session_id = row.id
    viewer.touch_due = touch_due(clock.as_utc(row.last_seen_at), now)
    return viewer


def phone_taken(session: Session, phone: str) -> bool:
    return session.execute(select(col(User.id)).where(col(User.phone) == phone)).first() is not None


def register(session: Session, form: RegisterForm, password_hash: str | None = None) -> User:
    """A new account made by an administrator (the CLI, the demo seed); its phone number must not have
    one already. Self-registration uses create_account, which does not say so."""
    if phone_taken(session, form.phone):
        raise Invalid(N_("An account with this phone number already exists. Log in instead."), field="phone")
    return _new_user(session, form, password_hash or hash_password(form.password))


def create_account(session: Session, form: RegisterForm, password_hash: str) -> User | None:
    """Self-registration: the new account, or None when the phone number has one already. The caller
    answers both the same way, so that the page does not tell who has an account (account enumeration,
    OWASP WSTG-IDNT-04)."""
    if phone_taken(session, form.phone):
        return None
    return _new_user(session, form, password_hash)


def _new_user(session: Session, form: RegisterForm, password_hash: str) -> User:
    user = User(phone=form.phone, display_name=form.display_name, email=None, password_hash=password_hash,
                created_at=clock.now())
    session.add(user)
    session.flush()
    return user


def login_hash(session: Session, phone: str) -> str | None:
    """The password hash to check a login against: None for an unknown or deactivated account."""
    user = session.execute(select(User).where(col(User.phone) == phone)).scalar_one_or_none()
    return user.password_hash if user is not None and user.is_active else None


def authenticate(session: Session, form: LoginForm, verified_hash: str | None = None,
                 new_hash: str | None = None) -> User:
    """The user for this phone and password, or Invalid with one message that tells nothing more.

    `verified_hash` is the hash the password was already checked against (off the request path of other
    users, see civic/web/accounts.py): the login goes on only if the account still has that hash."""
    wrong = Invalid(WRONG_LOGIN, field="password")
    user = session.execute(select(User).where(col(User.phone) == form.phone)).scalar_one_or_none()
    if user is None or not user.is_active:
        if verified_hash is None:
            verify_password(None, form.password)
        raise wrong
    if verified_hash is not None:
        if not hmac.compare_digest(user.password_hash, verified_hash):
            raise wrong
    elif not verify_password(user.password_hash, form.password):
        raise wrong
    if new_hash is not None:
        user.password_hash = new_hash
    elif verified_hash is None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(form.password)
    return user


def change_password(session: Session, viewer: Viewer, form: ChangePasswordForm, *,
                    current_ok: bool | None = None, new_hash: str | None = None) -> User:
    """A new password for the signed-in user. Every other login of theirs ends (ASVS 3.3.3); this one
    goes on. The audit event says that it changed, never what it is."""
    user = session.get(User, viewer.id) if viewer.id else None
    if user is None:
        raise NotFound(N_("This account does not exist."))
    if current_ok is None:
        current_ok = verify_password(user.password_hash, form.current_password)
    if not current_ok:
        raise Invalid(N_("Your current password is wrong."), field="current_password")
    user.password_hash = new_hash or hash_password(form.new_password)
    sessions.end_all(session, row_id(user), keep=viewer.session_id)
    commune_id = viewer.grants[0].commune_id if viewer.grants else _any_commune(session)
    if commune_id is not None:
        audit.record(session, commune_id=commune_id, action="password_changed", actor_id=user.id,
                     payload={"user_id": user.id})
    session.flush()
    return user


def _any_commune(session: Session) -> int | None:
    return session.execute(select(col(Commune.id)).order_by(col(Commune.id)).limit(1)).scalar_one_or_none()


def create_user(session: Session, *, phone: str, display_name: str, password: str, role: str | None = None,
                commune_id: int | None = None, village_id: int | None = None, title: str = "",
                password_hash: str | None = None) -> User:
    """An account made by an administrator (the CLI, the demo seed): its fields are read by the same form
    as a registration. `password_hash`, when given, is stored instead of hashing `password` again (the demo
    gives its many example residents, who never log in with a password, one hash of an unknown one)."""
    form = RegisterForm.parse({"phone": phone, "display_name": display_name, "password": password,
                               "password_again": password})
    user = register(session, form, password_hash)
    if role:
        grant(session, user, role=role, commune_id=commune_id, village_id=village_id, title=title)
    return user


def grant(session: Session, user: User, *, role: str, commune_id: int | None, village_id: int | None = None,
          title: str = "", starts_on: date | None = None, ends_on: date | None = None,
          granted_by: int | None = None) -> RoleGrant:
    """Give `user` a role of rules.ROLES in a village or the commune, for a term (from today, without end,
    when none is given). One audit event: who gave which role to which user id, where, from when."""
    kind = role_kind(role)
    if village_id is not None:
        village = session.get(Village, village_id)
        if village is None:
            raise NotFound(N_("This village does not exist."))
        if commune_id is not None and village.commune_id != commune_id:
            raise Invalid(N_("This village is not in your commune."), field="village_id")
        commune_id = village.commune_id
    if commune_id is None:
        raise Invalid(N_("A role needs a commune or a village."), field="village_id")
    check_scope(kind.code, village_id=village_id)
    starts_on = starts_on or clock.today_local()
    check_term(starts_on, ends_on)
    g = RoleGrant(user_id=row_id(user), role=kind.code, commune_id=commune_id, village_id=village_id,
                  title=title, starts_on=starts_on, ends_on=ends_on, granted_by_id=granted_by)
    session.add(g)
    # What a login may do was decided when it started: a new role ends the user's logins (ASVS 3.3.3).
    sessions.end_all(session, row_id(user))
    session.flush()
    audit.record(session, commune_id=commune_id, action="role_granted", actor_id=granted_by,
                 payload={"user_id": user.id, "grant_id": g.id, "role": kind.code, "village_id": village_id,
                          "starts_on": starts_on.isoformat(),
                          "ends_on": ends_on.isoformat() if ends_on else None})
    return g


def link_household(session: Session, user: User, household: Household, representative: bool = True) -> None:
    session.add(HouseholdMember(household_id=row_id(household), user_id=row_id(user),
                                is_representative=representative))
    session.flush()


# --- people and roles: the commune admin's page ------------------------------------------------------

def administered_commune(viewer: Viewer) -> int:
    """The commune whose people this admin manages (the first, if they administer several)."""
    communes = viewer.communes(Role.ADMIN)
    if not communes:
        raise Forbidden(N_("This page is for commune administrators."))
    return min(communes)


@dataclass(frozen=True)
class StaffRow:
    grant: RoleGrant
    user: User
    village: Village | None
    in_force: bool
    ended: bool  # the term is over (or ends today)


def staff(session: Session, commune_id: int, *, include_residents: bool = False) -> list[StaffRow]:
    """Every staff role granted in the commune (residents are linked to households, not listed here),
    those in force first."""
    today = clock.today_local()
    stmt = (select(RoleGrant, User).join(User, col(User.id) == col(RoleGrant.user_id))
            .where(col(RoleGrant.commune_id) == commune_id, col(RoleGrant.role) != OPERATOR)
            .order_by(col(RoleGrant.role), col(User.display_name), col(RoleGrant.id)))
    if not include_residents:
        stmt = stmt.where(col(RoleGrant.role) != Role.RESIDENT)
    rows = session.execute(stmt).all()
    villages = {v.id: v for v in session.execute(
        select(Village).where(col(Village.commune_id) == commune_id)).scalars()}
    out = [StaffRow(g, u, villages.get(g.village_id) if g.village_id else None,
                    in_force(g.starts_on, g.ends_on, today) and u.is_active,
                    g.ends_on is not None and g.ends_on <= today) for g, u in rows]
    return sorted(out, key=lambda r: (not r.in_force, r.ended))


@dataclass(frozen=True)
class Person:
    user: User
    grants: list[StaffRow]


def person(session: Session, commune_id: int, user_id: int) -> Person:
    """A user of the commune with every role they have or had in it."""
    user = _user_of_commune(session, commune_id, user_id)
    return Person(user, [row for row in staff(session, commune_id, include_residents=True)
                         if row.user.id == user.id])


def find_person(session: Session, commune_id: int, phone: str) -> User | None:
    """The user with this phone number if they belong to the commune (a role or a household in it)."""
    user_id = session.execute(select(col(User.id)).where(col(User.phone) == phone)).scalar_one_or_none()
    if user_id is None:
        return None
    try:
        return _user_of_commune(session, commune_id, user_id)
    except NotFound:
        return None


def latest_reset(session: Session, user_id: int) -> PasswordReset | None:
    return session.execute(select(PasswordReset).where(col(PasswordReset.user_id) == user_id)
                           .order_by(col(PasswordReset.id).desc()).limit(1)).scalar_one_or_none()


def pending_invitations(session: Session, commune_id: int) -> list[Invitation]:
    """Invitations not taken yet and not expired."""
    return list(session.execute(
        select(Invitation).where(col(Invitation.commune_id) == commune_id, col(Invitation.used_at).is_(None),
                                 col(Invitation.expires_at) > clock.now())
        .order_by(col(Invitation.created_at).desc())).scalars())


def _user_of_commune(session: Session, commune_id: int, user_id: int) -> User:
    """A user the admin of `commune_id` may manage: one with a role or a household in it. Any other is
    'not found', so an admin cannot learn who has an account elsewhere."""
    user = session.get(User, user_id)
    has_grant = session.execute(select(col(RoleGrant.id)).where(
        col(RoleGrant.user_id) == user_id, col(RoleGrant.commune_id) == commune_id).limit(1)).first()
    has_home = has_grant or session.execute(
        select(col(HouseholdMember.id))
        .join(Household, col(Household.id) == col(HouseholdMember.household_id))
        .join(Village, col(Village.id) == col(Household.village_id))
        .where(col(HouseholdMember.user_id) == user_id, col(Village.commune_id) == commune_id)
        .limit(1)).first()
    # A deployment operator is above every commune: no commune admin may reset, deactivate or end them.
    operator = session.execute(select(col(RoleGrant.id)).where(
        col(RoleGrant.user_id) == user_id, col(RoleGrant.role) == OPERATOR).limit(1)).first()
    if user is None or not has_home or operator:
        raise NotFound(N_("This person is not in your commune."))
    return user


def _village_of_commune(session: Session, commune_id: int, village_id: int | None) -> None:
    if village_id is None:
        return
    village = session.get(Village, village_id)
    if village is None or village.commune_id != commune_id:
        raise Invalid(N_("This village is not in your commune."), field="village_id")


def invite(session: Session, viewer: Viewer, form: InviteForm) -> tuple[Invitation, str]:
    """An invitation to a role of the admin's commune, and its one-time code (only its hash is kept)."""
    commune_id = administered_commune(viewer)
    _village_of_commune(session, commune_id, form.village_id)
    check_scope(form.role, village_id=form.village_id)
    check_term(form.starts_on, form.ends_on)
    code = new_code()
    now = clock.now()
    inv = Invitation(commune_id=commune_id, code_hash=code_hash(code), phone=form.phone,
                     display_name=form.display_name, role=form.role, village_id=form.village_id,
                     starts_on=form.starts_on, ends_on=form.ends_on, created_by_id=viewer.id, created_at=now,
                     expires_at=now + timedelta(days=get_settings().invitation_days))
    session.add(inv)
    session.flush()
    audit.record(session, commune_id=commune_id, action="invitation_created", actor_id=viewer.id,
                 payload={"invitation_id": inv.id, "role": inv.role, "village_id": inv.village_id,
                          "starts_on": inv.starts_on.isoformat(),
                          "ends_on": inv.ends_on.isoformat() if inv.ends_on else None})
    return inv, code


def admin_invitation(session: Session, viewer: Viewer, invitation_id: int) -> Invitation:
    inv = session.get(Invitation, invitation_id)
    if inv is None or inv.commune_id != administered_commune(viewer):
        raise NotFound(N_("This invitation does not exist."))
    return inv


def renew_invitation(session: Session, viewer: Viewer, invitation_id: int) -> tuple[Invitation, str]:
    """A new code for an invitation not taken yet (the old code stops working), good for the full period
    again: to print an invitation that was lost, since a code is shown only once."""
    inv = admin_invitation(session, viewer, invitation_id)
    if inv.used_at is not None:
        raise Conflict(N_("This invitation was already used."))
    code = new_code()
    now = clock.now()
    inv.code_hash = code_hash(code)
    inv.expires_at = now + timedelta(days=get_settings().invitation_days)
    audit.record(session, commune_id=inv.commune_id, action="invitation_renewed", actor_id=viewer.id,
                 payload={"invitation_id": inv.id})
    session.flush()
    return inv, code


INVITE_UNKNOWN = N_("This invitation code is not known. Check the link or the code on your letter, or ask "
                    "the commune office for a new invitation.")
INVITE_USED = N_("This invitation was already used. If it was not you who used it, tell the commune office.")
INVITE_EXPIRED = N_("This invitation has expired. Please ask the commune office for a new one.")


def open_invitation(session: Session, code: str) -> Invitation:
    """The invitation of a code that can still be taken; else NotFound with a message that says why."""
    inv = session.execute(select(Invitation).where(col(Invitation.code_hash) == code_hash(code))
                          ).scalar_one_or_none() if normalize_code(code) else None
    if inv is None:
        raise NotFound(INVITE_UNKNOWN)
    state = code_state(expires_at=clock.as_utc(inv.expires_at), used_at=inv.used_at, now=clock.now())
    if state == "used":
        raise NotFound(INVITE_USED, status=410)
    if state == "expired":
        raise NotFound(INVITE_EXPIRED, status=410)
    return inv


def invited_account(session: Session, inv: Invitation) -> User | None:
    return session.execute(select(User).where(col(User.phone) == inv.phone)).scalar_one_or_none()


def accept_invitation(session: Session, code: str, *, new: AcceptNewForm | None = None,
                      password_hash: str | None = None, verified_hash: str | None = None) -> User:
    """Take an invitation: with a new account (`new` and its `password_hash`), or with the account the
    phone number has, whose password was checked against `verified_hash`. The role is granted for the
    invitation's term, by the admin who invited."""
    inv = open_invitation(session, code)
    user = invited_account(session, inv)
    if user is None:
        if new is None or password_hash is None:
            raise Conflict(N_("Please choose a password for your new account."))
        named = RegisterForm.model_construct(phone=inv.phone, display_name=new.display_name)
        user = _new_user(session, named, password_hash)
    else:
        if not user.is_active:
            raise Forbidden(N_("This account was deactivated. Please ask the commune office."))
        if verified_hash is None or not hmac.compare_digest(user.password_hash, verified_hash):
            raise Invalid(WRONG_LOGIN, field="password")
    inv.used_at = clock.now()
    inv.user_id = user.id
    grant(session, user, role=inv.role, commune_id=inv.commune_id, village_id=inv.village_id,
          starts_on=inv.starts_on, ends_on=inv.ends_on, granted_by=inv.created_by_id)
    audit.record(session, commune_id=inv.commune_id, action="invitation_accepted", actor_id=user.id,
                 payload={"invitation_id": inv.id, "user_id": user.id})
    return user


def end_grant(session: Session, viewer: Viewer, grant_id: int, *, user_id: int | None = None) -> RoleGrant:
    """End a role today (it gives no power from now on): the term's end becomes today."""
    commune_id = administered_commune(viewer)
    g = session.get(RoleGrant, grant_id)
    if (g is None or g.commune_id != commune_id or g.role == OPERATOR
            or (user_id is not None and g.user_id != user_id)):
        raise NotFound(N_("This role does not exist."))
    g.ends_on = end_on(g.starts_on, g.ends_on, clock.today_local())
    sessions.end_all(session, g.user_id)
    audit.record(session, commune_id=commune_id, action="role_ended", actor_id=viewer.id,
                 payload={"grant_id": g.id, "user_id": g.user_id, "role": g.role, "village_id": g.village_id,
                          "ends_on": g.ends_on.isoformat()})
    session.flush()
    return g


def deactivate(session: Session, viewer: Viewer, user_id: int) -> User:
    """Close an account: every login of it ends and it cannot log in again."""
    commune_id = administered_commune(viewer)
    user = _user_of_commune(session, commune_id, user_id)
    if user.id == viewer.id:
        raise Conflict(N_("You cannot deactivate your own account."))
    if not user.is_active:
        raise Conflict(N_("This account is already deactivated."))
    user.is_active = False
    sessions.end_all(session, row_id(user))
    audit.record(session, commune_id=commune_id, action="user_deactivated", actor_id=viewer.id,
                 payload={"user_id": user.id})
    session.flush()
    return user


def reactivate(session: Session, viewer: Viewer, user_id: int) -> User:
    commune_id = administered_commune(viewer)
    user = _user_of_commune(session, commune_id, user_id)
    if user.is_active:
        raise Conflict(N_("This account is active."))
    user.is_active = True
    audit.record(session, commune_id=commune_id, action="user_reactivated", actor_id=viewer.id,
                 payload={"user_id": user.id})
    session.flush()
    return user


def issue_reset(session: Session, viewer: Viewer, user_id: int) -> tuple[User, PasswordReset, str]:
    """A one-time code with which `user_id` chooses a new password; an earlier code stops working."""
    commune_id = administered_commune(viewer)
    user = _user_of_commune(session, commune_id, user_id)
    if not user.is_active:
        raise Conflict(N_("This account is deactivated: activate it first."))
    now = clock.now()
    session.execute(update(PasswordReset).where(col(PasswordReset.user_id) == user.id,
                                                col(PasswordReset.used_at).is_(None)).values(used_at=now))
    code = new_code()
    reset = PasswordReset(user_id=row_id(user), commune_id=commune_id, code_hash=code_hash(code),
                          created_by_id=viewer.id, created_at=now,
                          expires_at=now + timedelta(hours=get_settings().reset_code_hours))
    session.add(reset)
    session.flush()
    audit.record(session, commune_id=commune_id, action="password_reset_issued", actor_id=viewer.id,
                 payload={"user_id": user.id})
    return user, reset, code


RESET_WRONG = N_("The phone number or the code is wrong.")
RESET_EXPIRED = N_("This code has expired or was already used. Please ask the commune office for a new one.")


def reset_target(session: Session, phone: str, code: str) -> tuple[PasswordReset, User]:
    """The reset a phone number and code open, or Invalid: one message when they do not match (whether the
    phone has an account or not), another when the matching code is spent."""
    row = session.execute(select(PasswordReset, User).join(User, col(User.id) == col(PasswordReset.user_id))
                          .where(col(PasswordReset.code_hash) == code_hash(code))).first()
    if row is None or row[1].phone != phone or not row[1].is_active:
        raise Invalid(RESET_WRONG, field="code")
    reset, user = row[0], row[1]
    if code_state(expires_at=clock.as_utc(reset.expires_at), used_at=reset.used_at, now=clock.now()) != "ok":
        raise Invalid(RESET_EXPIRED, field="code")
    return reset, user


def reset_password(session: Session, form: ResetForm, new_hash: str) -> User:
    """The new password: the code is spent and every login of the account ends."""
    reset, user = reset_target(session, form.phone, form.code)
    reset.used_at = clock.now()
    user.password_hash = new_hash
    sessions.end_all(session, row_id(user))
    audit.record(session, commune_id=reset.commune_id, action="password_reset", actor_id=user.id,
                 payload={"user_id": user.id})
    session.flush()
    return user


# --- API keys ---------------------------------------------------------------------------------------

def create_api_key(session: Session, *, commune_id: int, name: str) -> tuple[ApiKey, str]:
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise Invalid(N_("An API key needs a name of at most 80 characters."), field="name")
    secret = "civic_" + secrets.token_urlsafe(30)
    key = ApiKey(commune_id=commune_id, name=name, prefix=secret[:12],
                 key_hash=hashlib.sha256(secret.encode()).hexdigest(), created_at=clock.now())
    session.add(key)
    session.flush()
    audit.record(session, commune_id=commune_id, action="api_key_created", payload={"api_key_id": key.id,
                                                                                    "name": name})
    return key, secret


def find_api_key(session: Session, secret: str) -> ApiKey | None:
    if not secret:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    key = session.execute(select(ApiKey).where(col(ApiKey.key_hash) == digest)).scalar_one_or_none()
    return key if key is not None and key.revoked_at is None else None


def revoke_api_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(N_("This API key does not exist."))
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        audit.record(session, commune_id=key.commune_id, action="api_key_revoked",
                     payload={"api_key_id": key.id})
    return key
