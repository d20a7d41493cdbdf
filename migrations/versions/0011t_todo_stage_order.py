"""the staff to-do reads a village's items of one stage, the longest in the stage first

Revision ID: 0011t
Revises: 0011a

The to-do of a village head (civic/workspace) takes, for each stage, the items that entered it first. For a
head of a few villages their (village, stage, created_at) ranges are small and sorted; for a head of many
(every village of a commune) an index on (stage, stage_changed_at) gives the page in order, read until
enough of the head's villages' items are found, instead of sorting the whole stage.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0011t"
down_revision: str | None = "0011a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_item_stage_changed", "item", ["stage", "stage_changed_at"])


def downgrade() -> None:
    op.drop_index("ix_item_stage_changed", table_name="item")
