"""The head of the village Front work committee on an item's status page: the committee's agreement to an
online vote, its refusal, or the withdrawal of its answer (civic.deliberation.front). Everyone sees the
answer that stands; only that committee's head sees the forms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from civic.core.inputs import Form
from civic.deliberation import front
from civic.deliberation.schemas import FRONT_FORMS, FrontAgreeForm, FrontRefuseForm, FrontWithdrawForm
from civic.errors import N_, NotFound
from civic.web import views as page_views
from civic.web.core import Web, register_forms
from civic.web.deliberation import item_page_post
from civic.web.deps import ItemCode

router = APIRouter()
register_forms(*FRONT_FORMS)

ACTIONS: dict[str, tuple[type[Form], Callable[..., Any], str]] = {
    "front_agree": (FrontAgreeForm, front.agree,
                    N_("The Front work committee's agreement to an online vote was recorded.")),
    "front_refuse": (FrontRefuseForm, front.refuse,
                     N_("The Front work committee's refusal of an online vote was recorded.")),
    "front_withdraw": (FrontWithdrawForm, front.withdraw,
                       N_("The Front work committee's answer was withdrawn.")),
}


@page_views.status_section
def front_context(db, web: Web, item) -> dict:
    """What the status page shows of the committee's answer (templates/deliberation/_front.html)."""
    return {"front": front.view(db, item, web.viewer)}


@router.post("/items/{code}/front/{action}", name="front_action")
async def front_action(request: Request, code: ItemCode, action: str):
    step = ACTIONS.get(action)
    if step is None:
        raise NotFound(N_("This action does not exist."))
    schema, run, message = step
    return await item_page_post(request, code, action, schema, run, message, "front")
