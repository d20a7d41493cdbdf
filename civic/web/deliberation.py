"""Pages of Dân biết and Dân bàn: the village head's deliberation desk, residents' comments, supports and
votes,
the printable notice and vote-count record, and the admin's minimum disclosure days.

Routes translate HTTP to service calls and render what the services and rules decided. Every form posts
through `post_form` (civic/web/forms.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from civic import clock
from civic.areas import service as areas
from civic.areas.models import Commune, Village
from civic.audit import service as audit
from civic.core.inputs import Form
from civic.core.kinds import Action, Stage
from civic.deliberation import front, matters
from civic.deliberation import rules as drules
from civic.deliberation import service as deliberation
from civic.deliberation.schemas import (
    CHAIRS,
    FORMS,
    VILLAGE_METHODS,
    VOTING_MODES,
    WRITTEN_FORMS,
    CancelMeetingForm,
    ClusterForm,
    CommentForm,
    CommentPageQuery,
    CommuneDecisionForm,
    CountForm,
    CountQuery,
    DecideForm,
    DisclosureForm,
    HideCommentForm,
    MinDisclosureDaysForm,
    MoveMeetingForm,
    PaperBallotForm,
    RecordMeetingForm,
    RollForm,
    RollQuery,
    ScheduleMeetingForm,
    VillageResultForm,
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

LABELS = {"channels": drules.CHANNELS, "methods": drules.METHODS, "choices": drules.CHOICES,
          "matters": matters.MATTERS, "scopes": matters.SCOPES, "thresholds": matters.THRESHOLDS,
          "denominators": matters.DENOMINATORS, "voting_modes": VOTING_MODES, "chairs": CHAIRS,
          "written_forms": WRITTEN_FORMS, "village_methods": VILLAGE_METHODS}


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
    opened: str | None = None  # the flash when the row is a vote or count just opened, not yet decided


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
    "move_meeting": DeskAction(
        MoveMeetingForm,
        lambda db, item, viewer, form, files: deliberation.move_meeting(db, item, viewer, form),
        N_("The meeting was moved; a new notice is public.")),
    "cancel_meeting": DeskAction(
        CancelMeetingForm,
        lambda db, item, viewer, form, files: deliberation.cancel_meeting(db, item, viewer, form),
        N_("The meeting was cancelled; the reason is public.")),
    "decide": DeskAction(
        DecideForm, lambda db, item, viewer, form, files: deliberation.decide(db, item, viewer, form),
        N_("The decision was recorded."),
        opened=N_("The vote was opened; the decision is recorded when the count is closed.")),
    "paper_ballot": DeskAction(
        PaperBallotForm,
        lambda db, item, viewer, form, files: deliberation.enter_paper_ballot(db, item, viewer, form),
        N_("The household's ballot was entered.")),
    "close_count": DeskAction(
        None, lambda db, item, viewer, form, files: deliberation.close_count(db, item, viewer),
        N_("The count was closed; the result is public.")),
    "village_result": DeskAction(
        VillageResultForm,
        lambda db, item, viewer, form, files: deliberation.record_village_result(db, item, viewer, form),
        N_("The village's result was recorded; the running total is public.")),
    "close_commune": DeskAction(
        CommuneDecisionForm,
        lambda db, item, viewer, form, files: deliberation.close_commune_decision(db, item, viewer, form),
        N_("The villages' results were added up; the commune's decision is public.")),
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
    try:
        wrules.check_staff_view(workflow.facts(db, item), viewer.facts())
    except Forbidden:
        if not deliberation.follows_commune_matter(db, item, viewer):
            raise
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
        row = step.run(db, item, web.viewer, form, files)
        message = step.opened if step.opened and getattr(row, "status", None) == "open" else step.message
        return Done(f"/deliberation/{item.code}", message, {"code": item.code})

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


# --- the meeting's roll: one screen of the register, plain checkboxes --------------------------------

def _roll_query(web: Web) -> RollQuery:
    try:
        return RollQuery.parse(web.request.query_params)
    except Invalid:
        return RollQuery()


def _roll_page(web: Web, code: str, meeting_id: int, state: FormState = EMPTY, query: RollQuery | None = None
               ) -> HTMLResponse:
    item = _signed_in_item(web, code)
    query = query or _roll_query(web)
    roll = deliberation.roll_view(web.session, item, web.viewer, meeting_id, query.q, query.page or 1,
                                  query.cluster)
    return web.render("deliberation/roll.html", status=state.status, item=item, roll=roll, **state.context())


@router.get("/deliberation/{code}/roll/{meeting_id}", response_class=HTMLResponse, name="meeting_roll")
def roll(web: CurrentWeb, code: ItemCode, meeting_id: RowId):
    return _roll_page(web, code, meeting_id)


def _roll_path(code: str, meeting_id: int, values: Any) -> str:
    """Back to the same page, search and cluster of the roll after a post."""
    params = {k: str(values.get(k, ""))[:60] for k in ("q", "page", "cluster") if values.get(k)}
    return f"/deliberation/{code}/roll/{meeting_id}" + (f"?{urlencode(params)}" if params else "")


@router.post("/deliberation/{code}/roll/{meeting_id}/{action}")
async def roll_action(request: Request, code: ItemCode, meeting_id: RowId, action: str):
    if action not in ("mark", "cluster"):
        raise NotFound(N_("This action does not exist."))
    schema: type[Form] = RollForm if action == "mark" else ClusterForm
    try:
        query = RollQuery.parse(request.query_params) if action == "mark" else RollQuery()
    except Invalid:
        query = RollQuery()

    def act(db, web: Web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        form.meeting_id = meeting_id
        if action == "mark":
            present = deliberation.mark_roll(db, item, web.viewer, form)
            return Done(_roll_path(item.code, meeting_id, {"q": query.q, "page": query.page,
                                                           "cluster": form.cluster_id}),
                        N_("The roll was saved: %(n)s households present."), {"n": present})
        deliberation.add_cluster(db, item, web.viewer, form)
        return Done(_roll_path(item.code, meeting_id, {}), N_("The cluster was added."))

    def page(state: FormState) -> HTMLResponse:
        with reading(request) as web:
            return _roll_page(web, code, meeting_id, state, query)

    return await post_form(request, schema, action=f"roll_{action}", act=act, page=page)


# --- the paper-ballot count: one screen of the register, a radio group per household --------------------

def _count_query(request: Request) -> CountQuery:
    try:
        return CountQuery.parse(request.query_params)
    except Invalid:
        return CountQuery()


def _count_page(web: Web, code: str, state: FormState = EMPTY) -> HTMLResponse:
    item = _signed_in_item(web, code)
    query = _count_query(web.request)
    count = deliberation.count_view(web.session, item, web.viewer, query.q, query.page or 1)
    return web.render("deliberation/count.html", status=state.status, item=item, count=count,
                      **state.context())


@router.get("/deliberation/{code}/count", response_class=HTMLResponse, name="ballot_count")
def ballot_count(web: CurrentWeb, code: ItemCode):
    return _count_page(web, code)


@router.post("/deliberation/{code}/count/save", name="save_count")
async def save_count(request: Request, code: ItemCode):
    query = _count_query(request)

    def act(db, web: Web, form: CountForm, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        saved = deliberation.save_count(db, item, web.viewer, form)
        params = {k: str(v) for k, v in (("q", query.q), ("page", query.page)) if v}
        path = f"/deliberation/{item.code}/count" + (f"?{urlencode(params)}" if params else "")
        if not (saved.added or saved.changed or saved.removed):
            return Done(path, N_("Nothing to change: the ballots on this page were already saved."))
        return Done(path, N_("Saved: %(added)s ballots entered, %(changed)s corrected, %(removed)s taken "
                             "out."),
                    {"added": saved.added, "changed": saved.changed, "removed": saved.removed})

    def page(state: FormState) -> HTMLResponse:
        with reading(request) as web:
            return _count_page(web, code, state)

    return await post_form(request, CountForm, action="count", act=act, page=page)


# --- residents: comment, support, vote ------------------------------------------------------------

def _status_page(request: Request, code: str, state: FormState) -> HTMLResponse:
    with reading(request) as web:
        db = web.session
        item = items.get_by_code(db, code)
        return web.render("public/item_status.html", status=state.status,
                          **page_views.item_page_context(db, web, item), **state.context())


async def item_page_post(request: Request, code: str, action: str, schema: type[Form] | None, run: Run,
                         message: str, anchor: str):
    """A form of an item's status page: signed in, `run` on the item; back to the page at `anchor`, or the
    page again with the form's errors."""
    def act(db, web: Web, form, files) -> Done:
        require_user(web, f"/items/{code}")
        item = items.get_by_code(db, code)
        run(db, item, web.viewer, form)
        return Done(f"/items/{item.code}#{anchor}", message)

    return await post_form(request, schema, action=action, act=act,
                           page=lambda state: _status_page(request, code, state))


@router.post("/items/{code}/comment")
async def post_comment(request: Request, code: ItemCode):
    return await item_page_post(request, code, "comment", CommentForm, deliberation.add_comment,
                                N_("Your comment was posted."), "comments")


@router.post("/items/{code}/support")
async def post_support(request: Request, code: ItemCode):
    return await item_page_post(request, code, "support", None,
                                lambda db, item, viewer, form: deliberation.support(db, item, viewer),
                                N_("Your household's support was counted."), "supports")


@router.post("/items/{code}/support/withdraw")
async def post_withdraw_support(request: Request, code: ItemCode):
    return await item_page_post(request, code, "unsupport", None,
                                lambda db, item, viewer, form: deliberation.withdraw_support(
                                    db, item, viewer),
                                N_("Your household's support was withdrawn."), "supports")


@router.post("/items/{code}/vote")
async def post_vote(request: Request, code: ItemCode):
    return await item_page_post(request, code, "vote", VoteForm, deliberation.cast_online_ballot,
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


def _record_context(web: Web, item: Item, decision: Any = None, village_id: int | None = None,
                    on: date | None = None) -> dict[str, Any]:
    """What every printable record shows around its body: the commune and village (none for the commune's
    own decision on a matter of the whole commune, which has one line per village), the name of the
    village Front work committee's head on the record's day `on`, the audit chain's head."""
    db = web.session
    lines = deliberation.village_results_of(db, decision) if decision is not None else []
    village = None if decision is not None and decision.method == matters.VILLAGE_RESULTS else\
        db.get(Village, village_id or item.village_id)
    front_head = front.head_name(db, village.id if village is not None else None, on or clock.today_local())
    return {"item": item, "village": village, "village_lines": lines, "front_head": front_head,
            "commune": db.get(Commune, item.commune_id), "head": audit.head(db, item.commune_id),
            "DELIB": LABELS}


def _day_of(day: date | None, moment: datetime) -> date:
    """A record's day: the decision's date, or the local day of the meeting or of the count's opening."""
    return day or clock.local_day(moment)


def _question(web: Web, item: Item) -> str:
    discussion = deliberation.discussion_of(web.session, item)
    return discussion.question if discussion is not None else item.title


@router.get("/items/{code}/decisions/{decision_id}/record", response_class=HTMLResponse)
def vote_record(web: CurrentWeb, item: CurrentItem, decision_id: RowId):
    """Form 02 (the count of a vote at the meeting) or 04 (the count of household ballots), Decree 59/2023."""
    db = web.session
    decision = deliberation.get_decision(db, item, decision_id)
    meeting = db.get(deliberation.Meeting, decision.meeting_id) if decision.meeting_id else None
    return web.render("deliberation/vote_record.html", decision=decision, meeting=meeting,
                      village_head=deliberation.user_name(db, decision.created_by_id),
                      excluded=deliberation.excluded_ballots(db, decision),
                      outcome=drules.decision_outcome(decision.status, decision.passed),
                      **_record_context(web, item, decision, on=_day_of(decision.decided_on,
                                                                         decision.created_at)))


@router.get("/items/{code}/decisions/{decision_id}/report", response_class=HTMLResponse,
            name="decision_report")
def decision_report(web: CurrentWeb, item: CurrentItem, decision_id: RowId):
    """The village head's report of the result to the commune People's Committee (Law 10/2022 Art. 23)."""
    db = web.session
    decision = deliberation.get_decision(db, item, decision_id)
    return web.render("deliberation/report.html", decision=decision, printed_on=clock.today_local(),
                      village_head=deliberation.user_name(db, decision.created_by_id),
                      status_url=urls.for_route(web.request, "item_status", code=item.code),
                      outcome=drules.decision_outcome(decision.status, decision.passed),
                      **_record_context(web, item, decision, on=_day_of(decision.decided_on,
                                                                         decision.created_at)))


@router.get("/items/{code}/meetings/{meeting_id}/invitation", response_class=HTMLResponse,
            name="meeting_invitation")
def meeting_invitation(web: CurrentWeb, item: CurrentItem, meeting_id: RowId):
    """Form 01: the invitation to every household, with the date, place and agenda."""
    db = web.session
    meeting = deliberation.meeting_of(db, item, meeting_id)
    households = areas.active_households(db, meeting.village_id, clock.local_day(meeting.starts_at))
    return web.render("deliberation/invitation.html", meeting=meeting, households=households,
                      question=_question(web, item),
                      convener=deliberation.user_name(db, meeting.scheduled_by_id),
                      **_record_context(web, item, village_id=meeting.village_id,
                                        on=_day_of(None, meeting.starts_at)))


@router.get("/items/{code}/meetings/{meeting_id}/minutes", response_class=HTMLResponse,
            name="meeting_minutes")
def meeting_minutes(web: CurrentWeb, item: CurrentItem, meeting_id: RowId):
    """Form 03: the minutes, with the households present by the roll and the written form of the decision."""
    db = web.session
    meeting = deliberation.meeting_of(db, item, meeting_id)
    return web.render("deliberation/minutes.html", meeting=meeting, question=_question(web, item),
                      clusters=deliberation.clusters_of(db, meeting),
                      decision=deliberation.meeting_decision(db, meeting),
                      village_result=deliberation.meeting_village_result(db, meeting),
                      **_record_context(web, item, village_id=meeting.village_id,
                                        on=_day_of(None, meeting.starts_at)))


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


# --- the rules table, for an operator to read ---------------------------------------------------------

@router.get("/admin/decision-rules", response_class=HTMLResponse, name="decision_rules")
def decision_rules(web: CurrentWeb):
    viewer = require_user(web)
    if not (viewer.communes("admin") or viewer.communes("supervisor")):
        raise Forbidden(N_("This page is for commune administrators."))
    return web.render("admin/decision_rules.html", rules=list(matters.RULES.values()), DELIB=LABELS)


__all__ = ["router", "deliberation_context", "Category"]
