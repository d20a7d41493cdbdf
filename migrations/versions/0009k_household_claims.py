"""households: claim codes of printed letters, and requests to join a household

Revision ID: 0009k
Revises: 0008a
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009k"
down_revision: str | None = "0008a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_claim_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_household_claim_code_household_id_household")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["user.id"],
                                name=op.f("fk_household_claim_code_issued_by_id_user")),
        sa.ForeignKeyConstraint(["used_by_id"], ["user.id"], name=op.f("fk_household_claim_code_used_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_claim_code")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_household_claim_code_code_hash")),
    )
    with op.batch_alter_table("household_claim_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_claim_code_household_id"), ["household_id"], unique=False)
    op.create_table(
        "household_join_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"],
                                name=op.f("fk_household_join_request_household_id_household")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_household_join_request_user_id_user")),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"],
                                name=op.f("fk_household_join_request_decided_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_join_request")),
    )
    with op.batch_alter_table("household_join_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_join_request_household_id"), ["household_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_household_join_request_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("household_join_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_join_request_user_id"))
        batch_op.drop_index(batch_op.f("ix_household_join_request_household_id"))
    op.drop_table("household_join_request")
    with op.batch_alter_table("household_claim_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_claim_code_household_id"))
    op.drop_table("household_claim_code")
