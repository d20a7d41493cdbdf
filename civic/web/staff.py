"""Staff pages: the village head's triage queue and actions, assisted intake, the supervisor's review
queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from civic.core.kinds import Action, Stage
from civic.db import row_id
from civic.errors import N_, Invalid, NotFound
from civic.items import service as items
from civic.items.models import Item
from civic.web import communes
from civic.web.core import Web, path_for, register_forms, require_user
from civic.web.deps import CurrentItem, CurrentWeb, Db, ItemCode, PageNumber, SignedIn, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.resident import render_submit_form, submit_upload
from civic.web.views import Lookups, item_page_context, lookups
from civic.workflow import rules
from civic.workflow import service as workflow
from civic.workflow.schemas import DuplicateForm, RecategorizeForm, RedirectForm, TransitionForm
from civic.workflow.stages import KIND_LABELS, REVIEW_ACTIONS, TRIAGE_ACTIONS
from civic.workspace import service as workspace

router = APIRouter()
register_forms(TransitionForm, DuplicateForm, RedirectForm, RecategorizeForm)

DONE_MESSAGES = {
    "accept": N_("%(code)s was accepted. It is now in People know."),
    "reject": N_("%(code)s was rejected. The reason is shown publicly."),
    "mark_duplicate": N_("%(code)s was marked as a duplicate."),
    "redirect": N_("%(code)s was redirected."),
    "recategorize": N_("The village or category of %(code)s was changed."),
    "uphold": N_("The decision on %(code)s was upheld."),
    "send_back": N_("%(code)s was sent back to triage."),
}


@dataclass(frozen=True, slots=True)
class TriageCard:
    """One new item of the queue as its card shows it, every text already translated and formatted."""

    path: str
    code: str
    title: str
    village: str
    category: str
    kind: str
    wait: str  # "3 working days left", "due today", "overdue by 2 working days"
    due: str
    overdue: bool


def _triage_cards(web: Web, look: Lookups, queue: list[workflow.QueueEntry]) -> list[TriageCard]:
    """The queue's cards. Fifty cards share a handful of kinds, day counts and due dates: each text is
    translated or formatted once a page, not once a card (about a tenth of the page's work,
    docs/scaling.md)."""
    _, ngettext, locale = web.gettext, web.ngettext, web.locale
    root = web.request.scope.get("root_path", "")
    kinds = {kind: _(label) for kind, label in KIND_LABELS.items()}
    waits: dict[tuple[bool, int], str] = {}
    dues: dict[date, str] = {}
    cards = []
    for e in queue:
        item = e.item
        days = e.days_late if e.overdue else e.days_left
        wait = waits.get((e.overdue, days))
        if wait is None:
            if e.overdue:
                wait = ngettext("overdue by %(num)s working day", "overdue by %(num)s working days", days)
            elif days:
                wait = ngettext("%(num)s working day left", "%(num)s working days left", days)
            else:
                wait = _("due today")
            waits[e.overdue, days] = wait
        due = dues.get(e.due_on)
        if due is None:
            due = dues[e.due_on] = _("due %(due)s", due=web.fmt_date(e.due_on))
        cards.append(TriageCard(root + path_for(web.request.app, "triage_item", code=item.code), item.code,
                                item.title, look.village_name(item.village_id),
                                look.category_name(item.category_id, locale), kinds.get(item.kind, item.kind),
                                wait, due, e.overdue))
    return cards


@router.get("/triage", response_class=HTMLResponse)
def triage_queue(viewer: SignedIn, web: CurrentWeb, db: Db, page: PageNumber = 1):
    rules.check_queue("triage", viewer.facts())
    commune = communes.current(web.request, db)
    look = lookups(db, row_id(commune))
    total = workflow.triage_count(db, viewer)
    size = workflow.QUEUE_PAGE
    pages = max(1, -(-total // size))
    page = min(page, pages)
    queue = workflow.triage_queue(db, viewer, limit=size, offset=(page - 1) * size, waiting=total)
    return web.render("triage/queue.html", cards=_triage_cards(web, look, queue),
                      allowed=queue[0].allowed if queue else 0, total=total,
                      result={"page": page, "pages": pages, "has_prev": page > 1, "has_next": page < pages})


def _staff_item_page(db: Session, web: Web, item: Item, template: str, state: FormState = EMPTY,
                     status: int | None = None, **extra: Any) -> Response:
    rules.check_staff_view(workflow.facts(db, item), web.viewer.facts())
    look = lookups(db, item.commune_id)
    return web.render(template, status=status or state.status, look=look, **item_page_context(db, web, item),
                      **state.context(), **extra)


def _triage_page(db: Session, web: Web, item: Item, q: str | None = None, state: FormState = EMPTY
                 ) -> Response:
    """The triage screen: the item, the open items of its village most like it (by its title, or by what the
    village head typed), and the actions. A search that is too long is refused with its message, nothing
    searched."""
    typed = item.title if q is None else q
    similar: list[workspace.Similar] = []
    errors: dict[str, str] = {}
    status = None
    if item.stage == Stage.SUBMITTED:
        try:
            similar = workspace.similar_open(db, item.village_id, typed, exclude_id=item.id)
        except Invalid as exc:
            errors, status = web.field_errors(exc), exc.status
            typed = ""
    return _staff_item_page(db, web, item, "triage/item_triage.html", state, status=status, similar=similar,
                            similar_q=typed, similar_errors=errors, searched=q is not None,
                            similar_max=workspace.rules.SIMILAR_QUERY_MAX)


def _staff_item_again(request: Request, code: str, template: str, state: FormState) -> Response:
    """The item's desk again, after post_form refused a form (its own transaction was rolled back)."""
    with reading(request) as web:
        require_user(web)
        item = items.get_by_code(web.session, code)
        if template == "triage/item_triage.html":
            return _triage_page(web.session, web, item, state=state)
        return _staff_item_page(web.session, web, item, template, state)


@router.get("/triage/new", response_class=HTMLResponse)
def assisted_form(request: Request, viewer: SignedIn):
    rules.check_queue("triage", viewer.facts())
    return render_submit_form(request, on_behalf=True)


@router.post("/triage/new")
async def assisted_submit(request: Request):
    return await submit_upload(request, on_behalf=True)


# SignedIn before CurrentItem: an anonymous visitor goes to the login page before the item is looked up.
@router.get("/triage/{code}", response_class=HTMLResponse)
def triage_item(viewer: SignedIn, web: CurrentWeb, db: Db, item: CurrentItem,
                q: Annotated[str | None, Query(max_length=100_000)] = None):
    return _triage_page(db, web, item, q)


@router.get("/review", response_class=HTMLResponse)
def review_queue(viewer: SignedIn, web: CurrentWeb, db: Db):
    rules.check_queue("review", viewer.facts())
    commune = communes.current(web.request, db)
    look = lookups(db, row_id(commune))
    return web.render("review/queue.html", queue=workflow.review_queue(db, viewer), look=look)


@router.get("/review/{code}", response_class=HTMLResponse)
def review_item(viewer: SignedIn, web: CurrentWeb, db: Db, item: CurrentItem):
    return _staff_item_page(db, web, item, "review/item_review.html")


@router.post("/triage/{code}/{action}")
async def triage_action(request: Request, code: ItemCode, action: str):
    return await _move(request, code, action, TRIAGE_ACTIONS, "triage")


@router.post("/review/{code}/{action}")
async def review_action(request: Request, code: ItemCode, action: str):
    return await _move(request, code, action, REVIEW_ACTIONS, "review")


async def _move(request: Request, code: str, action: str, known: tuple[str, ...], area: str):
    if action not in known:
        raise NotFound(N_("This action does not exist."))
    template = "triage/item_triage.html" if area == "triage" else "review/item_review.html"

    def act(db, web, form, files) -> Done:
        require_user(web)
        item = items.get_by_code(db, code)
        workflow.transition(db, item, action, web.viewer, form)
        # An accepted item's triage page offers its next step; a closed one leaves the queue.
        stays = action in (Action.RECATEGORIZE, Action.ACCEPT)
        target = f"/{area}/{item.code}" if stays else f"/{area}"
        return Done(target, DONE_MESSAGES[action], {"code": item.code})

    return await post_form(request, workflow.form_for(action), action=action, act=act,
                           page=lambda state: _staff_item_again(request, code, template, state))
