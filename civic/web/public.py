"""Pages anyone can open: home, list and search, an item's status page, tracking, the audit head."""

from __future__ import annotations

import functools
import logging

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from sqlalchemy import text

from civic import clock
from civic.areas import service as areas
from civic.areas.schemas import COMMUNE_SEARCH_MAX, CommuneSearchQuery
from civic.audit import service as audit
from civic.audit import signing as audit_signing
from civic.db import get_engine, row_id
from civic.errors import N_, Invalid
from civic.items import rules as item_rules
from civic.items import service as items
from civic.items.schemas import SEARCH_MAX, ItemListQuery
from civic.media import storage
from civic.web import communes, pagecache
from civic.web.assets import STATIC_DIR
from civic.web.deps import CurrentWeb, Db, ItemCode, reading
from civic.web.i18n import COOKIE, pick_locale
from civic.web.timeline import TimelineQuery
from civic.web.views import item_page_context, lookups
from civic.workflow.stages import KINDS, STRIP, Stage

router = APIRouter()

# The stages the home page counts and the list filters by, in the order an item goes through them.
LISTED_STAGES = (Stage.SUBMITTED, *STRIP, Stage.CLOSED)


def _key(request: Request, name: str) -> tuple:

    locale = pick_locale(request.cookies.get(COOKIE), request.query_params.get("lang"))
    return (name, locale, request.url.path, str(request.query_params))


@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request):
    if communes.code(request) is None and communes.picker_shown():
        return _picker(request)
    return pagecache.serve(request, _key(request, "home"), pagecache.commune_id(communes.code(request)),
                           lambda: _home(request))


def _picker(request: Request):
    """Several communes: the visitor picks one (searched by name, with or without diacritics)."""
    query = CommuneSearchQuery.read(request.query_params)
    with reading(request) as web:
        groups, total = areas.commune_groups(web.session, query.q)
        found = sum(len(entries) for _province, entries in groups)
        return web.render("public/communes.html", groups=groups, total=total, q=query.q, found=found,
                          search_max=COMMUNE_SEARCH_MAX)


def _home(request: Request):
    with reading(request) as web:
        db = web.session
        commune = communes.current(web.request, db)
        commune_id = row_id(commune)
        look = lookups(db, commune_id)
        counts = items.stage_counts(db, commune_id)
        latest = items.latest_by_stage(db, commune_id, (Stage.SUBMITTED, *STRIP))
        return web.render("public/home.html", commune=commune, counts=counts, latest=latest, look=look,
                          total=sum(counts.values()), stages=LISTED_STAGES)


@router.get("/items", response_class=HTMLResponse)
async def item_list(request: Request):
    query = ItemListQuery.read(request.query_params)
    commune = functools.partial(pagecache.commune_id, communes.code(request))
    version = None
    if not (query.q or query.outcome or query.kind or query.category):
        # Filtered by village and stage only: what those cells hold is its version.
        def version() -> str | None:
            found = commune()
            return None if found is None else pagecache.list_version(found, query.village, query.stage)
    return await pagecache.serve_async(request, _key(request, "list"), commune,
                                       lambda: _item_list(request, query), version=version)


def _item_list(request: Request, query: ItemListQuery):
    with reading(request) as web:
        db = web.session
        commune = communes.current(web.request, db)
        look = lookups(db, row_id(commune))
        f = items.ListFilters(
            village_id=query.village if query.village in look.villages else None,
            stage=query.stage, outcome=query.outcome, kind=query.kind,
            category_id=query.category if query.category in look.categories else None,
            q=query.q, page=max(1, query.page or 1),
        )
        result = items.list_public(db, row_id(commune), f, page_size=request.app.state.settings.page_size)
        too_long = len(request.query_params.get("q", "")) > SEARCH_MAX
        return web.render("public/item_list.html", commune=commune, look=look, f=f, result=result,
                          stages=LISTED_STAGES, kinds=KINDS,
                          search_max=SEARCH_MAX, too_long=too_long)


@router.get("/items/{code}", response_class=HTMLResponse, name="item_status")
async def item_status(request: Request, code: ItemCode):
    canonical = item_rules.parse_code(code)
    # Keyed by what the page reads of its address (the timeline's page), never by the raw query string.
    locale = pick_locale(request.cookies.get(COOKIE), request.query_params.get("lang"))
    key = ("status", locale, request.url.path, TimelineQuery.read(request.query_params).key())
    return await pagecache.serve_async(
        request, key, lambda: pagecache.commune_id(canonical.split("-", 1)[0]) if canonical == code else None,
        lambda: _item_status(request, code), version=lambda: pagecache.item_version(code))


def _item_status(request: Request, code: str):
    with reading(request) as web:
        db = web.session
        item = items.get_by_code(db, code, shown=True)
        if item.code != code:
            return RedirectResponse(request.app.url_path_for("item_status", code=item.code), status_code=301)
        # The browser that sent it (its receipt is in the session) is its author here too: it sees the
        # whole item before triage and may add to it (civic/web/resident.py _keep_receipt).
        token = request.session.get("receipts", {}).get(item.code) or None
        return web.render("public/item_status.html", **item_page_context(db, web, item, manage_token=token))


@router.get("/track")
def track(code: str = ""):
    canonical = item_rules.parse_code(code)
    if not canonical:
        raise Invalid(N_("“%(code)s” is not an item code. A code looks like NS-2026-0042."), field="code",
                      code=code[:40])
    return RedirectResponse(f"/items/{canonical}", status_code=303)


AUDIT_CHECKPOINTS_SHOWN = 10


@router.get("/audit", response_class=HTMLResponse)
def audit_page(web: CurrentWeb, db: Db):
    commune = communes.current(web.request, db)
    head = audit.head(db, row_id(commune))
    checkpoints = audit.stored_checkpoints(db, row_id(commune), limit=AUDIT_CHECKPOINTS_SHOWN)
    return web.render("public/audit.html", commune=commune, head=head, now=clock.now(),
                      checkpoints=checkpoints, public_key=audit_signing.public_key_if_any())


@router.get("/audit/checkpoints.json")
def audit_checkpoints(request: Request, db: Db):
    """Every signed checkpoint of the commune and the public key that checks them, for partners to keep."""
    commune = communes.current(request, db)
    data = audit.export_checkpoints(db, row_id(commune), commune.code)
    name = "".join(ch for ch in commune.code if ch.isascii() and ch.isalnum()) or "commune"
    disposition = f'attachment; filename="audit-checkpoints-{name}.json"'
    return JSONResponse(data, headers={"Content-Disposition": disposition})


@router.get("/favicon.ico", include_in_schema=False)
def favicon():
    """Browsers ask for /favicon.ico by themselves (an image opened on its own has no <link rel=icon>)."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=604800"})


# --- health, for a load balancer or an uptime check -----------------------------------------------------
# Cheap, never cached, and nothing personal: each check says only "ok" or "unavailable" (the reason goes
# to the log, not to whoever asks).

log = logging.getLogger("civic.health")


def _database_ok() -> bool:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        log.exception("health: the database does not answer")
        return False
    return True


def _media_ok() -> bool:
    try:
        storage.probe()
    except Exception:
        log.exception("health: the media folder cannot be written")
        return False
    return True


def _health(checks: dict[str, bool]) -> PlainTextResponse:
    lines = "".join(f"{name}: {'ok' if ok else 'unavailable'}\n" for name, ok in checks.items())
    return PlainTextResponse(lines, status_code=200 if all(checks.values()) else 503,
                             headers={"Cache-Control": "no-store"})


@router.get("/healthz", response_class=PlainTextResponse)
def healthz():
    """Both checks, one a line ("database: ok", "media: unavailable"); 503 when either fails."""
    return _health({"database": _database_ok(), "media": _media_ok()})


@router.get("/healthz/db", response_class=PlainTextResponse)
def healthz_db():
    return _health({"database": _database_ok()})


@router.get("/healthz/media", response_class=PlainTextResponse)
def healthz_media():
    return _health({"media": _media_ok()})


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(web: CurrentWeb):
    """The API's operations, from the OpenAPI schema, on a page of this site (no script from elsewhere)."""
    operations = [(method.upper(), path, op.get("summary", ""))
                  for path, ops in web.request.app.openapi().get("paths", {}).items()
                  for method, op in ops.items() if isinstance(op, dict)]
    return web.render("public/api_docs.html", operations=operations,
                      schema_url=web.request.app.openapi_url)
