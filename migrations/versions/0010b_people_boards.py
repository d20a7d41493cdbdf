"""people's boards: the inspection and investment supervision boards, their members, the sign-off votes,
the checklist entry a finding covers, and a land consent confirmed in person

Revision ID: 0010b
Revises: 0010d
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010b"
down_revision: str | None = "0010d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("commune.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=True),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("village.id"), nullable=True),
        sa.Column("elected_on", sa.Date(), nullable=False),
        sa.Column("election_ref", sa.String(length=120), nullable=False),
        sa.Column("election_item_id", sa.Integer(), sa.ForeignKey("item.id"), nullable=True),
        sa.Column("term_starts_on", sa.Date(), nullable=False),
        sa.Column("term_ends_on", sa.Date(), nullable=True),
        sa.Column("decision_no", sa.String(length=60), nullable=False),
        sa.Column("recognised_on", sa.Date(), nullable=True),
        sa.Column("recognised_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
    )
    op.create_index("ix_board_commune_id", "board", ["commune_id"])
    op.create_index("ix_board_item_id", "board", ["item_id"])
    op.create_table(
        "board_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("board_id", sa.Integer(), sa.ForeignKey("board.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("household.id"), nullable=False),
        sa.Column("village_id", sa.Integer(), sa.ForeignKey("village.id"), nullable=False),
        sa.Column("position", sa.String(length=16), nullable=False),
        sa.Column("grant_id", sa.Integer(), sa.ForeignKey("role_grant.id"), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.UniqueConstraint("board_id", "user_id"),
    )
    op.create_index("ix_board_member_board_id", "board_member", ["board_id"])
    op.create_index("ix_board_member_user_id", "board_member", ["user_id"])
    op.create_table(
        "sign_off_vote",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("inspection_id", sa.Integer(), sa.ForeignKey("inspection.id"), nullable=False),
        sa.Column("board_id", sa.Integer(), sa.ForeignKey("board.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("agree", sa.Boolean(), nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("inspection_id", "user_id"),
    )
    op.create_index("ix_sign_off_vote_inspection_id", "sign_off_vote", ["inspection_id"])
    with op.batch_alter_table("finding") as batch:
        batch.add_column(sa.Column("checklist_entry_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_finding_checklist_entry_id_checklist_entry", "checklist_entry",
                                 ["checklist_entry_id"], ["id"])
    with op.batch_alter_table("pledge") as batch:
        batch.add_column(sa.Column("consent_in_person", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("pledge") as batch:
        batch.drop_column("consent_in_person")
    with op.batch_alter_table("finding") as batch:
        batch.drop_constraint("fk_finding_checklist_entry_id_checklist_entry", type_="foreignkey")
        batch.drop_column("checklist_entry_id")
    op.drop_index("ix_sign_off_vote_inspection_id", "sign_off_vote")
    op.drop_table("sign_off_vote")
    op.drop_index("ix_board_member_user_id", "board_member")
    op.drop_index("ix_board_member_board_id", "board_member")
    op.drop_table("board_member")
    op.drop_index("ix_board_item_id", "board")
    op.drop_index("ix_board_commune_id", "board")
    op.drop_table("board")
