"""Atom feeds of public changes and Open Graph tags: what a feed reader or a shared link shows."""

import xml.etree.ElementTree as ET

from civic.db import unit_of_work
from tests.builders import make_item, world

ATOM = "{http://www.w3.org/2005/Atom}"


def test_item_feed_lists_its_public_changes_newest_first(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        item = make_item(db, commune, a, cat, stage="rejected", contact_phone="0912345678")
        code = item.code
    response = client.get(f"/items/{code}/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert "0912345678" not in response.text  # never the reporter's contact
    feed = ET.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2  # submitted, then rejected
    newest = entries[0].find(f"{ATOM}content").text
    assert "Ngoài khả năng của thôn." in newest  # the public reason of the rejection
    assert all(e.find(f"{ATOM}title").text.startswith(code) for e in entries)


def test_village_feed_covers_only_that_village(client):
    with unit_of_work(write=True) as db:
        commune, a, b, cat, _users = world(db)
        mine = make_item(db, commune, a, cat, title="Cống xóm Trên bị tắc").code
        other = make_item(db, commune, b, cat, title="Đèn chợ không sáng").code
        village_id = a.id
    feed = ET.fromstring(client.get(f"/villages/{village_id}/feed.atom").content)
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert any(mine in t for t in titles) and not any(other in t for t in titles)
    assert client.get("/villages/999999/feed.atom").status_code == 404
    assert client.get("/villages/abc/feed.atom").status_code == 404
    page = client.get("/items", params={"village": village_id})
    assert f'href="/villages/{village_id}/feed.atom"' in page.text


def test_status_page_carries_open_graph_tags_and_its_feed(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        code = make_item(db, commune, a, cat, stage="know", title="Lắp đèn đường ra đồng").code
    page = client.get(f"/items/{code}").text
    assert f'<meta property="og:title" content="{code} · Lắp đèn đường ra đồng">' in page
    assert '<meta property="og:description" content="Dân biết' in page
    assert f'href="/items/{code}/feed.atom"' in page


def test_village_calendar_lists_its_meetings(client):
    from datetime import UTC, timedelta

    from civic import clock
    from civic.deliberation import service as deliberation
    from civic.deliberation.schemas import ScheduleMeetingForm
    from tests.builders import make_discuss_item, viewer

    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        item = make_discuss_item(db, commune, a, cat, users["village_head"],
                                 title="Mở rộng đường liên xóm, hiến đất")
        start = (clock.now() + timedelta(days=8)).astimezone(clock.LOCAL_TZ).replace(
            hour=19, minute=30, second=0, microsecond=0)
        deliberation.schedule_meeting(db, item, viewer(db, users["village_head"]), ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá thôn; sân trước",
            "agenda": "Bàn việc mở rộng đường, mức đóng góp của các hộ và cách thu chi."}))
        code, village_a, village_b = item.code, a.id, b.id
    response = client.get(f"/villages/{village_a}/meetings.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.content.decode("utf-8")
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert body.count("BEGIN:VEVENT") == 1
    assert f"DTSTART:{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}" in body  # 19:30 in Hà Nội, in UTC
    unfolded = body.replace("\r\n ", "")
    assert "LOCATION:Nhà văn hoá thôn\\; sân trước" in unfolded  # escaped as RFC 5545 says
    assert f"/items/{code}" in unfolded
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))  # folded lines
    other = client.get(f"/villages/{village_b}/meetings.ics").content.decode()
    assert "BEGIN:VEVENT" not in other
    assert client.get("/villages/0/meetings.ics").status_code == 404
