"""A new commune from zero, in Chromium on a 390 px phone, through the web pages alone: the set-up page with
the code `civic setup-code` prints, three villages, the household register (template, upload of 500
households, preview, apply), a village head invited on the people page who takes the role in a second
browser, claim letters, and a resident in a third browser who registers, claims a household with a
letter's code and supports an item of the village. Run with JavaScript on and off.

Every page the issue added is checked on the way: axe finds no violation, the HTML sent is under 30 KB
and the page never scrolls sideways. axe needs JavaScript; with JavaScript off the exact HTML the phone
received is checked in a JavaScript-enabled page at the same address (the server's CSS loads with it).
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from civic import clock
from civic.areas.models import Commune, Household, Village
from civic.db import unit_of_work
from civic.items import service as items
from civic.items.schemas import SubmitForm
from tests.browser.conftest import PHONE_390
from tests.browser.test_accessibility import violations_report
from tests.builders import item_data, make_category

pytestmark = pytest.mark.browser

PAGE_LIMIT = 30 * 1024
HOUSEHOLDS = 500
LETTERS = 8
PASSWORD = "Lua-nuoc-ve-9"
ADMIN_PHONE = "0901 234 567"
HEAD_PHONE = "0902 345 678"
RESIDENT_PHONE = "0903 456 789"
VILLAGES = ["Thôn Đông", "Thôn Đoài", "Thôn Trung"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN = ["Văn Hải", "Thị Hoa", "Văn Nam", "Thị Lan", "Minh Đức", "Thị Mai", "Quang Huy", "Thị Thu"]

_axe = Axe()


# --- looking at a page -----------------------------------------------------------------------------------

class Phone:
    """A browser context at 390 px, with the documents it received (to measure and to check them)."""

    def __init__(self, new_page, js: bool):
        self.js = js
        self.page = new_page(js=js, **PHONE_390)
        self.documents: list = []
        self.page.on("response", self._seen)

    def _seen(self, response) -> None:
        request = response.request
        if request.resource_type == "document" and request.frame == self.page.main_frame \
                and not 300 <= response.status < 400:
            self.documents.append(response)

    def html(self) -> bytes:
        """The HTML of the page on screen, as it was sent (the last document received)."""
        assert self.documents, "no page was received"
        return self.documents[-1].body()


class Checker:
    """Runs axe on the pages of every phone: on the page itself with JavaScript on, else on the bytes it
    received, served again at the same address to a JavaScript-enabled page of the same size."""

    def __init__(self, new_page):
        self._new_page = new_page
        self._page = None
        self.sizes: dict[str, int] = {}

    def _js_page(self):
        if self._page is None:
            # Service workers blocked: a page the app's worker answered would not be the one replayed.
            self._page = self._new_page(js=True, service_workers="block", **PHONE_390)
        return self._page

    def look(self, phone: Phone, name: str, *, lang: str = "vi") -> None:
        page = phone.page
        html = phone.html()
        self.sizes[name] = len(html)
        assert len(html) < PAGE_LIMIT, f"{name} ({page.url}) sent {len(html)} bytes of HTML"
        if phone.js:
            target = page
        else:
            target = self._js_page()
            url = page.url

            def replay(route, _request) -> None:
                route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")

            def same(address: str) -> bool:
                return address == url

            target.route(same, replay)
            target.goto(url)
            target.unroute(same, replay)
            sent_title = re.search(rb"<title>(.*?)</title>", html, re.S)
            assert sent_title and target.url == url and \
                target.title() == unescape(sent_title.group(1).decode().strip()), \
                f"axe would check another page than {name}: {target.url} {target.title()}"
        assert target.locator("html").get_attribute("lang") == lang, f"{name}: wrong language"
        results = _axe.run(target).response
        assert not results["violations"], f"axe on {name} ({page.url}):\n{violations_report(results)}"
        scroll, inner = target.evaluate("[document.documentElement.scrollWidth, "
                                        "document.documentElement.clientWidth]")
        assert scroll <= inner, f"{name} is {scroll} px wide on a {inner} px screen"


def send(page, form_selector: str) -> None:
    """Submit a form with its button, as a thumb does, and wait for the page that answers."""
    with page.expect_navigation():
        page.locator(f"{form_selector} button[type=submit]").click()


def flash(page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def main_text(page) -> str:
    return page.locator("main").inner_text()


# --- what the test brings: the code, the register file, an item --------------------------------------------

def setup_code() -> str:
    """The set-up code as an office gets it: the installed `civic setup-code`, in its own process."""
    civic = Path(sys.executable).with_name("civic")
    done = subprocess.run([str(civic), "setup-code"], capture_output=True, text=True, env=dict(os.environ),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip()
    assert code and "\n" not in code, done.stdout
    return code


def register_file(path: Path, headers: list[str]) -> dict[str, list[str]]:
    """An XLSX register of HOUSEHOLDS households over the three villages, under the template's headers:
    joining dates typed as dd/mm/yyyy text on even rows and real Excel dates on odd rows. Returns the
    household codes of each village."""
    col = {name: i for i, name in enumerate(headers)}
    wb = Workbook()
    ws = wb.active
    ws.title = "Sổ hộ"
    ws.append(headers)
    rnd = random.Random(14)
    codes: dict[str, list[str]] = {v: [] for v in VILLAGES}
    for n in range(HOUSEHOLDS):
        village = VILLAGES[n % 3]
        code = f"H{n + 1:04d}"
        codes[village].append(code)
        row: list = [None] * len(headers)
        row[col["Thôn/Tổ dân phố"]] = village
        row[col["Mã hộ"]] = code
        row[col["Họ tên chủ hộ"]] = f"{rnd.choice(SURNAMES)} {rnd.choice(GIVEN)}"
        row[col["Địa chỉ"]] = f"Số {n + 1}, xóm {n % 7 + 1}"
        row[col["Số điện thoại"]] = f"09{rnd.randrange(10 ** 8):08d}" if n % 4 == 0 else None
        joined = datetime(2015, 1, 1) + timedelta(days=n * 7)
        row[col["Ngày vào sổ"]] = joined.strftime("%d/%m/%Y") if n % 2 == 0 else joined
        ws.append(row)
        if n % 2:
            ws.cell(row=ws.max_row, column=col["Ngày vào sổ"] + 1).number_format = "DD/MM/YYYY"
    wb.save(path)
    return codes


def households_in(village_name: str) -> int:
    with unit_of_work() as db:
        return db.execute(select(func.count()).select_from(Household).join(
            Village, Household.village_id == Village.id).where(Village.name == village_name)).scalar_one()


def submitted_item(village_name: str) -> str:
    """An item a resident of the village sent (a category made for it): what the village head accepts."""
    with unit_of_work(write=True) as db:
        commune = db.execute(select(Commune)).scalar_one()
        village = db.execute(select(Village).where(Village.name == village_name)).scalar_one()
        category = make_category(db, commune)
        form = SubmitForm.parse(item_data(village, category, kind="proposal",
                                          title="Lắp đèn đường ngõ văn hoá",
                                          description="Ngõ tối, người già đi lại khó khăn."))
        from tests.builders import viewer

        return items.submit(db, commune, form, viewer(db, None)).item.code


# --- the journey ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_a_new_commune_from_zero(new_page, js):
    check = Checker(new_page)
    commune_code = "NS" if js else "TH"  # different item codes: the server's page cache outlives the tables
    commune_name = "Nhạo Sơn" if js else "Thanh Hà"

    # 1. An empty site sends the first visitor to the set-up page; the code comes from `civic setup-code`.
    admin = Phone(new_page, js)
    a = admin.page
    a.goto("/")
    assert a.url.endswith("/setup"), a.url
    check.look(admin, "setup")
    a.fill("#f-setup_code", setup_code())
    a.fill("#f-name", commune_name)
    a.select_option("#f-kind", "xa")
    a.fill("#f-code", commune_code)
    a.fill("#f-province", "Phú Thọ")
    a.fill("#f-admin_name", "Cán Bộ Xã")
    a.fill("#f-admin_phone", ADMIN_PHONE)
    a.fill("#f-password", PASSWORD)
    a.fill("#f-password_again", PASSWORD)
    send(a, "form[action='/setup']")
    assert a.url.endswith("/admin/villages"), main_text(a)
    assert commune_name in flash(a)
    assert a.locator("header nav a[href='/admin/people']").count() == 1, "the admin is not logged in"
    check.look(admin, "villages, empty")

    # 2. Three villages.
    for name in VILLAGES:
        a.fill("#f-new-name", name)
        a.select_option("#f-kind", "thon")
        send(a, "form[action='/admin/villages']")
        assert name in flash(a), main_text(a)
    shown = [t.strip() for t in a.locator("#current + ul li strong").all_inner_texts()]
    assert sorted(shown) == sorted(VILLAGES), shown
    check.look(admin, "villages")

    # 3. The register: the template, then 500 households.
    a.goto("/admin/register")
    check.look(admin, "register upload")
    folder = Path(os.environ["CIVIC_VAR_DIR"]) / f"journey-{commune_code}"
    folder.mkdir(exist_ok=True)
    with a.expect_download() as got:
        a.locator("a[href='/admin/register/template.xlsx']").click()
    assert got.value.suggested_filename.endswith(".xlsx"), got.value.suggested_filename
    template = folder / got.value.suggested_filename
    got.value.save_as(template)
    headers = [c for c in next(load_workbook(template, read_only=True).active.iter_rows(values_only=True))
               if c]
    assert headers[:3] == ["Thôn/Tổ dân phố", "Mã hộ", "Họ tên chủ hộ"], headers
    upload = folder / "so-ho.xlsx"
    codes = register_file(upload, headers)
    a.set_input_files("#f-file", str(upload))
    send(a, "form[action='/admin/register/preview']")
    counts = dict(zip([t.strip() for t in a.locator(".counts li").all_inner_texts()],
                      a.locator(".counts .num").all_inner_texts(), strict=True))
    numbers = [int(n) for n in a.locator(".counts .num").all_inner_texts()]
    assert numbers == [HOUSEHOLDS, 0, 0, 0, 0], counts  # added, changed, leave, unchanged, bad rows
    assert a.locator("#bad-h").count() == 0, main_text(a)
    # Joining dates typed as text (H0001) and stored as Excel dates (H0002) read the same way.
    added = a.locator("#add-h + .table-wrap tbody tr")
    assert "01/01/2015" in added.filter(has_text="H0001").inner_text()
    assert "08/01/2015" in added.filter(has_text="H0002").inner_text()
    check.look(admin, "register preview")
    send(a, "form[action='/admin/register/apply']")
    assert a.url.endswith("/admin/register"), main_text(a)
    assert str(HOUSEHOLDS) in flash(a), flash(a)
    for name in VILLAGES:
        assert households_in(name) == len(codes[name])

    # 4. A village head for Thôn Đoài, invited on the people page.
    village = VILLAGES[1]
    a.goto("/admin/people")
    check.look(admin, "people")
    a.fill("#f-display_name", "Trần Văn Trưởng")
    a.fill("#f-phone", HEAD_PHONE)
    a.select_option("#f-role", "village_head")
    a.select_option("#f-village_id", label=village)
    a.fill("#f-starts_on", clock.today_local().isoformat())
    send(a, "form[action='/admin/people/invite']")
    assert "/admin/people/invitations/" in a.url, main_text(a)
    assert "Trưởng thôn" in main_text(a) and village in main_text(a)
    check.look(admin, "invitation letter")
    link = a.locator("main dd a[href*='/invite/']").get_attribute("href")
    code = a.locator("main strong.code").inner_text().strip()
    assert link and code and link.replace("-", "").endswith(code.replace("-", "")), (link, code)
    a.reload()
    assert a.locator("main strong.code").count() == 0, "the invitation code is shown a second time"

    head = Phone(new_page, js)
    h = head.page
    h.goto(link)
    check.look(head, "invitation acceptance")
    assert h.locator("#f-display_name").input_value() == "Trần Văn Trưởng"
    h.fill("#f-password", PASSWORD)
    h.fill("#f-password_again", PASSWORD)
    send(h, "form[action^='/invite/']")
    assert "Trần Văn Trưởng" in flash(h), main_text(h)
    assert h.locator("header nav a[href='/triage']").count() == 1, "the village head has no triage queue"
    # The password chosen on the invitation is the account's: log out, and in again with it.
    h.locator("header nav .more summary").click()  # "More" holds the account's links
    send(h, "header form[action='/logout']")
    assert h.locator("header nav a[href='/triage']").count() == 0
    h.goto("/login")
    h.fill("#f-phone", HEAD_PHONE)
    h.fill("#f-password", PASSWORD)
    send(h, "form[action='/login']")
    assert "/login" not in h.url, main_text(h)
    assert h.locator("header nav a[href='/triage']").count() == 1, "the village head has no triage queue"

    # 5. Claim letters for eight households of the village; one code is read off the page.
    h.goto("/households/letters")
    check.look(head, "claim letters form")
    h.select_option("#f-village_id", label=village)
    chosen = codes[village][:LETTERS]
    h.fill("#f-codes", " ".join(chosen))
    send(h, "form[action='/households/letters']")
    letters = h.locator("article.letter")
    assert letters.count() == LETTERS, main_text(h)
    check.look(head, f"claim letters ({LETTERS})")
    household = letters.first.locator(".code").inner_text().strip()
    claim_code = letters.first.locator(".letter-code").inner_text().strip()
    assert household in chosen and claim_code

    # 6. The village head accepts an item of the village (sent by a resident of it) on the triage page.
    item = submitted_item(village)
    h.goto(f"/triage/{item}")
    send(h, f"form[action='/triage/{item}/accept']")
    assert item in flash(h)

    # 7. A resident registers, logs in, claims the household and supports the item.
    resident = Phone(new_page, js)
    r = resident.page
    r.goto("/register")
    r.fill("#f-display_name", "Lê Thị Dân")
    r.fill("#f-phone", RESIDENT_PHONE)
    r.fill("#f-password", PASSWORD)
    r.fill("#f-password_again", PASSWORD)
    send(r, "form[action='/register']")
    assert "/login" in r.url, main_text(r)
    r.fill("#f-phone", RESIDENT_PHONE)
    r.fill("#f-password", PASSWORD)
    send(r, "form[action='/login']")
    assert "/login" not in r.url, main_text(r)
    r.goto("/household/claim")
    check.look(resident, "claim")
    r.fill("#f-code", claim_code.lower().replace("-", " "))
    send(r, "form[action='/household/claim']")
    assert r.url.endswith("/household"), main_text(r)
    assert household in flash(r) and village in flash(r), flash(r)
    assert "đại diện" in flash(r), f"the first claimant is not the representative: {flash(r)}"
    assert household in main_text(r) and village in main_text(r)
    check.look(resident, "my household")

    r.goto(f"/items/{item}")
    total = households_in(village)
    supports = r.locator("#supports + p.big")
    assert re.search(rf"\b0\b.*\b{total}\b", supports.inner_text()), supports.inner_text()
    send(r, f"form[action='/items/{item}/support']")
    assert re.search(rf"/items/{item}(#supports)?$", r.url), r.url
    assert re.search(rf"\b1\b.*\b{total}\b", supports.inner_text()), supports.inner_text()
    assert r.locator(f"form[action='/items/{item}/support']").count() == 0, "the household can support twice"

    print(f"\nHTML sent ({'JS on' if js else 'JS off'}): "
          + ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in check.sizes.items()))
