"""A resident adds photos in a real browser: on a 390 px phone with JavaScript (the photo is shrunk in the
browser before it is sent) and on a 360 px phone without (the server does all the work)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from civic.db import unit_of_work
from civic.media.models import Attachment
from tests.browser.test_journeys import build, fill_item_form, fits_the_screen
from tests.builders import photo_bytes

pytestmark = pytest.mark.browser


def stored_attachments() -> list[Attachment]:
    with unit_of_work() as db:
        return list(db.execute(select(Attachment).order_by(Attachment.id)).scalars())


def submit_with_photo(page, w, photo: bytes) -> str:
    page.goto("/submit")
    fits_the_screen(page)
    fill_item_form(page, w)
    page.fill("#f-contact_phone", "0912 345 678")
    page.set_input_files("#f-photos", [{"name": "IMG_4032.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(re.compile(r"/submitted/NS-\d{4}-\d{4}"))
    return re.search(r"NS-\d{4}-\d{4}", page.url).group(0)


def check_status_page(page, code: str) -> None:
    page.goto(f"/items/{code}")
    fits_the_screen(page)
    thumb = page.locator(".gallery img").first
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert thumb.get_attribute("loading") == "lazy"
    assert (thumb.get_attribute("width"), thumb.get_attribute("height")) == ("240", "320")
    box = thumb.bounding_box()
    assert box["width"] > 100 and box["x"] + box["width"] <= page.viewport_size["width"]
    with page.expect_response(re.compile(r"/media/\d+/display-")) as info:
        thumb.click()
    assert info.value.status == 200 and info.value.headers["content-type"] == "image/webp"


def test_a_photo_is_shrunk_in_the_browser_and_shown_on_the_status_page(phone_js):
    w = build()
    # A portrait photo as phones store it: 4000 x 3000 pixels turned by EXIF, with a GPS position.
    photo = photo_bytes((4000, 3000), orientation=6, gps=True, quality=95)
    code = submit_with_photo(phone_js, w, photo)
    [att] = stored_attachments()
    assert att.source_bytes < len(photo) // 2, "the browser did not shrink the photo before sending it"
    assert (att.width, att.height) == (1200, 1600), "the photo is not upright or not at the display size"
    check_status_page(phone_js, code)
    assert not phone_js.console_errors, phone_js.console_errors


def test_without_javascript_the_original_goes_up_and_the_server_does_the_work(phone):
    w = build()
    photo = photo_bytes((4000, 3000), orientation=6, gps=True, quality=95)
    code = submit_with_photo(phone, w, photo)
    [att] = stored_attachments()
    assert att.source_bytes == len(photo)
    assert (att.width, att.height) == (1200, 1600)
    check_status_page(phone, code)


def test_a_refused_file_keeps_what_was_typed(phone_js):
    w = build()
    phone_js.goto("/submit")
    fill_item_form(phone_js, w, title="Ảnh giả mạo")
    phone_js.fill("#f-contact_phone", "0912 345 678")
    phone_js.set_input_files("#f-photos", [{"name": "virus.jpg", "mimeType": "image/jpeg",
                                            "buffer": b"MZ\x90\x00" + b"\x00" * 4000}])
    phone_js.click("form[action='/submit'] button[type=submit]")
    phone_js.wait_for_selector("#f-photos-error")
    assert "virus.jpg" in phone_js.locator("#f-photos-error").inner_text()
    assert phone_js.input_value("#f-title") == "Ảnh giả mạo"
    assert not stored_attachments()
