"""Follows, preferences and the outbox of messages the worker delivers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Text
from sqlmodel import Field, SQLModel


class Follow(SQLModel, table=True):
    """Someone who hears about an item: an account (user_id), or a phone number or e-mail address confirmed
    with a one-time code (only its hash is kept). A follow without confirmed_at sends nothing."""

    __tablename__ = "notify_follow"
    __table_args__ = (Index("ix_notify_follow_item", "item_id", "confirmed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    item_id: int = Field(foreign_key="item.id")
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    channel: str = Field(default="", max_length=8)  # "" (the account's channels) | sms | email
    address: str = Field(default="", max_length=254)  # the phone or e-mail address (private)
    language: str = Field(default="vi", max_length=2)
    code_hash: str = Field(default="", max_length=64)  # the one-time code or link token, hashed
    code_expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    attempts: int = 0
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    confirmed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    stopped_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class NotifyPreference(SQLModel, table=True):
    """How an account wants to hear: its channels, quiet hours (local time) and a daily digest."""

    __tablename__ = "notify_preference"

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    channels: str = Field(default="email,sms", max_length=40)  # comma-separated channel names
    quiet_from: int = 0  # hours, Vietnam time; equal: no quiet hours of their own
    quiet_to: int = 0
    digest: bool = False
    language: str = Field(default="vi", max_length=2)
    stopped: bool = False  # "stop everything"
    push_subscription: str = Field(default="", sa_type=Text)  # the browser's Web Push subscription (JSON)


class NotifyStop(SQLModel, table=True):
    """A phone number or e-mail address that asked to hear nothing more (a stop link, or "TU CHOI" by SMS);
    only its hash is kept."""

    __tablename__ = "notify_stop"

    address_hash: str = Field(max_length=64, primary_key=True)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))


class Outbox(SQLModel, table=True):
    """One message for one recipient on one channel, written in the transaction of the audited change that
    caused it. The worker claims rows whose next_attempt_at has come and delivers them."""

    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ix_notify_outbox_due", "status", "next_attempt_at"),
                      Index("ix_notify_outbox_commune", "commune_id", "status"))

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    event_id: int | None = None  # the audit event that caused it (no foreign key: the chain stands alone)
    item_id: int | None = Field(default=None, foreign_key="item.id")
    kind: str = Field(max_length=40)  # what happened: stage_changed, new_item, meeting_scheduled…
    channel: str = Field(max_length=8)  # email | sms | push | zalo
    recipient: str = Field(max_length=40)  # u:<user id> | f:<follow id>: who, without personal data
    address: str = Field(default="", max_length=1000)  # phone, e-mail or push subscription; erased later
    subject: str = Field(default="", max_length=200)
    body: str = Field(sa_type=Text)
    idempotency_key: str = Field(max_length=64, unique=True)
    status: str = Field(default="queued", max_length=12)  # queued | sending | sent | dead | no_channel
    attempts: int = 0
    urgent: bool = False  # a meeting change within 24 hours: quiet hours do not hold it back
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True))
    claimed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_error: str = Field(default="", max_length=300)
