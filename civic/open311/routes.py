"""Open311 GeoReport v2 under /open311/v2: each resource as .json and .xml.

Routes translate: they read the arguments, call the item services and queries, and encode the answer.
Errors of every kind become the spec's error array (civic.open311.errors.Open311Route).
"""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.routing import APIRoute
from starlette.responses import Response
from starlette.routing import Match

from civic import clock
from civic.accounts import service as accounts
from civic.accounts.service import ANONYMOUS_VIEWER
from civic.db import row_id, run_write, unit_of_work
from civic.errors import N_, Invalid
from civic.items import rules as item_rules
from civic.items import service as items
from civic.items.schemas import SubmitForm
from civic.open311 import encode, mapping, queries, schemas
from civic.open311.errors import (
    ApiError,
    Open311Route,
    bad,
    error_response,
    forbidden,
    from_civic,
    not_found,
    request_format,
    request_locale,
    translate,
)
from civic.open311.params import (
    MAX_RESULTS,
    Args,
    attribute_args,
    body_args,
    check_format,
    comma_list,
    one,
    positive_int,
    query_args,
    window,
)
from civic.web import urls

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["Open311 GeoReport v2"], route_class=Open311Route)

FMT = Path(description="The format: `json` or `xml`.", examples=["json", "xml"], pattern="^(json|xml)$")
JURISDICTION = Query(None, description="Optional: the commune's code. Empty means absent.")
LOCALE = Query(None, description="`vi` (default) or `en`; Accept-Language works too.")


def _args(request: Request, fmt: str) -> Args:
    check_format(fmt)
    return _commune_of_address(request, query_args(request))


def _commune_of_address(request: Request, args: Args) -> Args:
    """Under a commune's prefix (/c/NS/open311/…) the jurisdiction is that commune unless one is named."""
    prefixed = request.scope.get("civic.commune")
    if prefixed and not one(args, "jurisdiction_id"):
        args = {**args, "jurisdiction_id": [prefixed]}
    return args


def _extensions(args: Args) -> bool:
    return one(args, "extensions").lower() in ("true", "1", "yes")


# --- discovery and services ---------------------------------------------------------------------------

@router.get("/discovery.{fmt}", summary="Discovery: where the endpoint is and what it speaks",
            responses=schemas.responses(schemas.Discovery, errors=(400,)), response_model=None)
def discovery(request: Request, fmt: str = FMT):
    _args(request, fmt)
    base = urls.base(request) + PREFIX
    changeset = encode.w3c(clock.now().replace(hour=0, minute=0, second=0, microsecond=0))
    body = {"changeset": changeset, "contact": "UBND xã — civic",
            "key_service": "civic api-key create --name …",
            "endpoints": [{"specification": mapping.SPEC_URL, "url": base, "changeset": changeset,
                           "type": "production", "formats": ["text/xml", "application/json"]}]}
    return encode.respond(fmt, "discovery", body)


@router.get("/services.{fmt}", summary="The services: one for each category",
            responses=schemas.responses(list[schemas.Service]), response_model=None)
def service_list(request: Request, fmt: str = FMT, jurisdiction_id: str | None = JURISDICTION,
                 locale: str | None = LOCALE):
    args = _args(request, fmt)
    lang = request_locale(request)
    with unit_of_work() as db:
        look = queries.lookups(db, queries.commune(db, one(args, "jurisdiction_id")))
        body = [mapping.service(lang, c) for c in look.categories.values() if c.active]
    return encode.respond(fmt, "services", body)


def _definition(request: Request, service_code: str, fmt: str) -> Response:
    args = _args(request, fmt)
    lang = request_locale(request)
    with unit_of_work() as db:
        look = queries.lookups(db, queries.commune(db, one(args, "jurisdiction_id")))
        category = look.category_by_code(service_code)
        if category is None:
            raise not_found(N_("Unknown service_code %(code)s."), code=service_code[:40])
        body = mapping.service_definition(lang, category)
    return encode.respond(fmt, "service_definition", body)


@router.get("/services/{service_code}.{fmt}", summary="A service's definition: its attributes",
            responses=schemas.responses(schemas.ServiceDefinition), response_model=None)
def service_definition(request: Request, service_code: str, fmt: str = FMT,
                       jurisdiction_id: str | None = JURISDICTION, locale: str | None = LOCALE):
    return _definition(request, service_code, fmt)


@router.get("/service/{service_code}.{fmt}",
            summary="A service's definition (the singular path of old clients)",
            responses=schemas.responses(schemas.ServiceDefinition), response_model=None)
def service_definition_singular(request: Request, service_code: str, fmt: str = FMT,
                                jurisdiction_id: str | None = JURISDICTION, locale: str | None = LOCALE):
    return _definition(request, service_code, fmt)


# --- requests: read -----------------------------------------------------------------------------------

def _request_query(args: Args, look: queries.Lookups) -> queries.RequestQuery:
    codes = comma_list(args, "service_request_id")
    page = positive_int(args, "page", 1, 1_000_000)
    page_size = positive_int(args, "page_size", MAX_RESULTS, MAX_RESULTS)
    win = window(args) if not codes else None
    statuses = {s.lower() for s in comma_list(args, "status", 10)}
    if statuses - {"open", "closed"}:
        raise bad(N_("status must be open, closed, or both."), "status")
    service_codes = comma_list(args, "service_code", 200)
    category_ids = None
    if service_codes:
        category_ids = [cid for cid, c in look.categories.items() if c.code in service_codes]
    now = clock.now()
    return queries.RequestQuery(codes, category_ids, win.start if win else now, win.end if win else now,
                                statuses, page, page_size)


def _requests_body(db, lang: str, look: queries.Lookups, rows: list, extensions: bool) -> list[dict]:
    ids = [r.id for r in rows]
    events = queries.events_of(db, ids) if extensions else {}
    progress = queries.progress_of(db, ids) if extensions else {}
    return [mapping.service_request(lang, look, r, events=events.get(r.id), progress=progress.get(r.id),
                                    extensions=extensions) for r in rows]


@router.get("/requests.{fmt}", summary="Service requests: filtered, newest first, at most 1,000 a page",
            responses=schemas.responses(list[schemas.ServiceRequest]), response_model=None)
def request_list(
    request: Request, fmt: str = FMT, jurisdiction_id: str | None = JURISDICTION, locale: str | None = LOCALE,
    service_request_id: str | None = Query(None,
                                           description="Comma list of ids; overrides the other filters."),
    service_code: str | None = Query(None, description="Comma list of service codes."),
    start_date: str | None = Query(None, description="W3C datetime; the range spans at most 90 days."),
    end_date: str | None = Query(None, description="W3C datetime; default: the last 90 days."),
    status: str | None = Query(None, description="open, closed, or both (comma list)."),
    page: str | None = Query(None, description="Extension: page number from 1."),
    page_size: str | None = Query(None, description="Extension: results per page, at most 1,000."),
    extensions: str | None = Query(None,
                                   description="Extension: true adds stage, outcome, progress and notes."),
):
    args = _args(request, fmt)
    lang = request_locale(request)
    with unit_of_work() as db:
        look = queries.lookups(db, queries.commune(db, one(args, "jurisdiction_id")))
        rows = queries.list_requests(db, row_id(look.commune), _request_query(args, look))
        body = _requests_body(db, lang, look, rows, _extensions(args))
    return encode.respond(fmt, "service_requests", body)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request (an array of one)",
            responses=schemas.responses(list[schemas.ServiceRequest]), response_model=None)
def request_one(request: Request, service_request_id: str, fmt: str = FMT,
                jurisdiction_id: str | None = JURISDICTION, locale: str | None = LOCALE,
                extensions: str | None = Query(None,
                                               description="Extension: true adds the public timeline.")):
    args = _args(request, fmt)
    lang = request_locale(request)
    with unit_of_work() as db:
        look = queries.lookups(db, queries.commune(db, one(args, "jurisdiction_id")))
        row = queries.one_request(db, row_id(look.commune), service_request_id)
        body = _requests_body(db, lang, look, [row], _extensions(args))
    return encode.respond(fmt, "service_requests", body)


@router.get("/tokens/{token}.{fmt}", summary="The request a client's token created (needs its api_key)",
            responses=schemas.responses(list[schemas.TokenAnswer], errors=(400, 403, 404)),
            response_model=None)
def token_lookup(request: Request, token: str, fmt: str = FMT, jurisdiction_id: str | None = JURISDICTION,
                 api_key: str | None = Query(None, description="The API key that sent the token.")):
    """A token names a partner's request only to that partner: without its key the answer is 403, and
    with another key it is not found, like a token never sent (OWASP ASVS 4.0 V4.2.1, V13.1.3)."""
    args = _args(request, fmt)
    if not one(args, "api_key"):
        raise forbidden(N_("A valid api_key is required to look up a token."))
    with unit_of_work() as db:
        commune = queries.commune(db, one(args, "jurisdiction_id"))
        key = accounts.find_api_key(db, one(args, "api_key"))
        if key is None or key.commune_id != commune.id:
            raise forbidden(N_("This api_key is not valid."))
        codes = queries.find_by_token(db, row_id(commune), token, row_id(key))
    if not codes:
        raise not_found(N_("No request was created with this token."))
    return encode.respond(fmt, "service_requests", [{"service_request_id": c, "token": token} for c in codes])


@router.get("/servicerequestupdates.{fmt}", summary="Every public change between two dates (extension)",
            responses=schemas.responses(list[schemas.RequestUpdate]), response_model=None)
def request_updates(request: Request, fmt: str = FMT, jurisdiction_id: str | None = JURISDICTION,
                    locale: str | None = LOCALE,
                    start_date: str | None = Query(None, description="W3C datetime; default: 90 days ago."),
                    end_date: str | None = Query(None,
                                                 description="W3C datetime; at most 90 days after start."),
                    page: str | None = Query(None), page_size: str | None = Query(None)):
    args = _args(request, fmt)
    lang = request_locale(request)
    win = window(args)
    page_n = positive_int(args, "page", 1, 1_000_000)
    size = positive_int(args, "page_size", MAX_RESULTS, MAX_RESULTS)
    with unit_of_work() as db:
        commune = queries.commune(db, one(args, "jurisdiction_id"))
        rows = queries.updates(db, row_id(commune), win.start, win.end, page_n, size)
    return encode.respond(fmt, "service_request_updates", mapping.request_updates(lang, rows))


# --- requests: create ---------------------------------------------------------------------------------

POST_FIELDS = {
    "api_key": "The partner's API key (also accepted in the query string).",
    "jurisdiction_id": "Optional: the commune's code; empty means absent.",
    "service_code": "The service (category) code.",
    "lat": "Latitude (WGS84), with long.", "long": "Longitude (WGS84), with lat.",
    "address_string": "The address in words.", "address_id": "A village of the commune (its slug).",
    "description": "At most 4,000 characters.", "token": "The client's idempotency key.",
    "email": "Not stored.", "device_id": "Not stored.", "account_id": "Not stored.",
    "first_name": "Private: never shown.", "last_name": "Private: never shown.",
    "phone": "Private: never shown.", "media_url": "Not stored.",
}
POST_BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["service_code"],
    "properties": {name: {"type": "string", "description": text} for name, text in POST_FIELDS.items()},
    "additionalProperties": {"type": "string", "description": "attribute[CODE] values"},
}}}}}


def _merge(query: Args, body: Args) -> Args:
    """Query and body together (old clients send api_key in the query): the body's value wins, attribute
    values add up, and empty values count as absent."""
    out: Args = {}
    for source in (query, body):
        for key, values in source.items():
            kept = [v for v in values if v.strip()]
            if kept:
                out[key] = out.get(key, []) + kept if key.startswith("attribute[") else kept
    return out


def _location_errors(args: Args) -> list[tuple[str, str, dict]]:
    lat, lng = one(args, "lat"), one(args, "long")
    if not ((lat and lng) or one(args, "address_string") or one(args, "address_id")):
        return [("lat", N_("A location is required: lat and long, address_string or address_id."), {})]
    if bool(lat) != bool(lng):
        return [("lat", N_("Please give both latitude and longitude, or neither."), {})]
    return []


def _create(db, args: Args) -> tuple[items.Submitted, str]:
    commune = queries.commune(db, one(args, "jurisdiction_id"))
    key = accounts.find_api_key(db, one(args, "api_key"))
    if key is None or key.commune_id != commune.id:
        raise forbidden() if not one(args, "api_key") else forbidden(N_("This api_key is not valid."))
    code = one(args, "service_code")
    if not code:
        raise bad(N_("service_code is required."), "service_code")
    look = queries.lookups(db, commune)
    category = look.category_by_code(code)
    if category is None:
        raise not_found(N_("Unknown service_code %(code)s."), code=code[:40])
    errors = _location_errors(args)
    attributes = {}
    try:
        attributes = item_rules.validate_attribute_values(
            item_rules.attribute_definitions(category.attributes), attribute_args(args))
    except Invalid as exc:
        errors += from_civic(exc).errors
    village_id = None
    try:
        village_id = item_rules.village_for_address(
            [(vid, v.name, v.slug) for vid, v in look.villages.items()], one(args, "address_id"),
            one(args, "address_string"))
    except Invalid as exc:
        errors += from_civic(exc).errors
    if village_id is None and not errors:
        if not look.villages:
            raise bad(N_("This commune has no village yet."), "address_id")
        village_id = next(iter(look.villages))  # the first village; the village head corrects it in triage
    address = one(args, "address_string")
    where = address or (f"{one(args, 'lat')}, {one(args, 'long')}" if one(args, "lat")
                        else one(args, "address_id"))
    description = one(args, "description") or f"{category.name_vi} — {where}"
    data = {
        "kind": "concern", "village_id": village_id, "category_id": category.id,
        "title": item_rules.title_from_description(description, category.name_vi),
        "description": description, "address": address, "lat": one(args, "lat"), "lng": one(args, "long"),
        "contact_name": " ".join(x for x in (one(args, "first_name"), one(args, "last_name")) if x),
        "contact_phone": one(args, "phone"),
    }
    token = one(args, "token")
    if token and len(token) <= 200:
        data["client_token"] = queries.client_token(row_id(key), token)
    form: SubmitForm | Invalid  # the form, or why it was refused
    try:  # any village for reading the fields: the service checks the one that is stored
        form = SubmitForm.parse(dict(data, village_id=village_id or 1))
    except Invalid as exc:
        form = exc
    if errors:  # report the submission's own errors with these, all at once
        seen = {field for field, _m, _p in errors}
        if isinstance(form, Invalid):
            errors += [e for e in from_civic(form).errors if e[0] not in seen]
        raise ApiError(400, errors)
    if len(token) > 200:
        raise bad(N_("The token must have at most 200 characters."), "token")
    if isinstance(form, Invalid):
        raise from_civic(form)
    result = items.submit(db, commune, form, ANONYMOUS_VIEWER, channel="api", require_contact=False,
                          attributes=attributes, partner=(row_id(key), key.name))
    return result, token


@router.post("/requests.{fmt}", summary="Create a service request (needs an api_key)",
             responses=schemas.responses(list[schemas.Created], errors=(400, 403, 404)), response_model=None,
             openapi_extra=POST_BODY)
async def request_create(request: Request, fmt: str = FMT):
    check_format(fmt)
    args = _commune_of_address(request, _merge(query_args(request), await body_args(request)))
    lang = request_locale(request)
    result, _token = await anyio.to_thread.run_sync(lambda: run_write(lambda db: _create(db, args)))
    notice = translate(lang, N_("Received. The village head will look at it within 3 working days."))
    body = [{"service_request_id": result.item.code, "service_notice": notice, "account_id": None}]
    return encode.respond(fmt, "service_requests", body)


# --- anything else under /open311/ ------------------------------------------------------------------------

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{rest:path}", methods=ANY_METHOD, include_in_schema=False)
async def unknown(request: Request, rest: str):
    allowed = {method for route in router.routes
               if isinstance(route, APIRoute) and route.endpoint is not unknown
               and route.matches(request.scope)[0] == Match.PARTIAL
               for method in route.methods or ()}
    if allowed:  # RFC 9110: a 405 lists the methods the address does accept
        raise ApiError(405, [("", N_("This address does not accept this kind of request."), {})],
                       headers={"Allow": ", ".join(sorted(allowed))})
    raise not_found(N_("Not found"))


outside = APIRouter(route_class=Open311Route, include_in_schema=False)


@outside.api_route("/open311/{rest:path}", methods=ANY_METHOD)
async def unknown_version(request: Request, rest: str):
    raise not_found(N_("Not found"))


# What civic.main includes: the API, then the catch-alls that keep every other /open311/ answer in the
# spec's error format.
api = APIRouter()
api.include_router(router)
api.include_router(outside)

__all__ = ["api", "router", "error_response", "request_format"]
