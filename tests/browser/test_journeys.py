"""The core loop in a real browser: a resident on a 360 px phone with JavaScript off submits and follows an
item, a village head triages it, a resident with an account finds it under "my items"; and one journey
with JavaScript on."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import PASSWORD, world

pytestmark = pytest.mark.browser

CODE = re.compile(r"NS-\d{4}-\d{4}")
MOTTOS = ["Dân biết", "Dân bàn", "Dân làm", "Dân kiểm tra"]
PHONE_TYPED = "0912 345 678"
PHONE_STORED = "0912345678"


def build() -> dict:
    with unit_of_work(write=True) as db:
        _commune, a, _b, cat, users = world(db)
        return {"village": a.name, "category": cat.name_vi, "category_en": cat.name_en,
                "village_head": users["village_head"].phone,
                "village_head_name": users["village_head"].display_name}


def item_count() -> int:
    with unit_of_work() as db:
        return db.execute(select(func.count()).select_from(Item)).scalar_one()


def fits_the_screen(page) -> None:
    """One column: nothing wider than the phone, so the page never scrolls sideways."""
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll} px wide on a {inner} px screen"


def fill_item_form(page, w, *, kind="concern", title="Cống bị tắc trước nhà văn hoá",
                   description="Nước tràn lên đường sau mưa lớn, xe máy đi qua rất nguy hiểm.") -> None:
    page.check(f"input[name=kind][value={kind}]")
    page.select_option("#f-village_id", label=w["village"])
    vietnamese = page.locator("html").get_attribute("lang") == "vi"
    page.select_option("#f-category_id", label=w["category"] if vietnamese else w["category_en"])
    page.fill("#f-title", title)
    page.fill("#f-description", description)


def strip_steps(page) -> list[str]:
    return [t.strip() for t in page.locator("ol.strip .step-name").all_inner_texts()]


def log_in_through_the_form(page, phone: str) -> None:
    page.goto("/")
    page.locator("header nav a[href^='/login']").click()
    page.wait_for_url(re.compile(r"/login"))
    page.fill("#f-phone", phone)
    page.fill("#f-password", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("main").inner_text()


def test_resident_without_account_submits_follows_and_village_head_accepts(phone, other_phone):
    w = build()
    page = phone

    # Home, on a 360 px phone with JavaScript off.
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "vi"
    fits_the_screen(page)
    page.locator("main").get_by_role("link", name="Gửi phản ánh / kiến nghị", exact=True).click()
    page.wait_for_url(re.compile(r"/submit$"))
    fits_the_screen(page)

    # Not logged in: the form asks for a phone number, which is required.
    assert page.locator("#f-contact_phone").get_attribute("required") is not None
    fill_item_form(page, w, kind="proposal")
    page.fill("#f-contact_phone", PHONE_TYPED)
    page.locator("form[action='/submit'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/submitted/NS-"))
    fits_the_screen(page)

    # The answer: the public code, the status link, and the private manage link.
    code = page.locator("main strong.code").inner_text().strip()
    assert CODE.fullmatch(code), code
    assert page.locator(f"main a[href='/items/{code}']").count() >= 1
    manage = page.locator("main .secret a")
    assert manage.count() == 1
    manage_url = manage.get_attribute("href")
    assert "/m/" in manage_url
    assert page.locator(".flash").count() == 1  # "thank you, received as …"

    # Later: the track box on home takes the code as typed, in lower case with spaces.
    page.goto("/")
    page.fill("#track-code", code.lower().replace("-", " "))
    page.locator("form.track button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/items/{code}$"))
    fits_the_screen(page)
    assert page.locator("h1").inner_text().strip() == "Cống bị tắc trước nhà văn hoá"
    assert strip_steps(page) == MOTTOS
    assert page.locator("ol.strip [aria-current]").count() == 0, "no stage is current before triage"
    assert page.locator(".strip-note").count() == 1  # awaiting triage
    assert page.locator(".stage-now .badge-submitted").inner_text().strip() == "Chờ tiếp nhận"
    html = page.content()
    assert PHONE_STORED not in html and PHONE_TYPED not in html, "the reporter's phone is on the public page"

    # The manage link shows the author their own contact, privately.
    page.goto(manage_url)
    assert PHONE_STORED in page.locator("main").inner_text()

    # The village head logs in through the form, finds the item in the triage queue and accepts it.
    sec = other_phone
    log_in_through_the_form(sec, w["village_head"])
    sec.locator("header nav a[href='/triage']").click()
    sec.wait_for_url(re.compile(r"/triage$"))
    fits_the_screen(sec)
    card = sec.locator(".card", has_text=code)
    assert card.count() == 1
    card.locator("a.card-title").click()
    sec.wait_for_url(re.compile(rf"/triage/{code}$"))
    fits_the_screen(sec)
    assert PHONE_STORED in sec.locator(".box-private").inner_text(), "the village head sees the contact"
    sec.locator(f"form[action='/triage/{code}/accept'] button[type=submit]").click()
    sec.wait_for_url(re.compile(rf"/triage/{code}$"))  # the item again, with its next step
    assert code in sec.locator(".flash").inner_text()
    assert sec.locator(".next-step").count() == 1
    sec.goto("/triage")
    assert sec.locator(".card", has_text=code).count() == 0, "an accepted item left the queue"

    # The resident reloads the status page: Dân biết is now the current step.
    page.goto(f"/items/{code}")
    current = page.locator("ol.strip li[aria-current='step']")
    assert current.count() == 1
    assert current.locator(".step-name").inner_text().strip() == "Dân biết"
    assert page.locator(".strip-note").count() == 0
    assert w["village_head_name"] in page.locator(".timeline").inner_text()
    html = page.content()
    assert PHONE_STORED not in html and PHONE_TYPED not in html


def test_resident_with_account_submits_and_finds_it_in_my_items(phone):
    w = build()
    page = phone
    page.goto("/register")
    page.fill("#f-display_name", "Nguyễn Thị Hoa")
    page.fill("#f-phone", "0987 654 321")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password_again", PASSWORD)
    page.locator("form[action='/register'] button[type=submit]").click()
    page.wait_for_load_state()
    # The answer is the same for a taken phone number, so a new account is not logged in: log in now.
    assert "/login" in page.url, page.locator("main").inner_text()
    page.fill("#f-phone", "0987 654 321")
    page.fill("#f-password", PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.locator("main").inner_text()
    assert page.locator("header nav a[href='/me/activity']").count() == 1

    page.locator("main a[href='/submit']").first.click()
    page.wait_for_url(re.compile(r"/submit$"))
    assert page.locator("#f-contact_phone").count() == 0, "a logged-in resident is not asked for a phone"
    fill_item_form(page, w, kind="recommendation", title="Lắp thêm đèn ở ngõ 5",
                   description="Ngõ 5 tối, trẻ em đi học về muộn không an toàn.")
    page.locator("form[action='/submit'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/submitted/NS-"))
    code = page.locator("main strong.code").inner_text().strip()
    assert CODE.fullmatch(code)
    assert page.locator("main .secret").count() == 0, "no manage link is needed with an account"

    page.locator("header nav a[href='/me/activity']").click()
    page.wait_for_url(re.compile(r"/me/activity$"))
    fits_the_screen(page)
    card = page.locator(".card", has_text=code)
    assert card.count() == 1
    assert "Lắp thêm đèn ở ngõ 5" in card.inner_text()
    card.locator("a.card-title").click()
    page.wait_for_url(re.compile(rf"/items/{code}$"))
    assert "0987654321" not in page.content()


def test_with_javascript_in_english_sending_a_form_twice_files_one_item(phone_js):
    w = build()
    page = phone_js
    page.goto("/")
    page.locator("header nav a[hreflang='en']").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    fits_the_screen(page)

    page.goto("/submit")
    assert page.locator("html").get_attribute("lang") == "en", "the language choice sticks"
    fill_item_form(page, w)
    page.fill("#f-contact_phone", PHONE_TYPED)
    # On 3G the first answer is lost: the server saved the item, the phone never heard back. The form was
    # kept on the phone (static/offline.js), which sends it again with the same client token.
    answers = []

    def lose_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        answers.append(response.status)
        if len(answers) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/submit", lose_the_first_answer)
    page.locator("form[action='/submit'] button[type=submit]").click()
    page.locator(".outbox-note").wait_for()
    assert answers == [303] and page.url.endswith("/submit"), (answers, page.url)
    assert page.locator("#outbox li").count() == 1, "the form is not listed as waiting on the phone"
    page.reload()  # any page load sends what waits (if the worker has not already)
    sent = page.locator("#outbox li[data-state=sent] a.code")
    sent.wait_for()
    page.unroute("**/submit")
    # Sent again by the page ([303, 303]) or by the service worker through Background Sync, which the
    # route does not see ([303]): either way with the same client token.
    assert answers in ([303], [303, 303]), answers
    code = CODE.search(sent.inner_text()).group(0)
    assert item_count() == 1, "sending the same form twice created two items"
    sent.click()
    page.wait_for_url(re.compile(rf"/submitted/{code}$"))
    assert page.locator("main strong.code").inner_text().strip() == code

    page.locator(f"main a.button[href='/items/{code}']").click()
    page.wait_for_url(re.compile(rf"/items/{code}$"))
    fits_the_screen(page)
    assert strip_steps(page) == MOTTOS  # the Vietnamese names stay, with English beside them
    assert page.locator("ol.strip .step-en").count() == 4
    assert PHONE_STORED not in page.content()
    assert not [e for e in page.console_errors if "net::ERR_CONNECTION_RESET" not in e], page.console_errors
