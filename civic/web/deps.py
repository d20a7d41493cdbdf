"""Request dependencies, as `Annotated` types a route names in its signature.

    @router.get("/items/{code}")
    def status(web: CurrentWeb, item: CurrentItem): ...

They are async on purpose: FastAPI runs a sync dependency with `yield` on the thread pool, two extra
hand-offs a request, which cost 29-40 % of a cheap page on two cores. Opening a session does no I/O; the
one or two indexed lookups below (the viewer, the item) take well under a millisecond, less than a
hand-off. The route itself is a plain `def`, run on the thread pool, where its queries belong.

Path parameters are typed here too, so an address no item or id could have answers 404 with the usual
page and never reaches a query: `ItemCode`, `RowId`. (FastAPI checks a route's own path parameters after
its dependencies: a route that needs a login checks it first, so a visitor who is not logged in is sent
to the login page whatever the address.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, nullcontext
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Path, Query
from pydantic import BeforeValidator
from sqlmodel import Session
from starlette.requests import Request

from civic import clock
from civic.accounts import sessions
from civic.accounts.service import Viewer
from civic.config import get_settings
from civic.core.inputs import ID_MAX, is_ascii_number
from civic.db import get_engine, is_sqlite, unit_of_work
from civic.items import service as items
from civic.items.models import Item
from civic.web.core import Web, require_user

# An item's public code as it may appear in an address: letters, digits, dashes ('ns-2026-42' is found).
ItemCode = Annotated[str, Path(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


def _ascii_digits(raw: object) -> object:
    """Only 0-9: pydantic would read ' 1', '+1', '1_000' or '1.0' as a number too."""
    if not is_ascii_number(str(raw)):
        raise ValueError("not an id")
    return raw


# A row's id in an address: ASCII digits, positive, within 64 bits.
RowId = Annotated[int, BeforeValidator(_ascii_digits), Path(ge=1, le=ID_MAX)]
# A page number in a query string.
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


@contextmanager
def reading(request: Request) -> Iterator[Web]:
    """A page rendered outside a route's dependencies: on a page-cache miss, or again after post_form
    refused a form (its own transaction was rolled back). One read session, closed at the end."""
    with unit_of_work() as db:
        web = Web(request, db)
        if web.viewer.touch_due and web.viewer.session_id is not None:
            sessions.touch(web.viewer.session_id, clock.now())  # at most once a minute, see _web
        yield web


async def _session(request: Request) -> AsyncIterator[Session]:
    """One read session a request; it opens a connection only when first used.

    The session keeps its connection until the answer has gone, and the viewer is read on the event loop:
    had every connection of the pool been taken, that read would stop the whole worker until the pool's
    timeout (and answer 500), the requests holding connections waiting for the loop to finish them. So a
    request first waits, without blocking anything, for one of db_places(): a pool never runs dry."""
    async with request.app.state.db_places:
        session = Session(bind=get_engine(), expire_on_commit=False, autoflush=False)
        try:
            yield session
        finally:
            session.close()


def db_places() -> anyio.Semaphore:
    """Requests that may hold a connection at once in a worker: the pool and its overflow, less one for
    each thread (a thread may open a second connection: a login's "last seen", a page rendered outside
    the dependencies)."""
    settings = get_settings()
    return anyio.Semaphore(max(1, settings.db_pool + settings.db_overflow - settings.thread_pool))


def write_turns() -> anyio.Semaphore | nullcontext[None]:
    """How many posted forms a worker works on at once (civic.web.forms.post_form): CIVIC_WRITERS, or by
    default one on SQLite and no limit (beyond the threads) on PostgreSQL.

    SQLite writes one transaction at a time. A second form of the same worker would only wait for the
    writer, and meanwhile its checks and reads take the interpreter from the form that writes: that
    writer's turn, which every worker waits for, then lasts longer (with eight threads a worker, 2.3 ms a
    submission instead of 1.4; docs/scaling.md). Forms wait for their turn on the event loop, holding no
    thread: pages are served meanwhile."""
    settings = get_settings()
    turns = settings.writers or (1 if is_sqlite(settings.database_url) else 0)
    return anyio.Semaphore(turns) if turns else nullcontext()


Db = Annotated[Session, Depends(_session)]


async def _web(request: Request, db: Db) -> Web:
    web = Web(request, db)
    viewer = web.viewer
    if viewer.touch_due and viewer.session_id is not None:
        # At most once a minute a login: its "last seen", in a short write of its own, off the event loop.
        await anyio.to_thread.run_sync(sessions.touch, viewer.session_id, clock.now())
    return web


CurrentWeb = Annotated[Web, Depends(_web)]


async def _viewer(web: CurrentWeb) -> Viewer:
    return web.viewer


CurrentViewer = Annotated[Viewer, Depends(_viewer)]


async def _signed_in(web: CurrentWeb) -> Viewer:
    return require_user(web)


SignedIn = Annotated[Viewer, Depends(_signed_in)]


async def _item(code: ItemCode, db: Db) -> Item:
    return items.get_by_code(db, code)


CurrentItem = Annotated[Item, Depends(_item)]
