"""board changes after recognition: a member's time in office (from, until, why they left, the village
meeting and the commune's decision of a member who joined later, whom they replaced) and a board ended
before its term

Revision ID: 0012b
Revises: 0012c

Members of boards already recognised are in office from the day their role started (the later of the
recognition and the term's start).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012b"
down_revision: str | None = "0012c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("board") as batch:
        batch.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("end_decision_no", sa.String(length=60), nullable=False, server_default=""))
    with op.batch_alter_table("board_member") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.String(length=16), nullable=False, server_default=""))
        batch.add_column(sa.Column("elected_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("election_ref", sa.String(length=120), nullable=False, server_default=""))
        batch.add_column(sa.Column("decision_no", sa.String(length=60), nullable=False, server_default=""))
        batch.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_board_member_replaces_id_board_member", "board_member",
                                 ["replaces_id"], ["id"])
    op.execute(sa.text(
        "UPDATE board_member SET starts_on = (SELECT CASE WHEN board.recognised_on > board.term_starts_on "
        "THEN board.recognised_on ELSE board.term_starts_on END FROM board "
        "WHERE board.id = board_member.board_id) "
        "WHERE board_id IN (SELECT id FROM board WHERE recognised_on IS NOT NULL)"))


def downgrade() -> None:
    with op.batch_alter_table("board_member") as batch:
        batch.drop_constraint("fk_board_member_replaces_id_board_member", type_="foreignkey")
        for name in ("replaces_id", "decision_no", "election_ref", "elected_on", "end_reason", "ends_on",
                     "starts_on"):
            batch.drop_column(name)
    # Plain column drops (SQLite has them since 3.35): a batch would copy `board`, and SQLite refuses to
    # drop the old table while the members' foreign keys point at it.
    for name in ("end_decision_no", "end_reason", "ended_on"):
        op.drop_column("board", name)
