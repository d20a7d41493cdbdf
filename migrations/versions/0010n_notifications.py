"""notifications: follows, preferences, the outbox

Revision ID: 0010n
Revises: 0009v
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010n"
down_revision: str | None = "0009v"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "notify_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        _fk("notify_follow", "commune_id", "commune"),
        _fk("notify_follow", "item_id", "item"),
        _fk("notify_follow", "user_id", "user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_follow")),
    )
    with op.batch_alter_table("notify_follow", schema=None) as batch_op:
        batch_op.create_index("ix_notify_follow_item", ["item_id", "confirmed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_follow_user_id"), ["user_id"], unique=False)
    op.create_table(
        "notify_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.String(length=40), nullable=False),
        sa.Column("quiet_from", sa.Integer(), nullable=False),
        sa.Column("quiet_to", sa.Integer(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("push_subscription", sa.Text(), nullable=False),
        _fk("notify_preference", "user_id", "user"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notify_preference")),
    )
    op.create_table(
        "notify_stop",
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address_hash", name=op.f("pk_notify_stop")),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        _fk("notify_outbox", "commune_id", "commune"),
        _fk("notify_outbox", "item_id", "item"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notify_outbox_idempotency_key")),
    )
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notify_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_notify_outbox_commune", ["commune_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("notify_outbox")
    op.drop_table("notify_stop")
    op.drop_table("notify_preference")
    op.drop_table("notify_follow")
