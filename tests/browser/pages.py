"""The pages the browser tests open, and the world they open them in (a helper module, not tests)."""

from __future__ import annotations

import re

from civic.db import unit_of_work
from civic.workflow import service as workflow
from tests.builders import PASSWORD, make_item, viewer, world


def build() -> dict:
    """A commune with an item awaiting triage, one in Dân biết, and a rejected one whose author asked for
    a review."""
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        submitted = make_item(db, commune, a, cat, title="Cống bị tắc trước nhà văn hoá")
        know = make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng",
                         description="Ba bóng đèn hỏng.\nTối đi lại nguy hiểm.")
        rejected = make_item(db, commune, a, cat, stage="rejected", reporter=users["resident"],
                             title="Xin làm sân bóng mới")
        workflow.transition(db, rejected, "request_review", viewer(db, users["resident"]),
                            {"reason": "Thôn có đất công bỏ trống."}, is_author=True)
        return {"submitted": submitted.code, "know": know.code, "rejected": rejected.code,
                "manage": submitted._manage_token,
                "phones": {role: u.phone for role, u in users.items()}}


def log_in(page, phone: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#f-phone", phone)
    page.fill("#f-password", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"login as {phone} failed: {page.url}"


def _submit_empty(page, w):
    page.goto("/submit")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#form-errors").count() == 1, "the empty form was not re-rendered with its errors"


def _login_error(page, w):
    page.goto("/login")
    page.fill("#f-phone", w["phones"]["resident"])
    page.fill("#f-password", "wrong-password-1")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".flash-error").count() == 1, "a wrong password did not show an error"


def _register_errors(page, w):
    page.goto("/register")
    page.fill("#f-phone", "12")
    page.click("form[action='/register'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".error").count() >= 1, "the register form did not show its errors"


def _submitted(page, w):
    page.goto("/submit")
    page.check("input[name=kind][value=concern]")
    page.select_option("#f-village_id", index=1)
    page.select_option("#f-category_id", index=1)
    page.fill("#f-title", "Ổ gà trên đường liên thôn")
    page.fill("#f-description", "Ổ gà sâu, xe máy dễ ngã.")
    page.fill("#f-contact_phone", "0912345679")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(re.compile(r"/submitted/"))


# name -> (who is logged in, what to open: a path template or a function)
PAGES = {
    "home": (None, "/"),
    "item list": (None, "/items"),
    "item list, filtered, empty": (None, "/items?q=khong-co-gi&stage=know"),
    "status: submitted": (None, "/items/{submitted}"),
    "status: know": (None, "/items/{know}"),
    "status: closed rejected, review asked": (None, "/items/{rejected}"),
    "status: rejected, seen by its author": ("resident", "/items/{rejected}"),
    "submit form": (None, "/submit"),
    "submit form with errors": (None, _submit_empty),
    "submitted": (None, _submitted),
    "manage link": (None, "/m/{manage}"),
    "login": (None, "/login"),
    "login with error": (None, _login_error),
    "register": (None, "/register"),
    "register with errors": (None, _register_errors),
    "my items": ("resident", "/me/items"),
    "triage queue": ("secretary", "/triage"),
    "triage item": ("secretary", "/triage/{submitted}"),
    "file on behalf": ("secretary", "/triage/new"),
    "review queue": ("supervisor", "/review"),
    "review item": ("supervisor", "/review/{rejected}"),
    "audit": (None, "/audit"),
    "404 page": (None, "/no-such-page"),
    "404 item": (None, "/items/NS-2020-9999"),
}
