"""Serving stored photos and documents, and hiding a public photo with a reason.

Files are served under /media/<id>/<variant>-<hash>.<ext>: the URL names the content, so a public file is
cached for a year. A private file (a consent scan, anything marked private) and a hidden photo are served
only to the item's village head and the commune's supervisors and admins — to anyone else the answer
is 404, as if it did not exist. What a viewer may see is decided by civic.media.rules.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlmodel import Session

from civic.errors import N_, NotFound
from civic.items.models import Item
from civic.media import rules, storage
from civic.media import service as media
from civic.media.models import Attachment
from civic.media.schemas import HideForm
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, Db, RowId, reading
from civic.web.forms import Done, FormState, post_form
from civic.web.views import item_page_context, status_section

router = APIRouter()
register_forms(HideForm)

PUBLIC_CACHE = "public, max-age=31536000, immutable"
PRIVATE_CACHE = "private, max-age=3600"
VARIANTS = ("display", "thumb", "original")
# A file is never a page of this site: `sandbox` gives it an origin of its own with no scripts, forms or
# plug-ins, should a browser ever render it as a document (OWASP ASVS 4.0 12.5.2 / 5.0 V5.4.2). A photo is
# still shown inline (the browser draws it in a document of its own making, with inline styles).
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
DOCUMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
IMAGE_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png", "heic": "image/heic"}


def file_url(att: Attachment, variant: str = "display") -> str:
    key = {"display": att.display_key, "thumb": att.thumb_key, "original": att.original_key}[variant]
    if not key:
        return ""
    ext = key.rsplit(".", 1)[-1]
    return f"/media/{att.id}/{variant}-{storage.digest_of(key)[:16]}.{ext}"


@dataclass
class AttachmentView:
    """An attachment as one viewer sees it: `state` is "show", "hidden" (a notice) or "none"."""

    att: Attachment
    state: str
    can_hide: bool

    def __getattr__(self, name: str) -> Any:
        return getattr(self.att, name)

    @property
    def display_url(self) -> str:
        return file_url(self.att, "display")

    @property
    def thumb_url(self) -> str:
        return file_url(self.att, "thumb")

    @property
    def size_kb(self) -> int:
        return max(1, round(self.att.byte_size / 1024))


def views(attachments: list[Attachment], item: Item, viewer) -> list[AttachmentView]:
    """What this viewer sees of these attachments of one item (private ones only for its officials)."""
    facts = viewer.facts()
    out = []
    for a in attachments:
        state = rules.view_state(private=a.private, hidden=a.hidden, commune_id=a.commune_id,
                                 village_id=item.village_id, actor=facts)
        if state == rules.NONE:
            continue
        can_hide = rules.may_hide(private=a.private, hidden=a.hidden, commune_id=a.commune_id,
                                  village_id=item.village_id, actor=facts)
        out.append(AttachmentView(a, state, can_hide))
    return out


@status_section
def page_context(db: Session, web: Web, item: Item) -> dict[str, Any]:
    """For item pages: the item's own attachments, and all of them by (owner_kind, owner_id), in one query."""
    all_views = views(media.list_for(db, item), item, web.viewer)
    by_owner: dict[tuple[str, int | None], list[AttachmentView]] = {}
    for v in all_views:
        by_owner.setdefault((v.owner_kind, v.owner_id), []).append(v)
    return {"attachments": by_owner.get(("", None), []), "attachments_by_owner": by_owner,
            "media_form": {}}


# --- serving ------------------------------------------------------------------------------------------

@router.api_route("/media/{attachment_id}/{name}", methods=["GET", "HEAD"], name="media_file",
                  include_in_schema=False)
def media_file(web: CurrentWeb, db: Db, attachment_id: RowId, name: str):
    variant = name.partition("-")[0]
    if variant not in VARIANTS:
        raise NotFound(N_("This file does not exist."))
    att = media.fetchable(db, attachment_id, web.viewer.facts(), variant)
    if file_url(att, variant).rsplit("/", 1)[-1] != name:
        raise NotFound(N_("This file does not exist."))
    key = {"display": att.display_key, "thumb": att.thumb_key, "original": att.original_key}[variant]
    public = not att.private and not att.hidden and variant != "original"
    path = storage.path(key)
    if not path.is_file():
        raise NotFound(N_("This file does not exist."))
    ext = key.rsplit(".", 1)[-1]
    image = ext in IMAGE_TYPES
    ctype = IMAGE_TYPES.get(ext) or ("application/pdf" if ext == "pdf" else "application/octet-stream")
    headers = {"Cache-Control": PUBLIC_CACHE if public else PRIVATE_CACHE,
               "Content-Security-Policy": FILE_CSP if image else DOCUMENT_CSP}
    if not public:
        headers["Vary"] = "Cookie"
    if image:
        headers["Content-Encoding"] = "identity"  # already compressed: the gzip middleware leaves it alone
    else:
        # A document is saved, never opened inside the site: a PDF viewer in the browser runs the file's
        # scripts and forms (OWASP ASVS 4.0 12.5.2 / 5.0 V5.4.1).
        headers["Content-Disposition"] = attachment_header(att.filename or f"document.{ext}")
    return FileResponse(path, media_type=ctype, headers=headers)


def attachment_header(filename: str) -> str:
    """`attachment` with the name twice (RFC 6266 §4.3): plain ASCII for old clients, and the real name
    in UTF-8 (RFC 8187) for the others, so “Biên bản họp thôn.pdf” is saved under that name."""
    ascii_name = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    ascii_name = "".join(c for c in ascii_name if " " <= c <= "~" and c not in '"\\%;')
    ascii_name = ascii_name.strip() or "document"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


# --- hiding -------------------------------------------------------------------------------------------

@router.post("/media/{attachment_id}/hide")
async def hide(request: Request, attachment_id: RowId):
    def act(db, web, form: HideForm, files) -> Done:
        viewer = require_user(web)
        att = media.fetchable(db, attachment_id, viewer.facts())
        item = db.get(Item, att.item_id)
        media.hide(db, att, viewer.facts(), form)
        return Done(form.back or f"/items/{item.code}",
                    N_("It was hidden from the public; the page says why."))

    return await post_form(request, HideForm, action="hide", act=act,
                           page=lambda state: _hide_again(request, attachment_id, state))


def _hide_again(request: Request, attachment_id: int, state: FormState):
    with reading(request) as web:
        return _hide_page(web, attachment_id, state)


def _hide_page(web: Web, attachment_id: int, state: FormState):
    """The item's page again, the hide form of this file open with its message."""
    db = web.session
    att = media.fetchable(db, attachment_id, web.viewer.facts())
    item = db.get(Item, att.item_id)
    if item is None:  # an attachment always belongs to an item (foreign key)
        raise NotFound(N_("This file does not exist."))
    ctx = item_page_context(db, web, item)
    reason = state.values.get("reason", "")
    ctx["media_form"] = {"id": attachment_id, "errors": state.errors,
                         "reason": reason[-1] if isinstance(reason, list) and reason else reason}
    # A refusal that is no field's (already hidden) is said at the top of the page.
    message = "" if state.errors else state.message
    return web.render("public/item_status.html", status=state.status, form_message=message, **ctx)
