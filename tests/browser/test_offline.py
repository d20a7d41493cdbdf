"""Without signal, on a 390 px phone with JavaScript: status pages a resident opened stay readable as saved
copies with their date; a submission made without signal waits in the phone's outbox, is sent when the
signal returns, and becomes exactly one item however often it is sent; a deploy replaces the old service
worker cleanly."""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from civic import clock
from civic.db import unit_of_work
from civic.items.models import Item
from tests.browser.conftest import PHONE_390, TIMEOUT_MS, _free_port, running_server
from tests.browser.pages import log_in
from tests.builders import make_item, world

pytestmark = pytest.mark.browser

CODE = re.compile(r"NS-\d{4}-\d{4}")
NETWORK_NOISE = ("net::", "the server responded with a status of 422",
                 "An unknown error occurred when fetching the script")  # the worker cannot update offline


def build() -> dict:
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        know = make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng")
        return {"know": know.code, "village": a.name, "category": cat.name_vi,
                "phones": {role: u.phone for role, u in users.items()}}


def items() -> list[tuple[str, str]]:
    """The items residents sent (the world's own item is already in Dân biết)."""
    with unit_of_work() as db:
        return [tuple(r) for r in db.execute(select(Item.code, Item.title).where(Item.stage == "submitted")
                                             .order_by(Item.id))]


def controlled(page) -> None:
    """Wait until the service worker is active and controls this page (it claims open pages)."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => !!navigator.serviceWorker.controller")


def eventually(page, script: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Evaluate `script` (which may return a promise) until it is true."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"never true: {script}"
        page.wait_for_timeout(100)


# The left border style of the saved-copy notice: "solid" when the stylesheet was loaded.
BORDER_JS = "getComputedStyle(document.querySelector('.saved-copy')).borderLeftStyle"


def saved_urls(page) -> list[str]:
    return page.evaluate("caches.open('civic-pages').then(c => c.keys())"
                         ".then(k => k.map(r => new URL(r.url).pathname))")


def fill(page, w, title: str) -> None:
    page.check("input[name=kind][value=concern]")
    page.select_option("#f-village_id", label=w["village"])
    page.select_option("#f-category_id", label=w["category"])
    page.fill("#f-title", title)
    page.fill("#f-description", "Mất sóng giữa chừng khi gửi.")
    page.fill("#f-contact_phone", "0912345679")


def real_errors(page) -> list[str]:
    return [e for e in page.console_errors if not any(n in e for n in NETWORK_NOISE)]


@pytest.fixture
def phone(phone_js):
    yield phone_js
    assert not real_errors(phone_js), phone_js.console_errors


def test_a_status_page_opened_once_stays_readable_offline_as_a_dated_saved_copy(phone, new_page):
    w = build()
    page = phone
    page.goto(f"/items/{w['know']}")
    controlled(page)
    page.reload()  # now through the worker, which keeps a copy
    eventually(page, f"caches.open('civic-pages').then(c => c.match('/items/{w['know']}')).then(Boolean)")
    assert page.locator(".saved-copy").count() == 0, "online, the page is live, not a saved copy"

    page.context.set_offline(True)
    page.goto(f"/items/{w['know']}")
    note = page.locator("main .saved-copy")
    assert note.count() == 1
    text = note.inner_text()
    assert text.startswith("Bản lưu"), text
    year = str(clock.now().astimezone(clock.LOCAL_TZ).year)
    assert re.search(r"\d{1,2}:\d{2}", text) and year in text, f"no date and time in {text!r}"
    assert page.locator("h1").inner_text().strip() == "Đèn đường ngõ ba không sáng"
    current = page.locator("ol.strip li[aria-current='step'] .step-name")
    assert current.inner_text().strip() == "Dân biết", "the saved copy shows the stage it was in"
    assert page.evaluate(BORDER_JS) == "solid", "the saved copy has no stylesheet offline"

    # A page never opened: the offline page, which lists what this phone kept.
    page.goto("/items?stage=do")
    assert page.locator("h1").inner_text().strip() == "Không có sóng"
    saved = page.locator("#saved-pages a")
    saved.first.wait_for()
    assert any(a.endswith(f"/items/{w['know']}") for a in saved.evaluate_all("els => els.map(e => e.href)"))
    page.context.set_offline(False)

    # Staff pages carry residents' contacts: a village head's phone keeps no copy.
    sec = new_page(js=True, **PHONE_390)
    log_in(sec, w["phones"]["village_head"])
    sec.goto(f"/items/{w['know']}")
    controlled(sec)
    sec.reload()
    sec.goto("/")
    assert saved_urls(sec) == [], "a staff member's pages were kept on the phone"



def test_logging_out_forgets_the_pages_kept_for_that_person(phone):
    w = build()
    page = phone
    log_in(page, w["phones"]["resident"])
    page.goto(f"/items/{w['know']}")
    controlled(page)
    page.reload()
    eventually(page, f"caches.open('civic-pages').then(c => c.match('/items/{w['know']}')).then(Boolean)")
    page.locator("header nav .more summary").click()  # "More" holds the account's links
    page.locator("form[action='/logout'] button").click()
    page.wait_for_load_state()
    eventually(page, f"caches.open('civic-pages').then(c => c.match('/items/{w['know']}')).then(r => !r)")
    assert f"/items/{w['know']}" not in saved_urls(page)

def test_a_submission_without_signal_waits_then_is_sent_once_and_shows_its_code(phone):
    w = build()
    page = phone
    page.goto("/submit")
    controlled(page)
    page.reload()
    eventually(page, "caches.open('civic-pages').then(c => c.match('/submit')).then(Boolean)")

    page.context.set_offline(True)
    page.goto("/submit")  # the saved form, with a note that it works offline
    assert page.locator(".saved-copy").count() == 1
    fill(page, w, "Cống tắc xóm Đông")
    page.click("form[action='/submit'] button[type=submit]")
    page.locator(".outbox-note").wait_for()
    waiting = page.locator("#outbox li[data-state=waiting]")
    assert waiting.count() == 1
    assert "Cống tắc xóm Đông" in waiting.inner_text() and "Đang chờ gửi" in waiting.inner_text()
    assert items() == [], "nothing reached the server without signal"
    assert page.locator("#f-title").input_value() == "", "the form is ready for the next one"

    # Offline, a second one: a new item, not the first one again.
    fill(page, w, "Đèn hỏng ngõ 7")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#outbox li[data-state=waiting]').length === 2")

    page.context.set_offline(False)  # the signal returns: the phone sends both by itself
    page.wait_for_function("() => document.querySelectorAll('#outbox li[data-state=sent]').length === 2",
                           timeout=TIMEOUT_MS)
    stored = items()
    assert [t for _c, t in stored] == ["Cống tắc xóm Đông", "Đèn hỏng ngõ 7"]
    shown = page.locator("#outbox li[data-state=sent] a.code").all_inner_texts()
    assert sorted(CODE.search(s).group(0) for s in shown) == sorted(c for c, _t in stored)

    # The code opens the answer page with the private manage link, as if it had been sent online.
    page.locator("#outbox li[data-state=sent] a.code").first.click()
    page.wait_for_url(re.compile(r"/submitted/NS-"))
    assert page.locator("main .secret a[href*='/m/']").count() == 1

    # Hidden once read; the next visit shows nothing waiting.
    page.goto("/")
    for left in (1, 0):  # each "Hide" redraws the list when it is stored: the next click waits for that
        page.locator("#outbox li button").first.click()
        page.wait_for_function(f"() => document.querySelectorAll('#outbox li').length === {left}")
    page.wait_for_function("() => document.getElementById('outbox').hidden")
    page.reload()
    assert page.locator("#outbox").is_hidden()



def test_with_every_page_closed_the_worker_sends_it_when_the_signal_returns(phone):
    w = build()
    page = phone
    page.goto("/submit")
    controlled(page)
    page.context.set_offline(True)
    fill(page, w, "Mương xóm Bắc bị vỡ")
    page.click("form[action='/submit'] button[type=submit]")
    note = page.locator(".outbox-note")
    note.wait_for()
    assert "có thể đóng trang này" in note.inner_text(), "the phone can send it in the background: say so"
    page.close()  # the resident puts the phone away

    page.context.set_offline(False)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not items():
        assert time.monotonic() < deadline, "the worker did not send what waited (Background Sync)"
        time.sleep(0.2)
    assert [t for _c, t in items()] == ["Mương xóm Bắc bị vỡ"]

    later = page.context.new_page()
    later.console_errors = []
    later.goto("/")
    sent = later.locator("#outbox li[data-state=sent] a.code")
    sent.wait_for()
    assert items()[0][0] in sent.inner_text(), "the phone shows the code the server gave"

def test_a_lost_answer_and_two_tabs_sending_the_same_outbox_make_one_item(new_page):
    w = build()
    # Playwright cannot intercept what a service worker sends; the outbox works the same without one.
    page = new_page(js=True, service_workers="block", **PHONE_390)
    page.goto("/submit")
    answers: list[int] = []

    def lose_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)  # the server creates the item …
        answers.append(response.status)
        if len(answers) == 1:
            route.abort("connectionreset")  # … and the phone never hears back
        else:
            route.fulfill(response=response)

    page.context.route("**/submit", lose_the_first_answer)
    fill(page, w, "Ổ gà đường liên thôn")
    page.click("form[action='/submit'] button[type=submit]")
    page.locator(".outbox-note").wait_for()  # "could not reach the server; kept on this phone"
    assert page.locator("#outbox li[data-state=waiting]").count() == 1
    assert answers == [303]
    assert len(items()) == 1, "the server had created the item"

    # A second tab opens while the entry waits: both tabs try to send it when the signal returns.
    other = page.context.new_page()
    other.console_errors = []
    other.goto("/items")
    page.context.set_offline(True)
    page.context.set_offline(False)
    for tab in (page, other):
        tab.wait_for_function("() => document.querySelectorAll('#outbox li[data-state=sent]').length === 1",
                              timeout=TIMEOUT_MS)
    stored = items()
    assert len(stored) == 1, f"one outbox entry became {len(stored)} items"
    code = stored[0][0]
    for tab in (page, other):
        assert code in tab.locator("#outbox li[data-state=sent]").inner_text(),\
            "the phone shows the real code"
    assert all(a == 303 for a in answers)
    page.context.unroute("**/submit")


def test_a_form_the_server_refuses_shows_its_errors_in_the_page(phone):
    """Online, the outbox sends at once; what the server refuses comes back as the form with its errors."""
    w = build()
    page = phone
    page.goto("/submit")
    fill(page, w, "Ảnh hỏng")
    page.fill("#f-contact_phone", "12")  # not a phone number
    page.click("form[action='/submit'] button[type=submit]")
    page.locator("#form-errors").wait_for()
    assert page.locator("#f-contact_phone[aria-invalid=true]").count() == 1
    assert page.locator("#f-title").input_value() == "Ảnh hỏng", "what was typed is kept"
    assert items() == []
    page.fill("#f-contact_phone", "0912345679")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(re.compile(r"/submitted/NS-"))
    assert len(items()) == 1
    assert page.locator("#outbox").is_hidden(), "a form sent online is not listed in the outbox"



def test_what_the_server_refuses_after_waiting_is_shown_with_its_reason_and_can_be_corrected(phone):
    w = build()
    page = phone
    page.goto("/submit")
    page.context.set_offline(True)
    fill(page, w, "Cầu tre bị gãy")
    page.fill("#f-contact_phone", "12")  # the phone cannot check this; the server will refuse it
    page.click("form[action='/submit'] button[type=submit]")
    page.locator(".outbox-note").wait_for()
    page.context.set_offline(False)
    refused = page.locator("#outbox li[data-state=refused]")
    refused.wait_for()
    assert "Chưa gửi được" in refused.inner_text()
    assert items() == []

    refused.get_by_role("link", name="Sửa và gửi lại").click()
    page.wait_for_url(re.compile(r"/submit\?outbox="))
    page.wait_for_function("() => document.querySelector('#f-title').value === 'Cầu tre bị gãy'")
    assert page.locator("#f-contact_phone").input_value() == "12"
    assert page.locator("input[name=kind][value=concern]").is_checked()
    page.fill("#f-contact_phone", "0912345679")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(re.compile(r"/submitted/NS-"))
    assert [t for _c, t in items()] == ["Cầu tre bị gãy"]
    page.goto("/")
    assert page.locator("#outbox").is_hidden(), "the corrected entry is no longer listed as refused"


# -- deploys ---------------------------------------------------------------------------------------------

@contextmanager
def server(port: int, release: str):
    """This deploy of the app on `port`: the same database, another CIVIC_RELEASE."""
    log = Path(os.environ["CIVIC_VAR_DIR"]) / f"deploy-{port}-{release}.log"
    with running_server(port, log, CIVIC_RELEASE=release):
        yield
    text = log.read_text()
    assert "Traceback" not in text and '" 500' not in text, text


VERSION_JS = """new Promise(resolve => {
  const ch = new MessageChannel();
  ch.port1.onmessage = e => resolve(e.data);
  navigator.serviceWorker.controller.postMessage('version', [ch.port2]);
})"""


def test_a_deploy_replaces_the_old_service_worker_and_keeps_saved_pages(browser):
    w = build()
    port = _free_port()
    ctx = browser.new_context(base_url=f"http://127.0.0.1:{port}", locale="vi-VN", **PHONE_390)
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        page = ctx.new_page()
        with server(port, "first"):
            page.goto(f"/items/{w['know']}")
            controlled(page)
            page.reload()
            eventually(page,
                       f"caches.open('civic-pages').then(c => c.match('/items/{w['know']}')).then(Boolean)")
            first = page.evaluate(VERSION_JS)
            assert sorted(page.evaluate("caches.keys()")) == sorted(["civic-static-" + first, "civic-pages"])
        with server(port, "second"):
            page.goto("/")  # the browser checks /sw.js on navigation and finds a new one
            second, deadline = first, time.monotonic() + TIMEOUT_MS / 1000
            while second == first and time.monotonic() < deadline:
                page.wait_for_timeout(200)
                second = page.evaluate(VERSION_JS)
            assert second != first, "the new worker did not take over"
            page.reload()  # a page load under the new worker
            page.wait_for_timeout(300)
            kept = sorted(page.evaluate("caches.keys()"))
            assert kept == sorted(["civic-static-" + second, "civic-pages"]),\
                "the old version's files were not removed"
            regs = page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)")
            assert regs == 1
        # The server is gone: the page saved under the old version is still there, with its styles.
        page.goto(f"/items/{w['know']}")
        assert page.locator("main .saved-copy").count() == 1
        assert page.evaluate(BORDER_JS) == "solid"
    finally:
        ctx.close()

