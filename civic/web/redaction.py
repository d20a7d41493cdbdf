"""Redaction of an item's public text by its village head or an admin (civic/items/redaction.py), and what
the status page shows of it: the public mark and reason, the original for staff, and an item not yet
triaged reduced to its title and village."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from civic.config import get_settings
from civic.db import row_id
from civic.errors import N_, Forbidden
from civic.items import redaction
from civic.items import rules as item_rules
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import RedactForm
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, ItemCode, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.views import status_section

router = APIRouter()
register_forms(RedactForm)


def _may_redact(web: Web, item: Item) -> bool:
    try:
        item_rules.check_may_redact(web.viewer.facts(), item.commune_id, item.village_id)
    except Forbidden:  # the link is simply not offered
        return False
    return True


def _receipt_token(web: Web, item: Item) -> str | None:
    """The manage token the browser that sent the item keeps in its session (its receipt), if any."""
    receipts = web.request.session.get("receipts", {}) if "session" in web.request.scope else {}
    return receipts.get(item.code) or None


@status_section
def page_context(db: Session, web: Web, item: Item) -> dict[str, Any]:
    """For item pages: the public note of a redaction, the original for staff, and how much to show."""
    private = web.viewer.sees_private(item.commune_id, item.village_id)
    row = redaction.get(db, row_id(item))
    return {
        "redaction": row,
        "redaction_original": row if private else None,
        "mark_redacted": item_rules.REDACTED_MARK,
        "can_redact": web.viewer.user is not None and _may_redact(web, item),
        "show_detail": item_rules.shows_detail(
            item.stage, untriaged_detail=get_settings().untriaged_public_detail,
            is_author=items.is_author(item, web.viewer, _receipt_token(web, item)), sees_private=private,
            outcome=item.outcome),
    }


def _page(web: Web, code: str, state: FormState = EMPTY) -> HTMLResponse:
    viewer = require_user(web)
    item = items.get_by_code(web.session, code)
    item_rules.check_may_redact(viewer.facts(), item.commune_id, item.village_id)
    row = redaction.get(web.session, row_id(item))
    return web.render("review/redact.html", status=state.status, item=item, redaction=row,
                      original_title=row.original_title if row else item.title,
                      original_description=row.original_description if row else item.description,
                      mark=item_rules.REDACTED_MARK, **state.context())


@router.get("/redact/{code}", response_class=HTMLResponse, name="redact_form")
def redact_form(web: CurrentWeb, code: ItemCode):
    return _page(web, code)


@router.post("/redact/{code}", name="redact_item")
async def redact_item(request: Request, code: ItemCode):
    def act(db: Session, web: Web, form: RedactForm, files: Any) -> Done:
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        redaction.redact(db, item, viewer, form)
        return Done(f"/items/{item.code}", N_("The public text of %(code)s was redacted."),
                    {"code": item.code})

    def again(state: FormState) -> HTMLResponse:
        with reading(request) as web:
            return _page(web, code, state)

    return await post_form(request, RedactForm, action="redact", act=act, page=again)
