"""Several communes in one deployment, in Chromium on a 390 px phone (JavaScript on and off): the home page
becomes a commune picker whose search needs no diacritics, a click lands in the chosen commune's pages and
its links stay there; the operator's communes page. axe finds nothing on these pages (with JavaScript off
the HTML the phone received is checked in a JavaScript page), each under 30 KB."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from civic.db import unit_of_work
from tests.browser.conftest import PHONE_390
from tests.browser.pages import log_in
from tests.browser.test_accessibility import violations_report
from tests.builders import make_category, make_commune, make_item, make_user, make_village, world

pytestmark = pytest.mark.browser

PAGE_LIMIT = 30 * 1024
_axe = Axe()


def _communes() -> dict:
    with unit_of_work(write=True) as db:
        ns, *_ = world(db)
        operator = make_user(db, "operator", commune=ns, name="Sở Nội Vụ")
        tb = make_commune(db, "TB", "Tân Bình")
        village = make_village(db, tb, "Phú Lợi")
        item = make_item(db, tb, village, make_category(db, tb), stage="know",
                         title="Đèn đường hỏng ở Phú Lợi")
        make_commune(db, "DH", "Đông Hưng")
        return {"operator": operator.phone, "item": item.code}


def _check(page, new_page, name: str, js: bool) -> None:
    """axe on the page as the phone got it, and its size."""
    html = page.content()
    assert len(html.encode()) < PAGE_LIMIT, f"{name}: {len(html.encode())} bytes"
    target = page
    if not js:  # axe runs in JavaScript: load the same address in a JavaScript page
        target = new_page(js=True, **PHONE_390)
        target.goto(page.url)
    results = _axe.run(target).response
    assert not results["violations"], f"axe on {name} ({page.url}):\n{violations_report(results)}"


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_visitor_picks_a_commune_without_diacritics_and_stays_in_it(new_page, js):
    w = _communes()
    page = new_page(js=js, **PHONE_390)
    page.goto("/")
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.get_by_role("link", name="Tân Bình").count() == 1
    _check(page, new_page, "commune picker", js)

    page.fill("input[name=q]", "tan binh")
    page.locator("form[role=search] button[type=submit]").click()
    page.wait_for_url("**/?q=tan+binh")
    assert page.get_by_role("link", name="Tân Bình").count() == 1
    assert page.get_by_role("link", name="Đông Hưng").count() == 0
    _check(page, new_page, "commune picker, searched", js)

    page.get_by_role("link", name="Tân Bình").click()
    page.wait_for_url("**/c/TB/")
    _check(page, new_page, "a commune's home under its prefix", js)
    page.locator("nav a", has_text="Ý kiến").first.click()
    page.wait_for_url("**/c/TB/items")
    assert page.get_by_text("Đèn đường hỏng ở Phú Lợi").count() == 1
    page.get_by_role("link", name="Đèn đường hỏng ở Phú Lợi").click()
    page.wait_for_url(f"**/c/TB/items/{w['item']}")


def test_the_operator_sees_every_commune_on_its_page(new_page):
    w = _communes()
    page = new_page(js=True, **PHONE_390)
    log_in(page, w["operator"])
    page.goto("/admin/communes")
    for name in ("Nhạo Sơn", "Tân Bình", "Đông Hưng"):
        assert page.get_by_text(name).count() >= 1, name
    _check(page, new_page, "operator's communes page", True)
