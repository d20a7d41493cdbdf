"""an index of the matters of the whole commune

Revision ID: 0013d
Revises: 0012p

Every page a village head opens counts, for the number in the navigation, the matters of the whole
commune on which one of their villages has not yet recorded its result. Those matters are few, but
without an index the count walked every item in People discuss to find them. A partial index holds only
the discussions of the whole commune.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013d"
down_revision: str | None = "0012p"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_discussion_commune_scope", "discussion", ["item_id"],
                    sqlite_where=sa.text("scope = 'commune'"), postgresql_where=sa.text("scope = 'commune'"))


def downgrade() -> None:
    op.drop_index("ix_discussion_commune_scope", table_name="discussion")
