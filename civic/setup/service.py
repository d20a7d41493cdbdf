"""Setting a site up from zero: the one-time code, then the commune and its first administrator.

The code is printed in the server's log at start-up and by `civic setup-code`. It is an HMAC, under the
secret key, of a random nonce kept in `setup_nonce`: every worker and the command print the same code, and
a copy of the database alone does not give it. Once a commune exists the code is refused whatever it is.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.models import User
from civic.accounts.schemas import RegisterForm
from civic.areas import service as areas
from civic.areas.models import Commune
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.kinds import Role
from civic.db import row_id
from civic.errors import N_, NotFound
from civic.setup import rules
from civic.setup.models import SetupNonce
from civic.setup.schemas import SetupForm

ALREADY_SET_UP = N_("This site is already set up. Log in with your account.")
WRONG_CODE = N_("The set-up code is wrong. Copy it from the server's log, or run: civic setup-code")


def _nonce(session: Session) -> SetupNonce | None:
    """The oldest nonce: the one every server and the command agree on."""
    return session.execute(select(SetupNonce).order_by(col(SetupNonce.created_at), col(SetupNonce.nonce))
                           .limit(1)).scalar_one_or_none()


def code(session: Session) -> str | None:
    """The set-up code (its nonce made on first use: call in a writing unit of work), or None once set
    up."""
    if areas.has_commune(session):
        return None
    row = _nonce(session)
    if row is None:
        row = SetupNonce(nonce=secrets.token_hex(32), created_at=clock.now())
        session.add(row)
        session.flush()
    return rules.shown(rules.derive(get_settings().secret_key, row.nonce))


def current_code(session: Session) -> str | None:
    """The set-up code as it stands (a read), or None once set up or before any nonce was made."""
    row = None if areas.has_commune(session) else _nonce(session)
    return rules.shown(rules.derive(get_settings().secret_key, row.nonce)) if row is not None else None


def code_matches(session: Session, typed: str) -> bool:
    """Whether `typed` is the set-up code; always False once set up or before any code was made."""
    if areas.has_commune(session):
        return False
    row = _nonce(session)
    if row is None:
        return False
    return rules.matches(rules.derive(get_settings().secret_key, row.nonce), typed)


def set_up(session: Session, form: SetupForm, password_hash: str) -> tuple[Commune, User]:
    """The commune and its first administrator; the code is spent. The caller checked the code."""
    if areas.has_commune(session):
        raise NotFound(ALREADY_SET_UP)
    commune = areas.create_commune(session, code=form.code, name=form.name, kind=form.kind,
                                   province=form.province)
    account = RegisterForm.parse({"display_name": form.admin_name, "phone": form.admin_phone,
                                  "password": form.password, "password_again": form.password})
    user = accounts.register(session, account, password_hash)
    accounts.grant(session, user, role=Role.ADMIN, commune_id=row_id(commune))
    session.execute(delete(SetupNonce))
    audit.record(session, commune_id=row_id(commune), action="site_set_up", actor_id=user.id,
                 payload={"admin_user_id": user.id})
    return commune, user
