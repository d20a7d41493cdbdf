"""Commune, villages and the household register."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class Commune(SQLModel, table=True):
    __tablename__ = "commune"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True)  # prefix of item codes, e.g. "NS"
    name: str = Field(max_length=120)
    kind: str = Field(default="xa", max_length=16)  # xa | phuong | dac_khu
    province: str = Field(default="", max_length=120)
    legacy_district: str = Field(default="", max_length=120)
    # A commune merged into another (the 2025 reorganisation) keeps its row, items and closed audit chain;
    # from `merged_on` the receiving commune continues it.
    merged_into_id: int | None = Field(default=None, foreign_key="commune.id")
    merged_on: date | None = None


class Village(SQLModel, table=True):
    __tablename__ = "village"
    __table_args__ = (UniqueConstraint("commune_id", "slug"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id", index=True)
    name: str = Field(max_length=120)
    slug: str = Field(max_length=120)
    kind: str = Field(default="thon", max_length=16)  # thon | to_dan_pho
    label: str = Field(default="", max_length=40)  # local word: làng, ấp, bản, khu phố…
    # A merged village keeps its row (its items, households and decisions stay as they were on their
    # dates); from `merged_on` its households are in the receiving village.
    merged_into_id: int | None = Field(default=None, foreign_key="village.id")
    merged_on: date | None = None


class Household(SQLModel, table=True):
    __tablename__ = "household"
    __table_args__ = (
        UniqueConstraint("village_id", "code"),
        Index("ix_household_village_active", "village_id", "active_from", "active_to"),
    )

    id: int | None = Field(default=None, primary_key=True)
    village_id: int = Field(foreign_key="village.id")
    code: str = Field(max_length=32)
    head_name: str = Field(default="", max_length=120)  # private: never on a public page
    address: str = Field(default="", max_length=200)  # private, like the head's name
    phone: str | None = Field(default=None, max_length=10)  # private; normalised like users' phones
    active_from: date
    active_to: date | None = None  # the household left the register on this date (exclusive)


class HouseholdMember(SQLModel, table=True):
    __tablename__ = "household_member"
    __table_args__ = (UniqueConstraint("household_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    household_id: int = Field(foreign_key="household.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    is_representative: bool = False
