"""The people's boards of Dân kiểm tra: the commune's people's inspection board and a project's community
investment supervision board, their members, and who agreed to sign an inspection off."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


class Board(SQLModel, table=True):
    """A board as elected and recognised. `kind` is inspection (the commune's Ban thanh tra nhân dân) or
    investment (a project's Ban giám sát đầu tư của cộng đồng, with its item and the item's village). It acts
    only once the commune People's Committee recognised it (decision number and date) and within its term."""

    __tablename__ = "board"

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id", index=True)
    kind: str = Field(max_length=16)  # inspection | investment
    item_id: int | None = Field(default=None, foreign_key="item.id", index=True)
    village_id: int | None = Field(default=None, foreign_key="village.id")
    # The election: the meeting's date, its minutes as the commune files them, and the item (matter 5 in
    # Dân bàn) that decided it when it went through civic.
    elected_on: date
    election_ref: str = Field(default="", max_length=120)
    election_item_id: int | None = Field(default=None, foreign_key="item.id")
    term_starts_on: date
    term_ends_on: date | None = None  # the first day after the term; None: until the project is done
    decision_no: str = Field(default="", max_length=60)
    recognised_on: date | None = None
    recognised_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Ended before its term: dissolved, or a project's board when its project is closed; it acts until the
    # day before `ended_on` (the commune's decision's date).
    ended_on: date | None = None
    end_reason: str = Field(default="", max_length=16)  # dissolved | project_closed
    end_decision_no: str = Field(default="", max_length=60)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class BoardMember(SQLModel, table=True):
    """A member: a person of the register (their household and its village) with an account to act in
    civic. Their name is public (a public office); their phone never is."""

    __tablename__ = "board_member"
    __table_args__ = (UniqueConstraint("board_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    board_id: int = Field(foreign_key="board.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    village_id: int = Field(foreign_key="village.id")
    position: str = Field(default="member", max_length=16)  # head | member
    grant_id: int | None = Field(default=None, foreign_key="role_grant.id")  # given at recognition
    # In office from `starts_on` (the recognition) until the day before `ends_on`; None before recognition.
    starts_on: date | None = None
    ends_on: date | None = None
    # moved_away | resigned | dismissed | died | board_ended
    end_reason: str = Field(default="", max_length=16)
    # A member who joined after the recognition: their village meeting and the commune's decision.
    elected_on: date | None = None
    election_ref: str = Field(default="", max_length=120)
    decision_no: str = Field(default="", max_length=60)
    replaces_id: int | None = Field(default=None, foreign_key="board_member.id")
    added_at: datetime = Field(sa_type=DateTime(timezone=True))
    added_by_id: int | None = Field(default=None, foreign_key="user.id")
