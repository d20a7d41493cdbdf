"""The Open311 channel's errors: the spec's error array, in the request's format and language.

Only the routes of civic.open311 use `Open311Route`, so this handling applies under /open311/ and the
web pages keep their own error pages. Bad input answers 400, a missing or wrong api_key 403, an unknown
service, request, token or jurisdiction 404 — never FastAPI's 422, and a bug is logged, not shown.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from civic.errors import N_, CivicError, Invalid
from civic.open311 import encode
from civic.web import i18n

log = logging.getLogger("civic.open311")

# Field names of the web form that the Open311 channel calls differently.
FIELD_NAMES = {"lng": "long", "address": "address_string", "contact_phone": "phone",
               "contact_name": "first_name", "village_id": "address_id", "category_id": "service_code",
               "title": "description"}


class ApiError(Exception):
    """One or more errors with one status; each error is (field or '', msgid, params)."""

    def __init__(self, status: int, errors: list[tuple[str, str, dict[str, Any]]],
                 headers: dict[str, str] | None = None):
        super().__init__(errors[0][1] if errors else "")
        self.status = status
        self.errors = errors
        self.headers = headers or {}  # e.g. the Allow header a 405 must carry


def bad(message: str, field: str = "", **params: Any) -> ApiError:
    return ApiError(400, [(field, message, params)])


def not_found(message: str, **params: Any) -> ApiError:
    return ApiError(404, [("", message, params)])


def forbidden(message: str = N_("A valid api_key is required to create a request.")) -> ApiError:
    return ApiError(403, [("api_key", message, {})])


def from_civic(exc: CivicError) -> ApiError:
    """A service's error in the channel's terms: bad input is 400 here, not the web forms' 422."""
    status = exc.status if exc.status in (403, 404) else 400
    if isinstance(exc, Invalid) and exc.errors:
        return ApiError(status, [(FIELD_NAMES.get(f, f), m, exc.params) for f, m in exc.errors.items()])
    return ApiError(status, [(FIELD_NAMES.get(exc.field or "", exc.field or ""), exc.message, exc.params)])


def request_format(request: Request) -> str:
    fmt = request.path_params.get("fmt")
    if fmt in ("json", "xml"):
        return fmt
    return "json" if request.url.path.endswith(".json") else "xml"


def request_locale(request: Request) -> str:
    """`locale=en` (or `vi`) in the query, else the first of vi/en in Accept-Language, else Vietnamese."""
    asked = (request.query_params.get("locale") or "").strip().lower()[:5].replace("_", "-").split("-")[0]
    if asked in i18n.LOCALES:
        return asked
    ranked = []
    for n, part in enumerate((request.headers.get("accept-language") or "").split(",")[:20]):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, n, lang.strip().lower().split("-")[0]))
    for weight, _n, lang in sorted(ranked):
        if weight < 0 and lang in i18n.LOCALES:
            return lang
    return i18n.DEFAULT_LOCALE


def translate(locale: str, message: str, params: dict[str, Any] | None = None) -> str:
    text = i18n.translations(locale).gettext(message) if message else ""
    if params:
        try:
            return text % params
        except (KeyError, TypeError, ValueError):
            return text
    return text


def error_response(request: Request, exc: ApiError) -> Response:
    locale = request_locale(request)
    body = []
    for field, message, params in exc.errors:
        description = translate(locale, message, params)
        body.append({"code": exc.status, "description": f"{field}: {description}" if field else description})
    response = encode.respond(request_format(request), "errors", body, status=exc.status)
    response.headers.update(exc.headers)
    return response


def as_api_error(exc: Exception) -> ApiError | None:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, CivicError):
        return from_civic(exc)
    if isinstance(exc, RequestValidationError):
        if any(tuple(e.get("loc", ()))[-1:] == ("fmt",) for e in exc.errors()):
            return bad(N_("Unknown format: use .xml or .json."), "format")
        return bad(N_("The request could not be understood."))
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code in (403, 404, 405):
            return ApiError(exc.status_code, [("", N_("This address does not accept this kind of request.")
                                               if exc.status_code == 405 else N_("Not found"), {})])
        return bad(N_("The request could not be understood."))
    return None


class Open311Route(APIRoute):
    """A route whose every error answers the spec's error array."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # noqa: BLE001 - every error becomes the spec's body
                api_error = as_api_error(exc)
                if api_error is None:
                    request_id = request.scope.get("civic.request_id") or secrets.token_hex(6)
                    log.exception("unexpected error %s on %s %s", request_id, request.method,
                                  request.url.path)
                    api_error = ApiError(500, [("", N_("An unexpected error happened. It has been recorded; "
                                                       "please try again later."), {})])
                return error_response(request, api_error)

        return route_handler
