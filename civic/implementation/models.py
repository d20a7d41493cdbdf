"""Dân làm tables: per-item settings, pledges with consent, deliveries, budget lines, spending, progress."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Column, DateTime, Index, Numeric, Text
from sqlmodel import Field, SQLModel

# Land in m² and labour in person-days: exact decimals with two places; money: whole đồng.
QTY = Numeric(14, 2)


class ImplementationSetting(SQLModel, table=True):
    """What the households decided about the work: amounts needed, and whether pledgers' names are public.

    A recorded decision (civic.deliberation) does not hold these figures, so the village head copies them here
    from the decision's minutes.
    """

    __tablename__ = "implementation_setting"

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    publish_pledger_names: bool = False
    needed_land_m2: Decimal | None = Field(default=None, sa_type=QTY)
    needed_money: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    needed_labour_days: Decimal | None = Field(default=None, sa_type=QTY)
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_by_id: int | None = Field(default=None, foreign_key="user.id")


class Pledge(SQLModel, table=True):
    __tablename__ = "pledge"
    __table_args__ = (
        Index("ix_pledge_item_household", "item_id", "household_id"),
        Index("ix_pledge_item_created", "item_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    household_id: int = Field(foreign_key="household.id")
    kind: str = Field(max_length=16)  # land | money | labour | materials
    money: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # đồng
    quantity: Decimal | None = Field(default=None, sa_type=QTY)  # m², person-days, or materials' quantity
    unit: str = Field(default="", max_length=40)  # materials: "bao xi măng", "m³ cát"
    description: str = Field(default="", max_length=200)  # materials: what is given
    parcel_ref: str = Field(default="", max_length=120)  # land: "thửa 123, tờ bản đồ 5"
    # The household's consent, as it was given.
    consent_text: str = Field(sa_type=Text)
    consent_on: date
    witness_name: str = Field(max_length=120)
    witness_role: str = Field(max_length=120)
    consent_scan_id: int | None = None  # a private attachment (civic.media)
    # Land given without a scan: the village head confirmed the consent in person, before the witness.
    consent_in_person: bool = False
    pledged_by_id: int | None = Field(default=None, foreign_key="user.id")
    on_behalf: bool = False  # recorded by the village head on the household's behalf
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    withdrawn_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    withdrawn_by_id: int | None = Field(default=None, foreign_key="user.id")
    withdraw_reason: str = Field(default="", sa_type=Text)


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_item", "item_id", "delivered_on"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    pledge_id: int = Field(foreign_key="pledge.id", index=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    money: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    quantity: Decimal | None = Field(default=None, sa_type=QTY)
    delivered_on: date
    evidence: str = Field(max_length=300)  # what proves it: "biên bản bàn giao mặt bằng số 12"
    over_confirmed: bool = False  # more than the pledge, confirmed by the village_head
    recorded_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    disputed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    disputed_by_id: int | None = Field(default=None, foreign_key="user.id")
    dispute_text: str = Field(default="", sa_type=Text)


class BudgetLine(SQLModel, table=True):
    __tablename__ = "budget_line"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    source: str = Field(max_length=16)  # state | commune | community | sponsor
    label: str = Field(max_length=160)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class Spending(SQLModel, table=True):
    __tablename__ = "spending"
    __table_args__ = (Index("ix_spending_item", "item_id", "spent_on"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    budget_line_id: int = Field(foreign_key="budget_line.id", index=True)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    spent_on: date
    description: str = Field(max_length=300)
    document_ref: str = Field(max_length=120)  # the invoice or receipt: "HĐ 0001234"
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")


class ProgressUpdate(SQLModel, table=True):
    __tablename__ = "progress_update"
    __table_args__ = (Index("ix_progress_update_item", "item_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    percent: int
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
