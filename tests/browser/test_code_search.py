"""A resident on a 390 px phone finds an item by its code, whole or in part ("0002", "ns 2026 2"), from the
list's search box, with JavaScript on and off; the result page has zero axe violations."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from civic import clock
from tests.browser.conftest import PHONE_390
from tests.browser.test_accessibility import violations_report
from tests.builders import setup_item, setup_world

pytestmark = pytest.mark.browser

_axe = Axe()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_resident_finds_an_item_by_part_of_its_code(new_page, js):
    commune, a, _b, cat, _users = setup_world()
    made = [setup_item(commune, a, cat, stage="know", title=f"Việc số {n}") for n in range(1, 13)]
    wanted = made[1]  # …-0002
    year = clock.today_local().year
    assert wanted.code == f"{commune.code}-{year}-0002"
    page = new_page(js=js, **PHONE_390)
    for typed in ("0002", f"{commune.code.lower()} {year} 2", wanted.code):
        page.goto("/items")
        page.fill("#q", typed)
        page.locator("form[role=search] button[type=submit]").click()
        page.wait_for_url("**/items?**")
        assert page.locator("main .card-title").first.inner_text() == "Việc số 2", typed
        assert wanted.code in page.locator("main li").first.inner_text(), typed
        assert "Việc số 12" not in page.locator("main").inner_text(), typed  # 0012 is not 0002
    if js:
        results = _axe.run(page).response
        assert not results["violations"], violations_report(results)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, "
                                  "document.documentElement.clientWidth]")
    assert scroll <= inner
