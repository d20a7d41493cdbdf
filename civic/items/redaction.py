"""Redaction: a village head (or an admin) takes personal details out of an item's public text.

The item keeps one text for everybody who reads it in public: `item.title` and `item.description` become
the redacted copy, so the status page, Open311, the feeds, the exports, the search index and the page cache
all show it with no code of their own. The text as first sent moves to `item_redaction`, which only staff
pages read. The audit event names the reason and the new title's digest, never the words taken out.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from civic import clock
from civic.accounts.service import Viewer
from civic.audit import rules as audit_rules
from civic.audit import service as audit
from civic.db import PlainModels, row_id
from civic.items import rules
from civic.items import service as items
from civic.items.models import Item, ItemRedaction
from civic.items.schemas import RedactForm

_OF_ITEM = select(ItemRedaction).where(col(ItemRedaction.item_id) == bindparam("item_id"))  # built once
_SHOWN = PlainModels(_OF_ITEM, ItemRedaction)


def get(session: Session, item_id: int) -> ItemRedaction | None:
    """The item's redaction, if it has one: a copy to read (a page shows it; `redact` changes its own)."""
    return _SHOWN.first(session, {"item_id": item_id})


def redact(session: Session, item: Item, viewer: Viewer, form: RedactForm) -> ItemRedaction:
    """Replace the item's public title and description with `form`'s, keeping the first original."""
    rules.check_may_redact(viewer.facts(), item.commune_id, item.village_id)
    rules.check_redaction(item.title, item.description, form.title, form.description)
    now = clock.now()
    row = session.execute(_OF_ITEM, {"item_id": row_id(item)}).scalars().first()
    if row is None:  # a second redaction keeps the text as the resident first sent it
        row = ItemRedaction(item_id=row_id(item), original_title=item.title,
                            original_description=item.description, reason=form.reason, redacted_at=now)
    row.reason, row.redacted_by_id, row.redacted_at = form.reason, viewer.id, now
    session.add(row)
    item.title, item.description = form.title, form.description
    # The search index follows the column (triggers on item.search_text): the words taken out stop matching.
    items.reindex(item)
    item.updated_at = now
    session.add(item)
    session.flush()
    role = "village_head" if item.village_id in viewer.villages("village_head") else "admin"
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="redacted",
                 actor_id=viewer.id, actor_role=role,
                 payload={"code": item.code, "reason": form.reason,
                          "title_sha256": audit_rules.text_digest(item.title),
                          "description_sha256": audit_rules.text_digest(item.description)})
    return row
