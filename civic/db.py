"""Engine, naming convention and the unit of work.

One session a request: the caller opens `unit_of_work()`, services flush, and the block commits once
on the way out or rolls back on any error. A failed commit raises, so it never answers as a success.
On SQLite a writing unit of work starts with BEGIN IMMEDIATE, so two writers queue on the busy timeout
instead of failing when a reader upgrades to a writer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel, create_engine

from civic.config import get_settings

# The naming convention is set on this metadata in civic/__init__.py, before any model exists.
metadata = SQLModel.metadata

T = TypeVar("T")


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def row_id(row: _Row) -> int:
    """The primary key of a row that is in the database: loaded, or added and flushed.

    Tables declare `id: int | None` because a new object has no key until its INSERT; every row a
    service reads or has flushed has one, so a row without one here is a bug (a missing flush()).
    """
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id: it was never flushed")
    return row.id


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def build_engine(url: str) -> Engine:
    if is_sqlite(url):
        u = make_url(url)
        if u.database and u.database != ":memory:":
            from pathlib import Path

            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        # A pool as large as the thread pool: a connection opened past the pool is closed after use, and
        # reopening one (file open, pragmas) under load costs far more than keeping it.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15}, pool_size=20,
                               max_overflow=20)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get("civic_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@lru_cache
def get_engine() -> Engine:
    return build_engine(get_settings().database_url)


# SQLite has one writer at a time. Threads of one process queue here, so that only one of them at a time
# waits in SQLite's busy handler (which sleeps in growing steps) against the other processes.
_sqlite_write_lock = threading.RLock()


@contextmanager
def unit_of_work(write: bool = False, engine: Engine | None = None) -> Iterator[Session]:
    """One session; commits once when the block ends without error, else rolls back."""
    engine = engine or get_engine()
    bind = engine.execution_options(civic_write=True) if write else engine
    serialize = write and engine.dialect.name == "sqlite"
    if serialize:
        _sqlite_write_lock.acquire()
    session = Session(bind=bind, expire_on_commit=False, autoflush=True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if serialize:
            _sqlite_write_lock.release()


def run_write(fn: Callable[[Session], T], retries: int = 3) -> T:
    """Run `fn` in a writing unit of work, retrying on a lost race (unique key, lock timeout).

    The work is repeated from the start in a fresh transaction, so `fn` sees what the winner wrote
    (an idempotent submission finds the item the first request created).
    """
    for attempt in range(retries):
        try:
            with unit_of_work(write=True) as session:
                return fn(session)
        except (IntegrityError, OperationalError) as exc:
            if attempt == retries - 1 or not _is_race(exc):
                raise
            time.sleep(0.02 * (attempt + 1))
    raise RuntimeError("unreachable")  # pragma: no cover


def _is_race(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return any(s in text for s in ("unique", "duplicate key", "locked", "deadlock", "could not serialize"))
