"""`make bench --db postgres` loads the SQLite bench data into PostgreSQL (every table, every row), or
generates it straight into PostgreSQL: either way the audit chain verifies (timestamps and payloads
exact), the item counters match the items and new rows get new ids."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civic.areas.models import Commune, Village
from civic.audit import service as audit
from civic.db import get_engine, is_sqlite, unit_of_work
from civic.items.models import Category, Item, ItemCount
from tests.builders import make_item

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import bench  # noqa: E402
import bench_pg  # noqa: E402

pytestmark = pytest.mark.skipif(is_sqlite(str(get_engine().url)),
                                reason="the loader copies into PostgreSQL: runs when DATABASE_URL names one")


def test_the_loader_copies_every_table_and_the_chain_still_holds(tmp_path):
    source = tmp_path / "bench.db"
    meta = bench.build_database(source, n_items=40, n_villages=3, seed=7)
    url = get_engine().url.render_as_string(hide_password=False)

    counts = bench_pg.load_from_sqlite(source, url)

    with sqlite3.connect(source) as src:
        in_sqlite = {t: src.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in counts}
    assert counts == in_sqlite
    assert counts["item"] == 40 and counts["village"] == 3
    assert counts["audit_event"] == meta["events"]
    with unit_of_work(write=True) as db:
        commune = db.execute(select(Commune)).scalar_one()
        assert audit.verify(db, commune.id).ok
        village = db.execute(select(Village).order_by(Village.id)).scalars().first()
        category = db.execute(select(Category).order_by(Category.id)).scalars().first()
        assert village is not None and category is not None
        item = make_item(db, commune, village, category)  # ids continue after the copied ones
        assert item.id == 41
    with unit_of_work() as db:
        assert db.execute(select(Item).where(Item.id == 41)).scalar_one().code == item.code
        assert audit.verify(db, commune.id).ok


def test_the_generator_writes_straight_into_postgresql_with_its_counters(tmp_path):
    url = get_engine().url.render_as_string(hide_password=False)

    meta = bench.build_database(tmp_path / "unused.db", n_items=40, n_villages=3, seed=7, url=url,
                                bulk_insert=bench_pg.bulk_copy)

    assert not (tmp_path / "unused.db").exists()
    with unit_of_work(write=True) as db:
        commune = db.execute(select(Commune)).scalar_one()
        assert audit.verify(db, commune.id).ok
        assert audit.count_events(db, commune.id) == meta["events"]
        per_stage = dict(db.execute(select(Item.stage, func.count()).group_by(Item.stage)).all())
        counted = dict(db.execute(select(ItemCount.stage, func.sum(ItemCount.n))
                                  .group_by(ItemCount.stage)).all())
        assert sum(per_stage.values()) == 40 and counted == per_stage
        village = db.execute(select(Village).order_by(Village.id)).scalars().first()
        category = db.execute(select(Category).order_by(Category.id)).scalars().first()
        assert village is not None and category is not None
        assert make_item(db, commune, village, category).id == 41
