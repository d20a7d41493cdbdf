"""the village Front work committee's answer to an online vote, recorded by the committee's head

Revision ID: 0012f
Revises: 0011x

Decree 59/2023/NĐ-CP Art. 5: an online vote in a village needs the agreement of the village head and of
the village Front work committee. The head of that committee records its agreement (date, minutes
reference, note) or its refusal (reason) from their own account; a withdrawn answer keeps its row.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012f"
down_revision: str | None = "0011x"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "front_agreement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=False),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("village.id"), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("minutes_ref", sa.String(length=120), nullable=False, server_default=""),
        sa.Column("note", sa.String(length=400), nullable=False, server_default=""),
        sa.Column("reason", sa.String(length=400), nullable=False, server_default=""),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("withdraw_reason", sa.String(length=400), nullable=False, server_default=""),
    )
    op.create_index("ix_front_agreement_item", "front_agreement", ["item_id", "id"])
    op.create_index("uq_front_agreement_standing", "front_agreement", ["item_id"], unique=True,
                    sqlite_where=sa.text("withdrawn_at IS NULL"), postgresql_where=sa.text("withdrawn_at IS NULL"))


def downgrade() -> None:
    op.drop_index("uq_front_agreement_standing", table_name="front_agreement")
    op.drop_index("ix_front_agreement_item", table_name="front_agreement")
    op.drop_table("front_agreement")
