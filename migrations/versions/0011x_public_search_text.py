"""the search text of an item the public sees by its title only holds only its title

Revision ID: 0011x
Revises: 0011r

Until the village head accepts an item, and when it was closed without being taken up, the public sees
its title and village only (civic.items.rules.shows_detail); the public search must not find it by the
words of its description or address either. Items already stored are re-indexed here; from now on the
services keep `item.search_text` to what the public sees (civic.items.service.reindex).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011x"
down_revision: str | None = "0011r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HIDDEN = sa.text("SELECT id, title, description, address, stage, outcome FROM item WHERE stage = 'submitted' "
                  "OR outcome IN ('rejected', 'duplicate', 'redirected', 'withdrawn')")


def upgrade() -> None:
    from civic.config import get_settings
    from civic.items import rules

    bind = op.get_bind()
    detail = get_settings().untriaged_public_detail
    update = sa.text("UPDATE item SET search_text = :t WHERE id = :i")
    for row in bind.execute(_HIDDEN).all():
        folded = rules.searchable_text(row.title, row.description, row.address, stage=row.stage,
                                       outcome=row.outcome, untriaged_detail=detail)
        bind.execute(update, {"t": folded, "i": row.id})


def downgrade() -> None:
    from civic.items import rules

    bind = op.get_bind()
    update = sa.text("UPDATE item SET search_text = :t WHERE id = :i")
    for row in bind.execute(_HIDDEN).all():
        bind.execute(update, {"t": rules.fold(f"{row.title} {row.description} {row.address}"), "i": row.id})
