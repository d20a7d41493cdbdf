"""Dân kiểm tra tables: inspections and their checklists, findings and answers, verdicts, reopen requests."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Inspection(SQLModel, table=True):
    __tablename__ = "inspection"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    opened_at: datetime = Field(sa_type=DateTime(timezone=True))
    opened_by_id: int | None = Field(default=None, foreign_key="user.id")
    # How it ended: signed_off | rework | not_done; None while open.
    result: str | None = Field(default=None, max_length=16)
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ChecklistEntry(SQLModel, table=True):
    __tablename__ = "checklist_entry"

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    position: int = 0
    label: str = Field(max_length=200)
    mark: str | None = Field(default=None, max_length=16)  # ok | not_ok | not_applicable; None: not marked
    note: str = Field(default="", max_length=500)
    marked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class Finding(SQLModel, table=True):
    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_item", "item_id", "created_at"),
                      Index("ix_finding_open_due", "resolved_at", "due_on"))

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    severity: str = Field(max_length=16)  # note | needs_fixing | serious
    text: str = Field(sa_type=Text)
    due_on: date | None = None
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    # The checklist entry marked "not satisfactory" this finding covers, if any.
    checklist_entry_id: int | None = Field(default=None, foreign_key="checklist_entry.id")
    # The village head's public answer.
    answer: str = Field(default="", sa_type=Text)
    answered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    answered_by_id: int | None = Field(default=None, foreign_key="user.id")
    # A supervisor closes the finding once the answer (and the work) satisfies them.
    resolved_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    resolved_by_id: int | None = Field(default=None, foreign_key="user.id")


class Verdict(SQLModel, table=True):
    """A household's verdict on a done item: once per household for each `done` closure."""

    __tablename__ = "verdict"
    __table_args__ = (UniqueConstraint("item_id", "household_id", "closure_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    closure_at: datetime = Field(sa_type=DateTime(timezone=True))  # the item's closed_at it judges
    verdict: str = Field(max_length=16)  # done | partly | not_done
    satisfaction: int
    comment: str = Field(default="", sa_type=Text)
    given_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class ReopenRequest(SQLModel, table=True):
    __tablename__ = "reopen_request"
    __table_args__ = (UniqueConstraint("item_id", "household_id", "closure_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    closure_at: datetime = Field(sa_type=DateTime(timezone=True))
    reason: str = Field(sa_type=Text)
    requested_at: datetime = Field(sa_type=DateTime(timezone=True))
    requested_by_id: int | None = Field(default=None, foreign_key="user.id")
    decision: str | None = Field(default=None, max_length=16)  # reopened | refused
    decision_reason: str = Field(default="", sa_type=Text)
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    decided_by_id: int | None = Field(default=None, foreign_key="user.id")


class SignOffVote(SQLModel, table=True):
    """A board member's word on signing off an open inspection: agreed or not. The sign-off is the board's
    decision once more than half of all its members agreed; a change to the checklist or a new finding
    clears the words given, since they were given on what the checklist said then."""

    __tablename__ = "sign_off_vote"
    __table_args__ = (UniqueConstraint("inspection_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspection.id", index=True)
    board_id: int = Field(foreign_key="board.id")
    user_id: int = Field(foreign_key="user.id")
    agree: bool
    voted_at: datetime = Field(sa_type=DateTime(timezone=True))
