"""Constant texts (`_("Log in")`) are translated when a template is compiled for a language
(civic.web.core.env_for), not on every page: the pages must come out byte for byte as when every text is
translated while the page is rendered, in both languages, signed in or not; catalog text stays markup and
any other text is escaped, as the page's own gettext does."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from jinja2 import DictLoader
from sqlalchemy import select

from civic.db import unit_of_work
from civic.items.models import Item
from civic.seed import demo
from civic.web import core
from tests.builders import csrf_token

_TEMPLATE = ('<p title="{{ _("Log in") }}">{{ _("Log in") }}|{{ _("<b>not a message of the catalog</b>") }}|'
             '{{ _("Sent: item %(code)s", code="<i>NS-1</i>") }}|{{ _(word) }}|{{ _("") }}</p>')


def _unfolded(monkeypatch) -> None:
    monkeypatch.setattr(core, "env_for", lambda _locale: core.env)


def _environment(locale: str | None):
    """civic's environment over the one template above; with a language, as env_for makes it."""
    environment = core.env.overlay(cache_size=10, loader=DictLoader({"t.html": _TEMPLATE}))
    environment.locale = locale
    return environment


def test_a_constant_text_is_compiled_translated_and_escaped_as_the_page_would():
    code = _environment("vi").compile(_TEMPLATE, raw=True)
    assert "Đăng nhập" in code  # translated into the template's code: no call on each page
    assert "'Log in'" not in code
    assert "_(word)" not in code and "'word'" in code  # a variable is translated when the page is shown


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_demos_pages_are_the_same_folded_or_translated_on_every_page(client, monkeypatch, lang):
    with unit_of_work(write=True) as db:
        demo.load(db)
    with unit_of_work() as db:
        codes = sorted(db.execute(select(Item.code)).scalars())
    paths = ["/", "/items", "/submit", "/login", "/audit", "/dashboard", *(f"/items/{c}" for c in codes)]
    strip = lambda html: re.sub(r'name="(csrf_token|client_token)" value="[^"]*"', "", html)  # noqa: E731

    def pages() -> list[tuple[int, str]]:
        return [(r.status_code, strip(r.text)) for r in (client.get(p, params={"lang": lang}) for p in paths)]

    def signed_in_pages() -> list[tuple[int, str]]:
        form = {"phone": "0900000002", "password": "demo-head", "csrf_token": csrf_token(client)}
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
        shown = [(r.status_code, strip(r.text)) for r in (client.get(p, params={"lang": lang})
                                                          for p in ["/triage", "/todo", *paths[6:9]])]
        client.cookies.clear()
        return shown

    folded, folded_staff = pages(), signed_in_pages()
    assert all(status == 200 for status, _html in folded + folded_staff), [s for s, _h in folded]
    _unfolded(monkeypatch)
    assert pages() == folded
    assert signed_in_pages() == folded_staff
    # the texts did reach the pages in the language asked for
    assert ("Đăng nhập" if lang == "vi" else "Log in") in folded[0][1]


def test_the_same_template_folded_and_unfolded_gives_the_same_text():
    stock, folded = _environment(None), _environment("en")
    gettext, ngettext = core.make_gettext(core.i18n.translations("en"))
    page = SimpleNamespace(gettext=gettext, ngettext=ngettext)  # what a page's Web gives its templates
    token = core._current.set(page)  # type: ignore[arg-type]
    try:
        a = stock.get_template("t.html").render(word="<script>")
        b = folded.get_template("t.html").render(word="<script>")
    finally:
        core._current.reset(token)
    assert a == b
    assert "&lt;b&gt;not a message of the catalog&lt;/b&gt;" in b  # not catalog text: escaped
    assert "&lt;i&gt;NS-1&lt;/i&gt;" in b  # a value put into a message: escaped
    assert "&lt;script&gt;" in b
