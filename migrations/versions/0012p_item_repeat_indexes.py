"""indexes for the look for a repeated submission: a phone's and a village head's items of the last minutes

Revision ID: 0012p
Revises: 0012b

A submission is a repeat when the same reporter sent the same text within minutes
(civic.items.rules.is_repeat). The reporter is found by account (ix_item_reporter), by the phone of an
item sent without an account, or by the village head who filed it on a resident's behalf: each now has
an index that ends with the time it was sent, so the look reads only that reporter's last items instead
of every item the commune received in those minutes (inside the writing transaction).
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0012p"
down_revision: str | None = "0012b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_item_phone_created", "item", ["contact_phone", "created_at"])
    op.create_index("ix_item_entered_by_created", "item", ["entered_by_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_item_entered_by_created", table_name="item")
    op.drop_index("ix_item_phone_created", table_name="item")
