"""Search finds an item by its code, whole or in part, and by its words through the text index."""

from __future__ import annotations

import re

import pytest

from civic import clock
from civic.db import unit_of_work
from civic.items import rules
from civic.items.models import Item
from tests.builders import make_item, world

CODE = re.compile(r'<span class="code">([^<]+)</span>')


def found(client, q: str) -> list[str]:
    page = client.get("/items", params={"q": q})
    assert page.status_code == 200
    return CODE.findall(page.text)


@pytest.fixture
def many(client):
    """23 items in 2026: NS-2026-0001 … NS-2026-0023, one of them about a road."""
    clock.freeze(clock.now().replace(year=2026, month=3, day=2))
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        for n in range(1, 24):
            title = "Đường ngõ Chợ nhiều ổ gà" if n == 7 else f"Cống thoát nước số {n * 100} bị tắc"
            make_item(db, commune, a, cat, title=title)
    return client


@pytest.mark.parametrize("q", ["NS-2026-0022", "ns 2026 22", "ns-2026-22", "2026 0022", "0022", "22"])
def test_a_code_finds_its_item_whole_or_in_part(many, q):
    assert found(many, q) == ["NS-2026-0022"]


def test_a_code_of_another_year_or_commune_finds_nothing(many):
    assert found(many, "NS-2025-0022") == []
    assert found(many, "HB-2026-0022") == []


def test_a_number_also_finds_the_items_that_mention_it(many):
    """"1500" is item number 1500 (none here) and the words of item 15 ("số 1500")."""
    assert found(many, "1500") == ["NS-2026-0015"]


@pytest.mark.parametrize("q", ["duong ngo cho", "ĐƯỜNG NGÕ", "ngõ chợ", "ổ gà"])
def test_words_are_found_without_diacritics_and_short_words_too(many, q):
    assert found(many, q) == ["NS-2026-0007"]


def test_a_word_inside_a_longer_word_is_found(many):
    assert found(many, "huong") == []
    assert len(found(many, "thoat nuoc")) == 20  # one page of the 22 matches
    assert "NS-2026-0007" not in found(many, "thoat nuoc")


def test_an_edited_text_is_searched_at_once(many):
    with unit_of_work(write=True) as db:
        item = db.query(Item).filter(Item.code == "NS-2026-0007").one()
        item.search_text = rules.fold("Đèn đường hỏng")
    assert found(many, "den duong") == ["NS-2026-0007"]
    assert found(many, "ngo cho") == []


@pytest.mark.parametrize(("lang", "message"), [
    ("vi", None), ("en", "A search can be at most 100 characters long"),
])
def test_a_search_of_a_thousand_characters_gets_a_clear_message(many, lang, message):
    page = many.get("/items", params={"q": "NS-2026-" + "0" * 992, "lang": lang})
    assert page.status_code == 200
    assert 'role="alert"' in page.text
    if message:
        assert message in page.text
    assert 'value="NS-2026-' + "0" * 92 + '"' in page.text  # the search box keeps what was searched


def test_quotes_and_wildcards_are_only_text(many):
    for q in ['"ngo', "ngo*", "%", "_", "ngo OR cong", "NEAR(ngo cho)", "\\"]:
        page = many.get("/items", params={"q": q})
        assert page.status_code == 200, q


@pytest.mark.parametrize(("q", "expected"), [
    ("NS-2026-0022", rules.CodeSearch(22, 2026, "NS")),
    (" ns 2026 22 ", rules.CodeSearch(22, 2026, "NS")),
    ("2026-22", rules.CodeSearch(22, 2026, None)),
    ("0022", rules.CodeSearch(22)),
    ("ngõ 12", None), ("NS-2026", None), ("0", None), ("x" * 1000, None), ("1" * 1000, None), ("", None),
    ("٢٢", None),  # digits of another script are not a code
])
def test_code_search_reads_what_a_resident_types(q, expected):
    assert rules.code_search(q) == expected
