"""Staff pages: the secretary's triage queue and actions, assisted intake, the supervisor's review queue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from civic import clock
from civic.areas import service as areas
from civic.db import run_write, unit_of_work
from civic.errors import N_, Invalid, NotFound
from civic.items import service as items
from civic.web.core import Web, form_dict, read_form, require_user
from civic.web.resident import render_submit_form, submit_upload
from civic.web.views import item_page_context, lookups
from civic.workflow import rules
from civic.workflow import service as workflow
from civic.workflow.stages import REVIEW_ACTIONS, TRIAGE_ACTIONS

router = APIRouter()

DONE_MESSAGES = {
    "accept": N_("%(code)s was accepted. It is now in People know."),
    "reject": N_("%(code)s was rejected. The reason is shown publicly."),
    "mark_duplicate": N_("%(code)s was marked as a duplicate."),
    "redirect": N_("%(code)s was redirected."),
    "recategorize": N_("The village or category of %(code)s was changed."),
    "uphold": N_("The decision on %(code)s was upheld."),
    "send_back": N_("%(code)s was sent back to triage."),
}


@router.get("/triage", response_class=HTMLResponse)
def triage_queue(request: Request):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        rules.check_queue("triage", viewer.facts())
        commune = areas.default_commune(db)
        look = lookups(db, commune.id)
        queue = workflow.triage_queue(db, viewer)
        return web.render("triage/queue.html", queue=queue, look=look, today=clock.today_local())


def _staff_item_page(request: Request, code: str, template: str, status: int = 200, **extra):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        rules.check_staff_view(workflow.facts(db, item), viewer.facts())
        look = lookups(db, item.commune_id)
        return web.render(template, status=status, look=look, **item_page_context(db, web, item), **extra)


@router.get("/triage/new", response_class=HTMLResponse)
def assisted_form(request: Request):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        rules.check_queue("triage", viewer.facts())
    return render_submit_form(request, on_behalf=True)


@router.post("/triage/new")
async def assisted_submit(request: Request):
    return await submit_upload(request, on_behalf=True)


@router.get("/triage/{code}", response_class=HTMLResponse)
def triage_item(request: Request, code: str):
    return _staff_item_page(request, code, "triage/item_triage.html", form_values={}, form_errors={})


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        rules.check_queue("review", viewer.facts())
        commune = areas.default_commune(db)
        look = lookups(db, commune.id)
        return web.render("review/queue.html", queue=workflow.review_queue(db, viewer), look=look)


@router.get("/review/{code}", response_class=HTMLResponse)
def review_item(request: Request, code: str):
    return _staff_item_page(request, code, "review/item_review.html", form_values={}, form_errors={})


@router.post("/triage/{code}/{action}")
async def triage_action(request: Request, code: str, action: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_act, request, code, action, form, TRIAGE_ACTIONS, "triage")


@router.post("/review/{code}/{action}")
async def review_action(request: Request, code: str, action: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_act, request, code, action, form, REVIEW_ACTIONS, "review")


def _act(request: Request, code: str, action: str, form: dict, known: tuple[str, ...], area: str):
    def work(db):
        web = Web(request, db)
        web.check_csrf(form)
        require_user(web)
        if action not in known:
            raise NotFound(N_("This action does not exist."))
        item = items.get_by_code(db, code)
        workflow.transition(db, item, action, web.viewer, form)
        return web, item

    try:
        web, item = run_write(work)
    except Invalid as exc:
        web = Web(request)
        template = "triage/item_triage.html" if area == "triage" else "review/item_review.html"
        return _staff_item_page(request, code, template, status=422, form_action=action, form_values=form,
                                form_errors=web.field_errors(exc), form_message=web.error_text(exc))
    target = f"/{area}/{item.code}" if action == "recategorize" else f"/{area}"
    return web.redirect(target, DONE_MESSAGES[action], code=item.code)
