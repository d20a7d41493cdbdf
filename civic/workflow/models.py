"""Requests for review of a rejection, duplicate or redirect."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Text
from sqlmodel import Field, SQLModel


class ReviewRequest(SQLModel, table=True):
    __tablename__ = "review_request"

    id: int | None = Field(default=None, primary_key=True)
    # An author may ask once for each closure, so one row per item and closure time.
    item_id: int = Field(foreign_key="item.id", index=True)
    closed_outcome: str = Field(max_length=16)
    reason: str = Field(sa_type=Text)
    requested_at: datetime = Field(sa_type=DateTime(timezone=True))
    requested_by_id: int | None = Field(default=None, foreign_key="user.id")
    decision: str | None = Field(default=None, max_length=16)  # upheld | sent_back
    decision_reason: str = Field(default="", sa_type=Text)
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")
