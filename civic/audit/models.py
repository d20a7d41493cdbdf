"""The hash-chained event log, one chain per commune."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class AuditHead(SQLModel, table=True):
    """The head of a commune's chain; its row is locked while an event is appended."""

    __tablename__ = "audit_head"

    commune_id: int = Field(foreign_key="commune.id", primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)
    # A commune merged into another: its chain ended with its last event and checkpoint, and takes no more.
    closed: bool = False


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("commune_id", "seq"),
        Index("ix_audit_event_item", "item_id", "seq"),
    )

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    seq: int
    item_id: int | None = Field(default=None, foreign_key="item.id")
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    actor_role: str = Field(default="", max_length=16)
    action: str = Field(max_length=40)
    payload: str = Field(sa_type=Text)  # canonical JSON: public facts only
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed, dated copy of a commune's chain head, taken by `civic audit checkpoint` (a nightly cron).

    Published on /audit and in /audit/checkpoints.json so partners keep copies outside this database: a
    chain that was cut back below a checkpoint, or rewritten before it, no longer leads to it (OWASP ASVS
    v4 7.3.3, protecting logs from modification)."""

    __tablename__ = "audit_checkpoint"
    __table_args__ = (Index("ix_audit_checkpoint_commune_seq", "commune_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    seq: int
    hash: str = Field(max_length=64)
    taken_at: datetime = Field(sa_type=DateTime(timezone=True))
    key_id: str = Field(max_length=16)  # the first hex digits of the public key's SHA-256
    signature: str = Field(max_length=100)  # Ed25519 over rules.checkpoint_message(...), base64
