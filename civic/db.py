"""Engine, naming convention and the unit of work.

One session a request: the caller opens `unit_of_work()`, services flush, and the block commits once
on the way out or rolls back on any error. A failed commit raises, so it never answers as a success.
On SQLite a writing unit of work starts with BEGIN IMMEDIATE, so two writers never fail when a reader
upgrades to a writer, and writers wait in one queue (`WriterQueue`): first come, first served within a
process, and a blocking file lock between the processes of one database, so no writer is left behind in
SQLite's busy handler, which sleeps in growing steps while others keep taking the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import deque, namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import BigInteger, Boolean, String, bindparam, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import configure_mappers
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
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
    settings = get_settings()
    if is_sqlite(url):
        u = make_url(url)
        if u.database and u.database != ":memory:":
            from pathlib import Path

            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        # A pool as large as the thread pool: a connection opened past the pool is closed after use, and
        # reopening one (file open, pragmas) under load costs far more than keeping it.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15},
                               pool_size=settings.db_pool, max_overflow=settings.db_overflow)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
            # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.execute("PRAGMA synchronous=NORMAL")
            # No checkpoint inside a commit: it would run while the writer queue is held (with the fsyncs
            # of the database file). unit_of_work runs one after the queue has moved on (_checkpoint).
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            if conn.get_execution_options().get("civic_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                # A reading transaction's BEGIN (deferred: it takes no lock, so there is nothing to wait
                # for) goes straight to the driver, not through SQLAlchemy's statement machinery.
                conn.connection.driver_connection.execute("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=settings.db_pool,
                         max_overflow=settings.db_overflow)


@lru_cache
def get_engine() -> Engine:
    return build_engine(get_settings().database_url)


# SQLite has one writer at a time. A writing unit of work first takes its place in the queue of its
# process (first come, first served), then the database's file lock, which a writer of another process
# waits for in the kernel: it wakes the moment the lock is free, unlike SQLite's busy handler, which sleeps
# in growing steps (up to 100 ms) while the writers of another process keep taking the lock in turn.


class WriterQueue:
    """A re-entrant lock that hands itself over in the order it was asked for (threading.Lock does not:
    a thread that releases it and asks again often takes it back before a thread that has waited)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[tuple[int, threading.Lock]] = deque()
        self._owner: int | None = None
        self.depth = 0  # how many times its owner holds it (one unit of work inside another)

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self.depth += 1
                return
            if self._owner is None:
                self._owner, self.depth = me, 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append((me, turn))
        turn.acquire()  # released by the thread before us, once it has made us the owner

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("the writer queue is released by a thread that does not hold it")
            self.depth -= 1
            if self.depth:
                return
            if self._waiting:
                self._owner, turn = self._waiting.popleft()
                self.depth = 1
                turn.release()
            else:
                self._owner = None

    def owned(self) -> bool:
        """This thread holds it."""
        with self._mutex:
            return self._owner == threading.get_ident()

    @property
    def waiting(self) -> int:
        """How many threads wait for their turn."""
        with self._mutex:
            return len(self._waiting)


_sqlite_write_lock = WriterQueue()
_lock_files: dict[tuple[int, str], int] = {}
_lock_files_guard = threading.Lock()


def _lock_file(engine: Engine) -> int | None:
    """This process's descriptor of the database's writer lock file (`<database>.writer`), or None for a
    database in memory. Opened once a process: a child of a fork must not share its parent's."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    key = (os.getpid(), database)
    fd = _lock_files.get(key)
    if fd is None:
        with _lock_files_guard:
            fd = _lock_files.get(key)
            if fd is None:
                fd = os.open(database + ".writer", os.O_RDWR | os.O_CREAT, 0o600)
                _lock_files[key] = fd
    return fd


@contextmanager
def _sqlite_writer(engine: Engine) -> Iterator[None]:
    _sqlite_write_lock.acquire()
    fd = None
    try:
        if _sqlite_write_lock.depth == 1:
            fd = _lock_file(engine)
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        _sqlite_write_lock.release()


# A checkpoint copies the write-ahead log into the database file, every CHECKPOINT_EVERY writing
# transactions of a process (a submission writes about 35 pages of log: 100 are about 14 MB). SQLite starts
# the log again from its beginning only when no reader still reads from it, which never happens on its own
# while pages are read all the time: the log grew by ~140 KB a submission without end (300 MB after a few
# minutes of the bench's mixed traffic), and every checkpoint and reader had more of it to go through. So
# the checkpoint is RESTART: it waits (at most 100 ms) for the readers that began before it, which new
# readers do not join, and the next writer starts the log again. It holds the writer queue meanwhile, so
# writers wait in the queue, woken the moment it is done, not in SQLite's busy handler.
CHECKPOINT_EVERY = 100
CHECKPOINT_WAIT_MS = 100
_writes = [0]


def _checkpoint(engine: Engine) -> None:
    _writes[0] += 1
    if _writes[0] % CHECKPOINT_EVERY:
        return
    if _sqlite_write_lock.owned():  # inside another writing unit of work: its own end will do it
        _writes[0] -= 1
        return
    with _sqlite_writer(engine):
        conn = engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                cur.execute("PRAGMA wal_checkpoint(RESTART)")
            finally:
                cur.execute("PRAGMA busy_timeout=15000")
                cur.close()
        except Exception:  # busy with another checkpoint, which does the same work: the next one will do
            pass
        finally:
            conn.close()


@lru_cache(maxsize=8)
def _writing(engine: Engine) -> Engine:
    """The engine whose transactions write (on SQLite: BEGIN IMMEDIATE), built once an engine."""
    return engine.execution_options(civic_write=True)


@contextmanager
def unit_of_work(write: bool = False, engine: Engine | None = None) -> Iterator[Session]:
    """One session; commits once when the block ends without error, else rolls back."""
    engine = engine or get_engine()
    bind = _writing(engine) if write else engine
    serialize = write and engine.dialect.name == "sqlite"
    with _sqlite_writer(engine) if serialize else nullcontext():
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
        _checkpoint(engine)


# A page that only reads (the status page) may let the services remember what they read for the rest of
# its session: the same facts or count asked for by two sections is read once. Never in a session that
# writes, where what was read may change.
READ_MEMO = "civic.read_memo"


def remember_reads(session: Session) -> None:
    """From now on, this read session keeps what memoized() reads (see READ_MEMO)."""
    session.info.setdefault(READ_MEMO, {})


def memoized(session: Session, key: tuple, read: Callable[[], T]) -> T:
    """`read()`, or what it gave for `key` earlier in a session that remembers its reads."""
    memo = session.info.get(READ_MEMO)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


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


# --- plain reads: a prebuilt statement run straight on the driver ---------------------------------------
# SQLAlchemy spends 80–200 µs on each execution of a statement (its cache key, parameter and result
# objects) where SQLite answers a count by index in 10–20 µs. The status page runs about thirty such reads
# a request. `Plain` compiles a Core select once per dialect and runs it on the session's own connection
# (same transaction), converting parameters and columns with the types' own processors, and tells the
# engine's `before_cursor_execute` listeners about it like any other statement (the tests that count a
# page's statements see it).


# --- a set of ids as one parameter ----------------------------------------------------------------
# A village head of 200 villages asks "village_id IN (…200 ids…)" several times a page. As an expanding
# parameter, SQLAlchemy writes the 200 placeholders into the statement on every run (about 0.13 ms a
# statement) and each length of list is another statement for the database to plan. `among(column, name)`
# sends the set as one parameter instead: a JSON array read by json_each() on SQLite, an array on
# PostgreSQL (`= ANY(…)`). The statement is the same for any number of ids, and a Plain statement may
# take it.


class IdSet(TypeDecorator):
    """Row ids (any iterable of integers) bound as one value: JSON text on SQLite, bigint[] on PostgreSQL.
    None in the set matches nothing, as NULL in an IN list does."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(BigInteger()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        ids = sorted({int(v) for v in value or () if v is not None})
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _Among(FunctionElement[bool]):
    """`column` is one of the ids in the parameter (see IdSet)."""

    type = Boolean()
    name = "among"
    inherit_cache = True
    # A test already: SQLite is not to get "… = 1" after it, which hides the IN from its planner.
    _is_implicitly_boolean = True


@compiles(_Among)
def _among_json(element: _Among, compiler: Any, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} IN (SELECT value FROM json_each({compiler.process(ids, **kw)}))"


@compiles(_Among, "postgresql")
def _among_array(element: _Among, compiler: Any, **kw: Any) -> str:
    column, ids = list(element.clauses)
    return f"{compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)})"


def among(column: Any, name: str) -> Any:
    """`column IN ids`, the ids given when the statement runs as the parameter `name` (a set or list)."""
    return _Among(column, bindparam(name, type_=IdSet()))


AMONG_SQL = {"sqlite": "IN (SELECT value FROM json_each(:{name}))", "postgresql": "= ANY(:{name})"}
"""The same test in a text() statement: f"village_id {AMONG_SQL[dialect].format(name='villages')}", with
the parameter bound as `bindparam('villages', type_=IdSet())`."""


_PLAIN_CONNECTION = "civic.plain_connection"


def transaction_connection(session: Session) -> Any:
    """The session's connection for its transaction. A page runs thirty plain reads in one transaction;
    asking the session each time walks its transaction's state machine (about a twentieth of a status
    page), so the connection is kept beside the transaction it belongs to and asked again only when the
    session has begun another."""
    transaction = session.get_transaction()
    kept = session.info.get(_PLAIN_CONNECTION)
    if transaction is not None and kept is not None and kept[0] is transaction and transaction.is_active:
        return kept[1]
    conn = session.connection()
    session.info[_PLAIN_CONNECTION] = (session.get_transaction(), conn)
    return conn


class PlainRows(list):
    """The rows of a Plain statement (tuples that also name their columns)."""

    def first(self) -> Any:
        return self[0] if self else None

    def scalar(self) -> Any:
        return self[0][0] if self else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self]


class Plain:
    """A select built once, run with its parameters straight on the driver. No expanding (IN-list)
    parameters: a set of ids goes as one parameter (`among`); any other list stays an ordinary
    `session.execute()`."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self._by_dialect: dict[Any, tuple[Any, ...]] = {}

    def _prepare(self, dialect: Any) -> tuple[Any, ...]:
        # The ORM finishes setting up the models' columns on its first statement; a copy made before that
        # (model_construct) could not read its own columns. A worker's first request may read only copies.
        configure_mappers()
        compiled = self.stmt.compile(dialect=dialect)
        if any(b.expanding for b in compiled.binds.values()):
            raise TypeError("Plain takes no expanding parameter")
        binds = compiled._bind_processors
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        keys = [bind.key for bind in (compiled.binds[name] for name in names)]
        literal = {name: compiled.binds[name].value for name in names}
        fields = [c[0] for c in compiled._result_columns]
        types = [c[3] for c in compiled._result_columns]
        shape = namedtuple("Row", fields, rename=True)  # type: ignore[misc]  # noqa: PYI024
        prepared = (compiled.string, compiled.positional, names, keys, literal, binds, types, shape)
        self._by_dialect[dialect.name] = prepared
        return prepared

    def _processors(self, dialect: Any, types: list[Any], description: Any) -> tuple[Any, ...]:
        """The columns' converters: some depend on the type the driver reports (PostgreSQL's numerics)."""
        key = (dialect.name, "processors")
        procs = self._by_dialect.get(key)
        if procs is None:
            procs = tuple(t._cached_result_processor(dialect, d[1]) for t, d in zip(types, description,
                                                                                    strict=True))
            self._by_dialect[key] = procs
        return procs

    def rows(self, session: Session, params: dict[str, Any] | None = None) -> PlainRows:
        # What the session holds unwritten is flushed first, as the ORM's own queries do (autoflush): a
        # service that added a row and then counts sees it. `_is_clean()` is the test the session's own
        # flush makes; `session.dirty` would build the set of changed objects to answer the same.
        if session.autoflush and not session._is_clean():
            session.flush()
        conn = transaction_connection(session)
        dialect = conn.dialect
        prepared = self._by_dialect.get(dialect.name) or self._prepare(dialect)
        sql, positional, names, keys, literal, binds, types, shape = prepared
        given = params or {}
        values = []
        for name, key in zip(names, keys, strict=True):
            value = given[key] if key in given else literal[name]
            proc = binds.get(name)
            values.append(proc(value) if proc is not None else value)
        args: Any = tuple(values) if positional else dict(zip(names, values, strict=True))
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None  # a session's connection is checked out for its transaction
        cursor = dbapi.cursor()
        try:
            if conn._has_events or conn.engine._has_events:
                for listener in conn.dispatch.before_cursor_execute:
                    listener(conn, cursor, sql, args, None, False)
            cursor.execute(sql, args)
            fetched = cursor.fetchall()
            procs = self._processors(dialect, types, cursor.description)
            if conn._has_events or conn.engine._has_events:
                for listener in conn.dispatch.after_cursor_execute:
                    listener(conn, cursor, sql, args, None, False)
        finally:
            cursor.close()
        make = shape._make
        converted = [(i, p) for i, p in enumerate(procs) if p is not None]
        if not converted:
            return PlainRows(map(make, fetched))
        # Only the columns with a converter (dates, mostly) are touched: a head's 200 role grants are read
        # on every page they open, and a pass over every value of every row cost more than the query.
        out = PlainRows()
        for row in fetched:
            values = list(row)
            for i, convert in converted:
                values[i] = convert(values[i])
            out.append(make(values))
        return out


class PlainModels(Plain):
    """`select(Model)` run as Plain, each row made into a `Model` by `model_construct`: objects that belong
    to no session (nothing loads later; setting a column raises AttributeError, so nothing is half-written),
    for what a page only shows. A service that changes what it read uses an ordinary `session.execute()`.

    `extra` trailing columns that are not the model's (a sum beside each row, a joined row's columns) come
    back beside each object from `with_extra()`."""

    def __init__(self, stmt: Any, model: Any, extra: int = 0) -> None:
        super().__init__(stmt)
        self.model = model
        self.extra = extra

    def _prepare(self, dialect: Any) -> tuple[Any, ...]:
        prepared = super()._prepare(dialect)
        fields = prepared[-1]._fields
        unknown = set(fields[:len(fields) - self.extra]) - set(self.model.model_fields)
        if unknown:
            raise TypeError(f"{self.model.__name__} has no field {sorted(unknown)}")
        return prepared

    def objects(self, session: Session, params: dict[str, Any] | None = None) -> list[Any]:
        if self.extra:
            raise TypeError("a statement with extra columns is read with with_extra()")
        construct = self.model.model_construct
        return [construct(**row._asdict()) for row in self.rows(session, params)]

    def first(self, session: Session, params: dict[str, Any] | None = None) -> Any:
        """The first object, or None."""
        if self.extra:
            raise TypeError("a statement with extra columns is read with with_extra()")
        row = self.rows(session, params).first()
        return None if row is None else self.model.model_construct(**row._asdict())

    def with_extra(self, session: Session, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Each row as (object, *its extra columns)."""
        rows = self.rows(session, params)
        if not rows:
            return []
        construct, split = self.model.model_construct, len(rows[0]) - self.extra
        names = rows[0]._fields[:split]
        return [(construct(**dict(zip(names, row[:split], strict=True))), *row[split:]) for row in rows]
