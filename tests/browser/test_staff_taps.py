"""The staff workspace in a real browser, on a 390 × 844 phone.

1. A village head takes a proposal from "accepted" to Dân làm using only the to-do ("Việc cần làm") and
   the next-step box, and the test counts the taps: at most 40, the meeting's household roll excepted
   (it is one screen of its own). How taps are counted: a button or a link is one tap; a text field is one
   tap (the typing is not counted); a list (select) or a date/time picker is two (open, choose).
2. The new pages (the to-do, the one-screen triage with its similar items and its refused search) have zero
   axe violations, in Vietnamese and English, fit 390 px, weigh under 30 KB, and the triage screen is about
   1.5 screens high; the triage actions work with JavaScript on (radio buttons) and off (<details>).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from civic import clock
from civic.db import unit_of_work
from tests.boards.helpers import board_world
from tests.browser.conftest import PHONE_390
from tests.browser.test_accessibility import violations_report
from tests.browser.test_journeys import log_in_through_the_form
from tests.builders import make_item

pytestmark = pytest.mark.browser

TAP_BUDGET = 40
SCREEN = PHONE_390["viewport"]["height"]
_axe = Axe()

TITLE = "Đổ bê tông đường xóm Giữa"


def build() -> dict:
    """Village Hưng Đạo (10 households) with a new proposal, two open items alike and one that is not."""
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = board_world(db)
        make_item(db, commune, a, cat, stage="know", title="Do be tong duong xom Giua",
                  description="Đường đất lầy lội mỗi khi mưa.")
        make_item(db, commune, a, cat, stage="know", title="Bê tông hoá đường xóm Giữa và ngõ 3")
        make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ 7 bị hỏng")
        item = make_item(db, commune, a, cat, kind="proposal", title=TITLE,
                         description="Đường xóm Giữa dài 120 m, mùa mưa lầy lội; các hộ xin đổ bê tông.\n"
                                     "Hộ tôi xin góp 2 ngày công và 500.000 đồng.",
                         address="Xóm Giữa")
        return {"code": item.code, "village_head": users["village_head"].phone}


class Taps:
    """Every tap the village head makes, counted as the module docstring says."""

    def __init__(self, page) -> None:
        self.page = page
        self.n = 0
        self.log: list[str] = []

    def _count(self, n: int, what: str) -> None:
        self.n += n
        self.log.append(f"{self.n:>3} {what}")

    def go(self, locator, what: str) -> None:
        """Tap a link or a button that opens a page; a form must come back without errors."""
        assert locator.count() == 1, f"{self.page.url}: {locator.count()} of {what}"
        with self.page.expect_navigation() as nav:
            locator.click()
        self._count(1, what)
        response = nav.value
        assert response.status == 200, f"{what}: {response.status}\n{self.page.locator('main').inner_text()}"
        assert self.page.locator("#form-errors, .flash-error").count() == 0,\
            f"{what}:\n{self.page.locator('main').inner_text()[:1500]}"
        scroll, inner = self.page.evaluate("[document.documentElement.scrollWidth, "
                                           "document.documentElement.clientWidth]")
        assert scroll <= inner, f"{self.page.url} is {scroll} px wide on a {inner} px screen"

    def type(self, locator, text: str) -> None:
        locator.fill(text)
        self._count(1, f"type {locator.get_attribute('name')}")

    def pick(self, locator, value: str) -> None:
        """A list or a date/time picker: open it, choose."""
        if locator.evaluate("e => e.tagName") == "SELECT":
            locator.select_option(value)
        else:
            locator.fill(value)
        self._count(2, f"pick {value}")

    def todo(self, step: str) -> None:
        """From anywhere: the to-do in the navigation, then the item's step on it."""
        self.go(self.page.locator("header nav a[href='/todo']"), "to-do")
        card = self.page.locator(".card", has_text=self.code).locator("a.card-title")
        assert card.count() == 1, self.page.locator("main").inner_text()
        assert card.inner_text().strip() == step, card.inner_text()
        self.go(card, f"to-do: {step}")

    def next_step(self, label: str, here: bool = False) -> None:
        """The next-step box names the step; it links to the step's desk unless this page is that desk."""
        box = self.page.locator(".next-step")
        assert box.count() == 1, f"no next step on {self.page.url}"
        assert label in box.inner_text(), box.inner_text()
        if here:
            assert box.locator("a.button").count() == 0, "the next step links to the page it is on"
        else:
            self.go(box.locator("a.button"), f"next step: {label}")


def local_day(days: int = 0) -> str:
    return (clock.today_local() + timedelta(days=days)).isoformat()


@pytest.mark.parametrize("js", [False, True], ids=["javascript-off", "javascript-on"])
def test_a_proposal_from_accepted_to_dan_lam_in_at_most_40_taps(new_page, server_clock, js):
    w = build()
    page = new_page(js=js, **PHONE_390)
    log_in_through_the_form(page, w["village_head"])
    page.goto("/")
    taps = Taps(page)
    taps.code = w["code"]  # type: ignore[attr-defined]

    # Triage: from the to-do, accept; the triage page then offers the next step.
    taps.todo("Tiếp nhận mục mới")
    taps.go(page.locator(f"form[action='/triage/{w['code']}/accept'] button"), "accept")
    taps.next_step("Niêm yết công khai")

    # Dân biết: the disclosure on the notice board.
    form = page.locator(f"form[action='/deliberation/{w['code']}/disclosure']")
    taps.pick(form.locator("[name=channel]"), "notice_board")
    taps.type(form.locator("[name=place]"), "Bảng tin nhà văn hoá thôn")
    taps.pick(form.locator("[name=starts_on]"), local_day())
    taps.pick(form.locator("[name=ends_on]"), local_day(10))
    taps.go(form.locator("button[type=submit]"), "record the disclosure")
    assert "từ" in page.locator(".next-step").inner_text()  # the discussion opens after the period

    # Three days later the to-do says the discussion may open.
    server_clock.advance(timedelta(days=3, hours=1))
    taps.todo("Mở thảo luận: đã hết thời gian công khai")
    form = page.locator(f"form[action='/deliberation/{w['code']}/open_discussion']")
    taps.type(form.locator("[name=question]"), f"Có đồng ý {TITLE.lower()}, các hộ góp đất và tiền?")
    taps.type(form.locator("[name=land_area]"), "40")
    taps.pick(form.locator("[name=matter]"), "1")
    taps.go(form.locator("button[type=submit]"), "open the discussion")

    # Dân bàn: the meeting, scheduled from the next step.
    taps.next_step("Lên lịch hội nghị thôn", here=True)
    meeting_at = (clock.now() + timedelta(days=5, hours=2)).astimezone(clock.LOCAL_TZ)
    form = page.locator(f"form[action='/deliberation/{w['code']}/schedule_meeting']")
    taps.pick(form.locator("[name=starts_at]"), meeting_at.strftime("%Y-%m-%dT%H:%M"))
    taps.type(form.locator("[name=place]"), "Nhà văn hoá thôn Hưng Đạo")
    taps.type(form.locator("[name=agenda]"), "Bàn việc đổ bê tông đường xóm Giữa và đóng góp của các hộ.")
    taps.go(form.locator("button[type=submit]"), "schedule the meeting")

    # After the meeting the to-do asks for its record. The roll is one screen of its own: not counted.
    server_clock.advance(timedelta(days=5, hours=3))
    taps.todo("Ghi kết quả hội nghị và biểu quyết")
    page.locator("a[href*='/roll/']").first.click()
    page.wait_for_load_state()
    boxes = page.locator("input[name=household]")
    for n in range(8):
        boxes.nth(n).check()
    with page.expect_navigation():
        page.locator("form[action*='/mark'] button[type=submit]").first.click()
    page.goto(f"/deliberation/{w['code']}")

    form = page.locator(f"form[action='/deliberation/{w['code']}/record_meeting']")
    taps.type(form.locator("[name=minutes_taker_name]"), "Bà Phạm Thị Lan")
    taps.type(form.locator("[name=secretary_votes]"), "7")
    taps.pick(form.locator("[name=voting_mode]"), "show_of_hands")
    taps.type(form.locator("[name=minutes_text]"),
              "Các hộ thống nhất đổ bê tông đường, mỗi hộ góp theo khả năng.")
    taps.go(form.locator("button[type=submit]"), "record the meeting")
    vote = page.locator(f"form[action='/deliberation/{w['code']}/decide']"
                        ":has(input[name=method][value=meeting_vote])")
    taps.type(vote.locator("[name=yes]"), "6")
    taps.type(vote.locator("[name=no]"), "1")
    taps.type(vote.locator("[name=abstain]"), "1")
    taps.go(vote.locator("button[type=submit]"), "record the vote")
    assert "Bắt đầu thực hiện" in page.locator(".next-step").inner_text()
    taps.go(page.locator(f"form[action='/deliberation/{w['code']}/start_work'] button"), "start the work")

    # Dân làm: the item's page says so and offers the next step on the work desk.
    current = page.locator("ol.strip li[aria-current='step'] .step-name")
    assert current.inner_text().strip() == "Dân làm"
    assert "Cập nhật tiến độ công việc" in page.locator(".next-step").inner_text() \
        or "Xác nhận hoặc ghi nhận" in page.locator(".next-step").inner_text()
    print(f"\n{taps.n} taps from accepted to Dân làm ({'JavaScript on' if js else 'JavaScript off'}):\n"
          + "\n".join(taps.log))
    assert taps.n <= TAP_BUDGET, "\n".join(taps.log)


# --- the new pages: axe, size, layout -----------------------------------------------------------------

def _measure(page) -> dict:
    return page.evaluate("""() => ({height: document.documentElement.scrollHeight,
        width: document.documentElement.scrollWidth, inner: document.documentElement.clientWidth})""")


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_new_pages_are_accessible_small_and_fit_the_phone(new_page, locale):
    w = build()
    page = new_page(js=True, **PHONE_390)  # axe needs JavaScript
    if locale == "en":
        page.goto("/lang/en?next=/")
    log_in_through_the_form(page, w["village_head"])
    code = w["code"]
    pages = {
        "to-do": f"/todo?lang={locale}",
        "to-do of a stage": f"/todo?stage=submitted&lang={locale}",
        "triage": f"/triage/{code}?lang={locale}",
        "triage, search refused": f"/triage/{code}?lang={locale}&q={'duong ' * 700}",
    }
    heights = {}
    for name, path in pages.items():
        response = page.goto(path)
        assert response.status == (422 if "refused" in name else 200), name
        assert len(response.body()) < 30_000, f"{name}: {len(response.body())} bytes"
        results = _axe.run(page).response
        assert not results["violations"], f"axe on {name} ({locale}):\n{violations_report(results)}"
        size = _measure(page)
        assert size["width"] <= size["inner"], f"{name} is {size['width']} px wide"
        heights[name] = size["height"]
        if name == "triage":
            main = page.evaluate("document.querySelector('main').offsetHeight")
    # The triage screen: the item, its similar items and the action area in about 1.5 screens (the site's
    # header and footer, the same on every page, around it).
    print(f"\ntriage screen at 390 px ({locale}): content {main} px = {main / SCREEN:.2f} screens; "
          f"whole page with header and footer {heights['triage']} px = {heights['triage'] / SCREEN:.2f}")
    assert main <= 1.5 * SCREEN, heights
    # The site's header (its name and the menu) takes at most four 44 px rows on the phone: the account's
    # links fold under "More" (with every link in the menu it was 234 px).
    header = page.evaluate("document.querySelector('header').offsetHeight")
    assert header <= 4 * 44, f"the header is {header} px tall at 390 px ({locale})"
    # The similar items are there, the nearly identical first, with the one-tap duplicate button.
    page.goto(f"/triage/{code}?lang={locale}")
    first = page.locator(".similar .card").first
    assert "Do be tong duong xom Giua" in first.inner_text()
    assert first.locator("button[type=submit]").count() == 1
    # With an action chosen, the errors of its form are announced (axe too).
    page.locator(".act-choice input[type=radio]").nth(0).check()  # reject, its fields shown
    reason = page.locator(f"form[action='/triage/{code}/reject'] textarea[name=reason]")
    assert reason.is_visible()
    assert not page.locator(f"form[action='/triage/{code}/redirect'] [name=destination]").is_visible()


@pytest.mark.parametrize("js", [False, True], ids=["javascript-off", "javascript-on"])
def test_triage_actions_work_with_and_without_javascript(new_page, js):
    w = build()
    page = new_page(js=js, **PHONE_390)
    log_in_through_the_form(page, w["village_head"])
    page.goto(f"/triage/{w['code']}")
    destination = page.locator(f"form[action='/triage/{w['code']}/redirect'] [name=destination]")
    assert not destination.is_visible(), "the actions' fields are not collapsed"
    if js:
        page.locator(".act-choice label", has_text="Chuyển").locator("input").check()
    else:
        page.locator("details.act summary", has_text="Chuyển").click()
    assert destination.is_visible()
    form = page.locator(f"form[action='/triage/{w['code']}/redirect']")
    form.locator("[name=destination]").fill("Bộ phận tiếp công dân xã")
    form.locator("[name=reason]").fill("Việc này thuộc thẩm quyền của xã.")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator(".flash-ok").count() == 1, page.locator("main").inner_text()
    page.goto(f"/items/{w['code']}")
    assert "Bộ phận tiếp công dân xã" in page.locator("main").inner_text()
