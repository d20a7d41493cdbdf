"""The one-time set-up code's nonce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class SetupNonce(SQLModel, table=True):
    """One random value per installation. The set-up code is an HMAC of it under the secret key, so this
    table never holds the code itself; the row goes when the site is set up."""

    __tablename__ = "setup_nonce"

    id: int | None = Field(default=None, primary_key=True)
    nonce: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
