"""Users, role grants and API keys."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=16, unique=True)  # normalised: 0 + 9 digits
    email: str | None = Field(default=None, max_length=254)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=255)
    is_active: bool = True
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class RoleGrant(SQLModel, table=True):
    """A role with its scope and term: a village (village head, resident…) or the whole commune
    (supervisor, admin…), from starts_on until the day before ends_on (civic.accounts.rules.in_force).
    The roles and what they may do are in civic.accounts.rules.ROLES."""

    __tablename__ = "role_grant"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=32)  # a code of rules.ROLES
    commune_id: int = Field(foreign_key="commune.id")
    village_id: int | None = Field(default=None, foreign_key="village.id")
    title: str = Field(default="", max_length=80)  # the post as the commune writes it, e.g. "Trưởng Ban TTND"
    starts_on: date
    ends_on: date | None = None  # the first day without the role; None: until ended
    granted_by_id: int | None = Field(default=None, foreign_key="user.id")


class Invitation(SQLModel, table=True):
    """A role offered to a phone number by the commune admin, taken with a one-time code (only its hash is
    kept) within a few days. The phone and name are the admin's words for whom to expect; the account
    that accepts has that phone number."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    phone: str = Field(max_length=16)
    display_name: str = Field(max_length=80)
    role: str = Field(max_length=32)
    village_id: int | None = Field(default=None, foreign_key="village.id")
    starts_on: date
    ends_on: date | None = None
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    user_id: int | None = Field(default=None, foreign_key="user.id")  # who accepted it


class PasswordReset(SQLModel, table=True):
    """A one-time code an admin gave a user to choose a new password (only its hash is kept)."""

    __tablename__ = "password_reset"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    commune_id: int = Field(foreign_key="commune.id")  # whose admin gave it (its chain records its use)
    code_hash: str = Field(max_length=64, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    name: str = Field(max_length=80)
    prefix: str = Field(max_length=12)
    key_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the whole key
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class UserSession(SQLModel, table=True):
    """A login on one browser. The cookie holds a random key; only its sha256 is stored, so a copy of this
    table logs nobody in. A row that has ended, passed its lifetime or sat idle too long is anonymous."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")  # a user's logins go with it
    key_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the key in the cookie
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    last_seen_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class LoginThrottle(SQLModel, table=True):
    """Failed logins (and registrations) counted per phone or per client address in a fixed window, in the
    database so that every worker process sees the same count. The key is a sha256: no phone number or
    address is kept in clear."""

    __tablename__ = "login_throttle"

    key: str = Field(max_length=64, primary_key=True)
    window_start: datetime = Field(sa_type=DateTime(timezone=True))
    hits: int = 0
