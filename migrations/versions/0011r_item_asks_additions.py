"""a proposal's asks on the item; additions after sending; the edit history of an item's text

Revision ID: 0011r
Revises: 0011w

A proposal says what it asks each household to give (land in m², money in đồng, labour in person-days,
materials as text): the default the discussion's legal matter is derived from. The reporter may add
dated information and photos to an item at any time (`item_addition`; photos are attachments owned by
the addition) and edit its title and text until triage (`item_edit` keeps each version for staff).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011r"
down_revision: str | None = "0011w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("ask_land_m2", sa.Numeric(precision=14, scale=2), nullable=True))
        batch.add_column(sa.Column("ask_money", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("ask_labour_days", sa.Numeric(precision=14, scale=2), nullable=True))
        batch.add_column(sa.Column("ask_materials", sa.String(length=200), nullable=False, server_default=""))
    op.create_table(
        "item_addition",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_item_addition_item", "item_addition", ["item_id", "id"])
    op.create_table(
        "item_edit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=False),
        sa.Column("old_title", sa.String(length=160), nullable=False),
        sa.Column("old_description", sa.Text(), nullable=False),
        sa.Column("new_title", sa.String(length=160), nullable=False),
        sa.Column("new_description", sa.Text(), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_item_edit_item", "item_edit", ["item_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_item_edit_item", table_name="item_edit")
    op.drop_table("item_edit")
    op.drop_index("ix_item_addition_item", table_name="item_addition")
    op.drop_table("item_addition")
    with op.batch_alter_table("item") as batch:
        for name in ("ask_materials", "ask_labour_days", "ask_money", "ask_land_m2"):
            batch.drop_column(name)
