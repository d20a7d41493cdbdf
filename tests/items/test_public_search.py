"""The public search reads what the public sees: an item shown by its title only (not yet accepted, or
closed without being taken up) is not found by the words of its description or address."""

from __future__ import annotations

import pytest

from civic.config import get_settings
from civic.items import service as items
from civic.items.models import Item
from tests.builders import make_item, move, viewer, world

SECRET = "Ông Hoàng Văn Khuê ở xóm Bãi lấn đất"


def _found(db, commune_id: int, q: str) -> list[str]:
    return [row.code for row in items.list_public(db, commune_id, items.ListFilters(q=q)).rows]


def test_a_new_item_is_found_by_its_title_only_until_it_is_accepted(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, title="Tranh chấp ranh giới đất", description=SECRET)
    assert _found(db, commune.id, "ranh gioi") == [item.code]
    assert _found(db, commune.id, "Khuê") == [] and _found(db, commune.id, "xom bai") == []
    move(db, item, "accept", viewer(db, users["village_head"]))
    assert _found(db, commune.id, "Khuê") == [item.code]  # public now, on its page and in the search


@pytest.mark.parametrize("stage", ["rejected", "redirected"])
def test_an_item_closed_at_triage_stays_found_by_its_title_only(db, stage):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat, stage=stage, title="Tranh chấp ranh giới đất", description=SECRET)
    assert db.get(Item, item.id).outcome == stage
    assert _found(db, commune.id, "ranh gioi") == [item.code]
    assert _found(db, commune.id, "khue") == []


def test_with_full_detail_the_description_is_searched_at_once(db, monkeypatch):
    monkeypatch.setattr(get_settings(), "untriaged_public_detail", "full")
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat, title="Tranh chấp ranh giới đất", description=SECRET)
    assert _found(db, commune.id, "khue") == [item.code]


def test_the_list_page_does_not_find_a_new_item_by_a_hidden_word(client):
    from civic.db import unit_of_work

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        code = make_item(db, commune, a, cat, title="Tranh chấp ranh giới đất", description=SECRET).code
    hidden = client.get("/items", params={"q": "Khuê"})
    assert hidden.status_code == 200 and code not in hidden.text
    shown = client.get("/items", params={"q": "ranh giới"})
    assert code in shown.text
