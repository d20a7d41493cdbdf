"""Users, role grants and API keys."""

from __future__ import annotations

from datetime import datetime

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
    """A role with its scope: a village (village head, resident) or the whole commune (supervisor, admin)."""

    __tablename__ = "role_grant"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=16)  # resident | village head | supervisor | admin
    commune_id: int = Field(foreign_key="commune.id")
    village_id: int | None = Field(default=None, foreign_key="village.id")
    title: str = Field(default="", max_length=80)  # "Bí thư chi bộ", "Trưởng Ban TTND"…


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
