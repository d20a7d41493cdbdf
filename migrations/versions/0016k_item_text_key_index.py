"""the look for a repeated submission reads the digest's index, not every item the reporter sent

Revision ID: 0016k
Revises: 0015r

The look for a repeat (civic.items.rules.is_repeat) read the reporter's items of the last minutes by the
phone's or the village head's index (0012p) and kept those with the same digest of the words (0015r): one
phone that sent a thousand items in those minutes made every next submission read a thousand rows, inside
the writing transaction that all other submissions wait for. `ix_item_text_key_created` finds the items
with the same words, and those of the last minutes from before the digest was kept, in a few rows. The two indexes of
0012p served only that look and are dropped: an item written keeps one index fewer up to date.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0016k"
down_revision: str | None = "0015r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_item_text_key_created", "item", ["text_key_sha256", "created_at"])
    op.drop_index("ix_item_entered_by_created", table_name="item")
    op.drop_index("ix_item_phone_created", table_name="item")


def downgrade() -> None:
    op.create_index("ix_item_phone_created", "item", ["contact_phone", "created_at"])
    op.create_index("ix_item_entered_by_created", "item", ["entered_by_id", "created_at"])
    op.drop_index("ix_item_text_key_created", table_name="item")
