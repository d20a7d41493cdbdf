"""Attachments: photos and documents that serve as evidence for an item or for something of an item.

An attachment belongs to an item, and optionally to one row of another table named by
(owner_kind, owner_id) — a meeting's minutes, a delivery's photo, an inspection's photos — so that no
other table needs a foreign key to this one. The files themselves are stored by content hash
(civic/media/storage.py); a row names them by key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Text
from sqlmodel import Field, SQLModel


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    __table_args__ = (
        Index("ix_attachment_item", "item_id", "id"),
        Index("ix_attachment_owner", "owner_kind", "owner_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    item_id: int = Field(foreign_key="item.id")
    owner_kind: str = Field(default="", max_length=32)  # "" for the item itself, else e.g. "meeting"
    owner_id: int | None = None
    purpose: str = Field(max_length=32)  # evidence, minutes, consent, delivery, progress, inspection…
    kind: str = Field(max_length=16)  # photo | document
    private: bool = False
    filename: str = Field(default="", max_length=100)  # cleaned name, shown for documents
    content_type: str = Field(max_length=64)  # of the display file
    display_key: str = Field(max_length=120)  # a photo's display size, or the document
    thumb_key: str = Field(default="", max_length=120)
    original_key: str = Field(default="", max_length=120)  # only with settings.keep_originals
    width: int = 0
    height: int = 0
    thumb_width: int = 0
    thumb_height: int = 0
    byte_size: int = 0  # of the display file or document
    source_bytes: int = 0  # as uploaded
    pages: int | None = None
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    hidden_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    hidden_by_id: int | None = Field(default=None, foreign_key="user.id")
    hidden_reason: str = Field(default="", sa_type=Text)

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None
