"""Users, passwords, role grants, and the facts a rule needs about an actor."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlmodel import Session, col

from civic import clock
from civic.accounts import sessions
from civic.accounts.models import ApiKey, RoleGrant, User
from civic.accounts.rules import ROLES as ROLES  # the role catalog, re-exported for `civic create-user`
from civic.accounts.rules import check_scope, check_term, in_force, role_kind, role_powers, touch_due
from civic.accounts.schemas import WRONG_LOGIN, ChangePasswordForm, LoginForm, RegisterForm
from civic.areas.models import Commune, Household, HouseholdMember, Village
from civic.audit import service as audit
from civic.core.facts import ActorFacts
from civic.core.kinds import Role
from civic.db import row_id
from civic.errors import N_, Invalid, NotFound

_hasher = PasswordHasher()
# A hash to verify against when the phone is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Does the password match? With no hash (an unknown phone) a dummy one is verified, so both paths
    take the same time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@dataclass
class Viewer:
    """The signed-in user (or nobody) and what they may see, computed once a request."""

    user: User | None = None
    grants: list[RoleGrant] = field(default_factory=list)
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

    def villages(self, power: str) -> frozenset[int]:
        return frozenset(g.village_id for g in self.grants
                         if power in role_powers(g.role) and g.village_id is not None)

    def communes(self, power: str) -> frozenset[int]:
        return frozenset(g.commune_id for g in self.grants if power in role_powers(g.role))

    def _has(self, power: str) -> bool:
        return any(power in role_powers(g.role) for g in self.grants)

    @property
    def is_village_head(self) -> bool:
        return self._has(Role.VILLAGE_HEAD)

    @property
    def is_supervisor(self) -> bool:
        return self._has(Role.SUPERVISOR)

    @property
    def is_admin(self) -> bool:
        return self._has(Role.ADMIN)

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


def grants_in_force(session: Session, user_id: int, today: date | None = None) -> list[RoleGrant]:
    """A user's role grants whose term covers today (rules.in_force)."""
    today = today or clock.today_local()
    rows = session.execute(select(RoleGrant).where(col(RoleGrant.user_id) == user_id)
                           .order_by(col(RoleGrant.id))).scalars()
    return [g for g in rows if in_force(g.starts_on, g.ends_on, today)]


def _viewer_of(session: Session, user: User) -> Viewer:
    grants = grants_in_force(session, row_id(user))
    households = frozenset(session.execute(
        select(col(HouseholdMember.household_id)).where(col(HouseholdMember.user_id) == user.id)).scalars())
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
                commune_id: int | None = None, village_id: int | None = None, title: str = "") -> User:
    """An account made by an administrator (the CLI, the demo seed): its fields are read by the same form
    as a registration."""
    form = RegisterForm.parse({"phone": phone, "display_name": display_name, "password": password,
                               "password_again": password})
    user = register(session, form)
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
