"""A long timeline stays short: repeated events of a stretch of work fold into one line with a link to all
of them, older lines are behind plain links (?before=…), every event one by one is ?events=all, and no
address of these (nor any junk in the query string) poisons the page cache."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from civic.audit import service as audit
from civic.db import unit_of_work
from civic.items.service import TimelineEntry
from civic.web import pagecache
from civic.web import timeline as folding
from tests.builders import make_item, move, viewer, world
from tests.web.test_page_weight import BUDGET, weigh

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def ev(seq: int, action: str, **payload) -> TimelineEntry:
    return TimelineEntry(action, T0 + timedelta(minutes=seq), "village_head", "", payload, seq)


def shape(lines) -> list[str]:
    return [f"{x.action}×{x.count}" if isinstance(x, folding.Group) else x.action for x in lines]


def test_repeated_events_between_two_others_fold_into_one_line_each():
    events = [ev(1, "submitted"), ev(2, "accept")]
    events += [ev(3 + i, "pledge_added" if i % 3 else "delivery_recorded", household_id=i % 7)
               for i in range(30)]
    events += [ev(40, "progress_posted"), ev(41, "pledge_added", household_id=1),
               ev(42, "pledge_added", household_id=2), ev(43, "note")]
    lines = folding.fold(events)
    # 30 events: 10 deliveries (i = 0, 3, …, 27) and 20 pledges from 7 households; after the progress
    # report two pledges are too few to fold.
    assert shape(lines) == ["submitted", "accept", "delivery_recorded×10", "pledge_added×20",
                            "progress_posted", "pledge_added", "pledge_added", "note"]
    pledges = lines[3]
    assert (pledges.households, pledges.first_seq, pledges.last_seq) == (7, 4, 32)


def test_the_address_is_read_strictly():
    read = folding.TimelineQuery.read
    assert read({}) == folding.TimelineQuery(False, None)
    assert read({"events": "all", "before": "120"}) == folding.TimelineQuery(True, 120)
    for junk in ("abc", "-5", "0", "1e9", "١٢", "9" * 19, " 12", ""):
        assert read({"before": junk}).before is None, junk
    assert read({"events": "ALL"}).all_events is False


def test_pages_of_lines_and_of_events():
    events = [ev(i, "note") for i in range(1, 31)]  # 30 lines that never fold
    latest = folding.view(events, folding.TimelineQuery())
    assert [e.seq for e in latest.lines] == list(range(19, 31))  # the 12 latest, oldest first
    assert (latest.earlier, latest.later, latest.shown, latest.total) == ({"before": 19}, None, 12, 30)
    older = folding.view(events, folding.TimelineQuery(before=19))
    assert [e.seq for e in older.lines] == list(range(7, 19))
    assert (older.earlier, older.later) == ({"before": 7}, {})
    oldest = folding.view(events, folding.TimelineQuery(before=7))
    assert [e.seq for e in oldest.lines] == list(range(1, 7)) and oldest.earlier is None
    every = folding.view(events, folding.TimelineQuery(all_events=True, before=31), {"lang": "en"})
    assert len(every.lines) == 30 and every.earlier is None and every.later is None
    assert every.link(events="all", before=5) == "?lang=en&events=all&before=5"


@pytest.fixture
def busy(client, monkeypatch):
    """An item in Dân làm with 120 pledges and 60 deliveries on its timeline, and a few other events."""
    monkeypatch.setattr(pagecache.cache, "enabled", True)
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        item = make_item(db, commune, a, cat, title="Đổ bê tông đường xóm Giữa")
        move(db, item, "accept", viewer(db, users["village_head"]))
        for i in range(180):
            action = "pledge_added" if i < 120 else "delivery_recorded"
            audit.record(db, commune_id=commune.id, item_id=item.id, action=action,
                         actor_id=users["village_head"].id, actor_role="village_head",
                         payload={"household_id": i % 90 + 1, "kind": "labour", "amount": "2.00", "unit": ""})
        audit.record(db, commune_id=commune.id, item_id=item.id, action="progress_posted",
                     actor_id=users["village_head"].id, actor_role="village_head", payload={"percent": 40})
    return client, item.code


def _timeline(html: str) -> str:
    return html[html.index('id="history"'):]


def test_the_status_page_folds_pledges_and_deliveries_and_pages_every_event(busy):
    client, code = busy
    page = client.get(f"/items/{code}")
    assert page.status_code == 200
    history = _timeline(page.text)
    assert "90 hộ đã đăng ký đóng góp (120 đăng ký)" in history
    assert "Đã ghi nhận 60 lần đóng góp / bàn giao (của 60 hộ)" in history
    assert history.count("<li>") == 5  # sent, accepted, the pledges, the deliveries, the progress report
    assert "đã báo cáo tiến độ: 40 %" in history
    see_all = re.findall(r'href="(\?events=all&amp;before=\d+)#history">xem tất cả', history)
    assert len(see_all) == 2

    # "see all" of the pledges: the 50 events up to the last pledge, one by one, with a link to earlier ones.
    every = _timeline(client.get(f"/items/{code}{see_all[0].replace('&amp;', '&')}").text)
    assert every.count("<li>") == 50 and every.count("đã ghi nhận đăng ký đóng góp") == 50
    assert "Các sự kiện trước đó" in every and "Các sự kiện sau đó" in every
    assert "Đang hiện 50 trong 183 sự kiện." in every
    first = _timeline(client.get(f"/items/{code}?events=all").text)
    assert first.count("<li>") == 50 and "Về dòng thời gian rút gọn" in first
    english = _timeline(client.get(f"/items/{code}?lang=en").text)
    assert "90 households pledged (120 pledges)" in english and "?lang=en&amp;events=all" in english
    for path in (f"/items/{code}", f"/items/{code}?events=all"):
        total, problems = weigh(client, path)
        assert total["total"] < BUDGET and not problems, (path, total, problems)


def test_no_query_string_poisons_the_cached_status_page(busy):
    client, code = busy
    renders: list[tuple] = []
    real_put = pagecache.cache.put

    def put(key, version, response):
        renders.append(key)
        real_put(key, version, response)

    pagecache.cache.put = put  # type: ignore[method-assign]
    try:
        plain = client.get(f"/items/{code}").text
        every = client.get(f"/items/{code}?events=all").text
        assert every != plain
        # The plain page is still the short one, served from the cache; junk in the address shares it.
        assert client.get(f"/items/{code}").text == plain
        for junk in ("?x=1", "?before=abc", "?events=everything", "?before=" + "9" * 40):
            assert client.get(f"/items/{code}{junk}").text == plain, junk
        assert len(renders) == 2, renders
        assert client.get(f"/items/{code}?events=all").text == every
        assert len(renders) == 2
    finally:
        pagecache.cache.put = real_put  # type: ignore[method-assign]
