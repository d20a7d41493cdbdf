"""What Vietnamese pages say: dates in the Vietnamese way (dd/mm/yyyy), never the ISO form of the database;
the site's name instead of "civic"; no command names for residents.

The demo commune is crawled in Vietnamese, from the home page and the desks, for each role; each page's
visible text (not its attributes, scripts or styles: <time datetime="2026-12-11"> is for machines) is
searched."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests import fuzz_support as fz

pytestmark = pytest.mark.pages  # markup only: run on SQLite (tests/conftest.py)

SEEDS = ["/", "/items", "/audit", "/track", "/submit", "/me/items", "/household", "/triage", "/triage/new",
         "/review", "/inspect", "/admin/categories", "/admin/villages", "/admin/people", "/admin/register",
         "/households", "/dashboard", "/exports", "/login", "/register"]
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
COMMAND = re.compile(r"\bcivic\s+(audit|migrate|serve|seed|worker|backup|restore|register|recount|api-key)\b")


class VisibleText(HTMLParser):
    """The text a reader sees: no attributes, and nothing inside <script>, <style> or <template>."""

    HIDDEN = {"script", "style", "template"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def test_visible_text_leaves_out_attributes_and_scripts():
    html = ('<p title="2026-01-02">Ngày <time datetime="2026-12-11">11/12/2026</time></p>'
            '<script>var d = "2026-01-01";</script>')
    assert visible(html) == "Ngày 11/12/2026"
    assert ISO_DATE.search(visible("<p>từ 2026-11-25 đến 2026-12-25</p>"))


def _crawl(client, role: str) -> dict[str, str]:
    fz.load_demo()
    fz.log_in(client, role)
    pages = fz.crawl(client, SEEDS, most=250, per_template=2)
    assert len(pages) > 15, f"{role} reached only {sorted(pages)}"
    return pages


@pytest.mark.parametrize("role", ["anonymous", "resident", "village_head", "supervisor", "admin"])
def test_no_vietnamese_page_shows_an_iso_date(client, role):
    failures = []
    for path, html in sorted(_crawl(client, role).items()):
        text = visible(html)
        for match in ISO_DATE.finditer(text):
            failures.append(f"{path}: …{text[max(0, match.start() - 60):match.end() + 20]}…")
    assert not failures, f"{len(failures)} ISO dates seen by {role}:\n" + "\n".join(failures)


@pytest.mark.parametrize("role", ["anonymous", "resident"])
def test_residents_see_the_site_name_and_never_a_command(client, role):
    failures = []
    for path, html in sorted(_crawl(client, role).items()):
        text = visible(html)
        if COMMAND.search(text):
            failures.append(f"{path}: {COMMAND.search(text).group(0)}")  # type: ignore[union-attr]
        assert re.search(r"<title>[^<]*Góp ý xã Nhạo Sơn</title>", html), path
        assert 'class="brand" href="/">Góp ý xã Nhạo Sơn</a>' in html, path
    assert not failures, "\n".join(failures)


# --- the words themselves -------------------------------------------------------------------------------

def test_days_and_moments_in_each_language():
    from datetime import UTC, date, datetime

    from civic.web.i18n import fmt_date, fmt_datetime

    assert fmt_date(date(2026, 11, 25), "vi") == "25/11/2026"
    assert fmt_date("2026-11-25", "vi") == "25/11/2026"  # as an audit payload keeps it
    assert fmt_date("2026-11-25", "en") == "25 Nov 2026"
    assert fmt_date("not a day", "vi") == "not a day" and fmt_date("", "vi") == ""
    assert fmt_datetime(datetime(2026, 12, 11, 3, 19, tzinfo=UTC), "vi") == "10:19 ngày 11/12/2026"  # Hà Nội
    assert fmt_datetime(datetime(2026, 12, 11, 17, 5), "en") == "12 Dec 2026, 00:05"  # stored naive: UTC


def test_a_moment_is_written_as_babels_pattern_writes_it_every_hour_and_month():
    """The short form is put together from the day and the hour (civic.web.i18n.fmt_datetime); Babel's own
    pattern is what it must say."""
    from datetime import UTC, datetime, timedelta

    from babel.dates import format_datetime

    from civic.web.i18n import LOCAL_TZ, fmt_datetime

    moment = datetime(2025, 12, 31, 16, 59, 30, tzinfo=UTC)  # New Year's Day in Hà Nội, a minute before
    for step in range(24 * 40):
        moment += timedelta(hours=9, minutes=13)
        local = moment.astimezone(LOCAL_TZ)
        assert fmt_datetime(moment, "vi") == format_datetime(local, "HH:mm 'ngày' dd/MM/yyyy", locale="vi")
        assert fmt_datetime(moment, "en") == format_datetime(local, "d MMM yyyy, HH:mm", locale="en"), step


@pytest.mark.parametrize(("name", "kind", "expected"), [
    ("Nhạo Sơn", "xa", "Góp ý xã Nhạo Sơn"), ("Hà Đông", "phuong", "Góp ý phường Hà Đông"),
    ("Phú Quốc", "dac_khu", "Góp ý đặc khu Phú Quốc"), ("xã  Nhạo Sơn", "xa", "Góp ý xã Nhạo Sơn"),
])
def test_the_default_site_name(name, kind, expected):
    from civic.web.i18n import default_site_name

    assert default_site_name(name, kind) == expected


def test_the_site_name_setting_replaces_the_default(monkeypatch):
    from fastapi.testclient import TestClient

    from civic.config import get_settings
    from civic.main import create_app
    from civic.web import communes, i18n
    from tests.builders import setup_world

    assert i18n.SCOPE_KEY == communes.SCOPE_KEY
    setup_world()
    monkeypatch.setenv("CIVIC_SITE_NAME", "Tiếng nói Nhạo Sơn")
    get_settings.cache_clear()
    try:
        with TestClient(create_app()) as client:
            page = client.get("/items").text
            assert "<title>Danh sách ý kiến · Tiếng nói Nhạo Sơn</title>" in page
            assert '>Tiếng nói Nhạo Sơn</a>' in page and "Góp ý xã" not in page
    finally:
        monkeypatch.delenv("CIVIC_SITE_NAME")
        get_settings.cache_clear()


def test_the_triage_queue_says_how_late_or_how_long_is_left(client):
    from datetime import UTC, datetime

    from civic import clock
    from tests.builders import login, setup_item, setup_world

    clock.freeze(datetime(2026, 3, 1, 18, 0, tzinfo=UTC))  # 01:00 on Monday 2 March in Hà Nội
    commune, a, _b, cat, users = setup_world()
    setup_item(commune, a, cat)
    login(client, users["village_head"])
    for day, words in ((3, "còn 2 ngày làm việc"), (5, "hết hạn hôm nay"), (6, "quá hạn 1 ngày làm việc"),
                       (9, "quá hạn 2 ngày làm việc")):
        clock.freeze(datetime(2026, 3, day, 2, 0, tzinfo=UTC))
        text = visible(client.get("/triage").text)
        assert words in text and "hạn 05/03/2026" in text, (day, text)
        assert "đã chờ" not in text


def test_a_resident_without_a_household_sees_how_to_get_one(client):
    from tests.builders import login, setup_item, setup_world

    commune, a, _b, cat, users = setup_world()
    item = setup_item(commune, a, cat, stage="know")
    anonymous = visible(client.get(f"/items/{item.code}").text)
    assert "Đăng nhập để bình luận hoặc ủng hộ" in anonymous
    login(client, users["resident"])
    text = visible(client.get(f"/items/{item.code}").text)
    assert "Bạn chưa được liên kết với hộ gia đình nào" in text and "Đăng nhập để" not in text


def test_the_installed_app_is_called_by_the_site_name(client):
    import json

    from tests.builders import setup_world

    setup_world()
    manifest = json.loads(client.get("/manifest.webmanifest").text)
    assert manifest["name"] == "Góp ý xã Nhạo Sơn" and manifest["short_name"] == "Góp ý"
