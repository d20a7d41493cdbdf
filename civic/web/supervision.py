"""Pages of Dân kiểm tra: the public section of the status page, the inspection page (supervisors and the
village head), the supervisor's queue, and a household's verdict. Routes decide nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from civic import clock
from civic.boards import rules as board_rules
from civic.core.inputs import Form
from civic.core.kinds import Action
from civic.db import row_id
from civic.errors import N_, NotFound
from civic.implementation import rules as impl_rules
from civic.implementation import service as impl
from civic.items import service as items
from civic.items.models import Item
from civic.media.schemas import FileField
from civic.supervision import rules
from civic.supervision import schemas as forms
from civic.supervision import service as sup
from civic.web import communes
from civic.web import media as media_web
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentItem, CurrentWeb, Db, ItemCode, SignedIn, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.uploads import allow_uploads
from civic.web.views import lookups, strip_state
from civic.workflow import service as workflow
from civic.workflow.schemas import TransitionForm

router = APIRouter()
register_forms(*forms.FORMS, TransitionForm)

LABELS = {"marks": rules.MARKS, "severities": rules.SEVERITIES, "verdicts": rules.VERDICTS}


def supervision_context(db, web: Web, item, facts) -> dict[str, Any]:
    """The Dân kiểm tra section of the status page, in a fixed number of queries."""
    out: dict[str, Any] = {"SUP": LABELS, "inspect": None}
    if not rules.shows_section(item.stage, item.outcome):
        return out
    actor = web.viewer.facts()
    latest = sup.inspections(db, item, limit=1)
    lists = sup.checklist(db, [row_id(i) for i in latest])
    verdicts = sup.verdict_totals(db, item) if rules.is_closed_done(facts) else None
    mine = impl.represented_households(db, web.viewer, item.village_id) if web.viewer.id else []
    findings = sup.findings(db, item)
    today = clock.today_local()
    votes, members = sup.votes(db, latest[0].id if latest else None)
    out["inspect"] = {
        "votes": votes,
        "members": members,
        "inspection": latest[0] if latest else None,
        "checklist": lists[row_id(latest[0])] if latest else [],
        "findings": findings,
        "past_due": {f.id for f in findings if rules.past_due(f.due_on, f.resolved_at is not None, today)},
        "verdicts": verdicts,
        "reopen": sup.reopen_requests(db, item),
        "staff_link": (rules.is_supervisor(facts, actor) or rules.can_answer(facts, actor)
                       or rules.is_inspector(facts, actor)),
        "verdict_link": bool(mine) and rules.takes_verdicts(facts, clock.now()),
    }
    return out


# --- the supervisor's queue ---------------------------------------------------------------------------------

@router.get("/inspect", response_class=HTMLResponse, name="inspect_queue")
def queue(viewer: SignedIn, web: CurrentWeb, db: Db):
    rules.check_queue(viewer.facts())
    commune = communes.current(web.request, db)
    return web.render("supervision/queue.html", queue=sup.queue(db, viewer),
                      look=lookups(db, row_id(commune)), today=clock.today_local(), SUP=LABELS)


# --- the inspection page ------------------------------------------------------------------------------------

def _inspect_page(db: Session, web: Web, item: Item, state: FormState = EMPTY) -> HTMLResponse:
    viewer = web.viewer
    facts = workflow.facts(db, item)
    actor = viewer.facts()
    rules.check_staff_page(facts, actor)
    latest = sup.inspections(db, item, limit=1)
    current = latest[0] if latest and latest[0].result is None else None
    actions = workflow.allowed_actions(db, item, viewer)
    return web.render(
        "supervision/inspect.html", status=state.status, **media_web.page_context(db, web, item),
        item=item, strip=strip_state(item), SUP=LABELS, inspection=current,
        checklist=sup.checklist(db, [row_id(current)])[row_id(current)] if current else [],
        findings=sup.findings(db, item), reopen=sup.reopen_requests(db, item),
        can_open=rules.can_open_inspection(facts, actor),
        can_edit=rules.can_edit_inspection(facts, actor),
        can_answer=rules.can_answer(facts, actor), is_supervisor=rules.is_supervisor(facts, actor),
        is_inspector=rules.is_inspector(facts, actor), can_agree=rules.can_agree_to_sign_off(facts, actor),
        votes=sup.votes(db, current.id if current else None)[0],
        members=len(facts.inspectors), agreed=facts.sign_off_agreed,
        needed=board_rules.majority_of(len(facts.inspectors)),
        actions=actions, default_checklist="\n".join(web._(x) for x in rules.DEFAULT_CHECKLIST),
        today=clock.today_local(), **state.context())


def _again(request: Request, code: str, page: Callable[[Session, Web, Item, FormState], HTMLResponse],
           state: FormState) -> HTMLResponse:
    """A page again, after post_form refused a form (its own transaction was rolled back): the login is
    asked for before the item is looked up, as on the GET route."""
    with reading(request) as web:
        require_user(web)
        return page(web.session, web, items.get_by_code(web.session, code), state)


# SignedIn before CurrentItem: an anonymous visitor goes to the login page before the item is looked up.
@router.get("/inspect/{code}", response_class=HTMLResponse)
def inspect_page(viewer: SignedIn, web: CurrentWeb, db: Db, item: CurrentItem):
    return _inspect_page(db, web, item)


@dataclass(frozen=True)
class InspectAction:
    """One form of the inspection page: what it parses, what it says when done, what it does (with the
    database, the item, the viewer, the parsed form and the prepared files), and where it goes."""

    form: type[Form] | None  # None: the move's own form (workflow.form_for)
    message: str
    run: Callable[[Any, Any, Any, Any, dict], Any]
    to_status_page: bool = False
    files: dict[str, FileField] | None = None


FINDING_FILES = {"photos": FileField(most=rules.FINDING_PHOTOS_MAX, accept=rules.FINDING_FILES)}

ACTIONS: dict[str, InspectAction] = {
    "open": InspectAction(
        forms.OpenInspectionForm, N_("The inspection was opened."),
        lambda db, item, who, form, files: sup.open_new_inspection(db, item, who, form)),
    "add_entry": InspectAction(
        forms.ChecklistEntryForm, N_("The checklist entry was added."),
        lambda db, item, who, form, files: sup.add_checklist_entry(db, item, who, form)),
    "remove_entry": InspectAction(
        forms.EntryForm, N_("The checklist entry was removed."),
        lambda db, item, who, form, files: sup.remove_checklist_entry(db, item, who, form.target_id)),
    "mark": InspectAction(
        forms.MarkForm, N_("The checklist entry was marked."),
        lambda db, item, who, form, files: sup.mark_entry(db, item, who, form)),
    "finding": InspectAction(
        forms.FindingForm, N_("The finding was recorded; the village head must answer it."),
        lambda db, item, who, form, files: sup.add_finding(db, item, who, form, files.get("photos", ())),
        files=FINDING_FILES),
    "answer": InspectAction(
        forms.AnswerForm, N_("Your answer was published."),
        lambda db, item, who, form, files: sup.answer_finding(db, item, who, form)),
    "resolve": InspectAction(
        forms.FindingRefForm, N_("The finding was marked resolved."),
        lambda db, item, who, form, files: sup.resolve_finding(db, item, who, form.target_id)),
    "refuse_reopen": InspectAction(
        forms.RefuseReopenForm, N_("The request to reopen was refused; the reason is public."),
        lambda db, item, who, form, files: sup.refuse_reopen(db, item, who, form)),
}
MOVES = {
    Action.REWORK: N_("%(code)s was sent back to People do for rework."),
    Action.CLOSE_NOT_DONE: N_("%(code)s was closed as not done."),
    Action.REOPEN: N_("%(code)s was reopened and is back in People inspect."),
}


def _moving(action: Action) -> Callable[[Any, Any, Any, Any, dict], Any]:
    """What a move's form does: the workflow transition, with the move's own form."""
    return lambda db, item, who, form, files: workflow.transition(db, item, action, who, form)


for _move, _message in MOVES.items():
    ACTIONS[_move] = InspectAction(None, _message, _moving(_move), to_status_page=True)


allow_uploads(r"/inspect/[^/]+/finding", files=rules.FINDING_PHOTOS_MAX)


@router.post("/inspect/{code}/sign_off")
async def sign_off_vote(request: Request, code: ItemCode):
    """A board member's word on the sign-off; the one that makes the majority signs the item off."""
    def act(db, web, form: forms.SignOffVoteForm, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        if sup.vote_sign_off(db, item, web.viewer, form):
            return Done(f"/items/{item.code}", N_("%(code)s was signed off as done."), {"code": item.code})
        facts = workflow.facts(db, item)
        members = len(facts.inspectors)
        message = N_("Your word was recorded: %(agreed)s of %(members)s members agree to sign off; "
                     "%(needed)s are needed.")
        return Done(f"/inspect/{item.code}", message,
                    {"agreed": facts.sign_off_agreed, "members": members,
                     "needed": board_rules.majority_of(members)})

    return await post_form(request, forms.SignOffVoteForm, action="sign_off", act=act,
                           page=lambda state: _again(request, code, _inspect_page, state))


@router.post("/inspect/{code}/{action}")
async def inspect_action(request: Request, code: ItemCode, action: str):
    spec = ACTIONS.get(action)
    if spec is None:
        raise NotFound(N_("This action does not exist."))

    def act(db, web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        spec.run(db, item, web.viewer, form, files)
        target = f"/items/{item.code}" if spec.to_status_page else f"/inspect/{item.code}"
        return Done(target, spec.message, {"code": item.code})

    schema = spec.form or workflow.form_for(action)
    return await post_form(request, schema, action=action, act=act, files=spec.files,
                           page=lambda state: _again(request, code, _inspect_page, state))


# --- a household's verdict ----------------------------------------------------------------------------------

def _verdict_page(db: Session, web: Web, item: Item, state: FormState = EMPTY) -> HTMLResponse:
    viewer = web.viewer
    facts = workflow.facts(db, item)
    mine = impl.represented_households(db, viewer, item.village_id)
    if not mine:
        impl_rules.check_household_page(facts, False)
    given = {hid: sup.household_verdict(db, item, hid) for hid in (row_id(h) for h in mine)}
    asked = {r.household_id for r in sup.reopen_requests(db, item, limit=200)
             if clock.as_utc(r.closure_at) == clock.as_utc(item.closed_at)}
    may_reopen = {hid for hid, verdict in given.items()
                  if rules.offers_reopen(facts, clock.now(), verdict.verdict if verdict else None,
                                         hid in asked)}
    return web.render("supervision/verdict.html", status=state.status, item=item, strip=strip_state(item),
                      SUP=LABELS, households=mine, given=given, may_reopen=may_reopen,
                      open=rules.takes_verdicts(facts, clock.now()),
                      verdict_days=rules.VERDICT_WINDOW_DAYS, satisfaction=rules.SATISFACTION,
                      totals=sup.verdict_totals(db, item), closed_at=item.closed_at, **state.context())


@router.get("/items/{code}/verdict", response_class=HTMLResponse)
def verdict_page(viewer: SignedIn, web: CurrentWeb, db: Db, item: CurrentItem):
    return _verdict_page(db, web, item)


def _household_post(request: Request, code: str, schema: type[Form], action: str, run: Callable,
                    message: str):
    def act(db, web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        run(db, item, web.viewer, form)
        return Done(f"/items/{item.code}/verdict", message, {"code": item.code})

    return post_form(request, schema, action=action, act=act,
                     page=lambda state: _again(request, code, _verdict_page, state))


@router.post("/items/{code}/verdict")
async def verdict_post(request: Request, code: ItemCode):
    return await _household_post(request, code, forms.VerdictForm, "verdict", sup.give_verdict,
                                 N_("Your household's verdict was recorded. Thank you."))


@router.post("/items/{code}/reopen-request")
async def reopen_post(request: Request, code: ItemCode):
    return await _household_post(request, code, forms.ReopenRequestForm, "reopen_request", sup.ask_reopen,
                                 N_("Your request to reopen was sent to the supervisors."))
