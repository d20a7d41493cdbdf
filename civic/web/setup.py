"""Setting the site up from zero: /setup, guarded by the one-time code printed in the server's log.

On an empty database (migrated, no commune) the pages that need the commune send the visitor here
(`not_set_up`, registered in civic/main.py). The code is checked and throttled like a password
(civic/web/accounts.py): the throttle is asked and a wrong code counted before post_form's writing unit of
work, and the administrator's password is hashed in the password pool.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civic.accounts import service as accounts
from civic.accounts import sessions, throttle
from civic.areas import service as areas
from civic.areas.service import NotSetUp
from civic.config import get_settings
from civic.db import run_write, unit_of_work
from civic.errors import N_, Invalid, NotFound
from civic.setup import rules
from civic.setup import service as setup
from civic.setup.schemas import SetupForm
from civic.web import errors as web_errors
from civic.web.accounts import TOO_MANY, _checked_form, _in_password_pool, _start_session, client_address
from civic.web.core import Web, register_forms
from civic.web.forms import EMPTY, Done, FormState, post_form

log = logging.getLogger("civic")
router = APIRouter()
register_forms(SetupForm)

# What a refused form shows again: never the code or a password.
SHOWN_AGAIN = ("name", "code", "kind", "province", "admin_name", "admin_phone")
KINDS = (("xa", N_("Xã (commune)")), ("phuong", N_("Phường (ward)")),
         ("dac_khu", N_("Đặc khu (special zone)")))
EVERYONE = "*"  # the key of every address together: no client has this address


def announce_code() -> None:
    """At start-up: print the set-up code in the log while no commune exists (nothing once set up)."""
    try:
        run_write(setup.code)
        with unit_of_work() as db:  # once committed: the oldest nonce, if another server made one too
            code = setup.current_code(db)
    except Exception:  # a database not migrated yet: the pages will say so, the server still starts
        log.warning("could not read the set-up state; run: civic migrate", exc_info=True)
        return
    if code is not None:
        log.warning("civic is not set up yet: open /setup and enter the set-up code %s "
                    "(also printed by: civic setup-code)", code)


async def not_set_up(request: Request, exc: NotSetUp) -> Response:
    """No commune yet: a page read sends the visitor to /setup; anything else gets the usual error."""
    if request.method in ("GET", "HEAD") and not request.url.path.startswith("/open311"):
        return RedirectResponse("/setup", status_code=303)
    return await web_errors.civic_error(request, exc)


def _is_set_up() -> bool:
    with unit_of_work() as db:
        return areas.has_commune(db)


def _page(request: Request, state: FormState = EMPTY, headers: dict[str, str] | None = None) -> Response:
    web = Web(request)
    values = {k: str(state.values.get(k) or "")[:200] for k in SHOWN_AGAIN
              if isinstance(state.values.get(k), str)}
    values.setdefault("kind", "xa")
    return web.render("setup/setup.html", status=state.status, values=values, errors=state.errors,
                      message=state.message, kinds=[(k, web._(label)) for k, label in KINDS], headers=headers)


@router.get("/setup", response_class=HTMLResponse)
async def setup_form(request: Request):
    if await run_in_threadpool(_is_set_up):
        raise NotFound(setup.ALREADY_SET_UP)
    return _page(request)


def _window() -> timedelta:
    return timedelta(minutes=get_settings().throttle_window_minutes)


def _limits(address: str) -> list[throttle.Limit]:
    return [throttle.Limit(throttle.address_key(address, "setup"), rules.FAILURES_PER_ADDRESS),
            throttle.Limit(throttle.address_key(EVERYONE, "setup"), rules.FAILURES_IN_ALL)]


def _check_code(address: str, typed: str) -> tuple[int, bool]:
    """(seconds to wait, whether the code is right); a wrong code is counted."""
    def work(db) -> tuple[int, bool]:
        limits = _limits(address)
        wait = throttle.wait(db, limits, _window())
        if wait:
            return wait, False
        ok = setup.code_matches(db, typed)
        if not ok:
            throttle.hit(db, [lim.key for lim in limits], _window())
        return 0, ok

    return run_write(work)


def _too_many(request: Request, seconds: int) -> Response:
    """429 with Retry-After (RFC 6585 §4): the form again, with what was typed (never the code)."""
    web = Web(request)
    text = web._(TOO_MANY, minutes=max(1, math.ceil(seconds / 60)))
    sent = getattr(request, "_form", None) or {}
    values = {k: v for k, v in sent.items() if isinstance(v, str)}
    return _page(request, FormState("setup", values, {"setup_code": text}, text, 429),
                 headers={"Retry-After": str(seconds)})


@router.post("/setup")
async def do_setup(request: Request):
    if await run_in_threadpool(_is_set_up):
        raise NotFound(setup.ALREADY_SET_UP)
    form: SetupForm | None = await _checked_form(request, SetupForm)
    code_ok = False
    new_hash = ""
    if form is not None:
        wait, code_ok = await run_in_threadpool(_check_code, client_address(request), form.setup_code)
        if wait:
            return _too_many(request, wait)
        if code_ok:
            new_hash = await _in_password_pool(accounts.hash_password, form.password)

    def act(db, web: Web, form: SetupForm, files) -> Done:
        if not code_ok:
            raise Invalid(setup.WRONG_CODE, field="setup_code")
        commune, user = setup.set_up(db, form, new_hash)
        key = sessions.start(db, user)
        _start_session(request, user.id or 0, key)
        return Done("/admin/villages", N_("%(commune)s is set up. Now add its villages."),
                    {"commune": commune.name})

    return await post_form(request, SetupForm, action="setup", act=act,
                           page=lambda state: _page(request, state))

