"""Register, log in, log out, and choose the language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from civic.accounts import service as accounts
from civic.config import get_settings
from civic.db import run_write
from civic.errors import N_, Invalid
from civic.web import i18n
from civic.web.core import Web, form_dict, read_form

router = APIRouter()


def safe_next(value: str | None) -> str:
    """Only local paths: never send a user to another site after logging in."""
    value = value or "/"
    if not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value or "\r" in value:
        return "/"
    return value


def _start_session(request: Request, user_id: int) -> None:
    receipts = request.session.get("receipts")
    request.session.clear()  # a new session at every login: no fixation
    request.session["uid"] = user_id
    request.session["forget_saved"] = True  # pages the last person kept on this phone (static/offline.js)
    if receipts:
        request.session["receipts"] = receipts


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    web = Web(request)
    return web.render("accounts/login.html", values={"next": safe_next(next)}, errors={})


@router.post("/login")
async def login(request: Request):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: dict):
    def work(db):
        web = Web(request, db, load_user=False)
        web.check_csrf(form)
        return accounts.authenticate(db, form.get("phone", ""), form.get("password", ""))

    try:
        user = run_write(work)
    except Invalid as exc:
        web = Web(request)
        values = {"phone": form.get("phone", "")[:30], "next": safe_next(form.get("next"))}
        return web.render("accounts/login.html", status=422, values=values, errors=web.field_errors(exc))
    _start_session(request, user.id)
    web = Web(request)
    return web.redirect(safe_next(form.get("next")), N_("Welcome, %(name)s."), name=user.display_name)


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, next: str = "/"):
    web = Web(request)
    return web.render("accounts/register.html", values={"next": safe_next(next)}, errors={})


@router.post("/register")
async def register(request: Request):
    form = form_dict(await read_form(request))
    return await run_in_threadpool(_register, request, form)


def _register(request: Request, form: dict):
    def work(db):
        web = Web(request, db, load_user=False)
        web.check_csrf(form)
        errors = {}
        if form.get("password", "") != form.get("password_again", ""):
            errors["password_again"] = N_("The two passwords are not the same.")
        try:
            user = accounts.register(db, phone=form.get("phone", ""), display_name=form.get("display_name", ""),
                                     password=form.get("password", ""))
        except Invalid as exc:
            exc.errors.update(errors)
            raise
        if errors:
            raise Invalid(errors=errors)
        return user

    try:
        user = run_write(work)
    except Invalid as exc:
        web = Web(request)
        values = {k: form.get(k, "")[:100] for k in ("phone", "display_name")}
        values["next"] = safe_next(form.get("next"))
        return web.render("accounts/register.html", status=422, values=values, errors=web.field_errors(exc))
    _start_session(request, user.id)
    web = Web(request)
    return web.redirect(safe_next(form.get("next")), N_("Your account was created. Welcome, %(name)s."),
                        name=user.display_name)


@router.post("/logout")
async def logout(request: Request):
    form = form_dict(await read_form(request))
    web = Web(request)
    web.check_csrf(form)
    request.session.clear()
    request.session["forget_saved"] = True  # the pages this phone kept for them go with them
    return web.redirect("/", N_("You have logged out."))


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/"):
    locale = code if code in i18n.LOCALES else i18n.DEFAULT_LOCALE
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax",
                        secure=get_settings().cookie_secure, httponly=False)
    return response


