"""Pages of Dân biết and Dân bàn: the village head's deliberation desk, residents' comments, supports and
votes,
the printable notice and vote-count record, and the admin's minimum disclosure days.

Routes translate HTTP to service calls and render what the services and rules decided. Every form posts
through `post_form` (civic/web/forms.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civic import clock
from civic.areas.models import Village
from civic.audit import service as audit
from civic.core.inputs import Form
from civic.core.kinds import Action, Stage
from civic.deliberation import rules as drules
from civic.deliberation import service as deliberation
from civic.deliberation.schemas import (
    FORMS,
    CommentForm,
    CommentPageQuery,
    DecideForm,
    DisclosureForm,
    HideCommentForm,
    MinDisclosureDaysForm,
    PaperBallotForm,
    RecordMeetingForm,
    ScheduleMeetingForm,
    VoteForm,
)
from civic.errors import N_, Forbidden, Invalid, NotFound
from civic.items import service as items
from civic.items.models import Category, Item
from civic.media import rules as media_rules
from civic.media.schemas import FileField
from civic.web import communes, urls
from civic.web import views as page_views
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentItem, CurrentWeb, ItemCode, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.qr import qr_svg
from civic.web.uploads import allow_uploads
from civic.workflow import rules as wrules
from civic.workflow import service as workflow
from civic.workflow.stages import STAGE_HINTS

router = APIRouter()
register_forms(*FORMS)

LABELS = {"channels": drules.CHANNELS, "methods": drules.METHODS, "choices": drules.CHOICES}


@page_views.status_section
def deliberation_context(db, web: Web, item) -> dict:
    """What the status page shows of Dân biết and Dân bàn (called from views.item_page_context).
    An unreadable `?comments=` page shows the first page."""
    try:
        page = CommentPageQuery.parse(web.request.query_params).comments or 1
    except Invalid:
        page = 1
    return {"delib": deliberation.page_context(db, item, web.viewer, page), "DELIB": LABELS}


# --- the village head's desk ---------------------------------------------------------------------------

Run = Callable[..., Any]


@dataclass(frozen=True)
class DeskAction:
    """One form of the desk: what it parses, what it runs, what the flash says, the files it takes."""

    schema: type[Form] | None
    run: Run  # (db, item, viewer, form, files) -> the changed row
    message: str
    files: dict[str, FileField] = field(default_factory=dict)


# Evidence files: a proof photo of a disclosure, the minutes of a meeting (photos or a PDF).
PROOF = FileField(most=1, accept=(media_rules.PHOTO,))
MINUTES = FileField(most=3, accept=(media_rules.PHOTO, media_rules.DOCUMENT))
allow_uploads(r"/deliberation/[^/]+/(disclosure|record_meeting)", files=3)

DESK_ACTIONS: dict[str, DeskAction] = {
    "disclosure": DeskAction(
        DisclosureForm, lambda db, item, viewer, form, files: deliberation.add_disclosure(
            db, item, viewer, form, files.get("proof", [])),
        N_("The disclosure was recorded."), {"proof": PROOF}),
    "schedule_meeting": DeskAction(
        ScheduleMeetingForm,
        lambda db, item, viewer, form, files: deliberation.schedule_meeting(db, item, viewer, form),
        N_("The meeting was scheduled; the notice is public.")),
    "record_meeting": DeskAction(
        RecordMeetingForm, lambda db, item, viewer, form, files: deliberation.record_meeting(
            db, item, viewer, form, files.get("minutes", [])),
        N_("The meeting was recorded."), {"minutes": MINUTES}),
    "decide": DeskAction(
        DecideForm, lambda db, item, viewer, form, files: deliberation.decide(db, item, viewer, form),
        N_("The decision was recorded.")),
    "paper_ballot": DeskAction(
        PaperBallotForm,
        lambda db, item, viewer, form, files: deliberation.enter_paper_ballot(db, item, viewer, form),
        N_("The household's ballot was entered.")),
    "close_count": DeskAction(
        None, lambda db, item, viewer, form, files: deliberation.close_count(db, item, viewer),
        N_("The count was closed; the result is public.")),
    "hide_comment": DeskAction(
        HideCommentForm,
        lambda db, item, viewer, form, files: deliberation.hide_comment(db, item, viewer, form),
        N_("The comment was hidden; the reason is shown publicly.")),
}
MOVES = {
    Action.OPEN_DISCUSSION: N_("%(code)s is now in People discuss."),
    Action.START_WORK: N_("%(code)s is now in People do."),
    Action.CLOSE_NOT_APPROVED: N_("%(code)s was closed as not approved by the households."),
}
# After these moves the desk has nothing left to do: the status page follows.
LEAVES_DESK = frozenset({Action.START_WORK, Action.CLOSE_NOT_APPROVED})


def _desk(web: Web, item: Item, state: FormState = EMPTY) -> HTMLResponse:
    db = web.session
    viewer = require_user(web)
    wrules.check_staff_view(workflow.facts(db, item), viewer.facts())
    ctx = page_views.item_page_context(db, web, item)
    return web.render("deliberation/desk.html", status=state.status, today=clock.today_local(),
                      notice_days=deliberation.meeting_notice_days(), **ctx, **state.context())


def _signed_in_item(web: Web, code: str) -> Item:
    """The desk's item: the login first, then the item (a signed-out visitor is sent to log in even where no
    item has the code). Not `SignedIn` + `CurrentItem`: a dependency that raises runs before the path is
    checked, and would send a malformed address to log in instead of answering 404."""
    require_user(web)
    return items.get_by_code(web.session, code)


def _desk_again(request: Request, code: str, state: FormState) -> HTMLResponse:
    """The desk after post_form refused a form, in its own read session."""
    with reading(request) as web:
        return _desk(web, _signed_in_item(web, code), state)


@router.get("/deliberation/{code}", response_class=HTMLResponse, name="deliberation_desk")
def desk(web: CurrentWeb, code: ItemCode):
    return _desk(web, _signed_in_item(web, code))


@router.post("/deliberation/{code}/{action}")
async def desk_action(request: Request, code: ItemCode, action: str):
    if action in MOVES:
        return await _move(request, code, Action(action))
    step = DESK_ACTIONS.get(action)
    if step is None:
        raise NotFound(N_("This action does not exist."))

    def act(db, web: Web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        step.run(db, item, web.viewer, form, files)
        return Done(f"/deliberation/{item.code}", step.message, {"code": item.code})

    return await post_form(request, step.schema, action=action, act=act, files=step.files or None,
                           page=lambda state: _desk_again(request, code, state))


async def _move(request: Request, code: str, action: Action):
    """Open the discussion, move on to Dân làm, or close as not approved: through the one mover."""

    def act(db, web: Web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        workflow.transition(db, item, action, web.viewer, form)
        target = f"/items/{item.code}" if action in LEAVES_DESK else f"/deliberation/{item.code}"
        return Done(target, MOVES[action], {"code": item.code})

    return await post_form(request, workflow.form_for(action), action=str(action), act=act,
                           page=lambda state: _desk_again(request, code, state))


# --- residents: comment, support, vote ------------------------------------------------------------

def _status_page(request: Request, code: str, state: FormState) -> HTMLResponse:
    with reading(request) as web:
        db = web.session
        item = items.get_by_code(db, code)
        return web.render("public/item_status.html", status=state.status,
                          **page_views.item_page_context(db, web, item), **state.context())


async def _resident_post(request: Request, code: str, action: str, schema: type[Form] | None, run: Run,
                         message: str, anchor: str):
    def act(db, web: Web, form, files) -> Done:
        require_user(web, f"/items/{code}")
        item = items.get_by_code(db, code)
        run(db, item, web.viewer, form)
        return Done(f"/items/{item.code}#{anchor}", message)

    return await post_form(request, schema, action=action, act=act,
                           page=lambda state: _status_page(request, code, state))


@router.post("/items/{code}/comment")
async def post_comment(request: Request, code: ItemCode):
    return await _resident_post(request, code, "comment", CommentForm, deliberation.add_comment,
                                N_("Your comment was posted."), "comments")


@router.post("/items/{code}/support")
async def post_support(request: Request, code: ItemCode):
    return await _resident_post(request, code, "support", None,
                                lambda db, item, viewer, form: deliberation.support(db, item, viewer),
                                N_("Your household's support was counted."), "supports")


@router.post("/items/{code}/support/withdraw")
async def post_withdraw_support(request: Request, code: ItemCode):
    return await _resident_post(request, code, "unsupport", None,
                                lambda db, item, viewer, form: deliberation.withdraw_support(
                                    db, item, viewer),
                                N_("Your household's support was withdrawn."), "supports")


@router.post("/items/{code}/vote")
async def post_vote(request: Request, code: ItemCode):
    return await _resident_post(request, code, "vote", VoteForm, deliberation.cast_online_ballot,
                                N_("Your household's ballot was recorded. You may change it until the ballot "
                                   "closes."), "vote")


# --- printable pages ----------------------------------------------------------------------------------

@router.get("/items/{code}/notice", response_class=HTMLResponse)
def notice(web: CurrentWeb, item: CurrentItem):
    db = web.session
    ctx = page_views.item_page_context(db, web, item)
    status_url = urls.for_route(web.request, "item_status", code=item.code)
    head = audit.head(db, item.commune_id)
    stage_hint = "" if item.stage == Stage.CLOSED else STAGE_HINTS.get(item.stage, "")
    return web.render("deliberation/notice.html", qr=qr_svg(status_url), status_url=status_url, head=head,
                      printed_on=clock.today_local(), stage_hint=stage_hint, **ctx)


@router.get("/items/{code}/decisions/{decision_id}/record", response_class=HTMLResponse)
def vote_record(web: CurrentWeb, item: CurrentItem, decision_id: RowId):
    db = web.session
    decision = deliberation.get_decision(db, item, decision_id)
    meeting = db.get(deliberation.Meeting, decision.meeting_id) if decision.meeting_id else None
    village = db.get(Village, item.village_id)
    commune = communes.current(web.request, db)
    return web.render("deliberation/vote_record.html", item=item, decision=decision, meeting=meeting,
                      village=village, commune=commune, DELIB=LABELS,
                      excluded=deliberation.excluded_ballots(db, decision),
                      outcome=drules.decision_outcome(decision.status, decision.passed))


# --- the admin's setting: minimum disclosure days per category ----------------------------------------

def _days_action(category_id: int) -> str:
    """Which category's form a refused value belongs to (each category has its own form on the page)."""
    return f"days_{category_id}"


def _categories_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    db = web.session
    viewer = require_user(web)
    if not viewer.communes("admin"):
        raise Forbidden(N_("This page is for commune administrators."))
    commune = communes.current(web.request, db)
    if commune.id not in viewer.communes("admin"):
        raise Forbidden(N_("This page is for commune administrators."))
    cats = items.categories(db, commune.id)
    return web.render("admin/category_list.html", status=state.status, categories=cats, **state.context())


def _categories_again(request: Request, state: FormState) -> HTMLResponse:
    with reading(request) as web:
        return _categories_page(web, state)


@router.get("/admin/categories", response_class=HTMLResponse)
def categories(web: CurrentWeb):
    return _categories_page(web)


@router.post("/admin/categories/{category_id}")
async def set_days(request: Request, category_id: RowId):
    def act(db, web: Web, form: MinDisclosureDaysForm, files) -> Done:
        require_user(web)
        category = deliberation.set_min_disclosure_days(db, web.viewer, category_id, form)
        return Done("/admin/categories", N_("The minimum disclosure period of %(name)s was saved."),
                    {"name": category.name_en if web.locale == "en" else category.name_vi})

    return await post_form(request, MinDisclosureDaysForm, action=_days_action(category_id), act=act,
                           page=lambda state: _categories_again(request, state))


__all__ = ["router", "deliberation_context", "Category"]
