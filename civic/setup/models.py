"""The one-time set-up code's nonce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class SetupNonce(SQLModel, table=True):
    """A random value; the set-up code is an HMAC of the oldest one under the secret key, so this table never
    holds the code itself. The rows go when the site is set up. The nonce is its own key: two servers that
    start at once may each add one, and both then print the code of the oldest."""

    __tablename__ = "setup_nonce"

    nonce: str = Field(max_length=64, primary_key=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
