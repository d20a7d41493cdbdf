"""Claim codes (printed on a household's letter) and requests to join a household."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class ClaimCode(SQLModel, table=True):
    """A one-time code printed on a household's claim letter. Only its keyed hash is kept: the code itself
    exists on paper and nowhere else."""

    __tablename__ = "household_claim_code"

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)  # HMAC-SHA256 hex under the server secret
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    issued_by_id: int | None = Field(default=None, foreign_key="user.id")
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    used_by_id: int | None = Field(default=None, foreign_key="user.id")
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # a newer letter


class JoinRequest(SQLModel, table=True):
    """A resident asks to join a household without a letter; the village head approves or refuses."""

    __tablename__ = "household_join_request"

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    status: str = Field(default="pending", max_length=16)  # pending | approved | refused
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
    reason: str = Field(default="", max_length=400)  # why it was refused, shown to the resident
