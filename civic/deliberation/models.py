"""Dân biết and Dân bàn: disclosures, the discussion question, comments, supports, meetings, decisions,
ballots."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Index, Numeric, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class Disclosure(SQLModel, table=True):
    """One way the village was told about an item: a notice board, the loudspeaker, a meeting…"""

    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_item_starts", "item_id", "starts_on"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    channel: str = Field(max_length=24)
    place: str = Field(max_length=200)
    starts_on: date
    ends_on: date
    note: str = Field(default="", max_length=400)
    posted_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class Discussion(SQLModel, table=True):
    """The question the households decide, recorded when the item moves to Dân bàn."""

    __tablename__ = "discussion"
    # The matters of the whole commune are few: the to-do of every village head looks them up by this
    # index before it joins anything (civic.deliberation.service.unreported_commune_matters_count).
    __table_args__ = (Index("ix_discussion_commune_scope", "item_id",
                            sqlite_where=text("scope = 'commune'"),
                            postgresql_where=text("scope = 'commune'")),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    question: str = Field(sa_type=Text)
    # The item asks households for land, money or labour: never decided by an online ballot or an authority.
    asks_contribution: bool = True
    # The matter of Law 10/2022/QH15 Art. 15 (civic.deliberation.matters.MATTERS) and its scope; a matter
    # below what the asks imply carries its public reason.
    matter: int = 1
    scope: str = Field(default="village", max_length=8)  # village | commune
    matter_reason: str = Field(default="", max_length=400)
    # What the proposal asks of each household (the village head sets them when opening the discussion).
    ask_land_m2: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    ask_money: int | None = None  # đồng
    ask_labour_days: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    ask_materials: str = Field(default="", max_length=200)
    opened_at: datetime = Field(sa_type=DateTime(timezone=True))
    opened_by_id: int | None = Field(default=None, foreign_key="user.id")


class Comment(SQLModel, table=True):
    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_item_created", "item_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    author_id: int = Field(foreign_key="user.id")
    body: str = Field(sa_type=Text)  # kept when hidden: supervisors still read it
    official: bool = False  # a reply by a village head or supervisor
    author_role: str = Field(default="", max_length=16)  # resident | village head | supervisor
    reply_to_id: int | None = Field(default=None, foreign_key="comment.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    hidden_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    hidden_reason: str = Field(default="", max_length=400)
    hidden_by_id: int | None = Field(default=None, foreign_key="user.id")


class Support(SQLModel, table=True):
    """A household supports an item: one per household."""

    __tablename__ = "support"
    __table_args__ = (UniqueConstraint("item_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    user_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class Meeting(SQLModel, table=True):
    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_item_starts", "item_id", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    village_id: int = Field(foreign_key="village.id")
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    place: str = Field(max_length=200)
    agenda: str = Field(sa_type=Text)
    notice_at: datetime = Field(sa_type=DateTime(timezone=True))  # when the notice was given
    scheduled_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Filled in when the village head records the meeting.
    recorded_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    households_total: int | None = None  # the register on the meeting date
    households_present: int | None = None  # the households ticked on the roll
    people_present: int | None = None  # optional: how many people came
    quorum: bool | None = None
    by_cluster: bool = False
    chair_name: str = Field(default="", max_length=120)
    minutes_taker_name: str = Field(default="", max_length=120)
    minutes_text: str = Field(default="", sa_type=Text)
    # Law 10/2022/QH15 Art. 18(1): the village head convenes and chairs; when the post is vacant, the person
    # the commune chairman designated (the designation's reference is recorded).
    chair_designation_ref: str = Field(default="", max_length=120)
    # Decree 59/2023 Art. 3(5): the meeting elects its secretary by more than half of those present.
    secretary_votes: int | None = None
    voting_mode: str = Field(default="", max_length=16)  # show_of_hands | secret_ballot
    counting_committee: str = Field(default="", sa_type=Text)  # 3 to 5 names, one a line (secret ballot)
    ballots_issued: int | None = None
    ballots_returned: int | None = None
    ballots_valid: int | None = None
    ballots_invalid: int | None = None
    # A meeting is moved (a new notice period starts from the move) or cancelled with a public reason.
    moved_from: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    cancelled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    cancel_reason: str = Field(default="", max_length=400)
    revision: int = 0  # one more at each move or cancellation (the calendar feed's SEQUENCE)


class MeetingCluster(SQLModel, table=True):
    """A cluster of a village of 200 or more households that met on its own; results are summed."""

    __tablename__ = "meeting_cluster"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    name: str = Field(max_length=80)
    households_present: int = 0  # the households of its roll, when the meeting is recorded
    chair_name: str = Field(default="", max_length=120)


class MeetingAttendance(SQLModel, table=True):
    """One household ticked on a meeting's roll (in one cluster when the village meets by cluster). The
    unique key refuses the same household twice on one meeting's roll."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    cluster_id: int | None = Field(default=None, foreign_key="meeting_cluster.id")
    ticked_by_id: int | None = Field(default=None, foreign_key="user.id")
    ticked_at: datetime = Field(sa_type=DateTime(timezone=True))


class Decision(SQLModel, table=True):
    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_item_created", "item_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    method: str = Field(max_length=16)  # meeting_vote | paper_ballot | online_ballot | authority
    status: str = Field(default="open", max_length=8)  # open (counting or voting) | closed
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    question: str = Field(sa_type=Text)
    opens_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))  # online ballot
    closes_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    leaders_agreed: bool = False  # the online ballot's agreement was recorded (the four fields below)
    online_agreed_on: date | None = None  # the community agreed to vote online (Decree 59/2023 Art. 5)
    online_agreement_ref: str = Field(default="", max_length=120)
    informed_on: date | None = None  # the commune People's Committee and the Front were informed
    informed_ref: str = Field(default="", max_length=120)
    # The rule of civic.deliberation.matters that applied, stored with the decision and printed on its record.
    matter: int | None = None
    scope: str = Field(default="village", max_length=8)
    threshold: str = Field(default="more_than_half", max_length=16)
    rule_article: str = Field(default="", max_length=160)
    rule_secondary: bool = False
    decided_on: date | None = None
    households_total: int | None = None
    households_present: int | None = None
    yes: int | None = None
    no: int | None = None
    abstain: int | None = None
    passed: bool | None = None
    # The written form of the decision (Law 10/2022/QH15 Art. 20(1)): resolution, minutes, memorandum or
    # agreement.
    written_form: str = Field(default="", max_length=16)
    document_no: str = Field(default="", max_length=60)  # authority decision
    document_text: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # A commune-wide decision closed while villages had not reported: why (public, on the record).
    unreported_reason: str = Field(default="", max_length=400)


class Ballot(SQLModel, table=True):
    """One household's ballot. The unique key refuses a second one, even when two arrive at once."""

    __tablename__ = "ballot"
    __table_args__ = (UniqueConstraint("decision_id", "household_id"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    household_id: int = Field(foreign_key="household.id")
    choice: str = Field(max_length=8)  # yes | no | abstain
    cast_by_id: int | None = Field(default=None, foreign_key="user.id")
    cast_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class FrontAgreement(SQLModel, table=True):
    """The village Front work committee's answer to an online vote on an item (Decree 59/2023/NĐ-CP Art. 5),
    recorded by the head of that committee from their own account: it agreed (the date and the reference
    of the committee's minutes, a note) or refused (with the public reason). A withdrawn answer keeps its
    row; an item has at most one answer not withdrawn (the service checks it)."""

    __tablename__ = "front_agreement"
    __table_args__ = (Index("ix_front_agreement_item", "item_id", "id"),
                      # One standing answer an item: two sent at once cannot both be kept.
                      Index("uq_front_agreement_standing", "item_id", unique=True,
                            sqlite_where=text("withdrawn_at IS NULL"),
                            postgresql_where=text("withdrawn_at IS NULL")))

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    village_id: int = Field(foreign_key="village.id")
    agreed: bool
    decided_on: date  # the day the committee decided
    minutes_ref: str = Field(default="", max_length=120)
    note: str = Field(default="", max_length=400)
    reason: str = Field(default="", max_length=400)  # a refusal's public reason
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = Field(sa_type=DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    withdrawn_by_id: int | None = Field(default=None, foreign_key="user.id")
    withdraw_reason: str = Field(default="", max_length=400)


class VillageResult(SQLModel, table=True):
    """One village's result on a matter of the whole commune: its meeting (or household ballot) as its
    village head recorded it, once (the unique key refuses a second one), and, when the commune closes the
    decision, the line that counted on the decision date. A village that did not report gets a line with
    `method` "" at the close."""

    __tablename__ = "village_result"
    __table_args__ = (UniqueConstraint("item_id", "village_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    village_id: int = Field(foreign_key="village.id")
    method: str = Field(default="", max_length=16)  # meeting_vote | paper_ballot | "" (did not report)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")
    held_on: date | None = None
    households_total: int = 0  # the village's register on the day it met or counted
    households_present: int = 0  # its meeting's roll, or the ballots returned
    yes: int = 0
    no: int = 0
    abstain: int = 0
    recorded_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Filled in when the commune closes the decision: the line as it counted on the decision date.
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    counted_households: int | None = None
    counted_present: int | None = None
    counted_yes: int | None = None
    counted_no: int | None = None
    counted_abstain: int | None = None
