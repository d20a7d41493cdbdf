"""The village head's count of 62 paper ballots on one screen, and the deliveries table of the Dân làm desk,
in Chromium on a 390 px phone: the search filters the list as one types, the tally follows the radio
buttons, one save keeps all 62; the same screen works with JavaScript off; every new page state (clean, sent
back with errors, saved, closed) has zero axe violations, never scrolls sideways and weighs under 30 KB."""

from __future__ import annotations

import gzip
from datetime import date

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from civic.areas.models import Household
from civic.db import unit_of_work
from civic.deliberation import service as deliberation
from civic.deliberation.models import Ballot
from civic.deliberation.schemas import DecideForm
from civic.implementation import service as impl
from civic.implementation.models import Delivery
from civic.implementation.schemas import PledgeOnBehalfForm
from tests.browser.conftest import PHONE_390
from tests.browser.pages import ERRORS_ANNOUNCED_JS, log_in
from tests.browser.test_accessibility import violations_report
from tests.builders import consent, make_discuss_item, make_item, make_user, make_village, viewer, world

pytestmark = pytest.mark.browser
_axe = Axe()
BUDGET = 30 * 1024
HOUSEHOLDS = 62


def _world() -> dict:
    with unit_of_work(write=True) as db:
        commune, _a, _b, cat, _users = world(db)
        village = make_village(db, commune, "Hưng Đạo Thượng", 0)
        for n in range(HOUSEHOLDS):
            db.add(Household(village_id=village.id, code=f"HU-{n + 1:03d}",
                             head_name=f"Nguyễn Văn Số {n + 1}", active_from=date(2020, 1, 1)))
        db.flush()
        head = make_user(db, "village_head", commune=commune, village=village, name="Trưởng Thôn")
        sec = viewer(db, head)
        counting = make_discuss_item(db, commune, village, cat, head, title="Sửa mái nhà văn hoá")
        deliberation.decide(db, counting, sec, DecideForm.parse({"method": "paper_ballot"}))
        work = make_item(db, commune, village, cat, stage="do", title="Làm mương xóm Dưới")
        for code in ("HU-001", "HU-002", "HU-003"):
            impl.pledge(db, work, sec, PledgeOnBehalfForm.parse({"household": code, "kind": "money",
                                                                 "amount": "500.000", **consent()}))
        return {"phone": head.phone, "counting": counting.code, "work": work.code}


def _check(page, name: str) -> None:
    """Zero axe violations, errors announced, one column, and under the weight budget (HTML gzipped, plus
    the CSS and JavaScript it links to)."""
    results = _axe.run(page).response
    assert not results["violations"], f"axe on {name} ({page.url}):\n{violations_report(results)}"
    problems = page.evaluate(ERRORS_ANNOUNCED_JS)
    assert not problems, f"{name} does not announce its errors:\n" + "\n".join(problems)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, "
                                  "document.documentElement.clientWidth]")
    assert scroll <= inner, f"{name} is {scroll} px wide on a {inner} px screen"
    html = page.content().encode()
    assets = page.evaluate("[...document.querySelectorAll('link[rel=stylesheet], script[src]')]"
                           ".map(e => e.href || e.src)")
    weight = len(gzip.compress(html)) + sum(len(gzip.compress(page.request.get(u).body())) for u in assets)
    assert weight < BUDGET, f"{name} weighs {weight} bytes"
    print(f"{name}: {weight} bytes with its CSS and JavaScript, gzipped")


def test_sixty_two_paper_ballots_on_one_screen_at_390_px(new_page):
    w = _world()
    page = new_page(js=True, **PHONE_390)
    log_in(page, w["phone"])
    taps = 0
    page.goto(f"/deliberation/{w['counting']}")
    with page.expect_navigation():  # axe runs on the count page, not on the page being left
        page.click("a[href$='/count']")
    taps += 1
    _check(page, "ballot count")
    assert page.locator("#count-list li").count() == HOUSEHOLDS

    # The search filters as one types, without a page load.
    page.fill("#count-q", "số 7")
    assert page.locator("#count-list li:visible").count() == 1
    page.fill("#count-q", "")
    assert page.locator("#count-list li:visible").count() == HOUSEHOLDS

    # 40 in favour, 10 against, 5 abstain; 7 ballots not returned. The tally follows each tap.
    for n in range(55):
        value = "yes" if n < 40 else "no" if n < 50 else "abstain"
        page.locator(f"#count-list li >> nth={n}").locator(f"input[value={value}]").check()
        taps += 1
    assert page.inner_text("[data-tally=yes]") == "40" and page.inner_text("[data-tally=no]") == "10"
    assert page.inner_text("[data-tally=abstain]") == "5"
    with page.expect_navigation():
        page.click("form[action*='/count/save'] button[type=submit]")
    taps += 1
    assert "Đã lưu: nhập 55 phiếu, sửa 0, bỏ 0." in page.inner_text("main")
    assert page.inner_text("[data-tally=yes]") == "40"
    _check(page, "ballot count, saved")
    print(f"62 households counted in {taps} taps and one post")
    assert taps == 57
    with unit_of_work() as db:
        assert len(db.execute(select(Ballot)).all()) == 55

    # A correction without a reason is sent back, announced, and changes nothing.
    page.locator("#count-list li >> nth=0").locator("input[value=no]").check()
    with page.expect_navigation() as sent:
        page.click("form[action*='/count/save'] button[type=submit]")
    assert sent.value.status == 422 and page.locator("#f-reason-error").count() == 1
    _check(page, "ballot count, a correction without reason")
    page.locator("#count-list li >> nth=0").locator("input[value=no]").check()
    page.fill("#f-reason", "Đọc nhầm phiếu hộ HU-001")
    with page.expect_navigation():
        page.click("form[action*='/count/save'] button[type=submit]")
    assert "sửa 1" in page.inner_text("main") and page.inner_text("[data-tally=yes]") == "39"

    # Closed: the page shows the result and takes nothing more.
    page.goto(f"/deliberation/{w['counting']}")
    with page.expect_navigation():
        page.click("form[action$='/close_count'] button[type=submit]")
    page.goto(f"/deliberation/{w['counting']}/count")
    assert page.locator("#count-closed").count() == 1
    assert page.locator("input[type=radio]:enabled").count() == 0
    _check(page, "ballot count, closed")


def test_the_count_works_with_javascript_off(new_page):
    w = _world()
    page = new_page(js=False, **PHONE_390)
    log_in(page, w["phone"])
    page.goto(f"/deliberation/{w['counting']}/count?q=HU-06")
    assert page.locator("#count-list li").count() == 3  # HU-060, HU-061, HU-062: searched on the server
    page.locator("#count-list li >> nth=0").locator("input[value=abstain]").check()
    page.click("form[action*='/count/save'] button[type=submit]")
    page.wait_for_load_state()
    assert "Đã lưu: nhập 1 phiếu" in page.inner_text("main") and "q=HU-06" in page.url


def test_several_deliveries_from_the_desk_table_at_390_px(new_page):
    w = _world()
    page = new_page(js=True, **PHONE_390)
    log_in(page, w["phone"])
    page.goto(f"/do/{w['work']}")
    _check(page, "deliveries table")
    height = page.locator("table.batch th[scope=row] a.code").first.bounding_box()["height"]
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('table.batch td')).lineHeight)"
                         " || 24")
    assert height < 2 * line, "the household code wraps"
    amounts = page.locator("table.batch input[name^=amount_]")
    amounts.nth(0).fill("nhiều")
    amounts.nth(1).fill("500.000")
    page.fill("#f-deliver-evidence", "Phiếu thu số 12, 13")
    with page.expect_navigation() as sent:
        page.click("form[action*='/deliver'] button[type=submit]")
    assert sent.value.status == 422
    _check(page, "deliveries table with errors")
    with unit_of_work() as db:
        assert db.execute(select(Delivery)).first() is None
    page.locator("table.batch input[name^=amount_]").nth(0).fill("200.000")
    with page.expect_navigation():
        page.click("form[action*='/deliver'] button[type=submit]")
    assert "Đã ghi nhận 2 lần bàn giao." in page.inner_text("main")
    assert "Phiếu thu số 12, 13" in page.inner_text("main")  # the latest deliveries, with their evidence
    _check(page, "deliveries table, saved")
    with unit_of_work() as db:
        assert sorted(d.money for d in db.execute(select(Delivery)).scalars()) == [200000, 500000]
