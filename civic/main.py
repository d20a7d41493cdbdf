"""create_app(): routers, static files, middleware, exception handlers — nothing else."""

from __future__ import annotations

import gc

import anyio.to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware

import civic.domains  # noqa: F401  (every table and stage move)
from civic.accounts import service as account_service
from civic.areas.service import NotSetUp
from civic.config import get_settings
from civic.errors import CivicError
from civic.open311 import routes as open311
from civic.web import (
    accounts,
    activity,
    boards,
    communes,
    deliberation,
    deps,
    feeds,
    households,
    implementation,
    maps,
    media,
    notify,
    offline,
    pagecache,
    people,
    public,
    register,
    reports,
    resident,
    setup,
    staff,
    supervision,
    uploads,
    villages,
    workspace,
)
from civic.web import errors as web_errors
from civic.web import front as web_front
from civic.web import redaction as web_redaction
from civic.web.communes import CommunePrefix
from civic.web.middleware import BodyLimit, RequestMeta, TrustedHosts
from civic.web.static import CachedStatic


def serving_app() -> FastAPI:
    """The app as each worker of `civic serve` runs it (civic/serve.py)."""
    return create_app(serving=True)


def create_app(*, serving: bool = False) -> FastAPI:
    settings = get_settings()

    async def lifespan(app: FastAPI):
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_pool
        await anyio.to_thread.run_sync(setup.announce_code)
        await anyio.to_thread.run_sync(account_service.dummy_hash)
        if serving:
            # What the worker built to start (modules, routes, the catalogs, the models: about 170,000
            # objects) lives as long as the process: set aside from the collector, a full collection no
            # longer walks them all (about 0.1 s, every thousand or so pages; docs/scaling.md). Not in
            # tests, which build an app for each test and let the last one go.
            gc.collect()
            gc.freeze()
        yield

    # No Swagger UI: it loads its scripts and styles from a CDN and runs an inline script, which the site's
    # CSP (script-src 'self') forbids. /docs is a small local page instead (civic/web/public.py).
    app = FastAPI(title="civic", version="0.1.0", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.db_places = deps.db_places()
    app.state.write_turns = deps.write_turns()
    pagecache.cache.enabled = settings.page_cache
    pagecache.cache.max_bytes = settings.page_cache_mb * 1024 * 1024
    app.include_router(public.router)
    app.include_router(maps.router)
    app.include_router(feeds.router)
    app.include_router(offline.router)
    app.include_router(resident.router)
    app.include_router(activity.router)
    app.include_router(accounts.router)
    app.include_router(people.router)
    app.include_router(staff.router)
    app.include_router(workspace.router)
    app.include_router(deliberation.router)
    app.include_router(web_front.router)
    app.include_router(implementation.router)
    app.include_router(supervision.router)
    app.include_router(boards.router)
    app.include_router(media.router)
    app.include_router(households.router)
    app.include_router(register.router)
    app.include_router(setup.router)
    app.include_router(villages.router)
    app.include_router(reports.router)
    app.include_router(notify.router)
    app.include_router(web_redaction.router)
    app.include_router(communes.router)
    app.include_router(open311.api)
    app.mount("/static", CachedStatic(), name="static")

    # Starlette types every handler as taking any Exception, though it calls each one only with the class
    # it is registered for; the ignores below are for that.
    app.add_exception_handler(CivicError, web_errors.civic_error)  # type: ignore[arg-type]
    app.add_exception_handler(NotSetUp, setup.not_set_up)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, web_errors.http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, web_errors.validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, web_errors.unexpected_error)

    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="civic_session",
                       max_age=30 * 24 * 3600, same_site="lax", https_only=settings.cookie_secure)
    # Level 6, zlib's own default: Starlette's 9 took 40 % longer on a 21 KB list for 1 byte less.
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    # 1 MB for every request, except multipart uploads to routes that called uploads.allow_uploads().
    app.add_middleware(BodyLimit, max_bytes=1_000_000, limit_for=uploads.upload_body_limit)
    hosts = settings.host_list()
    if hosts != ["*"]:
        app.add_middleware(TrustedHosts, allowed_hosts=hosts)
    app.add_middleware(CommunePrefix)  # /c/NS/… is the commune NS's site (civic/web/communes.py)
    app.add_middleware(RequestMeta, hsts=settings.cookie_secure, img_src=settings.map_tiles_origin)
    return app
