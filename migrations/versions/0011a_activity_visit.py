"""activity: a person's last visit to their activity page

Revision ID: 0011a
Revises: 0010m
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011a"
down_revision: str | None = "0010m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_visit",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visit_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_activity_visit_user_id_user")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_activity_visit")),
    )


def downgrade() -> None:
    op.drop_table("activity_visit")
