"""Register, log in, log out, and choose the language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from civic.accounts import service as accounts
from civic.accounts.schemas import LoginForm, RegisterForm, safe_next
from civic.config import get_settings
from civic.db import row_id
from civic.errors import N_
from civic.web import i18n
from civic.web.core import Web, register_forms
from civic.web.forms import EMPTY, Done, FormState, post_form

router = APIRouter()
register_forms(LoginForm, RegisterForm)

# What a refused form shows again: never a password.
SHOWN_AGAIN = {"login": ("phone",), "register": ("phone", "display_name")}
SHOWN_MAX = 100


def _start_session(request: Request, user_id: int) -> None:
    receipts = request.session.get("receipts")
    request.session.clear()  # a new session at every login: no fixation
    request.session["uid"] = user_id
    request.session["forget_saved"] = True  # pages the last person kept on this phone (static/offline.js)
    if receipts:
        request.session["receipts"] = receipts


def _page(request: Request, action: str, state: FormState = EMPTY, next_path: str | None = None
          ) -> HTMLResponse:
    web = Web(request)
    sent = state.values
    values = {k: str(sent.get(k) or "")[:SHOWN_MAX] for k in SHOWN_AGAIN[action]
              if isinstance(sent.get(k), str)}
    values["next"] = safe_next(next_path if next_path is not None else sent.get("next")
                               if isinstance(sent.get("next"), str) else None)
    return web.render(f"accounts/{action}.html", status=state.status, values=values, errors=state.errors)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    return _page(request, "login", next_path=next)


@router.post("/login")
async def login(request: Request):
    def act(db, web: Web, form: LoginForm, files) -> Done:
        user = accounts.authenticate(db, form)
        _start_session(request, row_id(user))
        return Done(form.next, N_("Welcome, %(name)s."), {"name": user.display_name})

    return await post_form(request, LoginForm, action="login", act=act,
                           page=lambda state: _page(request, "login", state))


@router.get("/register", response_class=HTMLResponse)
def register_form(request: Request, next: str = "/"):
    return _page(request, "register", next_path=next)


@router.post("/register")
async def register(request: Request):
    def act(db, web: Web, form: RegisterForm, files) -> Done:
        user = accounts.register(db, form)
        _start_session(request, row_id(user))
        return Done(form.next, N_("Your account was created. Welcome, %(name)s."),
                    {"name": user.display_name})

    return await post_form(request, RegisterForm, action="register", act=act,
                           page=lambda state: _page(request, "register", state))


@router.post("/logout")
async def logout(request: Request):
    def act(db, web: Web, form, files) -> Done:
        request.session.clear()
        request.session["forget_saved"] = True  # the pages this phone kept for them go with them
        return Done("/", N_("You have logged out."))

    return await post_form(request, None, action="logout", act=act,
                           page=lambda state: _page(request, "login", state))


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/"):
    locale = code if code in i18n.LOCALES else i18n.DEFAULT_LOCALE
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax",
                        secure=get_settings().cookie_secure, httponly=False)
    return response
