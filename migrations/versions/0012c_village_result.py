"""a matter of the whole commune: each village's result, added up by the commune

Revision ID: 0012c
Revises: 0012f

For a matter of the whole commune (Law 10/2022/QH15 Art. 15(1), 21) each village meets separately and its
village head records its result once (`village_result`, unique per item and village); the commune closes
the decision by adding the villages' results up on one decision date, and records why when a village did
not report (`decision.unreported_reason`).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012c"
down_revision: str | None = "0012f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("unreported_reason", sa.String(length=400), nullable=False,
                                   server_default=""))
    op.create_table(
        "village_result",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=False),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("village.id"), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False, server_default=""),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("households_total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("households_present", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("yes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("no", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("abstain", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decision.id"), nullable=True),
        sa.Column("counted_households", sa.Integer(), nullable=True),
        sa.Column("counted_present", sa.Integer(), nullable=True),
        sa.Column("counted_yes", sa.Integer(), nullable=True),
        sa.Column("counted_no", sa.Integer(), nullable=True),
        sa.Column("counted_abstain", sa.Integer(), nullable=True),
        sa.UniqueConstraint("item_id", "village_id", name="uq_village_result_item_id"),
    )
    op.create_index("ix_village_result_item_id", "village_result", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_village_result_item_id", table_name="village_result")
    op.drop_table("village_result")
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("unreported_reason")
