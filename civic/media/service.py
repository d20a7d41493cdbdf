"""Attach photos and documents to items, list them for a page, hide one, find one to serve.

The only code that changes attachments: it asks the rules, stores the files, adds the row, records one
audit event (ids and public facts only) and flushes — it never commits. Files written for a transaction
that rolls back are removed again (storage.py), so a refused or failed request leaves nothing behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Integer, bindparam, select
from sqlmodel import Session, col

from civic import clock
from civic.audit import service as audit
from civic.config import get_settings
from civic.core.facts import ActorFacts
from civic.db import PlainModels
from civic.errors import N_, NotFound
from civic.items.models import Item
from civic.media import processing, rules, storage
from civic.media.models import Attachment
from civic.media.schemas import FileField, HideForm, Prepared, Upload

__all__ = ["Upload", "Prepared", "FileField", "prepare", "prepare_files", "attach", "list_for", "hide", "get",
           "fetchable"]


def prepare(upload: Upload, *, accept: tuple[str, ...] = rules.KINDS, field: str = "file") -> Prepared:
    """Check and process an upload without a database (the slow part); Invalid/TooLarge when refused."""
    settings = get_settings()
    return processing.prepare(upload, accept=accept, field=field, max_bytes=settings.upload_max_bytes,
                              keep_original=settings.keep_originals)


def prepare_files(uploads: Mapping[str, Sequence[Upload]], fields: Mapping[str, FileField]
                  ) -> dict[str, list[Prepared]]:
    """Every file of a form checked and processed, before any transaction; the first refusal raises,
    naming its field."""
    out: dict[str, list[Prepared]] = {}
    for name, spec in fields.items():
        out[name] = [prepare(u, accept=spec.accept, field=name) for u in uploads.get(name, ())]
    return out


def attach(session: Session, *, item: Item, upload: Prepared, purpose: str, actor_id: int | None,
           private: bool = False, owner_kind: str = "", owner_id: int | None = None, actor_role: str = "",
           accept: tuple[str, ...] = rules.KINDS, field: str = "file") -> Attachment:
    """Store one prepared file as evidence for `item` (or for one of its rows); returns the row.

    Preparing (checks, decoding, turning, resizing: prepare()) is the slow part and happens before the
    writing transaction (civic.web.forms.post_form does it for every form), so only storing is left here.
    A file of a kind the purpose does not take is Invalid, with `field` as the form field. Consent scans are
    private whatever `private` says.
    """
    rules.check_purpose(purpose)
    rules.check_owner(owner_kind, owner_id)
    prepared = upload
    if prepared.kind not in accept:
        rules.check_kind(None, accept, prepared.filename, field)
    display_key = storage.put(session, prepared.display.data, prepared.display.ext)
    thumb_key = storage.put(session, prepared.thumb.data, prepared.thumb.ext) if prepared.thumb else ""
    original_key = (storage.put(session, prepared.original.data, prepared.original.ext) if prepared.original
                    else "")
    assert item.id is not None  # the item was loaded from the database
    att = Attachment(
        commune_id=item.commune_id, item_id=item.id, owner_kind=owner_kind, owner_id=owner_id,
        purpose=purpose, kind=prepared.kind, private=rules.is_private(purpose, private),
        filename=prepared.filename, content_type=prepared.display.content_type,
        display_key=display_key, thumb_key=thumb_key, original_key=original_key,
        width=prepared.display.width, height=prepared.display.height,
        thumb_width=prepared.thumb.width if prepared.thumb else 0,
        thumb_height=prepared.thumb.height if prepared.thumb else 0,
        byte_size=len(prepared.display.data), source_bytes=prepared.source_bytes, pages=prepared.pages,
        created_by_id=actor_id, created_at=clock.now(),
    )
    session.add(att)
    session.flush()
    payload = {"attachment_id": att.id, "kind": att.kind, "purpose": purpose, "private": att.private}
    if owner_kind:
        payload.update(owner_kind=owner_kind, owner_id=owner_id)
    audit.record(session, commune_id=item.commune_id, item_id=item.id, action="attached", actor_id=actor_id,
                 actor_role=actor_role, payload=payload)
    return att


# The attachments of one item, built once (building a select() costs more than running it), read as plain
# rows made into models: an item's page only shows them.
_OF_ITEM = PlainModels(select(Attachment).where(col(Attachment.item_id) == bindparam("item_id"))
                       .order_by(col(Attachment.item_id), col(Attachment.id))
                       .limit(bindparam("limit", type_=Integer)), Attachment)


def list_for(session: Session, items: Item | int | Iterable[Item | int], owner_kind: str | None = None,
             owner_id: int | None = None, limit: int = 500) -> list[Attachment]:
    """The attachments of one or several items (optionally of one owner kind / owner), in ONE query,
    oldest first, to read (one item's are copies read plain). What a viewer may see is decided by
    view_state()/the web layer."""
    if isinstance(items, (Item, int)):
        items = [items]
    ids = [i.id if isinstance(i, Item) else int(i) for i in items]
    if not ids:
        return []
    if len(ids) == 1 and owner_kind is None and owner_id is None:  # an item's page
        return _OF_ITEM.objects(session, {"item_id": ids[0], "limit": limit})
    stmt = select(Attachment).where(col(Attachment.item_id).in_(ids))
    if owner_kind is not None:
        stmt = stmt.where(col(Attachment.owner_kind) == owner_kind)
    if owner_id is not None:
        stmt = stmt.where(col(Attachment.owner_id) == owner_id)
    return list(session.execute(stmt.order_by(col(Attachment.item_id), col(Attachment.id))
                                .limit(limit)).scalars())


def by_owner(attachments: Iterable[Attachment]) -> dict[tuple[str, int | None], list[Attachment]]:
    """Group rows by (owner_kind, owner_id); the item's own ones under ("", None)."""
    out: dict[tuple[str, int | None], list[Attachment]] = defaultdict(list)
    for a in attachments:
        out[(a.owner_kind, a.owner_id)].append(a)
    return dict(out)


def get(session: Session, attachment_id: int) -> Attachment:
    att = session.get(Attachment, attachment_id)
    if att is None:
        raise NotFound(N_("This file does not exist."))
    return att


def village_of(session: Session, att: Attachment) -> int:
    return session.execute(select(col(Item.village_id)).where(col(Item.id) == att.item_id)).scalar_one()


def view_state(att: Attachment, village_id: int, actor: ActorFacts) -> str:
    return rules.view_state(private=att.private, hidden=att.hidden, commune_id=att.commune_id,
                            village_id=village_id, actor=actor)


def fetchable(session: Session, attachment_id: int, actor: ActorFacts, variant: str = "display"
              ) -> Attachment:
    """The attachment if this viewer may download it; NotFound otherwise (existence does not leak).
    A kept original still carries its EXIF (GPS, camera): it is treated as private."""
    att = get(session, attachment_id)
    private = att.private or variant == "original"
    if not rules.may_fetch(private=private, hidden=att.hidden, commune_id=att.commune_id,
                           village_id=village_of(session, att), actor=actor):
        raise NotFound(N_("This file does not exist."))
    return att


def hide(session: Session, att: Attachment, actor: ActorFacts, form: HideForm, actor_role: str = ""
         ) -> Attachment:
    """Hide a public photo or document from the public, with a public reason (a face, a number plate)."""
    village_id = village_of(session, att)
    if not rules.may_fetch(private=att.private, hidden=att.hidden, commune_id=att.commune_id,
                           village_id=village_id, actor=actor) and att.private:
        raise NotFound(N_("This file does not exist."))
    rules.check_hide(private=att.private, hidden=att.hidden, commune_id=att.commune_id, village_id=village_id,
                     actor=actor)
    text = form.reason
    att.hidden_at = clock.now()
    att.hidden_by_id = actor.user_id
    att.hidden_reason = text
    session.add(att)
    session.flush()
    if not actor_role:
        actor_role = ("village_head" if village_id in actor.head_villages else
                      "supervisor" if att.commune_id in actor.supervisor_communes else "admin")
    audit.record(session, commune_id=att.commune_id, item_id=att.item_id, action="attachment_hidden",
                 actor_id=actor.user_id, actor_role=actor_role,
                 payload={"attachment_id": att.id, "kind": att.kind, "reason": text})
    return att
