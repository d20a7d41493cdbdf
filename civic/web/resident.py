"""Resident pages: submit an item, see it submitted, my items, the private manage link, author actions."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import create_model
from starlette.concurrency import run_in_threadpool

from civic.areas import service as areas
from civic.config import get_settings
from civic.core.inputs import Form
from civic.core.kinds import Action
from civic.db import row_id
from civic.errors import N_, Invalid, NotFound
from civic.items import positions
from civic.items import rules as item_rules
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import (
    MANAGE_TOKEN_MAX,
    AdditionForm,
    AnonymousSubmitForm,
    EditForm,
    ManageToken,
    SubmitForm,
    SubmitPrefill,
)
from civic.media import rules as media_rules
from civic.media import service as media
from civic.media.schemas import FileField
from civic.web import communes, pagecache, urls
from civic.web.core import Web, register_forms, require_user, session_csrf
from civic.web.deps import CurrentItem, CurrentWeb, Db, ItemCode, SignedIn, reading
from civic.web.forms import EMPTY, FILES_NOT_KEPT, Done, FormState, post_form
from civic.web.i18n import COOKIE, pick_locale
from civic.web.qr import qr_svg
from civic.web.uploads import allow_uploads
from civic.web.views import item_page_context, lookups, status_section
from civic.workflow import rules as workflow_rules
from civic.workflow import service as workflow
from civic.workflow.schemas import TransitionForm
from civic.workflow.stages import KINDS

router = APIRouter()
register_forms(SubmitForm, TransitionForm, EditForm, AdditionForm)

# The manage link's token in an address: what _manage_token makes (43 characters), never more than 64.
ManageTokenPath = Annotated[str, Path(min_length=16, max_length=MANAGE_TOKEN_MAX,
                                      pattern=r"^[A-Za-z0-9_-]+$")]

PHOTO_FIELD = "photos"
MAX_PHOTOS = 5
PHOTOS_NOT_KEPT = N_("Your photos were not kept: please choose them again.")
PHOTOS = {PHOTO_FIELD: FileField(most=MAX_PHOTOS, accept=(media_rules.PHOTO,))}
allow_uploads(r"/submit", files=MAX_PHOTOS)
allow_uploads(r"/triage/new", files=MAX_PHOTOS)  # filing on behalf of a resident, in staff.py
allow_uploads(r"/items/[^/]+/add", files=MAX_PHOTOS)  # the reporter adds photos after sending


def submit_form_page(web: Web, state: FormState = EMPTY, *, on_behalf: bool = False,
                     values: dict[str, str] | None = None) -> HTMLResponse:
    """The submission form: empty, pre-filled from a link (`values`), or sent back with its messages."""
    db = web.session
    if on_behalf:
        workflow_rules.check_queue("triage", require_user(web).facts())
    commune = communes.current(web.request, db)
    look = lookups(db, row_id(commune))
    look.villages = {k: v for k, v in look.villages.items() if v.taking}  # merged villages take no new items
    if on_behalf:
        allowed = web.viewer.villages("village_head")
        look.villages = {k: v for k, v in look.villages.items() if k in allowed}
    shown = dict(values or {})
    shown.update({k: v for k, v in state.values.items() if isinstance(v, str)})
    shown.setdefault("client_token", uuid.uuid4().hex)
    errors = dict(state.errors)
    if errors.get(PHOTO_FIELD) == web._(FILES_NOT_KEPT):  # this form only takes photos: say so
        errors[PHOTO_FIELD] = web._(PHOTOS_NOT_KEPT)
    if len(look.villages) == 1:
        shown.setdefault("village_id", str(next(iter(look.villages))))
    return web.render("resident/item_form.html", status=state.status, look=look, values=shown,
                      errors=errors, kinds=KINDS, on_behalf=on_behalf, commune=commune,
                      message=state.message, signed_in=web.viewer.user is not None,
                      form_path=web.request.scope.get("root_path", "")
                      + web.request.app.url_path_for("assisted_submit" if on_behalf else "submit"))


def render_submit_form(request: Request, state: FormState = EMPTY, *, on_behalf: bool = False,
                       values: dict[str, str] | None = None) -> HTMLResponse:
    """submit_form_page in a read session of its own (a refused form; staff.py's filing on behalf)."""
    with reading(request) as web:
        return submit_form_page(web, state, on_behalf=on_behalf, values=values)


@router.get("/submit", response_class=HTMLResponse)
async def submit_form(request: Request):
    prefill = SubmitPrefill.read(request.query_params)
    values = {"kind": prefill.kind or "", "village_id": str(prefill.village or ""),
              "category_id": str(prefill.category or "")}
    if request.url.query or not pagecache.cacheable(request):  # a pre-filled form is rendered for its link
        return await run_in_threadpool(render_submit_form, request, values=values)
    # The form residents open most, the same for every anonymous visitor but for its two tokens: kept with
    # holes for them, for as long as the commune's villages, categories, settings and map middle stay, and
    # on SQLite answered on the event loop (pagecache.serve_async).
    key = ("submit", pick_locale(request.cookies.get(COOKIE), None), request.url.path)
    fill = {"csrf": lambda: session_csrf(request), "client": lambda: uuid.uuid4().hex}
    version = await pagecache.read_version(lambda: _form_version(request))
    if version is None:
        return await run_in_threadpool(render_submit_form, request, values=values)
    kept = pagecache.kept_form(request, key, version, fill)
    if kept is not None:
        return kept
    response = await run_in_threadpool(_form_with_holes, request, values)
    return pagecache.keep_form(request, key, version, response, fill)


def _form_version(request: Request) -> str | None:
    """The version of the kept form: None until this process knows the commune and its map's middle."""
    commune = pagecache.commune_id(communes.code(request))
    if commune is None:
        return None
    known, centre = positions.kept_centre(commune)
    if not known:
        return None
    return pagecache.timed_version(pagecache.settings_version(commune), centre)


def _form_with_holes(request: Request, values: dict[str, str]) -> HTMLResponse:
    with reading(request) as web:
        web.csrf_hole = pagecache.hole("csrf")
        return submit_form_page(web, values={**values, "client_token": pagecache.hole("client")})


@router.post("/submit")
async def submit(request: Request):
    return await submit_upload(request, on_behalf=False)


async def submit_upload(request: Request, *, on_behalf: bool):
    """A submission with up to 5 photos (multipart, or url-encoded without photos), from a resident or
    filed by a village head on a resident's behalf (/triage/new)."""
    signed_in = bool(request.session.get("uid"))
    schema = SubmitForm if on_behalf or signed_in else AnonymousSubmitForm

    planned: dict[str, Any] = {}

    def prepare(db, web: Web, form: SubmitForm, _files) -> None:
        """The checks, and what the item stores that needs no writing, before the writing transaction."""
        _check_sender(web)
        commune = communes.current(web.request, db)
        areas.check_accepting(db, commune)  # a commune merged into another sends residents there
        planned["commune"] = commune
        planned["plan"] = items.prepare_submission(db, commune, form, web.viewer, channel="web",
                                                   on_behalf=on_behalf, submitter=web.csrf_token)

    def _check_sender(web: Web) -> None:
        if on_behalf:
            require_user(web)
        elif signed_in and web.viewer.user is None:
            # The form was opened while logged in and sent after the login ended: it has no contact fields,
            # so it must not become an item nobody can be reached about. Shown again without the login.
            raise Invalid(N_("Your login has ended. Log in again to send this item, or fill in the "
                             "contact fields and send it without an account."), field="contact_phone")

    def act(db, web: Web, form: SubmitForm, files) -> Done:
        _check_sender(web)
        commune, plan = planned["commune"], planned["plan"]  # post_form ran prepare() first
        # The session's CSRF token was in the session before this form was shown, so it names this
        # browser even when the answer to its first send was lost and the cookie never updated.
        result = items.submit(db, commune, form, web.viewer, channel="web", on_behalf=on_behalf,
                              submitter=web.csrf_token,
                              recent_codes=list(request.session.get("receipts", {})), plan=plan)
        code = result.item.code
        if result.repeat:  # the same text again within minutes: the item it made, nothing new
            where = "submitted" if result.own else "item_status"
            return Done(request.app.url_path_for(where, code=code), REPEATED, {"code": code})
        if not result.own:  # somebody else's form: its public page, never the receipt and its manage link
            return Done(request.app.url_path_for("item_status", code=code),
                        N_("This form had already been sent; it is item %(code)s."), {"code": code})
        if result.created:  # a repeated form (same client token) does not add its photos again
            for prepared in files.get(PHOTO_FIELD, ()):
                media.attach(db, item=result.item, upload=prepared, purpose="evidence",
                             actor_id=web.viewer.id, actor_role="village_head" if on_behalf else "author",
                             accept=(media_rules.PHOTO,), field=PHOTO_FIELD)
        _keep_receipt(request, result)
        path = request.app.url_path_for("submitted", code=code)
        if on_behalf:
            return Done(path, N_("Item %(code)s was filed on behalf of the resident."), {"code": code})
        message = N_("Thank you. Your item was received as %(code)s.") if result.created else\
            N_("This form had already been sent; it is item %(code)s.")
        return Done(path, message, {"code": code})

    return await post_form(request, schema, action="submit", act=act, files=PHOTOS, prepare=prepare,
                           page=lambda state: render_submit_form(request, state, on_behalf=on_behalf))


REPEATED = N_("You sent this same text a few minutes ago: it is item %(code)s. No second item was made.")


def _keep_receipt(request: Request, result: items.Submitted) -> None:
    """The browser that sent an item may open its receipt page (with the manage link) for the last five."""
    receipts = dict(request.session.get("receipts", {}))
    receipts[result.item.code] = result.manage_token or receipts.get(result.item.code, "")
    request.session["receipts"] = dict(list(receipts.items())[-5:])


@router.get("/submitted/{code}", response_class=HTMLResponse, name="submitted")
def submitted(request: Request, web: CurrentWeb, item: CurrentItem):
    receipts = request.session.get("receipts", {})
    if item.code not in receipts:  # only the browser that sent it sees this page
        return web.redirect(request.app.url_path_for("item_status", code=item.code))
    token = receipts.get(item.code) or None
    manage_url = urls.for_route(request, "manage", token=token) if token else None
    status_url = urls.for_route(request, "item_status", code=item.code)
    zalo_url = get_settings().zalo_share_url.replace("{url}", quote(status_url, safe=""))
    return web.render("resident/item_submitted.html", item=item, manage_url=manage_url,
                      status_url=status_url, zalo_url=zalo_url,
                      qr=qr_svg(status_url, web._("QR code of the status page of %(code)s", code=item.code)))


@router.get("/me/items", name="my_items")
def my_items(request: Request, viewer: SignedIn):
    """The old address of "my items" (login first, as before): the activity page lists them now."""
    return RedirectResponse(request.app.url_path_for("my_activity"), status_code=303)


MANAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@router.get("/m/{token}", response_class=HTMLResponse, name="manage")
def manage(web: CurrentWeb, db: Db, token: ManageTokenPath):
    item = items.get_by_manage_token(db, token)
    if items.manage_link_expired(item):  # a calm page with the public code only, never the private data
        return web.render("resident/manage_expired.html", status=410, headers=MANAGE_HEADERS, item=item,
                          days=item_rules.MANAGE_LINK_DAYS_AFTER_CLOSE)
    return _author_page(web, item, token)


def _author_page(web: Web, item: Item, token: str | None, state: FormState = EMPTY) -> HTMLResponse:
    """The manage page (with the private token) or the public status page, with an author's form again.
    The private page is shown only for the item's own token."""
    db = web.session
    if token and not items.is_manage_token(item, token):
        token = None
    page = dict(**item_page_context(db, web, item, manage_token=token), **state.context())
    if token:
        return web.render("resident/item_manage.html", status=state.status, headers=MANAGE_HEADERS, **page)
    return web.render("public/item_status.html", status=state.status, **page)


AUTHOR_ACTIONS: dict[str, str] = {
    Action.WITHDRAW: N_("You withdrew item %(code)s."),
    Action.REQUEST_REVIEW: N_("Your request for a review of %(code)s was sent to the supervisors."),
}


@cache
def author_form(action: str) -> type[Form]:
    """The move's own form, with the manage link's token that tells the author without an account."""
    base = workflow.form_for(action)
    return create_model(f"Author{base.__name__}", __base__=base,
                        manage_token=(Annotated[str, ManageToken()], ""))


@router.post("/items/{code}/author/{action}")
async def author_action(request: Request, code: ItemCode, action: str):
    if action not in AUTHOR_ACTIONS:
        raise NotFound(N_("This action does not exist."))

    def act(db, web: Web, form, files) -> Done:
        token = form.manage_token or None
        item = items.get_by_code(db, code)
        workflow.transition(db, item, action, web.viewer, form,
                            is_author=items.is_author(item, web.viewer, token))
        back = request.app.url_path_for("manage", token=token) if token else\
            request.app.url_path_for("item_status", code=item.code)
        return Done(back, AUTHOR_ACTIONS[action], {"code": item.code})

    def page(state: FormState):
        with reading(request) as web:
            return _author_page(web, items.get_by_code(web.session, code),
                                ManageToken().parse(state.values.get("manage_token")) or None, state)

    return await post_form(request, author_form(action), action=action, act=act, page=page)


# --- after sending: the reporter adds information and photos, and corrects the text before triage --------

@status_section
def after_sending(db, web: Web, item: Item) -> dict[str, Any]:
    """For item pages: the dated additions (everyone), and every earlier version of the text (staff)."""
    private = web.viewer.sees_private(item.commune_id, item.village_id)
    return {"additions": items.additions(db, row_id(item)),
            "edits": items.edits(db, row_id(item)) if private else [],
            "editable": item.stage == "submitted",
            "photos_most": item_rules.ITEM_PHOTOS_MAX}


def _reporter_photos(db, item: Item) -> int:
    """The photos the reporter gave: sent with the item, and added later."""
    return sum(1 for a in media.list_for(db, item) if a.kind == media_rules.PHOTO and a.purpose == "evidence"
               and a.owner_kind in ("", "addition"))


def _author_post(request: Request, code: str, action: str, schema: type[Form], done: str,
                 files: dict[str, FileField] | None = None):
    """An author's form on the status page or the manage page: `act` changes the item, the page comes back
    with the manage link when the form carried its token."""

    def act(db, web: Web, form, uploaded) -> Done:
        token = form.manage_token or None
        item = items.get_by_code(db, code)
        is_author = items.is_author(item, web.viewer, token)
        if action == "edit":
            items.edit(db, item, web.viewer, form, is_author=is_author)
        else:
            photos = list(uploaded.get(PHOTO_FIELD, ()))
            addition = items.add(db, item, web.viewer, form, photos=len(photos),
                                 photos_before=_reporter_photos(db, item), is_author=is_author)
            for prepared in photos:
                media.attach(db, item=item, upload=prepared, purpose="evidence", actor_id=web.viewer.id,
                             actor_role="author", owner_kind="addition", owner_id=row_id(addition),
                             accept=(media_rules.PHOTO,), field=PHOTO_FIELD)
        back = request.app.url_path_for("manage", token=token) if token else\
            request.app.url_path_for("item_status", code=item.code)
        return Done(back, done, {"code": item.code})

    def page(state: FormState):
        with reading(request) as web:
            errors = dict(state.errors)
            if errors.get(PHOTO_FIELD) == web._(FILES_NOT_KEPT):
                errors[PHOTO_FIELD] = web._(PHOTOS_NOT_KEPT)
            state = FormState(state.action, state.values, errors, state.message, state.status)
            return _author_page(web, items.get_by_code(web.session, code),
                                ManageToken().parse(state.values.get("manage_token")) or None, state)

    return post_form(request, schema, action=action, act=act, page=page, files=files)


@router.post("/items/{code}/amend", name="item_edit")
async def item_edit(request: Request, code: ItemCode):
    return await _author_post(request, code, "edit", EditForm, N_("Your changes to %(code)s were saved."))


@router.post("/items/{code}/add", name="item_add")
async def item_add(request: Request, code: ItemCode):
    return await _author_post(request, code, "add", AdditionForm, N_("Your addition to %(code)s was saved."),
                              files=PHOTOS)
