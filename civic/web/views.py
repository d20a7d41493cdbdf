"""Assemble what a page shows from service results. No decisions here: only loading and shaping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from markupsafe import Markup
from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from civic.accounts.models import User
from civic.areas.models import Village
from civic.audit.models import AuditEvent
from civic.config import get_settings
from civic.core.collation import vi_key
from civic.core.kinds import Action, Stage
from civic.db import Plain, PlainModels, remember_reads
from civic.errors import N_
from civic.items import service as items
from civic.items.models import Category, Item
from civic.web import timeline as folding
from civic.web import urls
from civic.web.i18n import LOCALES
from civic.workflow import service as workflow
from civic.workflow.stages import STRIP

A = Action
# The desk page where each staff action is taken, and the label of the link to it, in the order shown.
DESKS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/triage/{code}", N_("Open in triage"),
     frozenset({A.ACCEPT, A.REJECT, A.MARK_DUPLICATE, A.REDIRECT, A.RECATEGORIZE})),
    ("/review/{code}", N_("Review this decision"), frozenset({A.UPHOLD, A.SEND_BACK})),
    ("/deliberation/{code}", N_("Disclosure, meetings and decision"),
     frozenset({A.OPEN_DISCUSSION, A.START_WORK, A.CLOSE_NOT_APPROVED})),
    ("/do/{code}", N_("Contributions, budget and progress"), frozenset({A.START_INSPECTION})),
    ("/inspect/{code}", N_("Inspection and sign-off"),
     frozenset({A.SIGN_OFF, A.REWORK, A.CLOSE_NOT_DONE, A.REOPEN})),
)


class VillageRow(NamedTuple):
    """A village as lists and forms name it; lighter than a Village."""

    id: int
    name: str
    slug: str
    kind: str
    taking: bool  # takes new items (a merged village takes none)


@dataclass
class Lookups:
    villages: dict[int, VillageRow]
    categories: dict[int, Category]
    # The village <option>s as HTML, by the villages listed: shared by the copies of one kept Lookups.
    rendered: dict[tuple[int, ...], list[tuple[str, str, str]]] = field(default_factory=dict, repr=False)

    def village_options_html(self, selected: object = None) -> Markup:
        """<option>s of the villages, the one whose id reads as `selected` marked (a form's value is text):
        the same markup a loop in the template makes, built once per list of villages (a commune of 200
        villages: 0.7 ms a page in Jinja)."""
        key = tuple(self.villages)
        parts = self.rendered.get(key)
        if parts is None:
            parts = [(str(vid), str(Markup('<option value="{}">{}</option>').format(vid, v.name)),
                      str(Markup('<option value="{}" selected>{}</option>').format(vid, v.name)))
                     for vid, v in self.villages.items()]
            if len(self.rendered) < 64:  # a few lists a commune (all, taking items, a head's own)
                self.rendered[key] = parts
        want = "" if selected is None else str(selected)
        return Markup("".join(chosen if vid == want else plain for vid, plain, chosen in parts))

    def village_name(self, village_id: int) -> str:
        v = self.villages.get(village_id)
        return v.name if v else ""

    def category_options(self, locale: str) -> list[tuple[int, str]]:
        return [(cid, c.name_en if locale == "en" else c.name_vi) for cid, c in self.categories.items()]

    def category_name(self, category_id: int, locale: str) -> str:
        c = self.categories.get(category_id)
        if c is None:
            return ""
        return c.name_en if locale == "en" else c.name_vi


# Villages and categories change rarely, and every change records an event that names no item: the last of
# those (by the partial index ix_audit_event_commune_level) and the number of villages and categories are
# their version, read in one statement. A process keeps the lookups of each commune while that version
# holds, so a list page no longer reads and sorts 200 villages and builds its categories every time, and
# a change made by another process is seen at its next request.
_LOOKUPS_VERSION = Plain(select(
    select(col(AuditEvent.hash)).where(col(AuditEvent.commune_id) == bindparam("commune_id"),
                                       col(AuditEvent.item_id).is_(None))
    .order_by(col(AuditEvent.seq).desc()).limit(1).scalar_subquery(),
    select(func.count()).select_from(Village).where(col(Village.commune_id) == bindparam("commune_id"))
    .scalar_subquery(),
    select(func.count()).select_from(Category).where(col(Category.commune_id) == bindparam("commune_id"))
    .scalar_subquery()))
_lookups: dict[int, tuple[tuple[Any, ...], Lookups]] = {}
_lookups_lock = threading.Lock()


def lookups(db: Session, commune_id: int) -> Lookups:
    """Villages as plain rows (a commune may have hundreds, on every list page) and the categories, both
    in the order forms list them. Each call gets its own Lookups (a page may narrow its villages)."""
    version = tuple(_LOOKUPS_VERSION.rows(db, {"commune_id": commune_id}).first())
    kept = _lookups.get(commune_id)
    if kept is None or kept[0] != version:
        rows = db.execute(select(col(Village.id), col(Village.name), col(Village.slug), col(Village.kind),
                                 col(Village.merged_into_id).is_(None))
                          .where(col(Village.commune_id) == commune_id))
        villages = {v.id: v for v in sorted((VillageRow(*row) for row in rows), key=lambda v: vi_key(v.name))}
        # Copies that belong to no session: they outlive this one and never load anything.
        cats = {c.id: Category(**c.model_dump()) for c in items.categories(db, commune_id)
                if c.id is not None}  # stored: all have one
        kept = (version, Lookups(villages, cats))
        with _lookups_lock:
            _lookups[commune_id] = kept
    return Lookups(dict(kept[1].villages), dict(kept[1].categories), kept[1].rendered)


def forget_lookups() -> None:
    """Drop every kept lookup (the database was emptied or replaced)."""
    with _lookups_lock:
        _lookups.clear()


def strip_state(item: Item, reached: int | None = None) -> list[dict[str, Any]]:
    """Each of the four stages as done / current / stopped (where a closed item ended) / to come."""
    if item.stage in STRIP:
        current = STRIP.index(item.stage)
    elif item.stage == Stage.SUBMITTED:
        current = -1
    else:  # closed: how far it got is told by its outcome
        current = len(STRIP) if item.outcome == "done" else (reached if reached is not None else -1)
    out = []
    for i, stage in enumerate(STRIP):
        if i < current:
            state = "done"
        elif i == current:
            state = "stopped" if item.stage == Stage.CLOSED else "current"
        else:
            state = "todo"
        out.append({"stage": stage, "state": state})
    return out


def furthest_stage(entries: list[items.TimelineEntry]) -> int | None:
    """The last of the four stages an item reached, read from its timeline (for closed items)."""
    reached = None
    for e in entries:
        to = e.payload.get("to")
        if to in STRIP:
            reached = max(reached or 0, STRIP.index(to))
    return reached


# The item's village and category (and the item it duplicates) as the status page shows them: copies
# that belong to no session, read without the ORM's layer (civic.db.PlainModels), which costs more than
# the read itself.
_VILLAGE = PlainModels(select(Village).where(col(Village.id) == bindparam("id")), Village)
_CATEGORY = PlainModels(select(Category).where(col(Category.id) == bindparam("id")), Category)
_ITEM = PlainModels(select(Item).where(col(Item.id) == bindparam("id")), Item)


def item_page_context(db: Session, web, item: Item, *, manage_token: str | None = None) -> dict[str, Any]:
    # The page only reads: what two sections both need (the item's facts, the village's register, the
    # households the viewer represents) is read once (civic.db.remember_reads).
    remember_reads(db)
    viewer = web.viewer
    is_author = items.is_author(item, viewer, manage_token)
    entries = items.timeline(db, item)
    village = _VILLAGE.first(db, {"id": item.village_id})
    category = _CATEGORY.first(db, {"id": item.category_id})
    duplicate_of = _ITEM.first(db, {"id": item.duplicate_of_id}) if item.duplicate_of_id else None
    review = workflow.current_review(db, item) if item.stage == Stage.CLOSED else None
    actions = workflow.allowed_actions(db, item, viewer, is_author=is_author)
    private = viewer.sees_private(item.commune_id, item.village_id)
    reporter_user = entered_by = None
    if private:
        if item.reporter_id:
            reporter_user = db.get(User, item.reporter_id)
        if item.entered_by_id:
            entered_by = db.get(User, item.entered_by_id)
    return {
        "item": item,
        "page_url": urls.for_route(web.request, "item_status", code=item.code),
        "village": village,
        "category": category,
        "category_name": (category.name_en if web.locale == "en" else category.name_vi) if category else "",
        "duplicate_of": duplicate_of,
        "review": review,
        "timeline": folding.view(entries, folding.TimelineQuery.read(web.request.query_params),
                                 _kept_language(web.request.query_params)),
        "strip": strip_state(item, furthest_stage(entries)),
        "actions": actions,
        "desks": [(path.format(code=item.code), label) for path, label, acts in DESKS if acts & set(actions)],
        "is_author": is_author,
        "sees_private": private,
        "reporter_user": reporter_user,
        "entered_by": entered_by,
        "reporter_name": items.reporter_display(db, item),
        "manage_token": manage_token,
        "is_closed": item.stage == Stage.CLOSED,
        "review_days": get_settings().review_window_days,
        **{k: v for section in SECTIONS for k, v in section(db, web, item).items()},
    }


def _kept_language(params) -> dict[str, str]:
    """A language chosen in the address (?lang=en) stays on the timeline's paging links."""
    lang = params.get("lang", "")
    return {"lang": lang} if lang in LOCALES else {}


# What the other page modules add to the status page (photos and documents, Dân biết/Dân bàn, Dân làm/
# Dân kiểm tra). They register here, so this module needs none of them.
Section = Callable[[Session, Any, Item], dict[str, Any]]
SECTIONS: list[Section] = []


def status_section(fn: Section) -> Section:
    if fn not in SECTIONS:
        SECTIONS.append(fn)
    return fn
