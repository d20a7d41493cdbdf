"""The unit of work's SQLite writer queue (civic/db.py): writers of a process are served in the order they
came, writers of other processes wait on a file lock, the log is checkpointed after the queue moved on;
and the reads a page remembers."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

from civic import db as civic_db
from civic.db import WriterQueue, build_engine, memoized, remember_reads, unit_of_work


def _wait_until(condition) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_writers_take_the_queue_in_the_order_they_came_and_a_writer_asking_again_goes_last():
    queue = WriterQueue()
    queue.acquire()
    order: list[str] = []

    def writer(name: str) -> None:
        queue.acquire()
        order.append(name)
        queue.release()

    threads = []
    for n in range(5):
        t = threading.Thread(target=writer, args=(f"w{n}",))
        t.start()
        threads.append(t)
        _wait_until(lambda n=n: queue.waiting == n + 1)
    queue.release()
    queue.acquire()  # asked again at once: behind the five that waited (a plain Lock often takes it back)
    order.append("first again")
    queue.release()
    for t in threads:
        t.join(5)
    assert order == ["w0", "w1", "w2", "w3", "w4", "first again"]


def test_a_writer_may_hold_the_queue_twice_and_hands_it_over_when_it_let_go_of_both():
    queue = WriterQueue()
    queue.acquire()
    queue.acquire()
    got = threading.Event()
    t = threading.Thread(target=lambda: (queue.acquire(), got.set(), queue.release()))
    t.start()
    _wait_until(lambda: queue.waiting == 1)
    queue.release()
    assert not got.wait(0.05)
    queue.release()
    assert got.wait(5)
    t.join(5)
    with pytest.raises(RuntimeError):
        queue.release()


def test_a_writer_of_another_process_waits_for_the_file_lock_until_the_transaction_ends(tmp_path):
    path = tmp_path / "w.db"
    engine = build_engine(f"sqlite:///{path}")
    # Another open file of the lock, as another process has: flock() excludes it like another process.
    other = os.open(f"{path}.writer", os.O_RDWR | os.O_CREAT)
    try:
        with unit_of_work(write=True, engine=engine) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once it committed
        fcntl.flock(other, fcntl.LOCK_UN)
    finally:
        os.close(other)
        engine.dispose()


def test_the_log_is_checkpointed_into_the_database_file_after_the_writer_left(tmp_path, monkeypatch):
    monkeypatch.setattr(civic_db, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(civic_db, "_writes", [0])
    path = tmp_path / "c.db"
    engine = build_engine(f"sqlite:///{path}")

    def in_the_file() -> list:
        """What the database file holds without its write-ahead log."""
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        try:
            return conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()

    try:
        with unit_of_work(write=True, engine=engine) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert in_the_file() == []  # in the log only: no checkpoint inside the commit
        with unit_of_work(write=True, engine=engine) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert in_the_file() == [("t",)]
    finally:
        engine.dispose()


def test_the_log_starts_again_from_its_beginning_while_pages_are_read_all_the_time(tmp_path, monkeypatch):
    """With readers always at work, SQLite never starts its log again by itself: it grew with every write.
    The checkpoint waits for the readers that began before it, so the log stays the size of a few writes."""
    monkeypatch.setattr(civic_db, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(civic_db, "_writes", [0])
    path = tmp_path / "w.db"
    engine = build_engine(f"sqlite:///{path}")
    stop = threading.Event()

    def read_all_the_time() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            while not stop.is_set():
                conn.execute("BEGIN")
                conn.execute("SELECT count(*) FROM t").fetchone()
                time.sleep(0.004)
                conn.execute("COMMIT")
        finally:
            conn.close()

    try:
        with unit_of_work(write=True, engine=engine) as session:
            session.execute(text("CREATE TABLE t (x BLOB)"))
        readers = [threading.Thread(target=read_all_the_time) for _ in range(3)]
        for reader in readers:
            reader.start()
            time.sleep(0.002)  # overlapping: at every moment one of them reads
        blob = os.urandom(64 * 1024)
        for _ in range(60):  # 60 writes of 64 KB: 3.8 MB in all
            with unit_of_work(write=True, engine=engine) as session:
                session.execute(text("INSERT INTO t VALUES (:b)"), {"b": blob})
        stop.set()
        for reader in readers:
            reader.join()
        assert path.with_name("w.db-wal").stat().st_size < 1_500_000  # a few writes' worth, not all 60
    finally:
        stop.set()
        engine.dispose()


def test_a_session_remembers_reads_only_when_the_page_asks_it_to():
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    with unit_of_work() as session:
        assert (memoized(session, ("k",), read), memoized(session, ("k",), read)) == (1, 2)
        remember_reads(session)
        assert (memoized(session, ("k",), read), memoized(session, ("k",), read)) == (3, 3)
        assert memoized(session, ("other",), read) == 4
    with unit_of_work() as session:  # a new session starts with nothing remembered
        assert memoized(session, ("k",), read) == 5


# --- Plain: a prebuilt statement run straight on the driver ----------------------------------------------

def test_a_plain_read_gives_what_the_orm_gives_with_every_type_converted():
    from datetime import datetime
    from decimal import Decimal

    from sqlalchemy import bindparam, select
    from sqlmodel import col

    from civic.db import Plain
    from civic.items.models import Item
    from tests.builders import make_category, make_commune, make_item, make_village

    with unit_of_work(write=True) as session:
        commune = make_commune(session)
        village = make_village(session, commune)
        item = make_item(session, commune, village, make_category(session, commune))
        item.ask_land_m2, item.lat, item.show_name = Decimal("20.50"), 21.25, True
        session.flush()
        stmt = (select(col(Item.id), col(Item.code), col(Item.created_at), col(Item.lat), col(Item.show_name),
                       col(Item.ask_land_m2), col(Item.address))
                .where(col(Item.id) == bindparam("item_id")))
        by_orm = session.execute(stmt, {"item_id": item.id}).all()
        by_driver = Plain(stmt).rows(session, {"item_id": item.id})
        assert [tuple(r) for r in by_driver] == [tuple(r) for r in by_orm]
        row = by_driver.first()
        assert isinstance(row.created_at, datetime) and row.created_at == by_orm[0].created_at
        assert row.code == item.code and row.show_name is True and row.ask_land_m2 == Decimal("20.50")
        assert by_driver.scalars() == [item.id] and by_driver.scalar() == item.id
        assert Plain(stmt).rows(session, {"item_id": -1}) == [] and Plain(stmt).rows(
            session, {"item_id": -1}).first() is None


def test_a_plain_read_sees_what_the_session_has_not_written_yet_and_is_counted_as_a_statement():
    from sqlalchemy import bindparam, event, func, select
    from sqlmodel import col

    from civic.db import Plain, get_engine
    from civic.items.models import Item
    from tests.builders import make_category, make_commune, make_item, make_village

    count = Plain(select(func.count()).select_from(Item).where(col(Item.village_id) == bindparam("v")))
    with unit_of_work(write=True) as session:
        commune = make_commune(session)
        village = make_village(session, commune)
        category = make_category(session, commune)
        assert count.rows(session, {"v": village.id}).scalar() == 0
        make_item(session, commune, village, category)
        seen: list[str] = []
        listener = lambda _c, _cur, statement, *_a: seen.append(statement)  # noqa: E731
        event.listen(get_engine(), "before_cursor_execute", listener)
        try:
            assert count.rows(session, {"v": village.id}).scalar() == 1
        finally:
            event.remove(get_engine(), "before_cursor_execute", listener)
        assert any("count(*)" in s.lower() for s in seen)


# --- among: a set of ids as one parameter -----------------------------------------------------------------

def test_among_reads_the_rows_of_any_number_of_ids_through_one_statement_with_one_parameter():
    from sqlalchemy import bindparam, event, select
    from sqlmodel import col

    from civic.db import AMONG_SQL, IdSet, Plain, among, get_engine
    from civic.items.models import Item
    from tests.builders import make_category, make_commune, make_item, make_village

    with unit_of_work(write=True) as session:
        commune = make_commune(session)
        villages = [make_village(session, commune, name=f"Thôn {n}") for n in range(3)]
        category = make_category(session, commune)
        made = {v.id: [make_item(session, commune, v, category).id for _ in range(2)] for v in villages}
        first, _second, third = (v.id for v in villages)
        ids = Plain(select(col(Item.id)).where(among(col(Item.village_id), "v")).order_by(col(Item.id)))
        assert ids.rows(session, {"v": set()}) == []
        assert ids.rows(session, {"v": {first}}).scalars() == made[first]
        assert ids.rows(session, {"v": {first, None}}).scalars() == made[first]  # None matches nothing
        both = ids.rows(session, {"v": frozenset({third, first})}).scalars()
        assert both == sorted(made[first] + made[third])
        # the ORM's execute takes it too, and so does a text() statement written with AMONG_SQL
        orm = session.execute(ids.stmt, {"v": [third]}).scalars().all()
        assert orm == made[third]
        dialect = session.get_bind().dialect.name
        test = AMONG_SQL[dialect].format(name="v")
        written = text(f"SELECT id FROM item WHERE village_id {test} ORDER BY id").bindparams(
            bindparam("v", type_=IdSet()))
        assert session.execute(written, {"v": {first}}).scalars().all() == made[first]

        seen: list[tuple[str, object]] = []
        listener = lambda _c, _cur, statement, params, *_a: seen.append((statement, params))  # noqa: E731
        event.listen(get_engine(), "before_cursor_execute", listener)
        try:
            ids.rows(session, {"v": {first}})
            ids.rows(session, {"v": set(range(1, 201)) | {first}})
            session.execute(ids.stmt, {"v": set(range(1, 301))}).all()
        finally:
            event.remove(get_engine(), "before_cursor_execute", listener)
        statements = {statement for statement, _params in seen}
        assert len(statements) == 1, statements  # the same statement for 1, 201 or 300 villages
        assert all(len(params) == 1 for _statement, params in seen)  # each sent as one value


def test_plain_models_give_copies_of_no_session_and_their_extra_columns_beside_them():
    from sqlalchemy import bindparam, func, select
    from sqlmodel import col

    from civic.db import PlainModels
    from civic.items.models import Category, Item
    from tests.builders import make_category, make_commune, make_item, make_village

    with unit_of_work(write=True) as session:
        commune = make_commune(session)
        village = make_village(session, commune)
        roads = make_category(session, commune)
        lights = make_category(session, commune, code="lighting", vi="Chiếu sáng", en="Lighting")
        for _ in range(2):
            make_item(session, commune, village, roads)
        counted = PlainModels(
            select(Category, func.count(col(Item.id)))
            .outerjoin(Item, col(Item.category_id) == col(Category.id))
            .where(col(Category.commune_id) == bindparam("commune_id"))
            .group_by(col(Category.id)).order_by(col(Category.id)), Category, extra=1)
        rows = counted.with_extra(session, {"commune_id": commune.id})
        assert [(c.id, c.code, c.name_en, n) for c, n in rows] == [
            (roads.id, roads.code, roads.name_en, 2), (lights.id, lights.code, "Lighting", 0)]
        copy = rows[0][0]
        assert isinstance(copy, Category) and copy is not roads
        with pytest.raises(AttributeError):  # a copy of no session: changing it fails, never half-writes
            copy.name_en = "Changed"
        assert counted.with_extra(session, {"commune_id": -1}) == []
        with pytest.raises(TypeError):  # its rows are not whole objects
            counted.objects(session, {"commune_id": commune.id})
        with pytest.raises(TypeError):
            PlainModels(select(Category, func.count(col(Item.id))).outerjoin(
                Item, col(Item.category_id) == col(Category.id)).group_by(col(Category.id)), Category
                        ).objects(session)
        one = PlainModels(select(Item).where(col(Item.id) == bindparam("id")), Item)
        assert one.first(session, {"id": -1}) is None


def test_a_fresh_process_whose_first_read_is_a_copy_can_read_its_columns():
    """A worker's first request may be a signed-in page, whose login and user are read as copies before any
    statement has gone through the ORM (which is what finishes setting the models' columns up): the page
    answers, not 500. Here the app is built in a fresh process and asked with no start-up run."""
    import os
    import subprocess
    import sys

    from civic.accounts import sessions
    from tests.builders import make_user, setup_world

    commune, village, *_rest = setup_world()
    with unit_of_work(write=True) as session:
        user = make_user(session, "village_head", commune=commune, village=village, name="Trưởng Thôn Mới")
        key = sessions.start(session, user)
    program = (
        "import sys\n"
        "from civic.accounts.service import load_session_viewer\n"
        "from civic.db import unit_of_work\n"
        "from civic.main import create_app\n"
        "from civic.web.core import session_policy\n"
        "create_app()\n"
        "with unit_of_work() as s:\n"
        "    viewer = load_session_viewer(s, sys.argv[1], session_policy())\n"
        "    print(viewer.user.display_name, viewer.user.is_active)\n")
    run = subprocess.run([sys.executable, "-c", program, key], capture_output=True, text=True,
                         env=dict(os.environ), timeout=60)
    assert run.returncode == 0, run.stderr[-800:]
    assert run.stdout.strip() == "Trưởng Thôn Mới True"
