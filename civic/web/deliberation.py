"""Pages of Dân biết and Dân bàn: the secretary's deliberation desk, residents' comments, supports and votes,
the printable notice and vote-count record, and the admin's minimum disclosure days.

Routes translate HTTP to service calls and render what the services and rules decided.
"""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from civic import clock
from civic.areas import service as areas
from civic.areas.models import Village
from civic.audit import service as audit
from civic.db import run_write, unit_of_work
from civic.deliberation import rules as drules
from civic.deliberation import service as deliberation
from civic.errors import N_, Forbidden, Invalid, NotFound, TooLarge
from civic.items import service as items
from civic.items.models import Category
from civic.media import service as media
from civic.web import views as page_views
from civic.web.core import Web, form_dict, read_form, require_user
from civic.web.uploads import allow_uploads, read_multipart
from civic.workflow import rules as wrules
from civic.workflow import service as workflow

router = APIRouter()

LABELS = {"channels": drules.CHANNELS, "methods": drules.METHODS, "choices": drules.CHOICES}


@page_views.status_section
def deliberation_context(db, web: Web, item) -> dict:
    """What the status page shows of Dân biết and Dân bàn (called from views.item_page_context)."""
    raw = web.request.query_params.get("comments", "1")
    page = int(raw) if raw.isdigit() and len(raw) < 6 else 1
    return {"delib": deliberation.page_context(db, item, web.viewer, page), "DELIB": LABELS}


# --- the secretary's desk ---------------------------------------------------------------------------

DESK_ACTIONS = {
    "disclosure": (deliberation.add_disclosure, N_("The disclosure was recorded.")),
    "schedule_meeting": (deliberation.schedule_meeting, N_("The meeting was scheduled; the notice is public.")),
    "record_meeting": (deliberation.record_meeting, N_("The meeting was recorded.")),
    "decide": (deliberation.decide, N_("The decision was recorded.")),
    "paper_ballot": (deliberation.enter_paper_ballot, N_("The household's ballot was entered.")),
    "close_count": (lambda db, item, viewer, form: deliberation.close_count(db, item, viewer),
                    N_("The count was closed; the result is public.")),
    "hide_comment": (deliberation.hide_comment, N_("The comment was hidden; the reason is shown publicly.")),
}
MOVES = {
    "open_discussion": N_("%(code)s is now in People discuss."),
    "start_work": N_("%(code)s is now in People do."),
    "close_not_approved": N_("%(code)s was closed as not approved by the households."),
}


def _desk(request: Request, code: str, status: int = 200, **extra) -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        wrules.check_staff_view(workflow.facts(db, item), viewer.facts())
        ctx = page_views.item_page_context(db, web, item)
        extra.setdefault("form_action", "")
        extra.setdefault("form_values", {})
        extra.setdefault("form_errors", {})
        extra.setdefault("form_message", "")
        return web.render("deliberation/desk.html", status=status, today=clock.today_local(),
                          notice_days=deliberation.meeting_notice_days(), **ctx, **extra)


@router.get("/deliberation/{code}", response_class=HTMLResponse)
def desk(request: Request, code: str):
    return _desk(request, code)


# Evidence files: a proof photo of a disclosure, the minutes of a meeting (photos or a PDF).
FILE_FIELDS = {"disclosure": ("proof", 1, ("photo",)), "record_meeting": ("minutes", 3, ("photo", "document"))}
allow_uploads(r"/deliberation/[^/]+/(disclosure|record_meeting)", files=3)


@router.post("/deliberation/{code}/{action}")
async def desk_action(request: Request, code: str, action: str):
    if action in FILE_FIELDS:
        name, most, _accept = FILE_FIELDS[action]
        try:
            form, files = await read_multipart(request, file_fields={name: most})
        except (Invalid, TooLarge) as exc:
            values = getattr(exc, "values", None)
            if values is None or not exc.field:
                raise
            web = Web(request)
            return await run_in_threadpool(_desk, request, code, exc.status, form_action=action, form_values=values,
                                           form_errors={exc.field: web.error_text(exc)},
                                           form_message=web.error_text(exc))
        return await run_in_threadpool(_desk_act, request, code, action, form, files[name])
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_desk_act, request, code, action, form)


def _desk_act(request: Request, code: str, action: str, form: dict, uploads: list | tuple = ()):
    Web(request).check_csrf(form)
    prepared = []
    if uploads:  # the slow part (decoding, resizing) runs before the writing transaction
        name, _most, accept = FILE_FIELDS[action]
        try:
            prepared = [media.prepare(u, accept=accept, field=name) for u in uploads]
        except (Invalid, TooLarge) as exc:
            web = Web(request)
            return _desk(request, code, exc.status, form_action=action, form_values=form,
                         form_errors={name: web.error_text(exc)}, form_message=web.error_text(exc))

    def work(db):
        web = Web(request, db)
        web.check_csrf(form)
        require_user(web)
        item = items.get_by_code(db, code)
        if action in MOVES:
            workflow.transition(db, item, action, web.viewer, workflow.form_for(action).parse(form))
            return web, item, MOVES[action]
        if action not in DESK_ACTIONS:
            raise NotFound(N_("This action does not exist."))
        fn, message = DESK_ACTIONS[action]
        if prepared:
            fn(db, item, web.viewer, form, prepared)
        else:
            fn(db, item, web.viewer, form)
        return web, item, message

    try:
        web, item, message = run_write(work)
    except Invalid as exc:
        web = Web(request)
        errors = web.field_errors(exc)
        if prepared and action in FILE_FIELDS and FILE_FIELDS[action][0] not in errors:
            errors[FILE_FIELDS[action][0]] = web._(N_("Your files were not kept: please choose them again."))
        return _desk(request, code, 422, form_action=action, form_values=form, form_errors=errors,
                     form_message=web.error_text(exc))
    target = f"/items/{item.code}" if action in ("start_work", "close_not_approved") else f"/deliberation/{item.code}"
    return web.redirect(target, message, code=item.code)


# --- residents: comment, support, vote ------------------------------------------------------------

RESIDENT_ACTIONS = {
    "comment": (deliberation.add_comment, N_("Your comment was posted."), "comments"),
    "support": (lambda db, item, viewer, form: deliberation.support(db, item, viewer),
                N_("Your household's support was counted."), "supports"),
    "unsupport": (lambda db, item, viewer, form: deliberation.withdraw_support(db, item, viewer),
                  N_("Your household's support was withdrawn."), "supports"),
    "vote": (deliberation.cast_online_ballot, N_("Your household's ballot was recorded. You may change it until "
                                                 "the ballot closes."), "vote"),
}


async def _resident_post(request: Request, code: str, action: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_resident_act, request, code, action, form)


@router.post("/items/{code}/comment")
async def post_comment(request: Request, code: str):
    return await _resident_post(request, code, "comment")


@router.post("/items/{code}/support")
async def post_support(request: Request, code: str):
    return await _resident_post(request, code, "support")


@router.post("/items/{code}/support/withdraw")
async def post_withdraw_support(request: Request, code: str):
    return await _resident_post(request, code, "unsupport")


@router.post("/items/{code}/vote")
async def post_vote(request: Request, code: str):
    return await _resident_post(request, code, "vote")


def _resident_act(request: Request, code: str, action: str, form: dict):
    fn, message, anchor = RESIDENT_ACTIONS[action]

    def work(db):
        web = Web(request, db)
        web.check_csrf(form)
        require_user(web, f"/items/{code}")
        item = items.get_by_code(db, code)
        fn(db, item, web.viewer, form)
        return web, item

    try:
        web, item = run_write(work)
    except Invalid as exc:
        web = Web(request)
        with unit_of_work() as db:
            web = Web(request, db)
            item = items.get_by_code(db, code)
            return web.render("public/item_status.html", status=422, form_action=action, form_values=form,
                              form_errors=web.field_errors(exc), form_message=web.error_text(exc),
                              **page_views.item_page_context(db, web, item))
    return web.redirect(f"/items/{item.code}#{anchor}", message)


# --- printable pages ----------------------------------------------------------------------------------

def qr_svg(url: str) -> Markup:
    """The QR code of a URL as inline SVG (no image file, no Pillow)."""
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=4, border=2, dark="#000", light="#fff", omitsize=False)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR" class="qr" ', 1))


@router.get("/items/{code}/notice", response_class=HTMLResponse)
def notice(request: Request, code: str):
    with unit_of_work() as db:
        web = Web(request, db)
        item = items.get_by_code(db, code)
        ctx = page_views.item_page_context(db, web, item)
        status_url = str(request.base_url).rstrip("/") + f"/items/{item.code}"
        head = audit.head(db, item.commune_id)
        return web.render("deliberation/notice.html", qr=qr_svg(status_url), status_url=status_url, head=head,
                          printed_on=clock.today_local(), **ctx)


@router.get("/items/{code}/decisions/{decision_id}/record", response_class=HTMLResponse)
def vote_record(request: Request, code: str, decision_id: str):
    with unit_of_work() as db:
        web = Web(request, db)
        item = items.get_by_code(db, code)
        if not decision_id.isdigit() or len(decision_id) > 12:
            raise NotFound(N_("This decision does not exist."))
        decision = deliberation.get_decision(db, item, int(decision_id))
        meeting = db.get(deliberation.Meeting, decision.meeting_id) if decision.meeting_id else None
        village = db.get(Village, item.village_id)
        commune = areas.default_commune(db)
        return web.render("deliberation/vote_record.html", item=item, decision=decision, meeting=meeting,
                          village=village, commune=commune, DELIB=LABELS,
                          outcome=drules.decision_outcome(decision.status, decision.passed))


# --- the admin's setting: minimum disclosure days per category ----------------------------------------

def _categories_page(request: Request, status: int = 200, errors: dict | None = None, values: dict | None = None):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        if not viewer.communes("admin"):
            raise Forbidden(N_("This page is for commune administrators."))
        commune = areas.default_commune(db)
        if commune.id not in viewer.communes("admin"):
            raise Forbidden(N_("This page is for commune administrators."))
        cats = items.categories(db, commune.id)
        return web.render("admin/category_list.html", status=status, categories=cats, errors=errors or {},
                          values=values or {})


@router.get("/admin/categories", response_class=HTMLResponse)
def categories(request: Request):
    return _categories_page(request)


@router.post("/admin/categories/{category_id}")
async def set_days(request: Request, category_id: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_set_days, request, category_id, form)


def _set_days(request: Request, category_id: str, form: dict):
    if not category_id.isdigit() or len(category_id) > 12:
        raise NotFound(N_("This category does not exist."))

    def work(db):
        web = Web(request, db)
        web.check_csrf(form)
        require_user(web)
        category = deliberation.set_min_disclosure_days(db, web.viewer, int(category_id),
                                                        form.get(f"days_{category_id}"))
        return web, category

    try:
        web, category = run_write(work)
    except Invalid as exc:
        web = Web(request)
        return _categories_page(request, 422, web.field_errors(exc), form)
    return web.redirect("/admin/categories", N_("The minimum disclosure period of %(name)s was saved."),
                        name=category.name_en if web.locale == "en" else category.name_vi)


__all__ = ["router", "deliberation_context", "Category"]
