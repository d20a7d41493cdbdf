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
