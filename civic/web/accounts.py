"""Register, log in, log out, change the password, and choose the language.

Passwords are hashed and verified (argon2, about half a second of CPU) before post_form's writing unit
of work, in a small pool of threads of their own (`_in_password_pool`): a flood of logins waits there,
as coroutines that hold no thread, instead of taking the threads that serve every other page. Each of
these routes first reads and checks the form itself (the body is read once and kept by Starlette), asks
the throttle, does the argon2 work, and then hands the request to post_form, whose `act` only writes.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civic.accounts import rules as account_rules
from civic.accounts import service as accounts
from civic.accounts import sessions, throttle
from civic.accounts.schemas import (
    AcceptLoginForm,
    AcceptNewForm,
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    ResetForm,
    safe_next,
)
from civic.areas.models import Commune, Village
from civic.config import get_settings
from civic.core.inputs import Form
from civic.db import run_write, unit_of_work
from civic.errors import N_, CivicError, Invalid
from civic.web import communes, i18n
from civic.web.core import SESSION_KEY, SESSION_USER, Web, register_forms, require_user
from civic.web.deps import CurrentWeb, reading
from civic.web.forms import EMPTY, Done, FormState, post_form, read_body

router = APIRouter()
register_forms(LoginForm, RegisterForm, ChangePasswordForm, AcceptNewForm, AcceptLoginForm, ResetForm)

# What a refused form shows again: never a password (nor a reset code).
SHOWN_AGAIN = {"login": ("phone",), "register": ("phone", "display_name"), "password": (),
               "reset": ("phone",), "invite": ("display_name",)}
SHOWN_MAX = 100

REGISTERED = N_("If this phone number had no account, your account is ready: log in with your phone number "
                "and password.")
TOO_MANY = N_("You have tried too many times. Please wait %(minutes)s minutes and try again.")

T = TypeVar("T")


# --- the password pool ------------------------------------------------------------------------------

# One limiter an event loop (a worker process has one; the tests start many).
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = \
    weakref.WeakKeyDictionary()


async def _in_password_pool(fn: Callable[..., T], *args: Any) -> T:
    """Run argon2 work on the password threads (CIVIC_PASSWORD_THREADS a process); the limiter belongs to
    the running event loop."""
    loop = asyncio.get_running_loop()
    limiter = _pools.get(loop)
    if limiter is None:
        limiter = _pools[loop] = anyio.CapacityLimiter(get_settings().password_threads)
    return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)


def client_address(request: Request) -> str:
    """The connection's address; behind a proxy named in CIVIC_TRUSTED_PROXIES, uvicorn has already put
    the X-Forwarded-For address there (civic/serve.py), and an untrusted client cannot."""
    return request.client.host if request.client else ""


def _window() -> timedelta:
    return timedelta(minutes=get_settings().throttle_window_minutes)


async def _checked_form(request: Request, schema: type[Form]) -> Any:
    """The parsed form when its CSRF token and values are good; else None, and post_form (which reads the
    same body again, kept by Starlette) answers with its usual 403 or 422. A body that cannot be read
    raises here as it would in post_form: reading it twice would wait for a stream that has ended."""
    values, _files = await read_body(request)
    try:
        Web(request).check_csrf(values)
        return schema.parse(values)
    except CivicError:
        return None


# --- pages --------------------------------------------------------------------------------------------

def _start_session(request: Request, user_id: int, key: str) -> None:
    receipts = request.session.get("receipts")
    request.session.clear()  # a new session at every login: no fixation
    request.session[SESSION_KEY] = key
    request.session[SESSION_USER] = user_id
    request.session["forget_saved"] = True  # pages the last person kept on this phone (static/offline.js)
    if receipts:
        request.session["receipts"] = receipts


def _page(request: Request, action: str, state: FormState = EMPTY, next_path: str | None = None,
          headers: dict[str, str] | None = None) -> HTMLResponse:
    web = Web(request)
    sent = state.values
    values = {k: str(sent.get(k) or "")[:SHOWN_MAX] for k in SHOWN_AGAIN[action]
              if isinstance(sent.get(k), str)}
    values["next"] = safe_next(next_path if next_path is not None else sent.get("next")
                               if isinstance(sent.get("next"), str) else None)
    return web.render(f"accounts/{action}.html", status=state.status, values=values, errors=state.errors,
                      message=state.message, headers=headers)


def _too_many(request: Request, action: str, seconds: int) -> Response:
    """429 with Retry-After (RFC 6585 §4): the same page again, with a message in the reader's language."""
    text = Web(request)._(TOO_MANY, minutes=max(1, math.ceil(seconds / 60)))
    sent = getattr(request, "_form", None) or {}
    values = {k: v for k, v in sent.items() if isinstance(v, str)}
    state = FormState(action, values, {"throttled": text}, text, 429)
    headers = {"Retry-After": str(seconds)}
    if action == "password":
        return _password_page(request, state, headers)
    if action == "invite":
        return _invite_again(request, request.path_params.get("code", ""), state, headers)
    return _page(request, action, state, headers=headers)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    return _page(request, "login", next_path=next)


@dataclass
class _Checked:
    """What the password pool found before the writing unit of work."""

    password_hash: str | None = None  # the hash the password matched
    new_hash: str | None = None  # a stronger hash of the same password, when the parameters changed


def _verify_and_rehash(password_hash: str | None, password: str) -> _Checked:
    if not accounts.verify_password(password_hash, password):
        return _Checked()
    assert password_hash is not None
    rehash = accounts.hash_password(password) if accounts.needs_rehash(password_hash) else None
    return _Checked(password_hash, rehash)


def _login_wait(phone: str, address: str) -> int:
    settings = get_settings()
    with unit_of_work() as db:
        return throttle.wait(db, [
            throttle.Limit(throttle.phone_key(phone), settings.login_failures_per_phone),
            throttle.Limit(throttle.address_key(address), settings.login_failures_per_address)], _window())


def _login_hash(phone: str) -> str | None:
    with unit_of_work() as db:
        return accounts.login_hash(db, phone)


def _count_failure(*keys: str) -> None:
    run_write(lambda db: throttle.hit(db, list(keys), _window()))


@router.post("/login")
async def login(request: Request):
    form: LoginForm | None = await _checked_form(request, LoginForm)
    checked = _Checked()
    if form is not None:
        # Throttled before any argon2 work (ASVS 2.2.1): per phone against guessing one account's
        # password, per address against trying one password on many accounts.
        address = client_address(request)
        wait = await run_in_threadpool(_login_wait, form.phone, address)
        if wait:
            return _too_many(request, "login", wait)
        stored = await run_in_threadpool(_login_hash, form.phone)
        checked = await _in_password_pool(_verify_and_rehash, stored, form.password)
        if checked.password_hash is None:
            await run_in_threadpool(_count_failure, throttle.phone_key(form.phone),
                                    throttle.address_key(address))

    def act(db, web: Web, form: LoginForm, files) -> Done:
        if checked.password_hash is None:
            raise Invalid(accounts.WRONG_LOGIN, field="password")
        user = accounts.authenticate(db, form, verified_hash=checked.password_hash, new_hash=checked.new_hash)
        throttle.clear(db, throttle.phone_key(form.phone))  # a success forgets the phone's failures
        key = sessions.start(db, user)
        _start_session(request, user.id or 0, key)
        return Done(communes.landing(request, db, user.id or 0, form.next), N_("Welcome, %(name)s."),
                    {"name": user.display_name})

    return await post_form(request, LoginForm, action="login", act=act,
                           page=lambda state: _page(request, "login", state))


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, next: str = "/"):
    return _page(request, "register", next_path=next)


def _register_wait_and_count(address: str) -> int:
    """Registrations are counted per address whatever their outcome: each costs a hash, and trying phone
    numbers here must be as slow as on the login page."""
    key = throttle.address_key(address, "register")
    settings = get_settings()

    def work(db) -> int:
        wait = throttle.wait(db, [throttle.Limit(key, settings.registrations_per_address)], _window())
        if not wait:
            throttle.hit(db, [key], _window())
        return wait

    return run_write(work)


@router.post("/register")
async def register(request: Request):
    form: RegisterForm | None = await _checked_form(request, RegisterForm)
    new_hash = ""
    if form is not None:
        wait = await run_in_threadpool(_register_wait_and_count, client_address(request))
        if wait:
            return _too_many(request, "register", wait)
        # Hashed whether or not the phone has an account, so both answers take the same time.
        new_hash = await _in_password_pool(accounts.hash_password, form.password)

    def act(db, web: Web, form: RegisterForm, files) -> Done:
        # One answer whether or not the phone number already had an account, so that the page cannot be
        # used to find who has one (account enumeration, OWASP WSTG-IDNT-04): the same redirect and
        # message, the same argon2 work, and a new account is not logged in: its owner logs in.
        accounts.create_account(db, form, new_hash or accounts.hash_password(form.password))
        return Done(Web.url("/login", next=form.next), REGISTERED)

    return await post_form(request, RegisterForm, action="register", act=act,
                           page=lambda state: _page(request, "register", state))


@router.post("/logout")
async def logout(request: Request):
    def act(db, web: Web, form, files) -> Done:
        sessions.end(db, request.session.get(SESSION_KEY))  # an old copy of the cookie logs nobody in
        request.session.clear()
        request.session["forget_saved"] = True  # the pages this phone kept for them go with them
        return Done("/", N_("You have logged out."))

    return await post_form(request, None, action="logout", act=act,
                           page=lambda state: _page(request, "login", state))


# --- change the password -----------------------------------------------------------------------------

def _render_password(web: Web, state: FormState = EMPTY, headers: dict[str, str] | None = None) -> Response:
    require_user(web)
    return web.render("accounts/password.html", status=state.status, errors=state.errors,
                      message=state.message, headers=headers, values={})


def _password_page(request: Request, state: FormState, headers: dict[str, str] | None = None) -> Response:
    with reading(request) as web:
        return _render_password(web, state, headers)


@router.get("/account/password", response_class=HTMLResponse)
def change_password_form(web: CurrentWeb):
    return _render_password(web)


def _current_hash(request: Request) -> tuple[str, str] | None:
    """The signed-in user's phone and password hash, or None when nobody is signed in."""
    with reading(request) as web:
        user = web.viewer.user
        return (user.phone, user.password_hash) if user is not None else None


@router.post("/account/password")
async def change_password(request: Request):
    form: ChangePasswordForm | None = await _checked_form(request, ChangePasswordForm)
    current_ok: bool | None = None
    new_hash: str | None = None
    if form is not None:
        found = await run_in_threadpool(_current_hash, request)
        if found is not None:
            phone, stored = found
            settings = get_settings()
            key = throttle.phone_key(phone)
            # Guessing the current password here counts as failed logins of the phone (ASVS 2.2.1).
            wait = await run_in_threadpool(lambda: _wait_one(key, settings.login_failures_per_phone))
            if wait:
                return _too_many(request, "password", wait)
            current_ok = await _in_password_pool(accounts.verify_password, stored, form.current_password)
            if current_ok:
                new_hash = await _in_password_pool(accounts.hash_password, form.new_password)
            else:
                await run_in_threadpool(_count_failure, key)

    def act(db, web: Web, form: ChangePasswordForm, files) -> Done:
        viewer = require_user(web)
        accounts.change_password(db, viewer, form, current_ok=bool(current_ok), new_hash=new_hash)
        return Done("/account/password", N_("Your password was changed. Your other devices were logged "
                                            "out."))

    return await post_form(request, ChangePasswordForm, action="password", act=act,
                           page=lambda state: _password_page(request, state))


def _wait_one(key: str, limit: int) -> int:
    with unit_of_work() as db:
        return throttle.wait(db, [throttle.Limit(key, limit)], _window())


# --- a password reset with a code from the commune office ----------------------------------------------

@router.get("/password/reset", response_class=HTMLResponse)
def reset_form(request: Request):
    return _page(request, "reset")


def _reset_keys(phone: str, address: str) -> list[throttle.Limit]:
    settings = get_settings()
    return [throttle.Limit(throttle.purpose_key("reset", phone), settings.login_failures_per_phone),
            throttle.Limit(throttle.address_key(address, "reset"), settings.login_failures_per_address)]


def _reset_check(phone: str, code: str, address: str) -> tuple[int, bool]:
    """Seconds to wait (the throttle), and whether the phone and code open a reset."""
    with unit_of_work() as db:
        wait = throttle.wait(db, _reset_keys(phone, address), _window())
        if wait:
            return wait, False
        try:
            accounts.reset_target(db, phone, code)
        except CivicError:
            return 0, False
        return 0, True


@router.post("/password/reset")
async def reset_password(request: Request):
    form: ResetForm | None = await _checked_form(request, ResetForm)
    new_hash = ""
    if form is not None:
        address = client_address(request)
        wait, good = await run_in_threadpool(_reset_check, form.phone, form.code, address)
        if wait:
            return _too_many(request, "reset", wait)
        if good:
            new_hash = await _in_password_pool(accounts.hash_password, form.new_password)
        else:
            # Guessing codes is as slow as guessing passwords: counted per phone number and per address.
            await run_in_threadpool(_count_failure, *(lim.key for lim in _reset_keys(form.phone, address)))

    def act(db, web: Web, form: ResetForm, files) -> Done:
        if not new_hash:
            accounts.reset_target(db, form.phone, form.code)  # raises the message that says what is wrong
        accounts.reset_password(db, form, new_hash or accounts.hash_password(form.new_password))
        throttle.clear(db, throttle.phone_key(form.phone))
        return Done("/login", N_("Your password was changed. Log in with your phone number and the new "
                                 "password."))

    return await post_form(request, ResetForm, action="reset", act=act,
                           page=lambda state: _page(request, "reset", state))


# --- taking an invitation to a role ---------------------------------------------------------------------

@dataclass
class _Invited:
    """What the invitation page needs, read before the form is handled."""

    has_account: bool
    phone: str
    password_hash: str | None


def _invited(code: str) -> _Invited | None:
    with unit_of_work() as db:
        try:
            inv = accounts.open_invitation(db, code)
        except CivicError:
            return None
        user = accounts.invited_account(db, inv)
        return _Invited(user is not None, inv.phone,
                        user.password_hash if user is not None and user.is_active else None)


def _render_invite(web: Web, code: str, state: FormState = EMPTY, headers: dict[str, str] | None = None
                   ) -> Response:
    db = web.session
    inv = accounts.open_invitation(db, code)  # NotFound (404 unknown, 410 used or expired) says why
    user = accounts.invited_account(db, inv)
    village = db.get(Village, inv.village_id) if inv.village_id else None
    commune = db.get(Commune, inv.commune_id)
    sent = state.values
    values = {k: str(sent.get(k) or "")[:SHOWN_MAX] for k in SHOWN_AGAIN["invite"]
              if isinstance(sent.get(k), str)}
    values.setdefault("display_name", inv.display_name)
    return web.render("accounts/invite.html", status=state.status, headers=headers, invitation=inv,
                      has_account=user is not None, role=account_rules.role_label(inv.role, web.locale),
                      village=village, commune=commune, code=account_rules.normalize_code(code),
                      masked_phone=account_rules.mask_phone(inv.phone), values=values, errors=state.errors,
                      message=state.message)


def _invite_again(request: Request, code: str, state: FormState, headers: dict[str, str] | None = None
                  ) -> Response:
    with reading(request) as web:
        return _render_invite(web, code, state, headers)


@router.get("/invite/{code}", response_class=HTMLResponse)
def invitation(web: CurrentWeb, code: str):
    return _render_invite(web, code)


@router.post("/invite/{code}")
async def accept_invitation(request: Request, code: str):
    invited = await run_in_threadpool(_invited, code)
    schema: type[Form] = AcceptLoginForm if invited is not None and invited.has_account else AcceptNewForm
    form = await _checked_form(request, schema)
    verified: str | None = None
    new_hash: str | None = None
    if form is not None and invited is not None:
        if invited.has_account:
            address = client_address(request)
            wait = await run_in_threadpool(_login_wait, invited.phone, address)
            if wait:
                return _too_many(request, "invite", wait)
            checked = await _in_password_pool(_verify_and_rehash, invited.password_hash, form.password)
            verified = checked.password_hash
            if verified is None:
                await run_in_threadpool(_count_failure, throttle.phone_key(invited.phone),
                                        throttle.address_key(address))
        else:
            new_hash = await _in_password_pool(accounts.hash_password, form.password)

    def act(db, web: Web, form: Form, files) -> Done:
        user = accounts.accept_invitation(db, code, new=form if isinstance(form, AcceptNewForm) else None,
                                          password_hash=new_hash, verified_hash=verified)
        key = sessions.start(db, user)
        _start_session(request, user.id or 0, key)
        return Done("/", N_("Welcome, %(name)s. Your role has been recorded."), {"name": user.display_name})

    return await post_form(request, schema, action="invite", act=act,
                           page=lambda state: _invite_again(request, code, state))


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/"):
    locale = code if code in i18n.LOCALES else i18n.DEFAULT_LOCALE
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax",
                        secure=get_settings().cookie_secure, httponly=False)
    return response
