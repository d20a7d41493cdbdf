"""media: attachments (photos and documents as evidence)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("owner_kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("thumb_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("original_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumb_width", sa.Integer(), nullable=False),
        sa.Column("thumb_height", sa.Integer(), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("source_bytes", sa.Integer(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hidden_by_id", sa.Integer(), nullable=True),
        sa.Column("hidden_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["commune.id"], name=op.f("fk_attachment_commune_id_commune")),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_attachment_item_id_item")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_attachment_created_by_id_user")),
        sa.ForeignKeyConstraint(["hidden_by_id"], ["user.id"], name=op.f("fk_attachment_hidden_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    op.create_index("ix_attachment_item", "attachment", ["item_id", "id"], unique=False)
    op.create_index("ix_attachment_owner", "attachment", ["owner_kind", "owner_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attachment_owner", table_name="attachment")
    op.drop_index("ix_attachment_item", table_name="attachment")
    op.drop_table("attachment")
