"""Translations: the catalogs are complete and current, and pages speak Vietnamese by default, English by
choice.

When a test here fails after you added or changed a string: run `make messages`, translate the new entries
in locales/vi/LC_MESSAGES/messages.po (no "fuzzy" flag, placeholders exactly as in the msgid), run again.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from markupsafe import escape

from civic.config import ROOT
from civic.web import i18n
from tests.builders import make_item, world

POT = ROOT / "locales" / "messages.pot"
# The same extraction as the Makefile's `messages` target.
EXTRACT_ARGS = ["-F", str(ROOT / "babel.cfg"), "-k", "N_", "-k", "ngettext:1,2", "--no-location",
                "--sort-output"]
# printf-style conversions as Python's % operator reads them: %(name)s, %s, %d, %.1f, %%
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _ids(catalog) -> dict[str, object]:
    """msgid (the singular for plural entries) -> message, without the header."""
    return {(m.id[0] if m.pluralizable else m.id): m for m in catalog if m.id}


def _forms(message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def _placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def _show(ids) -> str:
    return "\n".join(f"  {i!r}" for i in sorted(ids))


@pytest.fixture(scope="module")
def pot():
    return _ids(_read(POT))


@pytest.fixture(scope="module")
def vi_catalog():
    return _read(i18n.catalog_path("vi"), "vi")


# -- (a) the Vietnamese catalog is complete ---------------------------------------------------------------

def test_catalog_headers(vi_catalog):
    assert str(vi_catalog.locale) == "vi"
    assert vi_catalog.num_plurals == 1
    assert vi_catalog.plural_expr == "0"
    raw_header = dict(vi_catalog.mime_headers)
    assert raw_header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "charset=utf-8" in raw_header["Content-Type"].lower()
    en = _read(i18n.catalog_path("en"), "en")
    assert str(en.locale) == "en"
    assert dict(en.mime_headers)["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


def test_every_msgid_is_translated_into_vietnamese(pot, vi_catalog):
    vi = _ids(vi_catalog)
    missing = [i for i in pot if i not in vi]
    untranslated = [i for i in pot if i in vi and not all(f.strip() for f in _forms(vi[i]))]
    fuzzy = [i for i in pot if i in vi and vi[i].fuzzy]
    assert not missing, f"msgids missing from the vi catalog (run `make messages`):\n{_show(missing)}"
    assert not untranslated, f"msgids without a Vietnamese translation:\n{_show(untranslated)}"
    assert not fuzzy, f"fuzzy (unchecked) Vietnamese translations:\n{_show(fuzzy)}"


def test_vietnamese_plurals_have_one_form(pot, vi_catalog):
    vi = _ids(vi_catalog)
    for msgid, message in pot.items():
        if message.pluralizable and msgid in vi:
            assert vi[msgid].pluralizable, msgid
            assert len(vi[msgid].string) == 1, f"{msgid!r}: Vietnamese has one plural form"


def test_placeholders_match(pot, vi_catalog):
    vi = _ids(vi_catalog)
    wrong = []
    for msgid, message in pot.items():
        sources = [message.id] if not message.pluralizable else list(message.id)
        expected = _placeholders(sources[0])
        assert all(_placeholders(s) == expected for s in sources), f"{msgid!r}: singular and plural differ"
        for form in _forms(vi[msgid]) if msgid in vi else []:
            if form and _placeholders(form) != expected:
                wrong.append(f"{msgid!r}: {sorted(expected.elements())} ≠ {form!r}")
    assert not wrong, "placeholders differ from the msgid:\n" + "\n".join(wrong)


def test_translations_format_and_are_nfc(pot, vi_catalog):
    vi = _ids(vi_catalog)
    for msgid in pot:
        for form in _forms(vi[msgid]) if msgid in vi else []:
            assert unicodedata.is_normalized("NFC", form), f"{msgid!r}: translation is not in Unicode NFC"
            names = {p[2:-2] for p in _placeholders(form) if p.startswith("%(")}
            if names:  # the translation works with the % operator the code applies
                form % dict.fromkeys(names, "x")


def test_english_catalog_lists_every_msgid(pot):
    en = _ids(_read(i18n.catalog_path("en"), "en"))
    missing = [i for i in pot if i not in en]
    assert not missing, f"msgids missing from the en catalog (run `make messages`):\n{_show(missing)}"


def test_required_wording():
    t = i18n.translations("vi")
    assert t.gettext("Send a concern or recommendation") == "Gửi phản ánh / kiến nghị"
    assert [t.gettext(s) for s in ("People know", "People discuss", "People do", "People inspect")] == \
        ["Dân biết", "Dân bàn", "Dân làm", "Dân kiểm tra"]
    assert t.gettext("Awaiting triage") == "Chờ tiếp nhận"
    assert t.gettext("Log in") == "Đăng nhập"
    assert t.ngettext("%(num)s item found", "%(num)s items found", 1) == \
        t.ngettext("%(num)s item found", "%(num)s items found", 5)


# -- (b) locales/messages.pot is up to date ---------------------------------------------------------------

def test_pot_is_up_to_date(tmp_path, pot):
    fresh_path = tmp_path / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", *EXTRACT_ARGS, "-o", str(fresh_path), str(ROOT)])
    fresh = _ids(_read(fresh_path))
    new = set(fresh) - set(pot)
    gone = set(pot) - set(fresh)
    assert not new, ("strings in the code and templates that are not in locales/messages.pot; run "
                     "`make messages` and translate them in locales/vi/LC_MESSAGES/messages.po:\n"
                     f"{_show(new)}")
    assert not gone, ("msgids in locales/messages.pot that the code no longer uses; run `make messages`:\n"
                      f"{_show(gone)}")
    changed = [i for i in fresh if fresh[i].id != pot[i].id]  # e.g. a plural form edited
    assert not changed, f"plural msgids changed; run `make messages`:\n{_show(changed)}"


# -- (c) pages in both languages --------------------------------------------------------------------------

def _demo():
    from civic.db import unit_of_work

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        make_item(db, commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng")
        return a.id, cat.id


def _html_lang(page) -> str:
    m = re.search(r"<html\b[^>]*\blang=\"([^\"]+)\"", page.text)
    assert m, "the page has no <html lang>"
    return m.group(1)


def _vi(msgid: str) -> str:
    return i18n.translations("vi").gettext(msgid)


def _submit_with_bad_phone(client, village_id: int, category_id: int):
    form = client.get("/submit")
    assert form.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post("/submit", data={
        "csrf_token": token, "kind": "concern", "village_id": str(village_id),
        "category_id": str(category_id),
        "title": "Cống bị tắc trước nhà văn hoá", "description": "Nước tràn lên đường sau mưa lớn.",
        "contact_phone": "12345",
    }, follow_redirects=False)


def test_vietnamese_by_default_and_english_after_choosing(client):
    village_id, category_id = _demo()
    phone_error = "This is not a valid Vietnamese mobile number (10 digits, starting with 0)."
    assert _vi(phone_error) != phone_error

    home = client.get("/")
    assert home.status_code == 200
    assert _html_lang(home) == "vi"
    assert home.headers["content-language"] == "vi"
    assert "Gửi phản ánh / kiến nghị" in home.text
    assert "Send a concern or recommendation" not in home.text
    listing = client.get("/items")
    assert str(escape(_vi("%(num)s item found") % {"num": "1"})) in listing.text

    bad = _submit_with_bad_phone(client, village_id, category_id)
    assert bad.status_code == 422
    assert _html_lang(bad) == "vi"
    assert str(escape(_vi(phone_error))) in bad.text
    assert str(escape(_vi("Please correct the highlighted fields."))) in bad.text
    assert phone_error not in bad.text

    switch = client.get("/lang/en", follow_redirects=False)
    assert switch.status_code == 303
    assert client.cookies.get(i18n.COOKIE) == "en"

    for _ in range(2):  # the choice sticks: a second visit is English too
        home = client.get("/")
        assert home.status_code == 200
        assert _html_lang(home) == "en"
        assert home.headers["content-language"] == "en"
        assert "Send a concern or recommendation" in home.text
        assert "Gửi phản ánh / kiến nghị" not in home.text
    assert "1 item found" in client.get("/items").text

    bad = _submit_with_bad_phone(client, village_id, category_id)
    assert bad.status_code == 422
    assert _html_lang(bad) == "en"
    assert phone_error in bad.text
    assert "Please correct the highlighted fields." in bad.text
    assert str(escape(_vi(phone_error))) not in bad.text

    client.get("/lang/vi")
    assert client.cookies.get(i18n.COOKIE) == "vi"
    assert _html_lang(client.get("/")) == "vi"


def test_error_page_follows_the_language(client):
    _demo()
    missing = client.get("/items/NS-2020-9999")
    assert missing.status_code == 404
    assert _html_lang(missing) == "vi"
    assert str(escape(_vi("No item has the code %(code)s.") % {"code": "NS-2020-9999"})) in missing.text
    client.get("/lang/en")
    missing = client.get("/items/NS-2020-9999")
    assert missing.status_code == 404
    assert _html_lang(missing) == "en"
    assert "No item has the code NS-2020-9999." in missing.text


# -- (d) only catalog text is markup ----------------------------------------------------------------------

def test_only_messages_of_the_catalog_are_markup_in_templates():
    """Templates' _() and ngettext() trust the catalog's text (a translation may hold <strong>) and nothing
    else: text a user typed, even when a template passes it through _(), is escaped."""
    from civic.web.core import make_gettext

    assert {"Log in", "%(num)s item found", "%(num)s items found"} <= i18n.msgids()
    gettext, ngettext = make_gettext(i18n.translations("vi"))
    typed = '<meta http-equiv="refresh" content="0;url=//evil.example"><a href="//evil.example">x</a>'
    assert str(gettext(typed)) == str(escape(typed))
    assert "<meta" not in str(gettext(typed)) and "<a " not in str(gettext(typed))
    assert "<b>" not in str(ngettext("<b>%(num)s</b>", "<b>%(num)s</b>", 2))
    assert str(gettext("50%% <i>x</i> %(nope)s", name="y")).startswith("50%% &lt;i&gt;")  # no KeyError
    assert gettext("Log in") == "Đăng nhập"  # a catalog message is still translated
    assert gettext("Changes in %(name)s", name="<b>x</b>").count("&lt;b&gt;x&lt;/b&gt;") == 1
    assert ngettext("%(num)s item found", "%(num)s items found", 3) == _vi("%(num)s item found") % {"num": 3}

    with_markup = make_gettext(i18n.translations("vi"), known=frozenset({"<strong>Note</strong>: %(x)s"}))[0]
    assert with_markup("<strong>Note</strong>: %(x)s", x="<i>") == "<strong>Note</strong>: &lt;i&gt;"
