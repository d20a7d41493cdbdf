"""A small per-process cache of public pages as anonymous visitors see them.

Every change in a commune appends to its audit chain, so the chain head's sequence number is a version
of everything public in the commune: a cached home page, map or searched list is served only while the
head it was rendered at is still the head. An item's status page has a finer version: the last event of
that item and the last event of the commune that names no item (villages, categories, settings), so a
change to one item renders that item's page again and leaves every other item's page in the cache. A list
filtered by village and stage only is versioned by the counters of the cells it shows (`list_version`), so
a new item in one village leaves the lists of the other villages and stages in the cache.

A form page (the submission form) is the same for every anonymous visitor but for its tokens: the
session's CSRF token and the form's client token. It is kept with holes in their place (`keep_form`,
`kept_form`), filled for each request, so no visitor's token is ever stored or served to another.

On SQLite a kept page is answered on the event loop (`serve_async`): its version is read there, on a
connection of the loop's own, and only a render goes to the thread pool.

Nothing here is needed by another process; each worker warms its own copy. Only
anonymous requests without flash messages are cached, so nothing personal is ever stored or served
from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import re
import secrets
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from civic import clock
from civic.db import get_engine

MAX_BYTES = 64 * 1024 * 1024
TIME_BUCKET_S = 300


@dataclass(frozen=True)
class CachedPage:
    """A page as gzip sends it (a fifth of its size): unpacked only for the rare client that asks for
    no compression."""

    version: str
    gz: bytes
    status: int
    headers: tuple[tuple[str, str], ...]

    @property
    def body(self) -> bytes:
        return gzip.decompress(self.gz)


class PageCache:
    """Pages by key, the least recently served dropped first once they hold more than `max_bytes`."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._data: OrderedDict[tuple, CachedPage] = OrderedDict()
        self._lock = threading.Lock()
        self.max_bytes = max_bytes
        self._bytes = 0
        self.enabled = True

    def get(self, key: tuple, version: str) -> CachedPage | None:
        with self._lock:
            page = self._data.get(key)
            if page is None:
                return None
            if page.version != version:
                del self._data[key]
                self._bytes -= len(page.gz)
                return None
            self._data.move_to_end(key)
            return page

    def put(self, key: tuple, version: str, response: Response) -> None:
        if not self.enabled or response.status_code != 200:
            return
        body = bytes(response.body)
        headers = tuple((k, v) for k, v in response.headers.items()
                        if k.lower() in ("content-type", "content-language"))
        page = CachedPage(version, gzip.compress(body, 6), response.status_code, headers)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= len(old.gz)
            self._data[key] = page
            self._bytes += len(page.gz)
            while self._bytes > self.max_bytes and self._data:
                _key, dropped = self._data.popitem(last=False)
                self._bytes -= len(dropped.gz)

    def clear(self) -> None:
        from civic.items.positions import forget_centres
        from civic.web.views import forget_lookups  # views reads pages' data; this module stays below it

        with self._lock:
            self._data.clear()
            self._bytes = 0
        _commune_ids.clear()
        _forget_loop_connections()
        forget_lookups()
        forget_centres()


cache = PageCache()


def cacheable(request: Request) -> bool:
    """Anonymous, nothing waiting in the session (flash, receipts): the page is the same for everyone."""
    if not cache.enabled:
        return False
    session = request.scope.get("session") or {}
    return (not session.get("uid") and not session.get("flash") and not session.get("forget_saved")
            and not session.get("receipts"))


def chain_version(commune_id: int) -> str:
    """The head hash names the commune's whole history: equal hashes, equal public state. Pages also say
    things that change with time alone (countdowns to a meeting, working days waited, "may open on"), so the
    version also names the current five minutes: no page is older than that."""
    row = _first("SELECT hash FROM audit_head WHERE commune_id = :commune", {"commune": commune_id})
    head = row[0] if row else ""
    return f"{head}:{_time_bucket(str(commune_id))}"


_NAMED = re.compile(r"(?<!:):(\w+)")


def _first(sql: str, params: dict[str, Any]) -> tuple | None:
    """The first row of one read on a raw connection: no ORM session and, on SQLite, no BEGIN. A version is
    read on every cached page served, where SQLAlchemy's own work would be most of its cost. `sql` names
    its parameters `:name`; PostgreSQL's driver is given them as `%(name)s`. On the event loop (SQLite
    only: see serve_async) it runs on the loop's own connection, never one of the pool's."""
    engine = get_engine()
    if engine.dialect.paramstyle == "pyformat":
        sql = _NAMED.sub(r"%(\1)s", sql)
    on_loop = engine.dialect.name == "sqlite" and _on_loop()
    conn = _loop_connection(engine) if on_loop else engine.raw_connection()
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        row = cur.fetchone()
        cur.close()
    except Exception:
        if on_loop:  # broken, or the database replaced: the next read opens another
            with _loop_connections_lock:
                _loop_connections.pop((id(engine), threading.get_ident()), None)
            with contextlib.suppress(Exception):
                conn.close()
        raise
    finally:
        if not on_loop:
            conn.close()
    return tuple(row) if row is not None else None


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# The event loop's own connection of each engine (SQLite): taken from the pool once and detached from it, so
# a version read on the loop never waits for a connection the threads hold, and never holds one of theirs.
# One a loop's thread (a server has one loop a process; the tests' clients have one each).
_loop_connections: dict[tuple[int, int], Any] = {}
_loop_connections_lock = threading.Lock()


def _loop_connection(engine: Any) -> Any:
    key = (id(engine), threading.get_ident())
    conn = _loop_connections.get(key)
    if conn is None:
        conn = engine.raw_connection()
        conn.detach()
        with _loop_connections_lock:
            _loop_connections[key] = conn
    return conn


def _forget_loop_connections() -> None:
    with _loop_connections_lock:
        dropped = list(_loop_connections.values())
        _loop_connections.clear()
    for conn in dropped:
        with contextlib.suppress(Exception):  # already broken: it is gone either way
            conn.close()


def respond(request: Request, page: CachedPage) -> Response:
    headers = dict(page.headers)
    headers["Vary"] = "Accept-Encoding, Cookie"
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(page.gz, status_code=page.status, headers=headers)
    return Response(page.body, status_code=page.status, headers=headers)


def _time_bucket(spread: str) -> int:
    """The current five minutes, counted from a moment of its own for each `spread` (what the page is):
    were every page's five minutes to end at once, each worker would render all of its pages again in the
    same second."""
    return (int(clock.now().timestamp()) + zlib.crc32(spread.encode()) % TIME_BUCKET_S) // TIME_BUCKET_S


def item_version(code: str) -> str | None:
    """The version of one item's public page: the hashes of its own last audit event and of the commune's
    last event that names no item (the partial index ix_audit_event_commune_level of migration 0010s), and
    the current five minutes. Hashes, not sequence numbers: a chain's hash names its whole history, so a
    database restored from an older backup (or emptied and filled again) never matches a page cached
    before. None when no item has this code (nothing is cached then)."""
    row = _first("SELECT i.id, "
                 "(SELECT e.hash FROM audit_event e WHERE e.item_id = i.id ORDER BY e.seq DESC LIMIT 1), "
                 "(SELECT e.hash FROM audit_event e WHERE e.commune_id = i.commune_id AND e.item_id IS NULL "
                 "ORDER BY e.seq DESC LIMIT 1) "
                 "FROM item i WHERE i.code = :code", {"code": code})
    if row is None:
        return None
    return f"item:{row[0]}:{row[1]}:{row[2]}:{_time_bucket(code)}"


def list_version(commune_id: int, village_id: int | None, stage: str | None) -> str:
    """The version of a list filtered by village and/or stage and nothing else: the counters and stamps of
    the cells (village, stage) it shows (`item_count`, whose stamp the triggers of migration 0014a draw
    again whenever an item of the cell changes), the commune's last event that names no item (the names of
    villages and categories, the site's settings) and the current five minutes. A submission in one village
    leaves the lists of the other villages and stages in the cache. A village that is not the commune's is
    no filter (the list shows every village): the chain head is the version then."""
    if village_id is None and stage is None:
        return chain_version(commune_id)
    cells = ("WHERE commune_id = :commune" + (" AND village_id = :village" if village_id is not None else "")
             + (" AND stage = :stage" if stage is not None else ""))
    params: dict[str, Any] = {"commune": commune_id, "village": village_id}
    if stage is not None:
        params["stage"] = stage
    row = _first("SELECT (SELECT e.hash FROM audit_event e WHERE e.commune_id = :commune "
                 "AND e.item_id IS NULL ORDER BY e.seq DESC LIMIT 1), "
                 "(SELECT count(*) FROM village v WHERE v.id = :village AND v.commune_id = :commune), "
                 f"count(*), coalesce(sum(n), 0), coalesce(sum(stamp), 0) FROM item_count {cells}", params)
    if row is None or (village_id is not None and not row[1]):
        return chain_version(commune_id)
    cells = f"{village_id}:{stage}"
    return f"list:{cells}:{row[0]}:{row[2]}:{row[3]}:{row[4]}:{_time_bucket(cells)}"


_commune_ids: dict[str, int] = {}


def commune_id(code: str | None = None) -> int | None:
    """The id of the commune with this code (or of the default, first, commune). Ids never change."""
    key = (code or "").upper()
    if key in _commune_ids:
        return _commune_ids[key]
    if key:
        row = _first("SELECT id FROM commune WHERE code = :c", {"c": key})
    else:
        row = _first("SELECT id FROM commune ORDER BY id LIMIT 1", {})
    value = row[0] if row else None
    if value is not None:
        _commune_ids[key] = int(value)
    return value


def _by_address(request: Request, key: tuple) -> tuple:
    """Without a configured base URL, absolute links (og:url) follow the request's own address: keep one
    copy per address, so a request with a forged Host header never fills the page another host gets."""
    settings = getattr(request.app.state, "settings", None)
    if not (settings is not None and settings.public_base):
        return (*key, str(request.base_url))
    return key


def serve(request: Request, key: tuple, commune: int | None, render,
          version: Callable[[], str | None] | None = None) -> Response:
    """Serve the cached page for `key` if its version has not moved since: `version()` when given (an
    item's page), else the commune's chain head. Otherwise render it and keep it."""
    kept, current, page = _look_up(request, key, commune, version)
    if page is not None:
        return respond(request, page)
    return _keep(kept, current, render())


async def serve_async(request: Request, key: tuple, commune: Callable[[], int | None],
                      render: Callable[[], Response], version: Callable[[], str | None] | None = None
                      ) -> Response:
    """serve(), for a route on the event loop. On SQLite a page in the cache is answered on the loop: its
    version is a read of microseconds on the loop's own connection, and the thread pool's hand-over (and
    its threads' turns at the interpreter) cost more than the rest of the answer. Rendering runs in the thread
    pool. On PostgreSQL, whose reads wait for the network, all of it runs in the thread pool, as serve()."""
    if get_engine().dialect.name != "sqlite":
        return await run_in_threadpool(lambda: serve(request, key, commune(), render, version))
    kept, current, page = _look_up(request, key, commune(), version)
    if page is not None:
        return respond(request, page)
    return _keep(kept, current, await run_in_threadpool(render))


def _look_up(request: Request, key: tuple, commune: int | None, version: Callable[[], str | None] | None
             ) -> tuple[tuple, str | None, CachedPage | None]:
    """The key a page is kept under, its current version (None: not to be kept) and the page kept at it."""
    if commune is None or not cacheable(request):
        return key, None, None
    kept = _by_address(request, key)
    current = version() if version is not None else chain_version(commune)
    return kept, current, cache.get(kept, current) if current is not None else None


def _keep(key: tuple, version: str | None, response: Response) -> Response:
    """Keep a page just rendered, unless it has no version or is personal: a page that carries a form
    token or set a cookie is never shared."""
    if version is not None and b'name="csrf_token"' not in response.body \
            and "set-cookie" not in response.headers:
        cache.put(key, version, response)
    return response


# A hole's mark: random for each process, so no text a visitor typed can be taken for one.
_HOLE = f"civichole{secrets.token_hex(12)}"


def hole(name: str) -> str:
    """What a form page rendered for keep_form() shows in place of the value `name`."""
    return f"{_HOLE}{name}x"


def kept_form(request: Request, key: tuple, version: str, fill: dict[str, Callable[[], str]]
              ) -> Response | None:
    """The form page kept for `key` at `version`, with this request's values in its holes, or None. A form
    page is rendered with hole(name) where each value of `fill` goes (tokens, which need no escaping in
    HTML) and kept by keep_form(); every request gets it with its own values put in. The caller checks
    cacheable() first."""
    page = cache.get(_by_address(request, key), version)
    if page is None:
        return None
    return _filled(page.body.decode(), page.status, dict(page.headers), fill)


def keep_form(request: Request, key: tuple, version: str, response: Response,
              fill: dict[str, Callable[[], str]]) -> Response:
    """Keep a form page just rendered with holes (see kept_form), and answer it with this request's values."""
    if response.status_code == 200 and "set-cookie" not in response.headers:  # else answered, not kept
        cache.put(_by_address(request, key), version, response)
    headers = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "content-language")}
    return _filled(bytes(response.body).decode(), response.status_code, headers, fill)


def _filled(body: str, status: int, headers: dict[str, str], fill: dict[str, Callable[[], str]]) -> Response:
    for name, value in fill.items():
        body = body.replace(hole(name), value())
    if _HOLE in body:
        raise RuntimeError("a form page has a hole nobody filled")
    return Response(body, status_code=status, headers=headers)


async def read_version(read: Callable[[], str | None]) -> str | None:
    """A page's version, read on the event loop on SQLite (see serve_async), else in the thread pool."""
    if get_engine().dialect.name == "sqlite":
        return read()
    return await run_in_threadpool(read)


def settings_version(commune_id: int) -> str:
    """What changes whenever the commune's villages, categories or settings do: its last event that names
    no item, and how many villages and categories it has (categories are also made without an event). The
    lookups' version (civic/web/views.py) reads the same in a page's session; this one needs none, so the
    event loop can read it."""
    row = _first("SELECT (SELECT e.hash FROM audit_event e WHERE e.commune_id = :commune "
                 "AND e.item_id IS NULL ORDER BY e.seq DESC LIMIT 1), "
                 "(SELECT count(*) FROM village v WHERE v.commune_id = :commune), "
                 "(SELECT count(*) FROM category c WHERE c.commune_id = :commune)", {"commune": commune_id})
    return ":".join(map(str, row or ()))


def timed_version(*parts: Any) -> str:
    """A version made of what a page shows (`parts`) and the current five minutes."""
    version = ":".join(map(str, parts))
    return f"{version}:{_time_bucket(version)}"
