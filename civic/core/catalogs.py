"""The message catalogs (locales/<locale>/LC_MESSAGES/messages.po), read once per process: the pages'
words (civic.web.i18n) and the notifications' words (civic.notify.texts) come from the same catalogs."""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "locales"  # the repository's (civic.config.ROOT)


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The catalog of `locale`, compiled in memory (no .mo file to build); none for an unknown locale."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")
