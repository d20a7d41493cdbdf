from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


class ActivityVisit(SQLModel, table=True):
    """When a person last looked at their activity page. `seen_at` is the end of their previous visit:
    what happened after it is marked new. `visit_at` is the latest look, which starts a new visit once it
    is older than rules.VISIT_GAP (so reloading the page keeps the markers)."""

    __tablename__ = "activity_visit"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    seen_at: datetime = Field(sa_type=DateTime(timezone=True))
    visit_at: datetime = Field(sa_type=DateTime(timezone=True))
