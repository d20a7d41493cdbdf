"""Resident pages: submit an item, see it submitted, my items, the private manage link, author actions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from civic.areas import service as areas
from civic.db import run_write, unit_of_work
from civic.errors import N_, Invalid, TooLarge
from civic.items import service as items
from civic.media import rules as media_rules
from civic.media import service as media
from civic.media.schemas import Upload
from civic.web.core import Web, form_dict, read_form, require_user
from civic.web.uploads import allow_uploads, read_multipart
from civic.web.views import item_page_context, lookups
from civic.workflow import service as workflow
from civic.workflow.stages import KINDS

router = APIRouter()


def render_submit_form(request: Request, values: dict | None = None, errors: dict | None = None,
                       status: int = 200, *, on_behalf: bool = False, message: str = "") -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        commune = areas.default_commune(db)
        look = lookups(db, commune.id)
        if on_behalf:
            allowed = web.viewer.villages("secretary")
            look.villages = {k: v for k, v in look.villages.items() if k in allowed}
        values = dict(values or {})
        values.setdefault("client_token", uuid.uuid4().hex)
        if len(look.villages) == 1:
            values.setdefault("village_id", str(next(iter(look.villages))))
        return web.render("resident/item_form.html", status=status, look=look, values=values,
                          errors=errors or {}, kinds=KINDS, on_behalf=on_behalf, commune=commune,
                          message=message)


@router.get("/submit", response_class=HTMLResponse)
def submit_form(request: Request, kind: str = "", village: str = "", category: str = ""):
    values = {"kind": kind if kind in KINDS else "", "village_id": village, "category_id": category}
    return render_submit_form(request, values)


PHOTO_FIELD = "photos"
MAX_PHOTOS = 5
allow_uploads(r"/submit", files=MAX_PHOTOS)
allow_uploads(r"/triage/new", files=MAX_PHOTOS)  # filing on behalf of a resident, in staff.py


@router.post("/submit")
async def submit(request: Request):
    return await submit_upload(request, on_behalf=False)


async def submit_upload(request: Request, *, on_behalf: bool):
    """Read a submission with up to 5 photos (multipart, or url-encoded without photos) and submit it."""
    try:
        data, files = await read_multipart(request, file_fields={PHOTO_FIELD: MAX_PHOTOS})
    except (Invalid, TooLarge) as exc:
        values = getattr(exc, "values", None)
        if values is None or not exc.field:
            raise
        web = Web(request)
        return render_submit_form(request, values, {exc.field: web.error_text(exc)}, exc.status,
                                  on_behalf=on_behalf, message=web.error_text(exc))
    return await run_in_threadpool(_submit, request, data, on_behalf, files[PHOTO_FIELD])


def _submit(request: Request, data: dict, on_behalf: bool, photos: list[Upload] | tuple = ()):
    Web(request).check_csrf(data)
    # The slow part (decoding, turning, resizing) runs before the writing transaction starts.
    prepared, photo_error = [], None
    for upload in photos:
        try:
            prepared.append(media.prepare(upload, accept=(media_rules.PHOTO,), field=PHOTO_FIELD))
        except (Invalid, TooLarge) as exc:
            photo_error = exc
            break

    def work(db):
        web = Web(request, db)
        if on_behalf:
            require_user(web)
        commune = areas.default_commune(db)
        try:
            result = items.submit(db, commune, data, web.viewer, channel="web",
                                  client_token=data.get("client_token"), on_behalf=on_behalf)
        except Invalid as exc:
            if photo_error is not None:
                exc.errors[PHOTO_FIELD] = photo_error.message
                exc.params.update(photo_error.params)
            raise
        if result.created:  # a repeated form (same client token) does not add its photos again
            if photo_error is not None:
                raise Invalid(photo_error.message, field=PHOTO_FIELD, **photo_error.params)
            for p in prepared:
                media.attach(db, item=result.item, upload=p, purpose="evidence", actor_id=web.viewer.id,
                             actor_role="secretary" if on_behalf else "author", accept=(media_rules.PHOTO,),
                             field=PHOTO_FIELD)
        return web, result

    try:
        web, result = run_write(work)
    except Invalid as exc:
        web = Web(request)
        errors = web.field_errors(exc)
        if photos and PHOTO_FIELD not in errors:
            errors[PHOTO_FIELD] = web._(N_("Your photos were not kept: please choose them again."))
        return render_submit_form(request, data, errors, 422, on_behalf=on_behalf, message=web.error_text(exc))
    item = result.item
    receipts = dict(request.session.get("receipts", {}))
    if result.manage_token:
        receipts[item.code] = result.manage_token
    else:
        receipts[item.code] = ""
    request.session["receipts"] = dict(list(receipts.items())[-5:])
    if on_behalf:
        return web.redirect(f"/submitted/{item.code}", N_("Item %(code)s was filed on behalf of the resident."),
                            code=item.code)
    message = N_("Thank you. Your item was received as %(code)s.") if result.created else \
        N_("This form had already been sent; it is item %(code)s.")
    return web.redirect(f"/submitted/{item.code}", message, code=item.code)


@router.get("/submitted/{code}", response_class=HTMLResponse)
def submitted(request: Request, code: str):
    with unit_of_work() as db:
        web = Web(request, db)
        item = items.get_by_code(db, code)
        receipts = request.session.get("receipts", {})
        if item.code not in receipts:  # only the browser that sent it sees this page
            return web.redirect(f"/items/{item.code}")
        token = receipts.get(item.code) or None
        manage_url = str(request.url_for("manage", token=token)) if token else None
        status_url = str(request.url_for("item_status", code=item.code))
        return web.render("resident/item_submitted.html", item=item, manage_url=manage_url, status_url=status_url)


@router.get("/me/items", response_class=HTMLResponse)
def my_items(request: Request):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        commune = areas.default_commune(db)
        look = lookups(db, commune.id)
        rows = items.my_items(db, viewer.id)
        return web.render("resident/my_items.html", rows=rows, look=look)


@router.get("/m/{token}", response_class=HTMLResponse, name="manage")
def manage(request: Request, token: str):
    with unit_of_work() as db:
        web = Web(request, db)
        item = items.get_by_manage_token(db, token)
        ctx = item_page_context(db, web, item, manage_token=token)
        return web.render("resident/item_manage.html", headers={"Referrer-Policy": "no-referrer",
                                                                "Cache-Control": "no-store"}, **ctx)


AUTHOR_ACTIONS = {"withdraw": N_("You withdrew item %(code)s."),
                  "request_review": N_("Your request for a review of %(code)s was sent to the supervisors.")}


@router.post("/items/{code}/author/{action}")
async def author_action(request: Request, code: str, action: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_author_action, request, code, action, form)


def _author_action(request: Request, code: str, action: str, form: dict):
    token = form.get("manage_token") or None

    def work(db):
        web = Web(request, db)
        web.check_csrf(form)
        if action not in AUTHOR_ACTIONS:
            from civic.errors import NotFound

            raise NotFound(N_("This action does not exist."))
        item = items.get_by_code(db, code)
        is_author = items.is_author(item, web.viewer, token)
        workflow.transition(db, item, action, web.viewer, workflow.form_for(action).parse(form),
                            is_author=is_author)
        return web, item

    try:
        web, item = run_write(work)
    except Invalid as exc:
        with unit_of_work() as db:
            web = Web(request, db)
            item = items.get_by_code(db, code)
            ctx = item_page_context(db, web, item, manage_token=token)
            template = "resident/item_manage.html" if token else "public/item_status.html"
            return web.render(template, status=422, form_errors=web.field_errors(exc), form_action=action,
                              form_values=form, **ctx)
    back = f"/m/{token}" if token else f"/items/{item.code}"
    return web.redirect(back, AUTHOR_ACTIONS[action], code=item.code)
