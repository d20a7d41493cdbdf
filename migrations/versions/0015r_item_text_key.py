"""a digest of each item's folded text, so the look for a repeated submission reads only real repeats

Revision ID: 0015r
Revises: 0014a

A submission is a repeat when the same reporter sent the same words (whatever the case, accents or
spacing: civic.items.rules.text_key) within minutes. The look read every item the reporter sent in those
minutes and folded each one's text in Python, inside the writing transaction that every other submission
waits for. `text_key_sha256` holds the digest of the folded title and text (kept by the item services
whenever the words change), so the look asks the database for the reporter's items with that digest
only. Items older than this column have none: the look still compares their words, as before.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015r"
down_revision: str | None = "0014a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("item", sa.Column("text_key_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # In place (SQLite 3.35+): a batch copy could not rename the table while the item triggers name it.
        op.execute("ALTER TABLE item DROP COLUMN text_key_sha256")
    else:
        op.drop_column("item", "text_key_sha256")
