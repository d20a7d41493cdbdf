"""Categories and items."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Index, Numeric, Text, text
from sqlmodel import Field, SQLModel


class Category(SQLModel, table=True):
    __tablename__ = "category"

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id", index=True)
    code: str = Field(max_length=32, unique=True)
    name_vi: str = Field(max_length=80)
    name_en: str = Field(max_length=80)
    group: str = Field(default="", max_length=40)
    keywords: str = Field(default="", max_length=400)
    min_disclosure_days: int = 3
    # Open311 service definition attributes, as JSON (a list of attribute objects).
    attributes: str = Field(default="[]", sa_type=Text)
    active: bool = True
    position: int = 0


class Item(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (
        Index("ix_item_commune_created", "commune_id", "created_at"),
        Index("ix_item_commune_stage_created", "commune_id", "stage", "created_at"),
        Index("ix_item_village_stage_created", "village_id", "stage", "created_at"),
        # A stage's items, the longest in it first: the to-do of a head of many villages (migration 0011t).
        Index("ix_item_stage_changed", "stage", "stage_changed_at"),
        Index("ix_item_category_created", "category_id", "created_at"),
        Index("ix_item_reporter", "reporter_id", "created_at"),
        Index("ix_item_commune_year_seq", "commune_id", "year", "seq"),
        # The same words sent again: the look for a repeated submission (migration 0016k).
        Index("ix_item_text_key_created", "text_key_sha256", "created_at"),
        # New items only, oldest first: the triage queue of a head of many villages (migration 0010s).
        Index("ix_item_submitted_created", "created_at", "id", sqlite_where=text("stage = 'submitted'"),
              postgresql_where=text("stage = 'submitted'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    code: str = Field(max_length=20, unique=True)  # NS-2026-0042
    year: int
    seq: int
    kind: str = Field(max_length=16)  # concern | recommendation | proposal
    category_id: int = Field(foreign_key="category.id")
    village_id: int = Field(foreign_key="village.id")
    title: str = Field(max_length=160)
    description: str = Field(sa_type=Text)
    address: str = Field(default="", max_length=200)
    lat: float | None = None
    lng: float | None = None
    stage: str = Field(default="submitted", max_length=16)
    outcome: str | None = Field(default=None, max_length=16)
    # Public reason of the closure (rejection, redirect…), and where a redirect sent it.
    close_reason: str = Field(default="", sa_type=Text)
    redirected_to: str = Field(default="", max_length=200)
    duplicate_of_id: int | None = Field(default=None, foreign_key="item.id")
    # Who raised it. The contact fields are private: only the village's staff see them.
    reporter_id: int | None = Field(default=None, foreign_key="user.id")
    contact_name: str = Field(default="", max_length=80)
    contact_phone: str = Field(default="", max_length=16)
    show_name: bool = False
    channel: str = Field(default="web", max_length=16)  # web | api | assisted
    entered_by_id: int | None = Field(default=None, foreign_key="user.id")
    client_token: str | None = Field(default=None, max_length=64, unique=True)
    manage_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    attributes: str = Field(default="{}", sa_type=Text)  # Open311 attribute values, JSON
    # What a proposal asks each household to give: the default its discussion's legal matter follows
    # (civic.deliberation.matters.item_asks_default).
    ask_land_m2: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    ask_money: int | None = Field(default=None, sa_type=BigInteger)  # đồng
    ask_labour_days: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    ask_materials: str = Field(default="", max_length=200)
    search_text: str = Field(default="", sa_type=Text)  # lower-case, without diacritics
    # rules.text_digest of the title and text: the look for a repeated submission reads only items with the
    # same words (None on items older than migration 0015r, whose words it still compares).
    text_key_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))
    acknowledged_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    stage_changed_at: datetime = Field(sa_type=DateTime(timezone=True))
    closed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ItemCount(SQLModel, table=True):
    """How many items a village has in a stage: kept by database triggers on `item` (migration 0010s) in
    the same transaction as every insert, stage change and delete; `civic recount` checks and repairs it.
    `stamp` is drawn again, at random, whenever an item of the cell is added, removed or changed in any
    way (migration 0014a): the version of a cached list page (civic/web/pagecache.py list_version)."""

    __tablename__ = "item_count"

    commune_id: int = Field(primary_key=True)
    village_id: int = Field(primary_key=True)
    stage: str = Field(primary_key=True, max_length=16)
    n: int = 0
    stamp: int = 0


class ItemRedaction(SQLModel, table=True):
    """An item whose public text a village head or admin redacted: `item.title` and `item.description`
    hold the redacted copy everybody reads (pages, Open311, feeds, exports, search); the text as first sent
    stays here, for staff only (civic/items/redaction.py)."""

    __tablename__ = "item_redaction"

    item_id: int = Field(foreign_key="item.id", primary_key=True)
    original_title: str = Field(max_length=160)
    original_description: str = Field(sa_type=Text)
    reason: str = Field(sa_type=Text)  # public
    redacted_by_id: int | None = Field(default=None, foreign_key="user.id")
    redacted_at: datetime = Field(sa_type=DateTime(timezone=True))


class ItemAddition(SQLModel, table=True):
    """Information the reporter added after sending (its photos are attachments owned by it)."""

    __tablename__ = "item_addition"
    __table_args__ = (Index("ix_item_addition_item", "item_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    body: str = Field(default="", sa_type=Text)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class ItemEdit(SQLModel, table=True):
    """One change of an item's title or text by its reporter before triage; staff see every version."""

    __tablename__ = "item_edit"
    __table_args__ = (Index("ix_item_edit_item", "item_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    old_title: str = Field(max_length=160)
    old_description: str = Field(sa_type=Text)
    new_title: str = Field(max_length=160)
    new_description: str = Field(sa_type=Text)
    edited_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
