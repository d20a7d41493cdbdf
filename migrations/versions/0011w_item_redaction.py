"""an item's redacted public text: the text as first sent, kept for staff, and the public reason

Revision ID: 0011w
Revises: 0011t

A village head (or an admin) may take personal details out of an item's public title and description.
`item.title` and `item.description` then hold the redacted copy that every public reader shows; the row of
`item_redaction` keeps the original text, for staff only, and the reason shown to the public.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011w"
down_revision: str | None = "0011t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "item_redaction",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("original_title", sa.String(length=160), nullable=False),
        sa.Column("original_description", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("redacted_by_id", sa.Integer(), nullable=True),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=False),
        _fk("item_redaction", "item_id", "item"),
        _fk("item_redaction", "redacted_by_id", "user"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_redaction")),
    )


def downgrade() -> None:
    op.drop_table("item_redaction")
