"""Pages of Dân kiểm tra: the public section of the status page, the inspection page (supervisors and the
village secretary), the supervisor's queue, and a household's verdict. Routes decide nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from civic import clock
from civic.areas import service as areas
from civic.db import unit_of_work
from civic.errors import N_, NotFound
from civic.implementation import service as impl
from civic.items import service as items
from civic.supervision import rules
from civic.supervision import service as sup
from civic.web import media as media_web
from civic.web.core import Web, form_dict, read_form, require_user
from civic.web.implementation import _run, read
from civic.web.uploads import allow_uploads
from civic.web.views import lookups, strip_state
from civic.workflow import service as workflow

router = APIRouter()

LABELS = {"marks": rules.MARKS, "severities": rules.SEVERITIES, "verdicts": rules.VERDICTS}


def supervision_context(db, web: Web, item, facts) -> dict[str, Any]:
    """The Dân kiểm tra section of the status page, in a fixed number of queries."""
    out: dict[str, Any] = {"SUP": LABELS, "inspect": None}
    if not rules.shows_section(item.stage, item.outcome):
        return out
    actor = web.viewer.facts()
    latest = sup.inspections(db, item, limit=1)
    lists = sup.checklist(db, [i.id for i in latest])
    verdicts = sup.verdict_totals(db, item) if rules.is_closed_done(facts) else None
    mine = impl.represented_households(db, web.viewer, item.village_id) if web.viewer.id else []
    findings = sup.findings(db, item)
    today = clock.today_local()
    out["inspect"] = {
        "inspection": latest[0] if latest else None,
        "checklist": lists[latest[0].id] if latest else [],
        "findings": findings,
        "past_due": {f.id for f in findings if rules.past_due(f.due_on, f.resolved_at is not None, today)},
        "verdicts": verdicts,
        "reopen": sup.reopen_requests(db, item),
        "staff_link": rules.is_supervisor(facts, actor) or rules.can_answer(facts, actor),
        "verdict_link": bool(mine) and rules.takes_verdicts(facts, clock.now()),
    }
    return out


# --- the supervisor's queue ---------------------------------------------------------------------------------

@router.get("/inspect", response_class=HTMLResponse)
def queue(request: Request):
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        rules.check_queue(viewer.facts())
        commune = areas.default_commune(db)
        return web.render("supervision/queue.html", queue=sup.queue(db, viewer), look=lookups(db, commune.id),
                          today=clock.today_local(), SUP=LABELS)


# --- the inspection page ------------------------------------------------------------------------------------

def _inspect_page(request: Request, code: str, status: int = 200, **extra) -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        facts = workflow.facts(db, item)
        actor = viewer.facts()
        rules.check_staff_page(facts, actor)
        latest = sup.inspections(db, item, limit=1)
        current = latest[0] if latest and latest[0].result is None else None
        actions = workflow.allowed_actions(db, item, viewer)
        return web.render(
            "supervision/inspect.html", status=status, **media_web.page_context(db, web, item), item=item, strip=strip_state(item), SUP=LABELS,
            inspection=current, checklist=sup.checklist(db, [current.id])[current.id] if current else [],
            findings=sup.findings(db, item), reopen=sup.reopen_requests(db, item),
            can_open=rules.can_open_inspection(facts, actor), can_edit=rules.can_edit_inspection(facts, actor),
            can_answer=rules.can_answer(facts, actor), is_supervisor=rules.is_supervisor(facts, actor),
            actions=actions, default_checklist="\n".join(web._(x) for x in rules.DEFAULT_CHECKLIST), today=clock.today_local(),
            form_values=extra.pop("form_values", {}), form_errors=extra.pop("form_errors", {}), **extra)


@router.get("/inspect/{code}", response_class=HTMLResponse)
def inspect_page(request: Request, code: str):
    return _inspect_page(request, code)


def _with_id(fn):
    return lambda db, item, viewer, form: fn(db, item, viewer, form.get("target_id"), form)


ACTIONS = {
    "open": (sup.open_new_inspection, N_("The inspection was opened.")),
    "add_entry": (sup.add_checklist_entry, N_("The checklist entry was added.")),
    "remove_entry": (lambda db, item, viewer, form: sup.remove_checklist_entry(db, item, viewer, form.get("target_id")),
                     N_("The checklist entry was removed.")),
    "mark": (_with_id(sup.mark_entry), N_("The checklist entry was marked.")),
    "finding": (None, N_("The finding was recorded; the secretary must answer it.")),
    "answer": (_with_id(sup.answer_finding), N_("Your answer was published.")),
    "resolve": (lambda db, item, viewer, form: sup.resolve_finding(db, item, viewer, form.get("target_id")),
                N_("The finding was marked resolved.")),
    "refuse_reopen": (sup.refuse_reopen, N_("The request to reopen was refused; the reason is public.")),
}
MOVES = {
    "sign_off": N_("%(code)s was signed off as done."),
    "rework": N_("%(code)s was sent back to People do for rework."),
    "close_not_done": N_("%(code)s was closed as not done."),
    "reopen": N_("%(code)s was reopened and is back in People inspect."),
}


allow_uploads(r"/inspect/[^/]+/finding", files=5)


@router.post("/inspect/{code}/{action}")
async def inspect_action(request: Request, code: str, action: str):
    form, files, error = await read(request, {"photos": 5} if action == "finding" else None)
    if action in ACTIONS:
        fn, message = ACTIONS[action]
        if action == "finding":
            fn = lambda db, item, viewer, f: sup.add_finding(db, item, viewer, f, files.get("photos"))  # noqa: E731
        target = lambda item: f"/inspect/{item.code}"  # noqa: E731
    elif action in MOVES:
        fn = lambda db, item, viewer, f: workflow.transition(  # noqa: E731
            db, item, action, viewer, workflow.form_for(action).parse(f))
        message = MOVES[action]
        target = lambda item: f"/items/{item.code}"  # noqa: E731
    else:
        raise NotFound(N_("This action does not exist."))
    return await run_in_threadpool(_run, request, code, form, fn, message, target,
                                   lambda **kw: _inspect_page(request, code, **kw), action, error)


# --- a household's verdict ----------------------------------------------------------------------------------

def _verdict_page(request: Request, code: str, status: int = 200, **extra) -> HTMLResponse:
    with unit_of_work() as db:
        web = Web(request, db)
        viewer = require_user(web)
        item = items.get_by_code(db, code)
        facts = workflow.facts(db, item)
        mine = impl.represented_households(db, viewer, item.village_id)
        if not mine:
            from civic.implementation import rules as impl_rules

            impl_rules.check_household_page(facts, False)
        given = {h.id: sup.household_verdict(db, item, h.id) for h in mine}
        asked = {r.household_id for r in sup.reopen_requests(db, item, limit=200)
                 if clock.as_utc(r.closure_at) == clock.as_utc(item.closed_at)}
        may_reopen = {h.id for h in mine if rules.offers_reopen(facts, clock.now(), given[h.id].verdict
                                                                 if given[h.id] else None, h.id in asked)}
        return web.render("supervision/verdict.html", status=status, item=item, strip=strip_state(item),
                          SUP=LABELS, households=mine, given=given, may_reopen=may_reopen, open=rules.takes_verdicts(facts, clock.now()),
                          totals=sup.verdict_totals(db, item), closed_at=item.closed_at,
                          form_values=extra.pop("form_values", {}), form_errors=extra.pop("form_errors", {}),
                          **extra)


@router.get("/items/{code}/verdict", response_class=HTMLResponse)
def verdict_page(request: Request, code: str):
    return _verdict_page(request, code)


@router.post("/items/{code}/verdict")
async def verdict_post(request: Request, code: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_run, request, code, form, sup.give_verdict,
                                   N_("Your household's verdict was recorded. Thank you."),
                                   lambda item: f"/items/{item.code}/verdict",
                                   lambda **kw: _verdict_page(request, code, **kw), "verdict")


@router.post("/items/{code}/reopen-request")
async def reopen_post(request: Request, code: str):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_run, request, code, form, sup.ask_reopen,
                                   N_("Your request to reopen was sent to the supervisors."),
                                   lambda item: f"/items/{item.code}/verdict",
                                   lambda **kw: _verdict_page(request, code, **kw), "reopen_request")
