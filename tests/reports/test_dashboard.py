"""The commune dashboard and the yearly report, through HTTP, with figures written out by hand."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from civic import clock
from civic.db import unit_of_work
from civic.implementation import service as impl
from civic.implementation.models import ImplementationSetting
from civic.implementation.schemas import PledgeOnBehalfForm
from civic.items.models import Item
from civic.reports import dashboard
from civic.supervision.models import Finding, Inspection, Verdict
from civic.web.pagecache import cache
from tests.builders import login, make_item, move, pledge_data, setup_item, viewer, world


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=clock.LOCAL_TZ)


def _setup():
    """February 2026: three new items (Monday 2 Feb; the deadline is Thursday 5 Feb). One acknowledged the
    next day (in time), one a week later (late), one never (in village B: overdue). March: one item,
    acknowledged the same day. Today is Monday 2 March 2026."""
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        head = viewer(db, users["village_head"])
        clock.freeze(at(date(2026, 2, 2)))
        quick = make_item(db, commune, a, cat, title="Cống tắc ở xóm Trên")
        slow = make_item(db, commune, a, cat, title="Đường đất lầy lội")
        waiting = make_item(db, commune, b, cat, title="Đèn đường hỏng ở xóm Dưới")
        clock.freeze(at(date(2026, 2, 3)))
        move(db, quick, "accept", head)
        clock.freeze(at(date(2026, 2, 9)))
        move(db, slow, "accept", head)
        clock.freeze(at(date(2026, 3, 2), 8))
        fresh = make_item(db, commune, a, cat, title="Rác thải bên kênh")
        clock.freeze(at(date(2026, 3, 2), 10))
        move(db, fresh, "accept", head)
        # The quick item goes on to Dân làm (set directly, as tests of later stages do): needs and a pledge.
        quick.stage = "do"
        db.add(ImplementationSetting(item_id=quick.id, needed_money=5_000_000, needed_land_m2=Decimal("40"),
                                     updated_at=clock.now()))
        db.flush()
        impl.pledge(db, quick, head, PledgeOnBehalfForm.parse(pledge_data("money", "1.500.000",
                                                                          household="H0001")))
        inspection = Inspection(item_id=slow.id, opened_at=at(date(2026, 2, 10)))
        db.add(inspection)
        db.flush()
        db.add(Finding(item_id=slow.id, inspection_id=inspection.id, severity="serious", text="Thiếu rãnh",
                       due_on=date(2026, 2, 20), created_at=at(date(2026, 2, 10))))
        for n, verdict in enumerate(("done", "done", "partly")):
            db.add(Verdict(item_id=quick.id, household_id=n + 1, closure_at=at(date(2026, 2, 25)),
                           verdict=verdict, satisfaction=4, created_at=at(date(2026, 2, 26))))
        db.flush()
        return commune, a, b, cat, users, waiting.code


def _cell_row(html: str, header: str) -> list[str]:
    row = re.search(rf"<tr><th scope=\"row\">{re.escape(header)}</th>(.*?)</tr>", html, re.S)
    assert row, header
    return re.findall(r"<td>(.*?)</td>", row.group(1))


def test_anyone_reads_the_commune_figures_without_names(client):
    *_rest, waiting_code = _setup()
    page = client.get("/dashboard?lang=en")
    assert page.status_code == 200
    html = page.text
    assert 'role="img"' in html and "<title id=\"st-t\">Items by stage</title>" in html
    assert "Awaiting triage: 1; People know: 2; People discuss: 0; People do: 1" in html  # the chart's text
    assert "4 items in all." in html
    feb = _cell_row(html, "2026-02")
    assert feb[:4] == ["3", "1", "2", "33%"]  # 3 new, 1 in time, 2 late (one still waiting)
    assert feb[4] == "4"  # median days in triage of the stays that ended in February: 1 and 7
    assert _cell_row(html, "2026-03")[:4] == ["1", "1", "0", "100%"]
    assert _cell_row(html, "Money (đồng)") == ["5,000,000", "1,500,000", "0"]
    assert _cell_row(html, "Hưng Đạo")[-1] == "3" and _cell_row(html, "Tân Tiến")[-1] == "1"
    overdue = re.findall(r"<dd>(\d+)</dd>", html)
    assert overdue[:2] == ["1", "1"]  # one item past the acknowledgement deadline, one finding past its date
    assert overdue[2:] == ["2", "1", "0"]  # verdicts: done, partly, not done
    assert waiting_code not in html  # the public version names no item
    assert "0912345678" not in html


def test_the_supervisor_sees_the_overdue_items_by_code_and_the_figures_follow_the_chain(client):
    commune, a, _b, cat, users, waiting_code = _setup()
    login(client, users["supervisor"])
    page = client.get("/dashboard?lang=en").text
    assert waiting_code in page and "Yearly report" in page
    setup_item(commune, a, cat, title="Cây đổ chắn đường")  # new events: the counts follow them
    with unit_of_work(write=True) as db:
        waiting = db.execute(select(Item).where(Item.code == waiting_code)).scalar_one()
        move(db, waiting, "accept", viewer(db, users["other_head"]))
    cache.clear()
    html = client.get("/dashboard?lang=en").text
    assert "5 items in all." in html
    assert "Awaiting triage: 1; People know: 3; People discuss: 0; People do: 1" in html
    assert _cell_row(html, "Tân Tiến")[:2] == ["0", "1"]
    with unit_of_work() as db:  # the counts brought up to date are the counts read afresh
        assert dashboard.figures(db, commune.id).by_stage == dashboard.compute(
            db, commune.id, clock.today_local()).by_stage


def test_the_yearly_report_of_a_village_head_covers_their_village_only(client):
    _commune, a, b, _cat, users, _ = _setup()
    assert client.get("/reports/yearly", follow_redirects=False).status_code in (303, 307)
    login(client, users["village_head"])
    page = client.get(f"/reports/yearly?year=2026&village={b.id}&lang=en")
    assert page.status_code == 200
    html = page.text
    assert "Report on grassroots democracy in 2026" in html and "print.css" in html
    assert f'<option value="{b.id}"' not in html  # another village is not offered, nor reported
    assert _cell_row(html, "Concern") == ["3"]  # village A's items of 2026
    assert _cell_row(html, "Acknowledged within the deadline") == ["2 (67%)"]
    assert _cell_row(html, "Findings raised") == ["1"]
    assert _cell_row(html, "Done as promised") == ["2"]


def test_a_resident_may_not_read_the_yearly_report(client):
    *_rest, _code = _setup()
    login(client, _rest[4]["resident"])
    assert client.get("/reports/yearly").status_code == 403


def test_the_supervisor_reads_the_whole_commune_and_a_bad_year_falls_back_to_this_year(client):
    *_rest, _code = _setup()
    login(client, _rest[4]["supervisor"])
    html = client.get("/reports/yearly?year=99999&village=abc&lang=en").text
    assert "Report on grassroots democracy in 2026" in html
    assert _cell_row(html, "Concern") == ["4"]
