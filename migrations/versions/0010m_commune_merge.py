"""several communes in one deployment: a merged commune says into which commune and from which date

Revision ID: 0010m
Revises: 0010b

A commune merged into another (the 2025 reorganisation) keeps its row, its items and their codes, and its
closed audit chain (`audit_head.closed`: no event is appended to it any more); `merged_into_id` and `merged_on` name the commune that continues it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010m"
down_revision: str | None = "0010b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("commune") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("merged_on", sa.Date(), nullable=True))
        batch.create_foreign_key("fk_commune_merged_into_id_commune", "commune", ["merged_into_id"], ["id"])
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("closed")
    with op.batch_alter_table("commune") as batch:
        batch.drop_constraint("fk_commune_merged_into_id_commune", type_="foreignkey")
        batch.drop_column("merged_on")
        batch.drop_column("merged_into_id")
