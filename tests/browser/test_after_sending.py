"""After sending, in Chromium at 390 px with JavaScript on and off: Back and Send again gives one item; the
resident adds a photo through the manage link; the new page states have zero axe violations."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import func, select

from civic.db import unit_of_work
from civic.items.models import Item, ItemAddition
from civic.media.models import Attachment
from tests.browser.conftest import PHONE_390
from tests.browser.pages import ERRORS_ANNOUNCED_JS
from tests.browser.test_accessibility import violations_report
from tests.browser.test_journeys import build, fill_item_form, fits_the_screen
from tests.builders import photo_bytes

pytestmark = pytest.mark.browser

_axe = Axe()
CODE = re.compile(r"/submitted/(NS-\d{4}-\d{4})$")


def items_sent() -> list[str]:
    with unit_of_work() as db:
        return list(db.execute(select(Item.code).order_by(Item.id)).scalars())


def no_axe_violations(page, what: str) -> None:
    results = _axe.run(page).response
    assert not results["violations"], f"axe on {what} ({page.url}):\n{violations_report(results)}"
    fits_the_screen(page)


def send(page, w, **form) -> str:
    page.goto("/submit")
    fill_item_form(page, w, **form)
    page.fill("#f-contact_phone", "0912 345 678")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(CODE)
    return CODE.search(page.url).group(1)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_back_and_send_again_gives_one_item(new_page, js):
    w = build()
    page = new_page(js=js, **PHONE_390)
    code = send(page, w)
    page.go_back()
    page.wait_for_selector("form[action='/submit']")
    if not page.input_value("#f-title"):  # the browser drew the form afresh: the resident types it again
        fill_item_form(page, w)
        page.fill("#f-contact_phone", "0912 345 678")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(CODE)
    assert CODE.search(page.url).group(1) == code
    assert items_sent() == [code]
    # And once more after a reload of the form.
    page.goto("/submit")
    page.reload()
    fill_item_form(page, w)
    page.fill("#f-contact_phone", "0912 345 678")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(CODE)
    assert CODE.search(page.url).group(1) == code and items_sent() == [code]
    # Another text is another item.
    other = send(page, w, title="Đèn đường ngõ 3 không sáng",
                 description="Đèn tắt từ đầu tháng, ngõ rất tối.")
    assert other != code and items_sent() == [code, other]


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_the_resident_adds_a_photo_after_sending_through_the_manage_link(new_page, js):
    w = build()
    page = new_page(js=js, **PHONE_390)
    code = send(page, w)
    if js:
        no_axe_violations(page, "the receipt page")
    assert page.locator("svg.qr").count() == 1
    assert page.locator("#share-zalo").is_visible()
    assert page.locator("#copy-code").is_visible() is js  # without JavaScript the code is selectable text
    page.locator("section.box-private a").click()
    page.wait_for_url(re.compile(r"/m/[A-Za-z0-9_-]+$"))
    manage = page.url
    page.fill("#f-add-body", "Đoạn ngõ 4 cũng đã tắc, ảnh chụp sáng nay.")
    page.set_input_files("#f-photos", [{"name": "IMG_5001.jpg", "mimeType": "image/jpeg",
                                        "buffer": photo_bytes((2400, 1800), gps=True)}])
    page.click(f"form[action='/items/{code}/add'] button[type=submit]")
    page.wait_for_url(manage)
    page.wait_for_selector(".additions .gallery img")
    assert "Đoạn ngõ 4 cũng đã tắc" in page.locator(".additions").inner_text()
    with unit_of_work() as db:
        addition = db.execute(select(ItemAddition)).scalar_one()
        owned = db.execute(select(func.count()).select_from(Attachment).where(
            Attachment.owner_kind == "addition", Attachment.owner_id == addition.id)).scalar_one()
    assert owned == 1
    if js:
        no_axe_violations(page, "the manage page with an addition")
    # An empty addition is refused, announced, and nothing is added.
    page.fill("#f-add-body", "")
    page.click(f"form[action='/items/{code}/add'] button[type=submit]")
    page.wait_for_selector("#f-add-body-error")
    refused = page.locator("#f-add-body-error").inner_text()
    assert "Vui lòng viết nội dung hoặc chọn ảnh để bổ sung." in refused
    assert not page.evaluate(ERRORS_ANNOUNCED_JS)
    if js:
        no_axe_violations(page, "the manage page with a refused addition")
    # The public status page shows the dated addition with its photo.
    page.goto(f"/items/{code}")
    assert "Bổ sung sau khi gửi" in page.locator("#additions-h").inner_text()
    assert page.locator(".additions .gallery img").count() == 1


def test_the_proposal_fields_follow_the_choice_and_are_shown_without_javascript(new_page):
    w = build()
    page = new_page(js=True, **PHONE_390)
    page.goto("/submit")
    assert page.locator("#asks").is_hidden()
    page.check("input[name=kind][value=proposal]")
    assert page.locator("#asks").is_visible()
    no_axe_violations(page, "the submit form, proposal chosen")
    plain = new_page(js=False, **PHONE_390)
    plain.goto("/submit")
    assert plain.locator("#asks").is_visible()
    assert "Với đề xuất" in plain.locator("#asks legend").inner_text()
    fill_item_form(plain, w, kind="proposal", title="Bê tông hoá ngõ 5",
                   description="Làm đường bê tông 120 m.")
    plain.fill("#f-money_amount", "1.500.000")
    plain.fill("#f-labour_quantity", "3")
    plain.fill("#f-contact_phone", "0912 345 678")
    plain.click("form[action='/submit'] button[type=submit]")
    plain.wait_for_url(CODE)
    plain.goto(f"/items/{CODE.search(plain.url).group(1)}")
    asks = plain.locator("#asks-h + ul").inner_text()
    assert "1.500.000 đồng" in asks and "3 ngày công lao động" in asks
