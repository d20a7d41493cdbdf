"""Page weight on a phone over 3G: each page's HTML as sent (gzip), plus the CSS and JavaScript it links to
(compressed as sent), stays under 30 KB; no web fonts, no third-party resources, no framework."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from civic.db import unit_of_work
from tests.builders import PASSWORD, make_item, move, viewer, world

pytestmark = pytest.mark.pages  # markup only: run on SQLite (tests/conftest.py)

BUDGET = 30 * 1024
FRAMEWORKS = re.compile(r"jquery|react|vue|angular|svelte|htmx|alpine|bootstrap|tailwind|bulma|foundation|"
                        r"materialize|semantic-ui|preact|ember|backbone|lit-element", re.I)
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.I)

TITLES = ["Cống thoát nước trước nhà văn hoá thôn bị tắc sau mưa lớn",
          "Đèn đường ngõ ba xóm Trên không sáng từ đầu tháng",
          "Đề nghị làm rãnh thoát nước dọc đường liên thôn, hộ tôi hiến 20 m² đất",
          "Ổ gà sâu trên đường vào trường tiểu học, xe máy dễ ngã",
          "Rác thải đổ bừa bãi cạnh bờ kênh đầu làng"]
DESCRIPTION = ("Sau mỗi trận mưa lớn nước tràn lên mặt đường, ngập sâu khoảng 30 cm, học sinh và người đi xe "
               "máy phải đi vòng. Cống đã bị tắc từ tháng trước do bùn đất và rác. "
               "Đề nghị thôn tổ chức nạo vét "
               "và lắp nắp cống mới; các hộ trong xóm sẵn sàng góp ngày công.\n"
               "Vị trí: đoạn từ nhà văn hoá đến ngã ba xóm Trên, dài khoảng 150 m.") * 2


def build() -> dict:
    """A commune with a full first page of items in every stage shown on home and a long status page."""
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        sec = viewer(db, users["village_head"])
        codes = {}
        for n in range(24):
            village = b if n % 4 == 0 else a  # only items of village A get accepted: its village head's
            item = make_item(db, commune, village, cat, title=f"{TITLES[n % 5]} ({n + 1})",
                             description=DESCRIPTION, address="Xóm Trên, cạnh nhà văn hoá")
            if n % 2:
                move(db, item, "accept", sec)
            if village is a:
                codes.setdefault("know" if n % 2 else "submitted", item.code)
        rejected = make_item(db, commune, a, cat, stage="rejected", reporter=users["resident"],
                             title=TITLES[2], description=DESCRIPTION)
        move(db, rejected, "request_review", viewer(db, users["resident"]),
                            {"reason": "Thôn có đất công bỏ trống, các hộ đã đồng ý góp công. " * 4},
                            is_author=True)
        codes["rejected"] = rejected.code
        return {"codes": codes, "village_head": users["village_head"].phone,
                "supervisor": users["supervisor"].phone}


class Resources(HTMLParser):
    """The stylesheets, scripts and other linked resources of a page."""

    def __init__(self):
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.inline_scripts: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link":
            self.links.append(a.get("href") or "")
            if "stylesheet" in (a.get("rel") or "").lower().split():
                self.stylesheets.append(a.get("href") or "")
        elif tag == "script":
            if a.get("src"):
                self.scripts.append(a["src"])
            else:
                self._in_script = True
                self.inline_scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_scripts[-1] += data


def log_in(client, phone: str) -> None:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def sent_size(response) -> int:
    """Bytes on the wire: the compressed body when the server compressed it, else the body itself."""
    return response.num_bytes_downloaded


def weigh(client, path: str, expected_status: int = 200) -> tuple[dict, list[str]]:
    """The sizes of a page and its linked CSS/JS, and every problem found with what it links to."""
    page = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert page.status_code == expected_status, f"{path}: {page.status_code}"
    res = Resources()
    res.feed(page.text)
    problems = []
    sizes = {"html": sent_size(page), "html raw": len(page.content), "css": 0, "js": 0}
    for href in res.links + res.scripts:
        if EXTERNAL.match(href):
            problems.append(f"links to another site: {href}")
        if re.search(r"\.(woff2?|ttf|otf|eot)(\?|$)", href, re.I) or "fonts.googleapis" in href:
            problems.append(f"web font: {href}")
        if FRAMEWORKS.search(href):
            problems.append(f"framework: {href}")
    for script in res.inline_scripts:
        if FRAMEWORKS.search(script):
            problems.append("an inline script names a framework")
    for kind, urls in (("css", res.stylesheets), ("js", res.scripts)):
        for url in urls:
            if EXTERNAL.match(url):
                continue
            r = client.get(url, headers={"Accept-Encoding": "gzip"})
            assert r.status_code == 200, f"{path} links to {url}, which answers {r.status_code}"
            sizes[kind] += sent_size(r)
            if kind == "css":
                if re.search(r"@font-face", r.text, re.I):
                    problems.append(f"{url} declares a web font")
                if re.search(r"@import|url\(\s*['\"]?(https?:)?//", r.text, re.I):
                    problems.append(f"{url} imports from another site")
                if FRAMEWORKS.search(r.text):
                    problems.append(f"{url} looks like a CSS framework")
    sizes["total"] = sizes["html"] + sizes["css"] + sizes["js"]
    return sizes, problems


def test_every_page_is_under_30_kb_compressed_with_no_font_framework_or_third_party(client, subtests):
    w = build()
    c = w["codes"]
    pages = [
        (None, "home", "/", 200),
        (None, "item list", "/items", 200),
        (None, "item list, searched", "/items?q=duong&village=&stage=know", 200),
        (None, "status: submitted", f"/items/{c['submitted']}", 200),
        (None, "status: know", f"/items/{c['know']}", 200),
        (None, "status: rejected, review asked", f"/items/{c['rejected']}", 200),
        (None, "submit form", "/submit", 200),
        (None, "login", "/login", 200),
        (None, "register", "/register", 200),
        (None, "audit", "/audit", 200),
        (None, "404", "/no-such-page", 404),
        ("village_head", "triage queue", "/triage", 200),
        ("village_head", "triage item", f"/triage/{c['submitted']}", 200),
        ("supervisor", "review queue", "/review", 200),
        ("supervisor", "review item", f"/review/{c['rejected']}", 200),
    ]
    table = []
    logged_in = None
    for who, name, path, status in pages:
        if who != logged_in:
            log_in(client, w[who])
            logged_in = who
        with subtests.test(msg=name):
            sizes, problems = weigh(client, path, status)
            table.append(f"{name:32} html {sizes['html']:6} B (raw {sizes['html raw']:6}) "
                         f"+ css {sizes['css']:5} B "
                         f"+ js {sizes['js']:5} B = {sizes['total']:6} B")
            assert sizes["total"] < BUDGET, f"{name} ({path}) weighs {sizes['total']} B compressed, over "\
                f"{BUDGET} B:\n" + "\n".join(table)
            assert not problems, f"{name} ({path}): " + "; ".join(problems)
    print("\npage weight (as sent, compressed):\n" + "\n".join(table))


def test_pages_are_sent_compressed(client):
    """The budget counts compressed bytes: a phone that asks for gzip gets gzip."""
    build()
    for path in ("/", "/items", "/static/civic.css"):
        r = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert r.headers.get("content-encoding") == "gzip", f"{path} is sent uncompressed"
