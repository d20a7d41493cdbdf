"""The staff workspace: "Việc cần làm" (the to-do of a village head, a board member, a commune official),
the count beside it in the navigation, and the "next step" box of an item's staff pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from civic.core.kinds import Stage
from civic.errors import N_, Forbidden, NotFound
from civic.items.models import Item
from civic.web import communes
from civic.web.core import Web, env
from civic.web.deps import CurrentWeb, Db, PageNumber, SignedIn
from civic.web.views import lookups
from civic.workspace import rules
from civic.workspace import service as workspace

router = APIRouter()

TO_DO_STAGES = (*workspace.HEAD_STAGES, Stage.INSPECT)


def todo_count(web: Web) -> int | None:
    """The number beside "Việc cần làm" in the navigation: counted once a request, only for staff."""
    cached = getattr(web, "_todo_count", False)
    if cached is not False:
        return cached
    count = None
    if web.db is not None and workspace.has_todo(web.viewer):
        count = workspace.todo_count(web.db, web.viewer)
    web._todo_count = count  # type: ignore[attr-defined]
    return count




@router.get("/todo", response_class=HTMLResponse, name="todo")
def todo_page(viewer: SignedIn, web: CurrentWeb, db: Db, page: PageNumber = 1,
              stage: Annotated[str, Query(max_length=16)] = ""):
    if not workspace.has_todo(viewer):
        raise Forbidden(N_("This page is for village heads, people's boards and commune officials."))
    if stage and stage not in TO_DO_STAGES:
        raise NotFound(N_("This list does not exist."))
    commune = communes.current(web.request, db)
    look = lookups(db, int(commune.id or 0))
    todo = workspace.todo(db, viewer, stage=stage or None, page=page)
    page = min(page, todo.pages)
    return web.render("workspace/todo.html", todo=todo, look=look, stage=stage, stages=TO_DO_STAGES,
                      result={"page": page, "pages": todo.pages, "has_prev": page > 1,
                              "has_next": page < todo.pages})


def item_next_step(web: Web, item: Item) -> rules.NextStep | None:
    """The "next step" box of an item's staff pages (templates/workspace/next_step.html): the village head's
    next step on the item, for its village head only."""
    if web.db is None:
        return None
    return workspace.next_step_for(web.db, item, web.viewer)


env.globals.update(todo_count=todo_count, has_todo=workspace.has_todo, item_next_step=item_next_step,
                   STEP_LABELS=rules.LABELS)
