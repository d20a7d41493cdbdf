"""category: a minimum disclosure period of at least one day

Revision ID: 0007h
Revises: 0006g

A minimum of 0 days let an item skip Dân biết (Law 10/2022/QH15: households are told before they decide);
the admin form now refuses it, and categories saved with 0 before are raised to one day.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0007h"
down_revision: str | None = "0006g"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE category SET min_disclosure_days = 1 WHERE min_disclosure_days < 1")


def downgrade() -> None:
    pass  # the days that were 0 are not known any more; one day is what the law allows at least
