"""Pages that link residents to their households: claim letters (staff), claiming a letter's code, the
resident's household, and join requests decided by the village head.

Routes translate HTTP to service calls (civic/households/service.py) and render what they decided. Every
form posts through `post_form`; printing letters renders the letters in the answer to its POST, because
their codes exist nowhere else (only their hashes are stored).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civic.accounts import throttle
from civic.config import get_settings
from civic.db import run_write
from civic.errors import N_, Forbidden, Invalid
from civic.households import service as households
from civic.households.schemas import (
    FORMS,
    ClaimForm,
    ClaimQuery,
    DecideJoinForm,
    HandoverForm,
    JoinForm,
    LettersForm,
)
from civic.web import urls
from civic.web.accounts import TOO_MANY, _checked_form, client_address
from civic.web.core import Web, register_forms, require_user
from civic.web.deps import CurrentWeb, RowId, reading
from civic.web.forms import EMPTY, Done, FormState, post_form
from civic.web.qr import qr_svg

router = APIRouter()
register_forms(*FORMS)

PRIVATE = {"Cache-Control": "no-store"}
# The claim page's address may hold a letter's code: kept out of caches and of the Referer of any link.
CLAIM_HEADERS = {**PRIVATE, "Referrer-Policy": "no-referrer"}


# --- claim letters (village head, commune admin) ------------------------------------------------------

def _letters_form(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    viewer = require_user(web)
    villages = households.printable_villages(web.session, viewer)
    if not villages:
        raise Forbidden(N_("Only a village head or a commune administrator can print claim letters."))
    return web.render("households/letters_form.html", status=state.status,
                      villages=[(v.id, v.name) for v in villages],
                      days=households.code_days(), **state.context())


@router.get("/households/letters", response_class=HTMLResponse)
def claim_letters(web: CurrentWeb):
    return _letters_form(web)


@router.post("/households/letters")
async def print_claim_letters(request: Request):
    issued: list[households.Letters] = []

    def act(db, web: Web, form: LettersForm, files) -> Done:
        viewer = require_user(web)
        letters = households.issue_letters(db, viewer, form)
        issued.append(letters)
        return Done("/households/letters", N_("Claim letters ready to print: %(n)s. Earlier unused codes of "
                                              "these households no longer work."),
                    {"n": len(letters.letters)})

    def again(state: FormState) -> Response:
        with reading(request) as web:
            return _letters_form(web, state)

    answer = await post_form(request, LettersForm, action="letters", act=act, page=again)
    if not issued:
        return answer
    return await run_in_threadpool(_letters_page, request, issued[0])


def _letters_page(request: Request, batch: households.Letters) -> Response:
    """The letters themselves, in the answer to the POST that issued their codes (never cached)."""
    with reading(request) as web:
        letters = [{"letter": x, "qr": qr_svg(urls.absolute(request, x.claim_path))}
                   for x in batch.letters]
        sheets = [letters[i:i + 4] for i in range(0, len(letters), 4)]
        return web.render("households/letters.html", batch=batch, sheets=sheets,
                          claim_url=urls.for_route(request, "claim_household"), headers=PRIVATE)


# --- claiming a code (any signed-in resident) ---------------------------------------------------------

def _claim_page(web: Web, state: FormState = EMPTY, headers: dict[str, str] | None = None) -> HTMLResponse:
    return web.render("households/claim.html", status=state.status,
                      headers={**CLAIM_HEADERS, **(headers or {})}, **state.context())


@router.get("/household/claim", response_class=HTMLResponse)
def claim_household(web: CurrentWeb):
    try:
        code = ClaimQuery.parse(web.request.query_params).shaped()
    except Invalid:  # not even text: the form opens empty
        code = ""
    # The QR link asks to log in (or register) first and comes back here with its code.
    require_user(web, "/household/claim" + (f"?code={code.replace('-', '')}" if code else ""))
    return _claim_page(web, FormState("claim", {"code": code}))


def _window() -> timedelta:
    return timedelta(minutes=1)


def _claim_wait_and_count(request: Request) -> int:
    """Every code tried counts against the account and the client address: 20 a minute (by default),
    then 429 until the minute ends. 0 when the attempt may go on."""
    with reading(request) as web:
        user_id = web.viewer.id
    if user_id is None:
        return 0  # the post is sent to log in; it tries no code
    limit = get_settings().claim_guesses_per_minute
    keys = [throttle.address_key(f"user:{user_id}", "claim"), throttle.address_key(client_address(request),
                                                                                    "claim")]

    def work(db) -> int:
        wait = throttle.wait(db, [throttle.Limit(k, limit) for k in keys], _window())
        if not wait:
            throttle.hit(db, keys, _window())
        return wait

    return run_write(work)


@router.post("/household/claim")
async def post_claim_household(request: Request):
    form: ClaimForm | None = await _checked_form(request, ClaimForm)
    if form is not None:
        wait = await run_in_threadpool(_claim_wait_and_count, request)
        if wait:
            return await run_in_threadpool(_too_many, request, wait)

    def act(db, web: Web, form: ClaimForm, files) -> Done:
        viewer = require_user(web, "/household/claim")
        claimed = households.claim(db, viewer, form)
        message = (N_("You are now the representative of household %(code)s in %(village)s.")
                   if claimed.representative
                   else N_("You are now a member of household %(code)s in %(village)s."))
        return Done("/household", message, {"code": claimed.household.code, "village": claimed.village.name})

    def again(state: FormState) -> Response:
        with reading(request) as web:
            require_user(web, "/household/claim")
            return _claim_page(web, state)

    return await post_form(request, ClaimForm, action="claim", act=act, page=again)


def _too_many(request: Request, seconds: int) -> Response:
    """429 with Retry-After (RFC 6585 §4): the claim page again, with the message in the reader's language."""
    with reading(request) as web:
        text = web._(TOO_MANY, minutes=max(1, math.ceil(seconds / 60)))
        return _claim_page(web, FormState("claim", {}, {"code": text}, text, 429),
                           headers={"Retry-After": str(seconds)})


# --- my household -------------------------------------------------------------------------------------

def _household_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    viewer = require_user(web)
    db = web.session
    return web.render("households/mine.html", status=state.status,
                      households=households.my_households(db, viewer),
                      requests=households.my_requests(db, viewer), headers=PRIVATE, **state.context())


@router.get("/household", response_class=HTMLResponse)
def my_household(web: CurrentWeb):
    return _household_page(web)


def _household_again(request: Request) -> Any:
    def page(state: FormState) -> Response:
        with reading(request) as web:
            return _household_page(web, state)
    return page


@router.post("/household/{household_id}/handover")
async def household_handover(request: Request, household_id: RowId):
    def act(db, web: Web, form: HandoverForm, files) -> Done:
        households.hand_over(db, require_user(web), household_id, form)
        return Done("/household", N_("The household has a new representative."))

    return await post_form(request, HandoverForm, action=f"handover_{household_id}", act=act,
                           page=_household_again(request))


@router.post("/household/{household_id}/leave")
async def household_leave(request: Request, household_id: RowId):
    def act(db, web: Web, form: Any, files) -> Done:
        households.leave(db, require_user(web), household_id)
        return Done("/household", N_("You have left the household."))

    return await post_form(request, None, action=f"leave_{household_id}", act=act,
                           page=_household_again(request))


# --- join requests ------------------------------------------------------------------------------------

def _join_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    require_user(web)
    villages = households.join_villages(web.session)
    several = len({c.id for _v, c in villages}) > 1
    options = [(v.id, f"{v.name} ({c.name})" if several else v.name) for v, c in villages]
    return web.render("households/join.html", status=state.status, villages=options, **state.context())


@router.get("/household/join", response_class=HTMLResponse)
def join_household(web: CurrentWeb):
    return _join_page(web)


@router.post("/household/join")
async def post_join_household(request: Request):
    def act(db, web: Web, form: JoinForm, files) -> Done:
        households.request_join(db, require_user(web), form)
        return Done("/household", N_("Your request was sent to the village head. The answer will appear on "
                                     "this page."))

    def again(state: FormState) -> Response:
        with reading(request) as web:
            return _join_page(web, state)

    return await post_form(request, JoinForm, action="join", act=act, page=again)


def _requests_page(web: Web, state: FormState = EMPTY) -> HTMLResponse:
    viewer = require_user(web)
    if not viewer.is_village_head:
        raise Forbidden(N_("Only a village head can answer requests to join a household."))
    return web.render("households/requests.html", status=state.status,
                      pending=households.pending_requests(web.session, viewer), headers=PRIVATE,
                      **state.context())


@router.get("/households/requests", response_class=HTMLResponse)
def join_requests(web: CurrentWeb):
    return _requests_page(web)


@router.post("/households/requests/{request_id}")
async def decide_join_request(request: Request, request_id: RowId):
    def act(db, web: Web, form: DecideJoinForm, files) -> Done:
        households.decide(db, require_user(web), request_id, form)
        approved = N_("The request was approved: the resident is now a member of the household.")
        refused = N_("The request was refused; the resident sees your reason.")
        return Done("/households/requests", approved if form.decision == "approve" else refused)

    def again(state: FormState) -> Response:
        with reading(request) as web:
            return _requests_page(web, state)

    return await post_form(request, DecideJoinForm, action=f"decide_{request_id}", act=act, page=again)

