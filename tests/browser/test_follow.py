"""Following an item without an account, in Chromium on a 390 px phone (JavaScript on and off): the status
page's "Theo dõi" button, a phone number, the 6-digit code read from the SMS the worker handed to the local
SMS gateway (a server implementing the Android SMS-gateway app's documented REST API), then the item's
next stage arriving as an SMS to that phone.

The server and `civic worker --once` run as their own processes with the gateway configured, on a clock
moved to 10:00 in Vietnam, so no SMS waits for the morning whatever hour the test runs at.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from civic import clock
from civic.accounts.models import User
from civic.config import get_settings
from civic.db import unit_of_work
from civic.items.models import Item
from tests.browser.conftest import PHONE_390, TIMEOUT_MS, _free_port, running_server
from tests.browser.test_accessibility import violations_report
from tests.builders import make_item, move, viewer, world
from tests.notify.servers import android_gateway

pytestmark = pytest.mark.browser
_axe = Axe()

PHONE = "0912 000 111"
GATEWAY_ENV = {"CIVIC_SMS_GATEWAY_URL": "", "CIVIC_SMS_GATEWAY_PASSWORD": "gw-pass"}


def _daytime_offset() -> timedelta:
    """How far to move the clock so that it reads 10:00 in Vietnam (the next one to come)."""
    now = datetime.now(clock.LOCAL_TZ)
    target = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return target - now


@pytest.fixture
def gateway_site(browser):
    """A live server and a worker command that send SMS through a local gateway; the messages it got."""
    var = Path(os.environ["CIVIC_VAR_DIR"])
    clock_file = var / "follow-clock-offset"
    clock_file.write_text(str(_daytime_offset().total_seconds()))
    with android_gateway() as stub:
        env = {**GATEWAY_ENV, "CIVIC_SMS_GATEWAY_URL": stub.url, "CIVIC_TEST_CLOCK_FILE": str(clock_file)}
        port = _free_port()
        with running_server(port, var / f"uvicorn-follow-{port}.log", **env) as server:

            def deliver() -> None:
                command = Path(sys.executable).parent / "civic"
                done = subprocess.run([str(command), "worker", "--once"], env={**os.environ, **env},
                                      capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, done.stderr

            yield server, stub, deliver


def sms_to(stub, number: str) -> list[str]:
    return [s.json()["message"] for s in stub.seen if number in s.json().get("phoneNumbers", [])]


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
def test_a_visitor_follows_by_phone_with_the_code_from_the_sms_and_hears_of_the_next_stage(
        browser, gateway_site, monkeypatch, js):
    server, stub, deliver = gateway_site
    with unit_of_work(write=True) as db:
        commune, village, _, cat, users = world(db)
        item = make_item(db, commune, village, cat)
        code, item_id, head_id = item.code, item.id, users["village_head"].id

    ctx = browser.new_context(base_url=server.url, locale="vi-VN", java_script_enabled=js, **PHONE_390)
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    try:
        page.goto(f"/items/{code}")
        page.get_by_role("button", name="Theo dõi").click()
        page.wait_for_url(re.compile(rf".*/items/{code}/follow\??$"))  # a GET form without fields adds "?"
        if js:
            results = _axe.run(page).response
            assert not results["violations"], violations_report(results)
        sms_form = page.locator("form:has(input[name=channel][value=sms])")
        sms_form.locator("input[name=phone]").fill(PHONE)
        sms_form.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/follow/\d+/code$"))
        if js:
            results = _axe.run(page).response
            assert not results["violations"], violations_report(results)

        deliver()
        [text] = sms_to(stub, "+84912000111")
        secret = re.search(r"\b(\d{6})\b", text).group(1)
        page.locator("input[name=code]").fill(secret)
        page.get_by_role("button", name="Bắt đầu theo dõi").click()
        page.wait_for_url(f"**/items/{code}")

        # The village head accepts the item, in this process: configured and timed as the server is.
        monkeypatch.setattr(get_settings(), "sms_gateway_url", stub.url)
        monkeypatch.setattr(get_settings(), "sms_gateway_password", GATEWAY_ENV["CIVIC_SMS_GATEWAY_PASSWORD"])
        clock.advance(_daytime_offset())
        with unit_of_work(write=True) as db:
            move(db, db.get(Item, item_id), "accept", viewer(db, db.get(User, head_id)))
        deliver()
        texts = sms_to(stub, "+84912000111")
        assert len(texts) == 2, texts
        assert code in texts[1] and "TU CHOI" in texts[1]
        assert "Dân biết" in texts[1] or "dân biết" in texts[1].lower(), texts[1]
    finally:
        clock.reset()
        ctx.close()
