"""Babel message catalogs: Vietnamese by default, English by choice; the choice sticks in a cookie.

Catalogs are kept as .po files in locales/ and compiled in memory at start-up, so there is no build step
and no binary file in the repository.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from sqlalchemy import String, text
from sqlmodel import Session
from starlette.requests import Request

from civic.clock import LOCAL_TZ, as_utc
from civic.config import ROOT, get_settings
from civic.core.catalogs import translations as translations  # the pages read them from here
from civic.db import Plain, get_engine

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
LOCALE_DIR = ROOT / "locales"
COOKIE = "lang"
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


POT = LOCALE_DIR / "messages.pot"


@lru_cache(maxsize=1)
def msgids() -> frozenset[str]:
    """Every message id extracted from the code and templates (locales/messages.pot), singular and plural.

    Only these texts are written by the project; templates may show them (and their translations) as
    markup. Any other text reached a page from a user or the database and is always escaped (OWASP ASVS
    5.3.1, output encoding)."""
    with POT.open("rb") as fh:
        catalog = read_po(fh)
    ids: set[str] = set()
    for message in catalog:
        forms = message.id if isinstance(message.id, tuple | list) else (message.id,)
        ids.update(str(form) for form in forms if form)
    return frozenset(ids)




def pick_locale(cookie_value: str | None, query_value: str | None = None) -> str:
    for candidate in (query_value, cookie_value):
        if candidate in LOCALES:
            return candidate
    return DEFAULT_LOCALE


@lru_cache
def babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


def _local(value: datetime) -> datetime:
    """A stored datetime (UTC, naive from SQLite) in the commune's time zone."""
    utc = as_utc(value)
    assert utc is not None  # as_utc gives None only for None
    return utc.astimezone(LOCAL_TZ)


def fmt_datetime(value: datetime | None, locale: str, fmt: str = "short") -> str:
    if value is None:
        return ""
    local = _local(value)
    if fmt == "short":
        # Vietnamese says the hour before the day, as official papers do: "10:19 ngày 11/12/2026"
        # ("Kết thúc lúc 10:19 ngày 11/12/2026"); the messages put "lúc", "từ", "đến" before it. Babel's
        # patterns "HH:mm 'ngày' dd/MM/yyyy" and "d MMM yyyy, HH:mm": the day as _day writes it (remembered),
        # the hour put beside it here (Babel took about 20 µs for each time of a timeline).
        hour = f"{local.hour:02d}:{local.minute:02d}"
        day = _day(local.date(), locale)
        return f"{hour} ngày {day}" if locale == "vi" else f"{day}, {hour}"
    return format_datetime(local, fmt, locale=babel_locale(locale))


def fmt_date(value: date | datetime | str | None, locale: str) -> str:
    """A day as the locale writes it: 25/11/2026 in Vietnamese. Audit payloads keep days as ISO text
    ("2026-11-25"); those are read back, and any other text is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = _local(value).date()
    return _day(value, locale)


@lru_cache(maxsize=4096)
def _day(value: date, locale: str) -> str:
    """Remembered: a list or a queue writes the same few days again and again (50 due days on a triage
    page), and Babel reads its pattern and locale data for each (about 20 µs)."""
    pattern = "dd/MM/yyyy" if locale == "vi" else "d MMM yyyy"
    return format_date(value, pattern, locale=babel_locale(locale))


# How a commune calls itself before its name ("xã Nhạo Sơn", "phường Hà Đông", "đặc khu Phú Quốc").
COMMUNE_KINDS = {"xa": "xã", "phuong": "phường", "dac_khu": "đặc khu"}
SITE_NAME_FALLBACK = "Góp ý"
SCOPE_KEY = "civic.commune"  # civic/web/communes.py: the commune code the address prefix names


def default_site_name(commune_name: str, kind: str) -> str:
    """The site's name when the setting CIVIC_SITE_NAME is empty: "Góp ý xã Nhạo Sơn". A proper name, the
    same in both languages (like the commune's own name)."""
    name = " ".join(commune_name.split())
    prefix = COMMUNE_KINDS.get(kind, "")
    if prefix and not name.lower().startswith(prefix):
        name = f"{prefix} {name}"
    return f"{SITE_NAME_FALLBACK} {name}".strip()


def site_name(request: Request, session: Session | None = None) -> str:
    """The name in every page's header and title: the setting, else the commune's (see default_site_name).
    One indexed read, on the page's own session when it has one: a second pooled connection while the
    page holds its first would let a burst of requests take every connection of the pool and then all
    wait for another one. Before set-up, or with the database away, "Góp ý"."""
    configured = get_settings().site_name.strip()
    if configured:
        return configured
    known = request.scope.get(_SITE_NAME_KEY)  # a page names the site twice (title, header): read once
    if known is None:
        known = request.scope[_SITE_NAME_KEY] = _site_name_of(request.scope.get(SCOPE_KEY), session)
    return known


_SITE_NAME_KEY = "civic.site_name"


# Read on every page that did not read its commune (built once: building the statement cost more than
# running it).
_NAME_BY_CODE = Plain(text("SELECT name, kind FROM commune WHERE code = :c")
                      .columns(name=String, kind=String))
_FIRST_NAME = Plain(text("SELECT name, kind FROM commune ORDER BY id LIMIT 1")
                    .columns(name=String, kind=String))


def _site_name_of(code: str | None, session: Session | None) -> str:
    if session is not None:  # the page read its commune already (web/communes.current): no second read
        commune = session.info.get((SCOPE_KEY, code))
        if commune is not None:
            return default_site_name(commune.name, commune.kind)
    query = _NAME_BY_CODE if code else _FIRST_NAME
    params = {"c": code} if code else {}
    try:
        if session is not None:
            row = query.rows(session, params).first()
        else:
            with get_engine().connect() as conn:
                row = conn.execute(query.stmt, params).first()
    except Exception:  # an error page drawn while the database is away still needs a header
        return SITE_NAME_FALLBACK
    return default_site_name(row[0], row[1]) if row else SITE_NAME_FALLBACK


@lru_cache(maxsize=4096, typed=True)
def fmt_number(value: float | int, locale: str) -> str:
    """Remembered: a page writes the same few counts again and again (households, members, percents), and
    Babel reads its pattern for each (about 20 µs)."""
    return format_decimal(value, locale=babel_locale(locale))


def catalog_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
