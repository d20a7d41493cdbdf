"""Exception handlers for the pages: calm error pages in the user's language, never a stack trace."""

from __future__ import annotations

import logging
import secrets
from html import escape
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from civic.db import unit_of_work
from civic.errors import N_, CivicError
from civic.web.core import LoginRequired, Web
from civic.web.i18n import COOKIE, pick_locale, translations
from civic.web.middleware import SECURITY_HEADERS

log = logging.getLogger("civic")

TITLES = {
    400: N_("The request could not be understood"),
    401: N_("Please log in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    409: N_("This cannot be done now"),
    413: N_("Too large"),
    422: N_("Please check what you entered"),
    500: N_("Something went wrong on our side"),
    503: N_("The service is unavailable"),
}
MESSAGES = {
    400: N_("The request could not be understood."),
    404: N_("This page does not exist. Check the address, or look the item up by its code."),
    405: N_("This address does not accept this kind of request."),
    413: N_("What you sent is too large."),
    422: N_("Some of what you entered is not valid."),
    500: N_("An unexpected error happened. It has been recorded; please try again later."),
}
# The words of templates/errors/error.html, for the page written by hand.
REFERENCE = N_("Reference: %(id)s")
HOME = N_("Home")


def _render_error(request: Request, status: int, message: str, params: dict | None = None,
                  request_id: str | None = None) -> Response:
    """The calm error page, whatever else is broken.

    First with the viewer read from the database; if that fails (the database itself may be the problem)
    as an anonymous page without the database and with a session of its own; if even the templates fail,
    a page written here by hand. A request without a session (a HEAD request's error, or one raised before
    the session middleware ran) gets a session of its own, kept by nobody, from the start."""
    if "session" not in request.scope:
        request = Request(dict(request.scope, session={}))
    try:
        with unit_of_work() as db:
            web = Web(request, db)
            return _page(web, status, message, web._params(params or {}), request_id)
    except Exception:
        log.warning("error page %s rendered without the database", status, exc_info=True)
    try:
        web = Web(Request(dict(request.scope, session={})))
        return _page(web, status, message, web._params(params or {}), request_id)
    except Exception:
        log.warning("error page %s written without templates", status, exc_info=True)
    return _plain_page(request, status, message, params or {}, request_id)


def _page(web: Web, status: int, message: str, params: dict, request_id: str | None) -> Response:
    return web.render("errors/error.html", status=status, title=web._(TITLES.get(status, TITLES[400])),
                      message=web._(message, **params), status_code=status, request_id=request_id)


def _plain_page(request: Request, status: int, message: str, params: dict,
                request_id: str | None) -> Response:
    """The error page with nothing but the catalogs (and without them, the English of the message ids)."""
    words = _words("en", status, message, params, request_id, translate=False)  # the message ids are English
    try:
        locale = pick_locale(request.cookies.get(COOKIE))
        words = _words(locale, status, message, params, request_id, translate=True)
    except Exception:
        log.warning("error page %s without catalogs", status, exc_info=True)
    locale, title, text, reference, home = words
    ref = f'<p class="meta">{escape(reference)}</p>' if request_id else ""
    body = (f'<!doctype html>\n<html lang="{locale}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n</head>\n<body>\n<main>\n<h1>{escape(title)}</h1>\n"
            f'<p class="big" role="alert">{escape(text)}</p>\n{ref}\n<p><a href="/">{escape(home)}</a></p>\n'
            "</main>\n</body>\n</html>\n")
    return HTMLResponse(body, status_code=status, headers={"Content-Language": locale})


def _words(locale: str, status: int, message: str, params: dict, request_id: str | None, *,
           translate: bool) -> tuple[str, str, str, str, str]:
    _ = translations(locale).gettext if translate else str
    text = _(message)
    try:
        text = text % params if params else text
    except (KeyError, TypeError, ValueError):
        pass
    return locale, _(TITLES.get(status, TITLES[400])), text, _(REFERENCE) % {"id": request_id}, _(HOME)


async def civic_error(request: Request, exc: CivicError):
    if isinstance(exc, LoginRequired):
        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)
    return _render_error(request, exc.status, exc.message, exc.params)


async def http_error(request: Request, exc: StarletteHTTPException):
    status = exc.status_code
    message = MESSAGES.get(status, MESSAGES[400] if status < 500 else MESSAGES[500])
    response = _render_error(request, status, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def validation_error(request: Request, exc: RequestValidationError):
    """A typed path parameter no page could have (an id past 64 bits, a code with other characters) is a
    page that does not exist; a bad query-string value is bad input."""
    if any((err.get("loc") or ("",))[0] == "path" for err in exc.errors()):
        return _render_error(request, 404, MESSAGES[404])
    return _render_error(request, 422, MESSAGES[422])


async def unexpected_error(request: Request, exc: Exception):
    request_id = request.scope.get("civic.request_id") or secrets.token_hex(6)
    log.exception("unexpected error %s on %s %s", request_id, request.scope.get("method"),
                  request.scope.get("path"))
    response = _render_error(request, 500, MESSAGES[500], request_id=request_id)
    # This handler runs outside the inner middleware, so it adds their headers itself.
    for key, value in SECURITY_HEADERS:
        response.headers[key.decode()] = value.decode()
    response.headers["X-Request-ID"] = request_id
    return response
