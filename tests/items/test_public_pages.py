"""Pages anyone can open: home, list with filters and search, status page, track, audit, health, languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from civic import clock
from civic.audit import service as audit
from civic.db import unit_of_work
from civic.items import service as items
from civic.items.models import Item
from civic.items.schemas import SubmitForm
from tests.builders import make_category, make_item, setup_item, setup_world, stage_strip, world


def listed(client, query: str = "") -> list[str]:
    page = client.get("/items" + query)
    assert page.status_code == 200, (query, page.status_code)
    return re.findall(r'<a class="card-title" href="/items/([^"]+)">', page.text)


def test_home_shows_the_commune_and_its_items_by_stage(client):
    commune, a, _b, cat, _users = setup_world()
    setup_item(commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng")
    page = client.get("/")
    assert page.status_code == 200
    assert "Nhạo Sơn" in page.text
    assert "Đèn đường ngõ ba không sáng" in page.text
    for motto in ("Dân biết", "Dân bàn", "Dân làm", "Dân kiểm tra"):
        assert motto in page.text
    assert 'href="/items?stage=know"' in page.text
    assert 'href="/submit"' in page.text
    assert 'action="/track"' in page.text


def test_home_counts_items_by_stage(client):
    commune, a, _b, cat, _users = setup_world()
    for stage in ("submitted", "submitted", "know", "rejected"):
        setup_item(commune, a, cat, stage=stage)
    html = client.get("/").text
    counts = dict(re.findall(r'<a href="/items\?stage=(\w+)"><span class="num">(\d+)</span>', html))
    assert counts == {"submitted": "2", "know": "1", "discuss": "0", "do": "0", "inspect": "0", "closed": "1"}


def test_vietnamese_is_the_default_and_english_sticks_once_chosen(client):
    setup_world()
    home = client.get("/")
    assert '<html lang="vi">' in home.text
    assert home.headers["content-language"] == "vi"
    assert 'href="/lang/en' in home.text
    switch = client.get("/lang/en?next=/items", follow_redirects=False)
    assert switch.status_code == 303 and switch.headers["location"] == "/items"
    assert "lang=en" in switch.headers["set-cookie"]
    for path in ("/", "/items", "/submit", "/login", "/audit"):
        page = client.get(path)
        assert '<html lang="en">' in page.text, path
        assert page.headers["content-language"] == "en"
    english = client.get("/").text
    assert "People know" in english and "Log in" in english and "Audit log" in english
    client.get("/lang/vi")
    assert '<html lang="vi">' in client.get("/").text


def test_an_unknown_language_falls_back_to_vietnamese(client):
    setup_world()
    answer = client.get("/lang/xx", follow_redirects=False)
    assert answer.status_code == 303
    assert '<html lang="vi">' in client.get("/").text


def test_english_error_messages(client):
    setup_world()
    client.get("/lang/en")
    page = client.get("/items/NS-2026-0999")
    assert page.status_code == 404
    assert "No item has the code NS-2026-0999." in page.text


# --- the list ---------------------------------------------------------------------------------------

@pytest.fixture
def catalogue():
    """Items in different villages, stages, outcomes, kinds and categories (committed)."""
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        roads = make_category(db, commune, code="roads", vi="Đường giao thông", en="Roads")
        made = {
            "road": make_item(db, commune, a, roads, title="Đường liên thôn xuống cấp",
                              description="Nhiều ổ gà lớn.", kind="proposal"),
            "drain": make_item(db, commune, a, cat, stage="know", title="Cống thoát nước bị tắc",
                               description="Nước tràn vào nhà dân."),
            "light": make_item(db, commune, b, cat, stage="rejected", title="Đèn chiếu sáng hỏng",
                               description="Tối om cả ngõ.", kind="recommendation"),
            "dup": make_item(db, commune, b, roads, stage="duplicate", title="Ổ gà trên đường làng",
                             description="Xe máy hay ngã."),
        }
        made["original"] = db.get(Item, made["dup"].duplicate_of_id)  # made by the builder, in village B
        codes = {k: v.code for k, v in made.items()}
    return commune, a, b, cat, roads, codes


def test_list_shows_every_item_newest_first(client, catalogue):
    *_, codes = catalogue
    shown = listed(client)
    assert sorted(shown) == sorted(codes.values())
    assert shown == sorted(shown, reverse=True)


def test_list_filters(client, catalogue):
    _c, a, b, cat, roads, codes = catalogue
    assert set(listed(client, f"?village={a.id}")) == {codes["road"], codes["drain"]}
    assert set(listed(client, f"?village={b.id}")) == {codes["light"], codes["dup"], codes["original"]}
    assert listed(client, "?stage=know") == [codes["drain"]]
    assert set(listed(client, "?stage=closed")) == {codes["light"], codes["dup"]}
    assert listed(client, "?outcome=rejected") == [codes["light"]]
    assert listed(client, "?outcome=duplicate") == [codes["dup"]]
    assert listed(client, "?kind=proposal") == [codes["road"]]
    assert listed(client, "?kind=recommendation") == [codes["light"]]
    assert set(listed(client, f"?category={roads.id}")) == {codes["road"], codes["dup"], codes["original"]}
    assert listed(client, f"?village={a.id}&stage=submitted&category={roads.id}") == [codes["road"]]
    assert listed(client, "?stage=inspect") == []


def test_list_filter_form_keeps_the_choice(client, catalogue):
    _c, a, _b, _cat, _roads, _codes = catalogue
    html = client.get(f"/items?village={a.id}&stage=know&kind=concern&q=cong").text
    assert f'<option value="{a.id}" selected>' in html
    assert '<option value="know" selected>' in html
    assert '<option value="concern" selected>' in html
    assert 'value="cong"' in html


@pytest.mark.parametrize("q", ["duong", "ĐƯỜNG", "đường", "Duong Lien", "xuong cap"])
def test_search_ignores_diacritics(client, catalogue, q):
    *_, codes = catalogue
    found = listed(client, f"?q={q}")
    assert codes["road"] in found
    assert codes["drain"] not in found and codes["light"] not in found


def test_search_within_a_filter(client, catalogue):
    *_, codes = catalogue
    assert listed(client, "?q=duong&stage=closed") == [codes["dup"]]
    assert listed(client, "?q=khong+co+gi+nhu+the") == []


@pytest.mark.parametrize("query", ["?village=abc", "?village=999999", "?stage=flying", "?outcome=<b>",
                                   "?kind=x", "?category=-1", "?page=abc", "?page=-5", "?page=0",
                                   "?q=%00%01", "?village=1e9", "?page=99999999999999999999999"])
def test_nonsense_filters_are_ignored(client, catalogue, query):
    *_, codes = catalogue
    assert sorted(listed(client, query)) == sorted(codes.values())


@pytest.mark.parametrize("q", ["a" * 5000, "%25%25", "_", "'; DROP TABLE item; --", "<script>"])
def test_odd_searches_find_nothing_and_do_not_fail(client, catalogue, q):
    from urllib.parse import quote

    assert listed(client, "?q=" + quote(q)) == []


def test_pagination(client):
    commune, a, _b, cat, _users = setup_world()
    with unit_of_work(write=True) as db:
        for n in range(23):
            clock.advance(timedelta(seconds=1))
            items.submit(db, commune, SubmitForm.parse({
                "kind": "concern", "village_id": a.id, "category_id": cat.id, "title": f"Phản ánh số {n:02d}",
                "description": "Một mô tả đủ dài.", "contact_phone": "0912345678"}), viewer=_anonymous())
    first = client.get("/items")
    first_codes = re.findall(r'<a class="card-title" href="/items/([^"]+)">', first.text)
    assert len(first_codes) == 20
    assert 'rel="next" href="/items?page=2"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/items?page=2")
    second_codes = re.findall(r'<a class="card-title" href="/items/([^"]+)">', second.text)
    assert len(second_codes) == 3
    assert not set(first_codes) & set(second_codes)
    assert 'rel="prev" href="/items?page=1"' in second.text or 'rel="prev" href="/items"' in second.text
    assert 'rel="next"' not in second.text
    beyond = client.get("/items?page=99")
    assert beyond.status_code == 200
    assert re.findall(r'<a class="card-title" href="/items/([^"]+)">', beyond.text) == second_codes
    filtered = client.get("/items?q=phan+anh&page=1")
    assert 'rel="next" href="/items?page=2&amp;q=phan+anh"' in filtered.text


def _anonymous():
    from civic.accounts.service import Viewer

    return Viewer()


# --- an item's status page ------------------------------------------------------------------------

def test_status_page_marks_the_current_stage(client):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know", title="Cống bị tắc trước nhà văn hoá",
                      contact_phone="0912345678")
    page = client.get(f"/items/{item.code}")
    assert page.status_code == 200
    html = page.text
    assert stage_strip(html) == [("Dân biết", True), ("Dân bàn", False), ("Dân làm", False),
                                 ("Dân kiểm tra", False)]
    assert html.count('aria-current="step"') == 1
    assert item.code in html and "Cống bị tắc trước nhà văn hoá" in html
    assert "Nước tràn lên đường sau mưa lớn." in html
    assert "Hưng Đạo" in html and "Thoát nước" in html
    assert "Thư Ký" in html, "the timeline names the village head who accepted it"
    assert "0912345678" not in html


@pytest.mark.parametrize("stage", ["discuss", "do", "inspect"])
def test_later_stages_are_marked_on_the_strip(client, stage):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, stage=stage)
    marked = [name for name, current in stage_strip(client.get(f"/items/{item.code}").text) if current]
    assert marked == [{"discuss": "Dân bàn", "do": "Dân làm", "inspect": "Dân kiểm tra"}[stage]]


def test_a_new_item_has_no_current_stage_yet(client):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat)
    html = client.get(f"/items/{item.code}").text
    assert [current for _name, current in stage_strip(html)] == [False] * 4


@pytest.mark.parametrize(("stage", "english"), [("rejected", "Not taken up"), ("duplicate", "Duplicate"),
                                                ("redirected", "Sent to another desk")])
def test_a_closed_item_shows_its_outcome_and_reason(client, stage, english):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, stage=stage)
    client.get("/lang/en")
    html = client.get(f"/items/{item.code}").text
    assert 'aria-current="step"' not in html
    assert re.search(r'class="strip-note strip-closed">[^<]*<strong>' + english + "</strong>", html)
    with unit_of_work() as db:
        reason = db.get(Item, item.id).close_reason
    assert reason and reason in html
    assert "Thư Ký" in html


def test_status_page_in_english_keeps_the_motto_names(client):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, stage="know")
    client.get("/lang/en")
    html = client.get(f"/items/{item.code}").text
    assert stage_strip(html)[0] == ("Dân biết", True)
    assert "People know" in html


def test_codes_are_found_however_they_are_typed(client):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat)
    short = item.code.lower().replace("-000", "-")
    answer = client.get(f"/items/{short}", follow_redirects=False)
    assert answer.status_code == 301 and answer.headers["location"] == f"/items/{item.code}"
    tracked = client.get("/track", params={"code": " " + item.code.lower().replace("-", " ") + " "},
                         follow_redirects=False)
    assert tracked.status_code == 303 and tracked.headers["location"] == f"/items/{item.code}"


@pytest.mark.parametrize("code", ["NS-2026-9999", "XX-2026-0001", "garbage", "NS-2026-0001-extra", "%00",
                                  "a" * 300])
def test_unknown_codes_are_not_found(client, code):
    setup_world()
    assert client.get(f"/items/{code}").status_code == 404


@pytest.mark.parametrize("code", ["", "garbage", "<script>", "x" * 500])
def test_tracking_something_that_is_not_a_code(client, code):
    setup_world()
    answer = client.get("/track", params={"code": code})
    assert answer.status_code == 422
    assert "<script>" not in answer.text.split("<body>", 1)[1] or code != "<script>"


def test_tracking_a_well_formed_code_that_does_not_exist(client):
    setup_world()
    assert client.get("/track?code=NS-2026-4242").status_code == 404


# --- audit and health -----------------------------------------------------------------------------

def test_audit_page_shows_the_head_hash_and_count(client):
    commune, a, _b, cat, _users = setup_world()
    setup_item(commune, a, cat, stage="know")
    with unit_of_work() as db:
        head = audit.head(db, commune.id)
        total = audit.count_events(db, commune.id)
    assert head.seq == total > 0
    html = client.get("/audit").text
    assert f'<code class="hash">{head.hash}</code>' in html
    assert re.search(rf"<dd>{total}</dd>", html)
    setup_item(commune, a, cat)
    again = client.get("/audit").text
    assert head.hash not in again, "the head moves with every change"
    assert re.search(rf"<dd>{total + 1}</dd>", again)


def test_healthz(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.text == "database: ok\nmedia: ok\n"


def test_security_headers(client):
    setup_world()
    answer = client.get("/")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-request-id"]


def test_favicon_ico_is_served_for_browsers_that_ask_for_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
