"""set-up from zero and village merges: the set-up nonce, and a merged village's receiver and date

Revision ID: 0009v
Revises: 0009r

`setup_nonce` holds a random value: the one-time set-up code shown in the server's log is an HMAC of the
oldest under the secret key, so the database never holds the code itself. A merged village keeps its row and
says into which village and from which date it was merged.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009v"
down_revision: str | None = "0009r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "setup_nonce",
        sa.Column("nonce", sa.String(length=64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("village") as batch:
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("merged_on", sa.Date(), nullable=True))
        batch.create_foreign_key("fk_village_merged_into_id_village", "village", ["merged_into_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("village") as batch:
        batch.drop_constraint("fk_village_merged_into_id_village", type_="foreignkey")
        batch.drop_column("merged_on")
        batch.drop_column("merged_into_id")
    op.drop_table("setup_nonce")
