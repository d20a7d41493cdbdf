"""Pages of Dân làm: the public section of the status page, the secretary's work desk and a pledge's page,
and a household's own pledges. Routes translate HTTP to service calls and render what the rules decided.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from civic import clock
from civic.db import run_write, unit_of_work
from civic.errors import N_, CivicError, Conflict, Invalid, NotFound, TooLarge
from civic.implementation import rules
from civic.implementation import service as impl
from civic.items import service as items
from civic.supervision import rules as sup_rules
from civic.web import media as media_web
from civic.web.core import Web, env, form_dict, read_form, require_user
from civic.web.uploads import allow_uploads, read_multipart
from civic.web.views import status_section, strip_state
from civic.workflow import service as workflow

router = APIRouter()

# Labels the shared timeline needs to tell Dân làm and Dân kiểm tra events (components/timeline.html).
env.globals.update(DO_KINDS=rules.KIND_LABELS, DO_UNITS=rules.UNIT_LABELS, SUP_MARKS=sup_rules.MARKS,
                   SUP_SEVERITIES=sup_rules.SEVERITIES, SUP_VERDICTS=sup_rules.VERDICTS)

LABELS = {"kinds": rules.KIND_LABELS, "units": rules.UNIT_LABELS, "sources": rules.SOURCE_LABELS}
PAGE_SIZE = 25


def _page(request: Request, name: str = "page") -> int:
    raw = request.query_params.get(name, "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 6 and int(raw) > 0 else 1


@status_section
def status_context(db, web: Web, item) -> dict[str, Any]:
    """What the status page shows of Dân làm and Dân kiểm tra (called once from views.item_page_context)."""
    from civic.web.supervision import supervision_context

    facts = workflow.facts(db, item)
    actor = web.viewer.facts()
    out: dict[str, Any] = {"DO": LABELS, "do": None}
    if rules.shows_section(item.stage, item.outcome):
        setting = impl.settings_for(db, item)
        names, names_total = impl.public_names(db, item) \
            if rules.publishes_names(item.stage, item.outcome, bool(setting and setting.publish_pledger_names)) \
            else ([], 0)
        mine = impl.represented_households(db, web.viewer, item.village_id) if web.viewer.id else []
        out["do"] = {
            "totals": impl.totals(db, item, setting),
            "setting": setting,
            "names": names,
            "names_total": names_total,
            "budget": impl.budget(db, item),
            "spending": impl.spending_page(db, item, size=10)[0],
            "progress": impl.progress(db, item),
            "missing": rules.missing_for_inspection(facts.progress_percent, facts.pledges_open)
            if rules.accepts_pledges(facts) else [],
            "can_manage": rules.can_manage(facts, actor),
            "household_link": bool(mine),
            "accepts_pledges": rules.accepts_pledges(facts),
        }
    out.update(supervision_context(db, web, item, facts))
    return out


# --- the secretary's desk -----------------------------------------------------------------------------------

def _desk(request: Request, code: str, status: int = 200, **extra) -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        facts = workflow.facts(db, item)
        rules.check_secretary(facts, viewer.facts())
        page = _page(request)
        rows, total = impl.pledge_rows(db, item, page=page, size=PAGE_SIZE)
        setting = impl.settings_for(db, item)
        budget = impl.budget(db, item)
        spending, _n = impl.spending_page(db, item)
        actions = workflow.allowed_actions(db, item, viewer)
        return web.render(
            "implementation/desk.html", status=status, **media_web.page_context(db, web, item), item=item, strip=strip_state(item), DO=LABELS,
            rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
            setting=setting, totals=impl.totals(db, item, setting), budget=budget, spending=spending,
            progress=impl.progress(db, item, limit=5),
            missing=rules.missing_for_inspection(facts.progress_percent, facts.pledges_open),
            can_start_inspection="start_inspection" in actions, accepts=rules.accepts_pledges(facts),
            today=clock.today_local(), form_values=extra.pop("form_values", {}),
            form_errors=extra.pop("form_errors", {}), **extra)


@router.get("/do/{code}", response_class=HTMLResponse)
def desk(request: Request, code: str):
    return _desk(request, code)


DESK_FILES = {"pledge": {"consent_scan": 1}, "progress": {"photos": 5}, "spend": {"document": 1}}
allow_uploads(r"/do/[^/]+/(pledge|progress|spend)", files=5)
allow_uploads(r"/do/[^/]+/pledge/\d+/deliver", files=3)
allow_uploads(r"/items/[^/]+/pledge", files=1)

DESK_ACTIONS: dict[str, tuple[Callable, str]] = {
    "settings": (lambda db, item, viewer, form, files: impl.save_settings(db, item, viewer, form), N_("The decision's figures were saved.")),
    "pledge": (lambda db, item, viewer, form, files: impl.pledge(db, item, viewer, form, on_behalf=True,
                                                                  consent_scan=files.get("consent_scan")),
               N_("The pledge was recorded on behalf of the household.")),
    "budget": (lambda db, item, viewer, form, files: impl.add_budget_line(db, item, viewer, form), N_("The budget line was added.")),
    "spend": (lambda db, item, viewer, form, files: impl.add_spending(db, item, viewer, form, files.get("document")), N_("The spending was recorded.")),
    "progress": (lambda db, item, viewer, form, files: impl.post_progress(db, item, viewer, form, files.get("photos")), N_("The progress update was posted.")),
    "start_inspection": (lambda db, item, viewer, form, files: workflow.transition(db, item, "start_inspection",
                                                                                   viewer),
                         N_("%(code)s was handed over to the supervisors for inspection.")),
}


async def read(request: Request, file_fields: dict[str, int] | None = None) -> tuple[dict, dict, CivicError | None]:
    """The form's text values and files; a refused upload comes back as the error to show with the form."""
    if not file_fields:
        return form_dict(await read_form(request)), {}, None
    try:
        values, files = await read_multipart(request, file_fields=file_fields)
    except (Invalid, TooLarge) as exc:
        return dict(getattr(exc, "values", {}) or {}), {}, exc
    return values, files, None


def _run(request: Request, code: str, form: dict, fn: Callable, message: str, success_path: Callable,
         failure: Callable, action: str, read_error: CivicError | None = None) -> Any:
    """POST → service → 303 with a flash; bad input or a refused rule re-renders the page with the reason."""
    if read_error is not None:
        web = Web(request)
        errors = web.field_errors(read_error) if isinstance(read_error, Invalid) else {}
        return failure(status=read_error.status, form_action=action, form_values=form, form_errors=errors,
                       form_message=web.error_text(read_error))

    def work(db):
        web = Web(request, db)
        web.check_csrf(form)
        require_user(web)
        item = items.get_by_code(db, code)
        fn(db, item, web.viewer, form)
        return web, item

    try:
        web, item = run_write(work)
    except (Invalid, Conflict, TooLarge) as exc:
        web = Web(request)
        errors = web.field_errors(exc) if isinstance(exc, Invalid) else {}
        return failure(status=exc.status, form_action=action, form_values=form, form_errors=errors,
                       form_message=web.error_text(exc))
    return web.redirect(success_path(item), message, code=item.code)


@router.post("/do/{code}/{action}")
async def desk_action(request: Request, code: str, action: str):
    if action not in DESK_ACTIONS:
        raise NotFound(N_("This action does not exist."))
    form, files, error = await read(request, DESK_FILES.get(action))
    fn, message = DESK_ACTIONS[action]
    target = (lambda item: f"/items/{item.code}") if action == "start_inspection" else (lambda item: f"/do/{item.code}")
    return await run_in_threadpool(_run, request, code, form, lambda db, item, viewer, f: fn(db, item, viewer, f, files),
                                   message, target, lambda **kw: _desk(request, code, **kw), action, error)


def _pledge_page(request: Request, code: str, pledge_id: str, status: int = 200, **extra) -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        facts = workflow.facts(db, item)
        rules.check_secretary(facts, viewer.facts())
        p = impl._pledge_of_item(db, item, pledge_id)
        row = impl.pledge_rows(db, item, household_ids=[p.household_id], size=100)[0]
        row = next(r for r in row if r.pledge.id == p.id)
        return web.render("implementation/pledge.html", status=status, **media_web.page_context(db, web, item), item=item, strip=strip_state(item),
                          DO=LABELS, row=row, deliveries=impl.deliveries_for(db, item, [p.household_id]),
                          accepts=rules.accepts_pledges(facts), today=clock.today_local(),
                          can_withdraw=rules.offers_withdrawal(facts, impl.work_started(db, item.id)),
                          form_values=extra.pop("form_values", {}), form_errors=extra.pop("form_errors", {}),
                          **extra)


@router.get("/do/{code}/pledge/{pledge_id}", response_class=HTMLResponse)
def pledge_page(request: Request, code: str, pledge_id: str):
    return _pledge_page(request, code, pledge_id)


@router.post("/do/{code}/pledge/{pledge_id}/{action}")
async def pledge_action(request: Request, code: str, pledge_id: str, action: str):
    form, files, error = await read(request, {"evidence_files": 3} if action == "deliver" else None)
    fns = {"deliver": (lambda db, item, viewer, f: impl.record_delivery(db, item, pledge_id, viewer, f,
                                                                        files.get("evidence_files")),
                       N_("The delivery was recorded.")),
           "withdraw": (lambda db, item, viewer, f: impl.withdraw(db, item, pledge_id, viewer, f),
                        N_("The pledge was withdrawn on behalf of the household; the record is kept."))}
    if action not in fns:
        raise NotFound(N_("This action does not exist."))
    fn, message = fns[action]
    return await run_in_threadpool(_run, request, code, form, fn, message,
                                   lambda item: f"/do/{item.code}/pledge/{pledge_id}",
                                   lambda **kw: _pledge_page(request, code, pledge_id, **kw), action, error)


# --- a household's own pledges ------------------------------------------------------------------------------

def _household_page(request: Request, code: str, status: int = 200, **extra) -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        facts = workflow.facts(db, item)
        mine = impl.represented_households(db, viewer, item.village_id)
        rules.check_household_page(facts, bool(mine))
        ids = [h.id for h in mine]
        rows, _total = impl.pledge_rows(db, item, household_ids=ids, size=100)
        return web.render("implementation/household.html", status=status, **media_web.page_context(db, web, item), item=item, strip=strip_state(item),
                          DO=LABELS, households=mine, rows=rows, deliveries=impl.deliveries_for(db, item, ids),
                          accepts=rules.accepts_pledges(facts),
                          can_withdraw=rules.offers_withdrawal(facts, impl.work_started(db, item.id)), today=clock.today_local(),
                          form_values=extra.pop("form_values", {}), form_errors=extra.pop("form_errors", {}),
                          **extra)


PLEDGERS_PAGE = 200


@router.get("/items/{code}/pledgers", response_class=HTMLResponse)
def pledgers(request: Request, code: str):
    """Every household that pledged, by name, where the households decided the names may be published."""
    with unit_of_work() as db:
        web = Web(request, db)
        item = items.get_by_code(db, code)
        setting = impl.settings_for(db, item)
        if not rules.publishes_names(item.stage, item.outcome, bool(setting and setting.publish_pledger_names)):
            raise NotFound(N_("The names of the pledging households are not published for this item."))
        page = _page(request)
        names, total = impl.public_names(db, item, limit=PLEDGERS_PAGE, page=page)
        pages = max(1, -(-total // PLEDGERS_PAGE))
        return web.render("implementation/pledgers.html", item=item, names=names, total=total, page=page,
                          pages=pages, first=(page - 1) * PLEDGERS_PAGE + 1)


@router.get("/items/{code}/pledge", response_class=HTMLResponse)
def household_page(request: Request, code: str):
    return _household_page(request, code)


@router.post("/items/{code}/pledge")
async def household_pledge(request: Request, code: str):
    form, files, error = await read(request, {"consent_scan": 1})
    return await run_in_threadpool(
        _run, request, code, form,
        lambda db, item, viewer, f: impl.pledge(db, item, viewer, f, consent_scan=files.get("consent_scan")),
        N_("Your household's pledge was recorded. Thank you."), lambda item: f"/items/{item.code}/pledge",
        lambda **kw: _household_page(request, code, **kw), "pledge", error)


@router.post("/items/{code}/pledge/{pledge_id}/withdraw")
async def household_withdraw(request: Request, code: str, pledge_id: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_run, request, code, form,
                                   lambda db, item, viewer, f: impl.withdraw(db, item, pledge_id, viewer, f),
                                   N_("Your household's pledge was withdrawn."),
                                   lambda item: f"/items/{item.code}/pledge",
                                   lambda **kw: _household_page(request, code, **kw), "withdraw")


@router.post("/items/{code}/delivery/{delivery_id}/dispute")
async def household_dispute(request: Request, code: str, delivery_id: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_run, request, code, form,
                                   lambda db, item, viewer, f: impl.dispute(db, item, delivery_id, viewer, f),
                                   N_("Your dispute was recorded; the secretary will look at it."),
                                   lambda item: f"/items/{item.code}/pledge",
                                   lambda **kw: _household_page(request, code, dispute_id=delivery_id, **kw),
                                   "dispute")
