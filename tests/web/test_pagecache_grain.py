"""The page cache at an item's grain: a change to item A shows at once on A's page and on the lists that
show A, and leaves B's cached page in place; a change of the commune (a category renamed) shows on every
item's page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.areas.models import Commune, Village
from civic.audit import service as audit
from civic.db import unit_of_work
from civic.items.models import Category, Item
from civic.web import pagecache
from civic.workflow import service as workflow
from tests.builders import make_item, viewer, world


@pytest.fixture
def two(client, kept_pages):
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        first = make_item(db, commune, a, cat, title="Cống ngõ 5 bị tắc")
        second = make_item(db, commune, b, cat, title="Đèn đường ngõ 9 không sáng")
    return client, first.code, second.code, users, kept_pages


def status(client, code: str) -> str:
    page = client.get(f"/items/{code}", params={"lang": "en"})
    assert page.status_code == 200
    return page.text


def test_a_change_to_one_item_shows_at_once_and_keeps_the_other_page_cached(two):
    client, a, b, users, renders = two
    assert "Awaiting triage" in status(client, a)
    assert "Awaiting triage" in status(client, b)
    client.get("/items", params={"lang": "en"})
    assert len(renders) == 3
    status(client, a), status(client, b), client.get("/items", params={"lang": "en"})
    assert len(renders) == 3  # all three served from the cache

    with unit_of_work(write=True) as db:
        item = db.execute(select(Item).where(Item.code == a)).scalar_one()
        workflow.transition(db, item, "accept", viewer(db, users["village_head"]), None)

    assert "People know" in status(client, a)  # A's page at once
    listing = client.get("/items", params={"lang": "en", "stage": "know"}).text
    assert a in listing and b not in listing  # the list that shows A
    rendered = len(renders)
    assert "Awaiting triage" in status(client, b)
    assert len(renders) == rendered  # B's page still came from the cache


def test_a_change_to_the_commune_shows_on_every_item_page(two):
    client, a, b, users, renders = two
    with unit_of_work(write=True) as db:  # accepted: the public sees more than the title and village
        for code, head in ((a, "village_head"), (b, "other_head")):
            item = db.execute(select(Item).where(Item.code == code)).scalar_one()
            workflow.transition(db, item, "accept", viewer(db, users[head]), None)
    status(client, a), status(client, b)
    with unit_of_work(write=True) as db:
        category = db.execute(select(Category)).scalars().first()
        category.name_en = "Drains and ditches"
        audit.record(db, commune_id=category.commune_id, action="category_changed",
                     payload={"category_id": category.id})
    assert "Drains and ditches" in status(client, a)
    assert "Drains and ditches" in status(client, b)


def test_no_kept_page_is_older_than_five_minutes_and_pages_do_not_all_expire_at_once(two):
    """What changes with time alone (working days waited, countdowns) shows within five minutes; each page
    counts its five minutes from a moment of its own, so a worker never renders every page in one second."""
    client, a, b, _users, renders = two
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    clock.freeze(start)

    def read_all() -> None:
        status(client, a), status(client, b)
        client.get("/items", params={"lang": "en", "stage": "submitted"})

    read_all()
    kept = len(renders)
    read_all()
    assert len(renders) == kept  # all three kept
    rendered_at: dict[tuple, int] = {}
    for second in range(1, 301):  # five minutes, second by second
        clock.freeze(start + timedelta(seconds=second))
        before = len(renders)
        read_all()
        for key in renders[before:]:
            rendered_at.setdefault(key, second)
    assert len(rendered_at) == 3  # each rendered again within five minutes
    assert len(set(rendered_at.values())) > 1  # not all in the same second


def test_an_unknown_code_is_never_cached(two):
    client, _a, _b, _users, renders = two
    assert client.get("/items/NS-2026-9999").status_code == 404
    assert renders == []
    assert pagecache.item_version("NS-2026-9999") is None


# --- lists filtered by village and stage: versioned by the counters of what they show (migration 0014a) ---

def another_item_beside(code: str) -> str:
    """A new item in the village and category of `code`, sent by another resident: its code."""
    with unit_of_work(write=True) as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        made = make_item(db, db.get(Commune, item.commune_id), db.get(Village, item.village_id),
                         db.get(Category, item.category_id), title="Ổ gà trước trường học")
        return made.code


def listing(client, **params) -> str:
    page = client.get("/items", params={"lang": "en", **params})
    assert page.status_code == 200
    return page.text


def test_a_new_item_shows_on_the_lists_it_belongs_to_and_leaves_the_others_cached(two):
    client, a, b, users, renders = two
    with unit_of_work(write=True) as db:
        first = db.execute(select(Item).where(Item.code == a)).scalar_one()
        village_a = first.village_id
        village_b = db.execute(select(Item.village_id).where(Item.code == b)).scalar_one()
    lists = [{"village": village_b, "stage": "submitted"}, {"village": village_b}, {"stage": "know"},
             {"village": village_a, "stage": "submitted"}, {"village": village_a}, {"stage": "submitted"}, {}]
    for params in lists:
        listing(client, **params)
    assert len(renders) == len(lists)
    for params in lists:
        listing(client, **params)
    assert len(renders) == len(lists)  # every list from the cache

    new_code = another_item_beside(a)  # another resident sends an item in village A
    del renders[:]
    for params in lists[:3]:  # village B's lists and the lists of another stage: unchanged, from the cache
        assert new_code not in listing(client, **params)
    assert renders == []
    for params in lists[3:]:  # the lists that hold the new item show it at once
        assert new_code in listing(client, **params)
    assert len(renders) == 4


def test_a_change_to_an_item_shows_at_once_on_the_list_of_its_village_and_stage(two):
    client, a, _b, users, renders = two
    with unit_of_work(write=True) as db:
        item = db.execute(select(Item).where(Item.code == a)).scalar_one()
        village = item.village_id
    assert "Cống ngõ 5 bị tắc" in listing(client, village=village, stage="submitted")
    with unit_of_work(write=True) as db:  # the title changes in place: same village, same stage
        item = db.execute(select(Item).where(Item.code == a)).scalar_one()
        item.title = "Cống ngõ 5 đã được báo"
        audit.record(db, commune_id=item.commune_id, item_id=item.id, action="item_edited",
                     payload={"fields": ["title"]})
    page = listing(client, village=village, stage="submitted")
    assert "Cống ngõ 5 đã được báo" in page and "Cống ngõ 5 bị tắc" not in page
    with unit_of_work(write=True) as db:  # accepted: it leaves the new items' list for People know's
        item = db.execute(select(Item).where(Item.code == a)).scalar_one()
        workflow.transition(db, item, "accept", viewer(db, users["village_head"]), None)
    assert a not in listing(client, village=village, stage="submitted")
    assert a in listing(client, village=village, stage="know")


def test_a_village_of_another_commune_filters_nothing_and_follows_every_change(two):
    client, a, b, users, renders = two
    page = listing(client, village=987654, stage="submitted")
    assert a in page and b in page  # no such village: the list of every village
    assert another_item_beside(a) in listing(client, village=987654, stage="submitted")


# --- the villages and categories a process keeps for the list pages (civic.web.views.lookups) -------------

def _village_options(client) -> list[str]:
    import re

    html = client.get("/items").text
    select_html = html.split('<select id="village"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select_html)


def test_a_village_renamed_or_added_shows_on_the_next_list_page_of_every_process(client):
    from civic.areas import service as areas
    from civic.web import views

    with unit_of_work(write=True) as db:
        commune, a, b, _cat, users = world(db)
    assert _village_options(client) == ["Hưng Đạo", "Tân Tiến"]
    assert views._lookups  # kept for the next page
    with unit_of_work(write=True) as db:
        areas.rename_village(db, commune.id, a.id, "Hưng Đạo Mới", actor_id=users["admin"].id)
    assert _village_options(client) == ["Hưng Đạo Mới", "Tân Tiến"]
    with unit_of_work(write=True) as db:
        areas.create_village(db, db.get(type(commune), commune.id), name="An Lạc", actor_id=users["admin"].id)
    assert _village_options(client) == ["An Lạc", "Hưng Đạo Mới", "Tân Tiến"]  # in Vietnamese order


def test_a_category_change_shows_on_the_list_once_an_event_of_the_commune_records_it(client):
    with unit_of_work(write=True) as db:
        commune, _a, _b, cat, users = world(db)
    assert "Thoát nước" in client.get("/items").text
    with unit_of_work(write=True) as db:
        db.get(Category, cat.id).active = False
        audit.record(db, commune_id=commune.id, action="category_changed", actor_id=users["admin"].id,
                     payload={"category_id": cat.id})
    assert "Thoát nước" not in client.get("/items").text


# --- what the cache holds: gzipped pages, within a byte budget --------------------------------------------

def test_a_kept_page_is_the_same_page_with_or_without_compression(two):
    client, a, _b, _users, renders = two
    first = client.get(f"/items/{a}", headers={"Accept-Encoding": "identity"})
    again = client.get(f"/items/{a}", headers={"Accept-Encoding": "identity"})
    packed = client.get(f"/items/{a}", headers={"Accept-Encoding": "gzip"})
    assert len(renders) == 1  # rendered once, then served twice from the cache
    assert "content-encoding" not in again.headers and packed.headers["content-encoding"] == "gzip"
    assert first.content == again.content == packed.content  # the client unpacks the gzipped one


def test_the_least_recently_served_pages_go_first_once_the_budget_is_full():
    from starlette.responses import HTMLResponse

    kept = pagecache.PageCache()
    pages = {name: HTMLResponse(f"<p>{name}</p>" + "".join(f"{name}{i:06d}" for i in range(600)))
             for name in ("a", "b", "c")}
    kept.put(("a",), "v", pages["a"])
    one = kept._bytes
    kept.max_bytes = one * 2 + one // 2  # room for two pages
    kept.put(("b",), "v", pages["b"])
    assert kept.get(("a",), "v") is not None  # a served again: b is now the least recently served
    kept.put(("c",), "v", pages["c"])
    assert kept.get(("b",), "v") is None
    assert kept.get(("a",), "v").body == pages["a"].body and kept.get(("c",), "v") is not None
    assert kept.get(("a",), "w") is None  # another version: dropped, and its bytes given back
    assert kept._bytes == len(kept.get(("c",), "v").gz)
