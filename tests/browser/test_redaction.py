"""Redaction in Chromium on a 390 px phone: the village head takes a neighbour's name and phone number out
of an item's text (JavaScript off), the public page shows the redacted text with its mark and reason, the
staff still read the original; every state of the pages has zero axe violations and fits the screen."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import PHONE_390
from tests.browser.pages import ERRORS_ANNOUNCED_JS, log_in
from tests.browser.test_accessibility import violations_report
from tests.builders import setup_item, setup_world

pytestmark = pytest.mark.browser

_axe = Axe()
ORIGINAL = "Ông Nguyễn Văn Bảy, số 0912 345 678, lấn đất ngõ 3 nhà bà Tư, đề nghị thôn giải quyết."


def _fits_and_passes_axe(page, what: str) -> None:
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, "
                                  "document.documentElement.clientWidth]")
    assert scroll <= inner, f"{what} is {scroll} px wide on a {inner} px screen"
    results = _axe.run(page).response
    assert not results["violations"], f"axe on {what} ({page.url}):\n{violations_report(results)}"


def test_the_village_head_redacts_an_item_on_a_phone(new_page):
    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know", title="Ông Bảy lấn đất ngõ 3", description=ORIGINAL)
    untriaged = setup_item(commune, a, cat, title="Tranh chấp đất ngõ 5", description=ORIGINAL)

    head = new_page(js=False, **PHONE_390)
    log_in(head, users["village_head"].phone)
    head.goto(f"/items/{item.code}")
    head.get_by_role("link", name="Che thông tin cá nhân").click()
    head.wait_for_url(f"**/redact/{item.code}")
    assert "Nguyễn Văn Bảy" in head.locator("#original + p + .prose").inner_text()
    head.fill("#f-title", "Tranh chấp đất ngõ 3")
    head.fill("#f-description", "Một hộ [đã che] lấn đất ngõ 3, đề nghị thôn giải quyết.")
    head.fill("#f-reason", "Bỏ họ tên và số điện thoại của người dân.")
    head.click("form[action$='/redact/" + item.code + "'] button[type=submit]")
    head.wait_for_url(f"**/items/{item.code}")
    assert "Đã che thông tin cá nhân" in head.locator(".flash").inner_text()
    head.locator("details.box-private summary").click()
    assert "Nguyễn Văn Bảy" in head.locator("details.box-private").inner_text()  # staff keep the original

    resident = new_page(js=False, **PHONE_390)
    resident.goto(f"/items/{item.code}")
    main = resident.locator("main").inner_text()
    assert "Tranh chấp đất ngõ 3" in main and "[đã che]" in main
    assert "Bỏ họ tên và số điện thoại của người dân." in main
    assert "Nguyễn Văn Bảy" not in resident.content() and "0912 345 678" not in resident.content()
    resident.goto(f"/items/{untriaged.code}")
    assert "Tranh chấp đất ngõ 5" in resident.locator("h1").inner_text()
    assert "Nguyễn Văn Bảy" not in resident.content()
    assert "chỉ tiêu đề và tên thôn được công khai" in resident.locator("main").inner_text()

    # Every state again with JavaScript on (axe runs in the page), in both languages.
    for locale in ("vi", "en"):
        staff = new_page(js=True, **PHONE_390)
        if locale == "en":
            staff.goto("/lang/en?next=/")
        log_in(staff, users["village_head"].phone)
        staff.goto(f"/redact/{item.code}")
        _fits_and_passes_axe(staff, f"the redaction form ({locale})")
        staff.fill("#f-reason", "")
        staff.evaluate("document.querySelector('#f-reason').removeAttribute('required')")
        staff.click("form[action$='/redact/" + item.code + "'] button[type=submit]")
        staff.wait_for_load_state()
        assert staff.locator("#f-reason-error").is_visible()  # the server's refusal, not the browser's
        assert staff.locator("#form-errors").get_attribute("role") == "alert"
        assert not staff.evaluate(ERRORS_ANNOUNCED_JS)
        _fits_and_passes_axe(staff, f"the redaction form with an error ({locale})")
        staff.goto(f"/items/{item.code}")
        _fits_and_passes_axe(staff, f"the staff status page of a redacted item ({locale})")
        public = new_page(js=True, **PHONE_390)
        if locale == "en":
            public.goto("/lang/en?next=/")
        public.goto(f"/items/{item.code}")
        _fits_and_passes_axe(public, f"the public page of a redacted item ({locale})")
        public.goto(f"/items/{untriaged.code}")
        _fits_and_passes_axe(public, f"the public page of an item not yet triaged ({locale})")
