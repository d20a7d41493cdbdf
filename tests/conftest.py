"""Test set-up: a real database (a temporary SQLite file, or the PostgreSQL named by DATABASE_URL in CI),
migrated with Alembic once, and emptied before every test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="civic-test-"))
_url = os.environ.get("DATABASE_URL", "")
if not _url or _url.startswith("sqlite"):
    _url = f"sqlite:///{_tmp / 'test.db'}"
elif "test" not in _url.rsplit("/", 1)[-1]:
    raise SystemExit(f"refusing to run the tests on {_url!r}: the database name must contain 'test'")
os.environ["DATABASE_URL"] = _url
os.environ["CIVIC_VAR_DIR"] = str(_tmp)
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# The suite's stories span days on one login; tests/accounts/test_sessions.py sets the shipped limits.
os.environ.update(CIVIC_SESSION_IDLE_MINUTES="5256000", CIVIC_SESSION_LIFETIME_HOURS="87600",
                  CIVIC_STAFF_SESSION_HOURS="87600")

import pytest  # noqa: E402

# Full-strength argon2 takes about 0.2 s a hash and the tests create many users: use real argon2id
# hashes with the smallest parameters instead; the code paths are the same.
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import civic.domains  # noqa: E402,F401  (every table and stage move)
from civic import clock  # noqa: E402
from civic.accounts import service as _accounts  # noqa: E402
from civic.cli import migrate  # noqa: E402
from civic.db import get_engine, is_sqlite, metadata  # noqa: E402

_accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "pages: what pages show and how they read (axe, keyboard, print, layout, the forms a "
        "desk offers): the same on any database, so they run on SQLite only unless "
        "CIVIC_PAGE_TESTS_ON_POSTGRES=1; in CI each runs in one of the two runs")
    config.addinivalue_line(
        "markers", "own_sqlite: the test makes its own SQLite site whatever DATABASE_URL says, so a run on "
        "PostgreSQL would repeat it exactly; it runs in the SQLite run only")


# CI runs the suite on SQLite and on PostgreSQL side by side on two cores (.ci/run sets CIVIC_CI_RUN to
# "sqlite" or "postgres"), and a `pages` test needs to run in one of them only. These run in the PostgreSQL
# run, the others in the SQLite run, so that the two end at about the same time. Outside CI nothing moves:
# a run on SQLite runs them all, a run on PostgreSQL none (unless CIVIC_PAGE_TESTS_ON_POSTGRES=1).
PAGES_IN_THE_POSTGRES_RUN = (
    "tests/web/test_injection.py::",
    "tests/web/test_words_and_dates.py::",
    "tests/browser/test_long_pages.py::",
)


def _left_out_markers(ci_run: str) -> tuple[str, ...]:
    sqlite = is_sqlite(_url)
    if ci_run in ("sqlite", "postgres"):
        return () if sqlite else ("own_sqlite",)
    if sqlite:
        return ()
    return ("own_sqlite",) if os.environ.get("CIVIC_PAGE_TESTS_ON_POSTGRES") == "1" else \
        ("own_sqlite", "pages")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, leave out the tests marked `pages` (they check what pages show, not data: every
    journey and every HTTP test still runs on both databases) and those marked `own_sqlite` (they never
    touch the PostgreSQL database). In CI each `pages` test runs in one of the two runs
    (PAGES_IN_THE_POSTGRES_RUN)."""
    ci_run = os.environ.get("CIVIC_CI_RUN", "")
    markers = _left_out_markers(ci_run)

    def left_out(item) -> bool:
        if any(item.get_closest_marker(m) is not None for m in markers):
            return True
        if ci_run in ("sqlite", "postgres") and item.get_closest_marker("pages") is not None:
            in_postgres_run = item.nodeid.startswith(PAGES_IN_THE_POSTGRES_RUN)
            return in_postgres_run != (ci_run == "postgres")
        return False

    kept = [item for item in items if not left_out(item)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if left_out(item)])
        items[:] = kept

_migrated = False


def _empty_all_tables() -> None:
    engine = get_engine()
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if is_sqlite(_url):
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            # One batch of DELETEs and a restart of every sequence: about 3 ms, where TRUNCATE of the ~50
            # tables takes about 60 ms a test (it makes new files for each table).
            conn.exec_driver_sql(";".join(f'DELETE FROM "{n}"' for n in tables))
            conn.execute(text("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c JOIN pg_namespace n "
                              "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"))


@pytest.fixture(autouse=True)
def clean_db():
    """Every test starts from empty tables and a running clock."""
    global _migrated
    if not _migrated:
        if not is_sqlite(_url):
            with get_engine().begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        migrate(_url)
        _migrated = True
    _empty_all_tables()
    clock.reset()
    from civic.web.pagecache import cache

    cache.clear()  # ids and chain heads start again in an emptied database
    yield
    clock.reset()


@pytest.fixture
def db():
    """A session for service tests, in one transaction that is rolled back when the test ends: services
    flush and never commit, so what a test changed is gone without emptying the tables. A test that needs
    several transactions (races, tampering) opens its own `unit_of_work()` instead."""
    connection = get_engine().connect()
    transaction = connection.begin()
    session = Session(bind=connection, expire_on_commit=False, autoflush=True,
                      join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def app():
    from civic.main import create_app

    return create_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
