"""Pages of Dân làm: the public section of the status page, the village head's work desk and a pledge's page,
and a household's own pledges. Routes translate HTTP to service calls and render what the rules decided;
every form posts through civic.web.forms.post_form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civic import clock
from civic.accounts.service import Viewer
from civic.core.inputs import Form
from civic.core.kinds import Action
from civic.db import row_id
from civic.errors import N_, NotFound
from civic.implementation import rules
from civic.implementation import service as impl
from civic.implementation.schemas import (
    FORMS,
    BudgetLineForm,
    DeliveryBatchForm,
    DeliveryForm,
    DisputeForm,
    PledgeForm,
    PledgeOnBehalfForm,
    ProgressForm,
    SettingsForm,
    SpendingForm,
    WithdrawForm,
)
from civic.items import service as items
from civic.items.models import Item
from civic.media import rules as media_rules
from civic.media.schemas import FileField, Prepared
from civic.supervision import rules as sup_rules
from civic.web import media as media_web
from civic.web.core import Web, env, register_forms, require_user
from civic.web.deps import CurrentItem, CurrentWeb, ItemCode, PageNumber, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.supervision import supervision_context
from civic.web.uploads import allow_uploads
from civic.web.views import status_section, strip_state
from civic.workflow import service as workflow

router = APIRouter()
register_forms(*FORMS)

# Labels the shared timeline needs to tell Dân làm and Dân kiểm tra events (components/timeline.html).
env.globals.update(DO_KINDS=rules.KIND_LABELS, DO_UNITS=rules.UNIT_LABELS, SUP_MARKS=sup_rules.MARKS,
                   SUP_SEVERITIES=sup_rules.SEVERITIES, SUP_VERDICTS=sup_rules.VERDICTS)

LABELS = {"kinds": rules.KIND_LABELS, "units": rules.UNIT_LABELS, "sources": rules.SOURCE_LABELS}
PAGE_SIZE = 25

# The files each form takes; they are checked and processed before the writing transaction.
CONSENT_SCAN = {"consent_scan": FileField(most=1, accept=media_rules.KINDS)}
PROGRESS_PHOTOS = {"photos": FileField(most=5, accept=(media_rules.PHOTO,))}
SPENDING_DOCUMENT = {"document": FileField(most=1, accept=media_rules.KINDS)}
DELIVERY_EVIDENCE = {"evidence_files": FileField(most=3, accept=media_rules.KINDS)}
BATCH_EVIDENCE = {"evidence_files": FileField(most=1, accept=media_rules.KINDS)}
allow_uploads(r"/do/[^/]+/(pledge|progress|spend|deliver)", files=5)
allow_uploads(r"/do/[^/]+/pledge/\d+/deliver", files=3)
allow_uploads(r"/items/[^/]+/pledge", files=1)


@status_section
def status_context(db, web: Web, item) -> dict[str, Any]:
    """What the status page shows of Dân làm and Dân kiểm tra (called once from views.item_page_context)."""

    facts = workflow.facts(db, item)
    actor = web.viewer.facts()
    out: dict[str, Any] = {"DO": LABELS, "do": None}
    if rules.shows_section(item.stage, item.outcome):
        setting = impl.settings_for(db, item)
        published = rules.publishes_names(item.stage, item.outcome,
                                          bool(setting and setting.publish_pledger_names))
        names, names_total = impl.public_names(db, item) if published else ([], 0)
        mine = impl.represented_households(db, web.viewer, item.village_id) if web.viewer.id else []
        out["do"] = {
            "totals": impl.totals(db, item, setting),
            "setting": setting,
            "names": names,
            "names_total": names_total,
            "budget": impl.budget(db, item),
            "spending": impl.latest_spending(db, item, 10),
            "progress": impl.progress(db, item),
            "missing": rules.missing_for_inspection(facts.progress_percent, facts.pledges_open)
            if rules.accepts_pledges(facts) else [],
            "can_manage": rules.can_manage(facts, actor),
            "household_link": bool(mine),
            "accepts_pledges": rules.accepts_pledges(facts),
        }
    out.update(supervision_context(db, web, item, facts))
    return out


# --- the village head's desk ---------------------------------------------------------------------------


def _signed_in_item(web: Web, code: str) -> Item:
    """The item of a page for the signed-in: the login first, then the item (a signed-out visitor is sent
    to log in even where no item has the code). Not `SignedIn` + `CurrentItem`: a dependency that raises
    runs before the path and query are checked, and would send a malformed address to log in, not 404."""
    require_user(web)
    return items.get_by_code(web.session, code)


def _again(request: Request, code: str, render: Callable[[Web, Item], Response]) -> Response:
    """A page again after post_form refused a form, in its own read session."""
    with reading(request) as web:
        return render(web, _signed_in_item(web, code))


def _desk(web: Web, item: Item, state: FormState = EMPTY, page: int = 1) -> HTMLResponse:
    db = web.session
    viewer = require_user(web)
    facts = workflow.facts(db, item)
    rules.check_village_head(facts, viewer.facts())
    rows, total = impl.pledge_rows(db, item, page=page, size=PAGE_SIZE)
    setting = impl.settings_for(db, item)
    budget = impl.budget(db, item)
    spending, _n = impl.spending_page(db, item)
    actions = workflow.allowed_actions(db, item, viewer)
    return web.render(
        "implementation/desk.html", status=state.status, **media_web.page_context(db, web, item),
        item=item, strip=strip_state(item), DO=LABELS, rows=rows, total=total, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), setting=setting, totals=impl.totals(db, item, setting),
        budget=budget, spending=spending, progress=impl.progress(db, item, limit=5),
        recent=impl.recent_deliveries(db, item, limit=5),
        missing=rules.missing_for_inspection(facts.progress_percent, facts.pledges_open),
        can_start_inspection=Action.START_INSPECTION in actions, accepts=rules.accepts_pledges(facts),
        today=clock.today_local(), **state.context())


@router.get("/do/{code}", response_class=HTMLResponse, name="work_desk")
def desk(web: CurrentWeb, code: ItemCode, page: PageNumber = 1):
    return _desk(web, _signed_in_item(web, code), page=page)


# work(db, item, viewer, form, files): the service call of one form, in the writing unit of work.
Work = Callable[[Session, Item, Viewer, Any, dict[str, list[Prepared]]], Any]


async def _post(request: Request, code: str, action: str, schema: type[Form], work: Work, message: str, *,
                done: str, page: Callable[[FormState], Response], files: dict[str, FileField] | None = None
                ) -> Response:
    """One Dân làm form through post_form: signed in, the item found, the service run; then `done` (a path
    with `{code}`) and the flash message, or `page` again with what was refused."""

    def act(db: Session, web: Web, form: Any, prepared: dict[str, list[Prepared]]) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        work(db, item, web.viewer, form, prepared)
        return Done(done.format(code=item.code), message, {"code": item.code})

    return await post_form(request, schema, action=action, act=act, page=page, files=files)


def _desk_post(request: Request, code: str, action: str, schema: type[Form], work: Work, message: str,
               files: dict[str, FileField] | None = None, done: str = "/do/{code}"):
    return _post(request, code, action, schema, work, message, done=done, files=files,
                 page=lambda state: _again(request, code, lambda web, item: _desk(web, item, state)))


@router.post("/do/{code}/settings")
async def save_settings(request: Request, code: ItemCode):
    def work(db, item, viewer, form: SettingsForm, files) -> None:
        impl.save_settings(db, item, viewer, form)

    return await _desk_post(request, code, "settings", SettingsForm, work,
                            N_("The decision's figures were saved."))


@router.post("/do/{code}/pledge")
async def pledge_on_behalf(request: Request, code: ItemCode):
    def work(db, item, viewer, form: PledgeOnBehalfForm, files) -> None:
        impl.pledge(db, item, viewer, form, consent_scan=files["consent_scan"])

    return await _desk_post(request, code, "pledge", PledgeOnBehalfForm, work,
                            N_("The pledge was recorded on behalf of the household."), files=CONSENT_SCAN)


@router.post("/do/{code}/budget")
async def add_budget_line(request: Request, code: ItemCode):
    def work(db, item, viewer, form: BudgetLineForm, files) -> None:
        impl.add_budget_line(db, item, viewer, form)

    return await _desk_post(request, code, "budget", BudgetLineForm, work, N_("The budget line was added."))


@router.post("/do/{code}/spend")
async def add_spending(request: Request, code: ItemCode):
    def work(db, item, viewer, form: SpendingForm, files) -> None:
        impl.add_spending(db, item, viewer, form, files["document"])

    return await _desk_post(request, code, "spend", SpendingForm, work, N_("The spending was recorded."),
                            files=SPENDING_DOCUMENT)


@router.post("/do/{code}/progress")
async def post_progress(request: Request, code: ItemCode):
    def work(db, item, viewer, form: ProgressForm, files) -> None:
        impl.post_progress(db, item, viewer, form, files["photos"])

    return await _desk_post(request, code, "progress", ProgressForm, work,
                            N_("The progress update was posted."), files=PROGRESS_PHOTOS)


@router.post("/do/{code}/deliver", name="record_deliveries")
async def record_deliveries(request: Request, code: ItemCode, page: PageNumber = 1):
    """Several deliveries from the desk's table at once, all or nothing; back to the same page of it."""

    def act(db: Session, web: Web, form: DeliveryBatchForm, prepared: dict[str, list[Prepared]]) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        saved = impl.record_deliveries(db, item, web.viewer, form, prepared.get("evidence_files", []))
        target = f"/do/{item.code}" + (f"?page={page}" if page > 1 else "")
        return Done(target, N_("%(n)s deliveries were recorded."), {"n": len(saved)})

    return await post_form(request, DeliveryBatchForm, action="deliver", act=act, files=BATCH_EVIDENCE,
                           page=lambda state: _again(request, code,
                                                     lambda web, item: _desk(web, item, state, page=page)))


@router.post("/do/{code}/start_inspection")
async def start_inspection(request: Request, code: ItemCode):
    def work(db, item, viewer, form, files) -> None:
        workflow.transition(db, item, Action.START_INSPECTION, viewer, form)

    return await _desk_post(request, code, "start_inspection", workflow.form_for(Action.START_INSPECTION),
                            work, N_("%(code)s was handed over to the supervisors for inspection."),
                            done="/items/{code}")


# --- one pledge -------------------------------------------------------------------------------------------

def _pledge_page(web: Web, item: Item, pledge_id: int, state: FormState = EMPTY) -> HTMLResponse:
    db = web.session
    viewer = require_user(web)
    facts = workflow.facts(db, item)
    rules.check_village_head(facts, viewer.facts())
    p = impl.pledge_of_item(db, item, pledge_id)
    row = impl.pledge_rows(db, item, pledge_id=p.id, size=1)[0][0]
    return web.render("implementation/pledge.html", status=state.status,
                      **media_web.page_context(db, web, item), item=item, strip=strip_state(item),
                      DO=LABELS, row=row, deliveries=impl.deliveries_for(db, item, [p.household_id]),
                      accepts=rules.accepts_pledges(facts), today=clock.today_local(),
                      can_withdraw=rules.offers_withdrawal(facts, impl.work_started(db, row_id(item))),
                      **state.context())


@router.get("/do/{code}/pledge/{pledge_id}", response_class=HTMLResponse)
def pledge_page(web: CurrentWeb, code: ItemCode, pledge_id: RowId):
    return _pledge_page(web, _signed_in_item(web, code), pledge_id)


def _delivery_form(request: Request, code: str, pledge_id: int) -> type[DeliveryForm]:
    """The delivery form of this pledge's kind: whole đồng for money, a quantity otherwise."""
    with reading(request) as web:
        item = _signed_in_item(web, code)
        return DeliveryForm.for_kind(impl.pledge_of_item(web.session, item, pledge_id).kind)


def _pledge_post(request: Request, code: str, pledge_id: int, action: str, schema: type[Form], work: Work,
                 message: str, files: dict[str, FileField] | None = None):
    return _post(request, code, action, schema, work, message, done=f"/do/{{code}}/pledge/{pledge_id}",
                 files=files, page=lambda state: _again(request, code,
                                               lambda web, item: _pledge_page(web, item, pledge_id, state)))


@router.post("/do/{code}/pledge/{pledge_id}/deliver")
async def record_delivery(request: Request, code: ItemCode, pledge_id: RowId):
    schema = await run_in_threadpool(_delivery_form, request, code, pledge_id)

    def work(db, item, viewer, form: DeliveryForm, files) -> None:
        impl.record_delivery(db, item, pledge_id, viewer, form, files["evidence_files"])

    return await _pledge_post(request, code, pledge_id, "deliver", schema, work,
                              N_("The delivery was recorded."), files=DELIVERY_EVIDENCE)


@router.post("/do/{code}/pledge/{pledge_id}/withdraw")
async def withdraw_on_behalf(request: Request, code: ItemCode, pledge_id: RowId):
    def work(db, item, viewer, form: WithdrawForm, files) -> None:
        impl.withdraw(db, item, pledge_id, viewer, form)

    return await _pledge_post(request, code, pledge_id, "withdraw", WithdrawForm, work,
                              N_("The pledge was withdrawn on behalf of the household; the record is kept."))


# --- a household's own pledges ------------------------------------------------------------------------------

def _household_page(web: Web, item: Item, state: FormState = EMPTY, dispute_id: int | None = None
                    ) -> HTMLResponse:
    db = web.session
    viewer = require_user(web)
    facts = workflow.facts(db, item)
    mine = impl.represented_households(db, viewer, item.village_id)
    rules.check_household_page(facts, bool(mine))
    ids = [row_id(h) for h in mine]
    rows, _total = impl.pledge_rows(db, item, household_ids=ids, size=100)
    return web.render("implementation/household.html", status=state.status,
                      **media_web.page_context(db, web, item), item=item, strip=strip_state(item),
                      DO=LABELS, households=mine, rows=rows,
                      deliveries=impl.deliveries_for(db, item, ids), accepts=rules.accepts_pledges(facts),
                      can_withdraw=rules.offers_withdrawal(facts, impl.work_started(db, row_id(item))),
                      today=clock.today_local(), dispute_id=dispute_id, **state.context())


PLEDGERS_PAGE = 200


@router.get("/items/{code}/pledgers", response_class=HTMLResponse)
def pledgers(web: CurrentWeb, item: CurrentItem, page: PageNumber = 1):
    """Every household that pledged, by name, where the households decided the names may be published."""
    db = web.session
    setting = impl.settings_for(db, item)
    if not rules.publishes_names(item.stage, item.outcome,
                                 bool(setting and setting.publish_pledger_names)):
        raise NotFound(N_("The names of the pledging households are not published for this item."))
    names, total = impl.public_names(db, item, limit=PLEDGERS_PAGE, page=page)
    pages = max(1, -(-total // PLEDGERS_PAGE))
    return web.render("implementation/pledgers.html", item=item, names=names, total=total, page=page,
                      pages=pages, first=(page - 1) * PLEDGERS_PAGE + 1)


@router.get("/items/{code}/pledge", response_class=HTMLResponse)
def household_page(web: CurrentWeb, code: ItemCode):
    return _household_page(web, _signed_in_item(web, code))


def _household_post(request: Request, code: str, action: str, schema: type[Form], work: Work, message: str,
                    files: dict[str, FileField] | None = None, dispute_id: int | None = None):
    return _post(request, code, action, schema, work, message, done="/items/{code}/pledge", files=files,
                 page=lambda state: _again(request, code,
                                        lambda web, item: _household_page(web, item, state, dispute_id)))


@router.post("/items/{code}/pledge")
async def household_pledge(request: Request, code: ItemCode):
    def work(db, item, viewer, form: PledgeForm, files) -> None:
        impl.pledge(db, item, viewer, form, consent_scan=files["consent_scan"])

    return await _household_post(request, code, "pledge", PledgeForm, work,
                                 N_("Your household's pledge was recorded. Thank you."), files=CONSENT_SCAN)


@router.post("/items/{code}/pledge/{pledge_id}/withdraw")
async def household_withdraw(request: Request, code: ItemCode, pledge_id: RowId):
    def work(db, item, viewer, form: WithdrawForm, files) -> None:
        impl.withdraw(db, item, pledge_id, viewer, form)

    return await _household_post(request, code, "withdraw", WithdrawForm, work,
                                 N_("Your household's pledge was withdrawn."))


@router.post("/items/{code}/delivery/{delivery_id}/dispute")
async def household_dispute(request: Request, code: ItemCode, delivery_id: RowId):
    def work(db, item, viewer, form: DisputeForm, files) -> None:
        impl.dispute(db, item, delivery_id, viewer, form)

    return await _household_post(request, code, "dispute", DisputeForm, work,
                                 N_("Your dispute was recorded; the village head will look at it."),
                                 dispute_id=delivery_id)
