"""the household register from a spreadsheet: a household's address and (private) phone

Revision ID: 0009r
Revises: 0009p

A commune loads its household register from an XLSX or CSV file (civic/areas/register.py). The file
carries each household's address and, optionally, a phone number; both are private like the head's name.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009r"
down_revision: str | None = "0009p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("household") as batch:
        batch.add_column(sa.Column("address", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("phone", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("household") as batch:
        batch.drop_column("phone")
        batch.drop_column("address")
