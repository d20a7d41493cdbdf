"""Long pages on a 390 px phone, on the demo commune (what `civic seed-demo` loads): the status page of the
demo's busiest item in Dân làm (most pledges and deliveries) fits in six screens with its timeline folded,
its "see all" and paging links work without JavaScript, and "my activity" (signed in and out) has zero axe
violations and never scrolls sideways."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import text

from civic.db import unit_of_work
from tests import fuzz_support as fz
from tests.browser.conftest import PHONE_390
from tests.browser.test_accessibility import violations_report

pytestmark = [pytest.mark.browser, pytest.mark.pages]
_axe = Axe()

SCREEN = PHONE_390["viewport"]["height"]  # 844 px


def _seed_demo() -> str:
    """Load the demo (built once for the test run: the command itself is tested in
    tests/test_cli_commands.py) and name its busiest item in Dân làm."""
    fz.load_demo()
    with unit_of_work() as db:
        return db.execute(text(
            "SELECT i.code FROM item i JOIN audit_event e ON e.item_id = i.id WHERE i.stage = 'do' "
            "AND e.action IN ('pledge_added', 'delivery_recorded') GROUP BY i.code "
            "ORDER BY count(*) DESC LIMIT 1")).scalar_one()


def _clean(page, what: str) -> None:
    results = _axe.run(page).response
    assert not results["violations"], f"axe on {what} ({page.url}):\n{violations_report(results)}"
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, "
                                  "document.documentElement.clientWidth]")
    assert scroll <= inner, f"{what} is {scroll} px wide on a {inner} px screen"


def _height(page) -> int:
    return page.evaluate("document.documentElement.scrollHeight")


def test_the_busiest_demo_item_fits_in_six_screens_and_its_timeline_pages(new_page):
    code = _seed_demo()
    page = new_page(js=False, **PHONE_390)
    page.goto(f"/items/{code}")
    height = _height(page)
    print(f"{code}: {height} px at 390x844 ({height / SCREEN:.1f} screens)")
    assert height <= 6 * SCREEN, f"{code} is {height} px tall: more than six screens of {SCREEN} px"
    history = page.locator("#history ~ ol.timeline")
    pledges = history.locator("li", has_text=re.compile(r"\d+ hộ đã đăng ký đóng góp"))
    assert pledges.count() == 1, history.inner_text()

    # "xem tất cả" opens every event one by one, without JavaScript; the short timeline is one link away.
    pledges.get_by_role("link", name="xem tất cả").click()
    page.wait_for_url(re.compile(r"events=all"))
    lines = page.locator("#history ~ ol.timeline > li")
    assert lines.count() == 50
    assert lines.filter(has_text="đã ghi nhận đăng ký đóng góp").count() >= 20
    page.get_by_role("link", name=re.compile("Các sự kiện trước đó")).click()
    page.wait_for_url(re.compile(r"events=all&before=\d+"))
    assert page.locator("#history ~ ol.timeline > li").count() >= 1
    page.get_by_role("link", name="Về dòng thời gian rút gọn").click()
    page.wait_for_url(re.compile(rf"/items/{code}\?#history$|/items/{code}\??$|/items/{code}#history$"))
    assert page.locator("#history ~ ol.timeline li", has_text=re.compile(r"\d+ hộ đã đăng ký")).count() == 1

    # The folded page and the full list are accessible, in both languages.
    checker = new_page(js=True, **PHONE_390)
    for lang in ("vi", "en"):
        for query in ("", "&events=all"):
            checker.goto(f"/items/{code}?lang={lang}{query}")
            _clean(checker, f"status page{query or ' (folded)'} in {lang}")
    print(f"{code} in English: {_height(checker)} px with every event")


def test_my_activity_signed_out_and_signed_in_is_accessible(new_page):
    _seed_demo()
    page = new_page(js=True, **PHONE_390)
    for lang in ("vi", "en"):
        page.goto(f"/me/activity?lang={lang}")
        assert page.locator("main a[href^='/login']").count() >= 1
        _clean(page, f"my activity signed out ({lang})")
    page.goto("/lang/vi?next=/")
    page.goto("/login")
    page.fill("#f-phone", "0900000001")
    page.fill("#f-password", "demo-resident")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    page.locator("header nav a[href='/me/activity']").click()
    page.wait_for_url(re.compile(r"/me/activity$"))
    assert page.locator("main .card").count() >= 1, page.locator("main").inner_text()
    for lang in ("vi", "en"):
        page.goto(f"/me/activity?lang={lang}")
        _clean(page, f"my activity signed in ({lang})")
    print(f"my activity of the demo resident: {page.locator('main .card').count()} items, {_height(page)} px")
