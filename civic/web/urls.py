"""Absolute URLs of this site: from the configured base URL, never from whoever sent the Host header.

A link that leaves the page (og:url, a QR code on a printed notice, a feed's ids and links, the manage
link a resident keeps) must name the real site. The Host header is chosen by the client, so a URL built
from it can point at another site, and a shared page cache would hand that page to everyone (OWASP
ASVS 5.0 V4.1 / 4.0 V14.5: HTTP request header validation; cache poisoning). With CIVIC_BASE_URL set,
every absolute URL starts with it; without it (development) the request's own address is used, and the
page cache keys pages by that address (civic/web/pagecache.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from civic.config import Settings, get_settings


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def commune_prefix(request: Request) -> str:
    """The commune prefix of the request's address ("/c/NS", civic/web/communes.py), or ""."""
    return str(request.scope.get("civic.prefix", ""))


def base(request: Request) -> str:
    """The site's address without a trailing slash (and without a commune prefix): the configured base
    URL, else the request's."""
    configured = _settings(request).public_base
    if configured:
        return configured
    own, prefix = str(request.base_url).rstrip("/"), commune_prefix(request)
    return own[: -len(prefix)] if prefix and own.endswith(prefix) else own


def absolute(request: Request, path: str) -> str:
    """The absolute URL of a path on this site ("/items/NS-2026-0001" → "https://…/items/NS-2026-0001"),
    inside the request's commune prefix when it has one ("https://…/c/NS/invite/…")."""
    return base(request) + commune_prefix(request) + "/" + path.lstrip("/")


def for_route(request: Request, name: str, **params: object) -> str:
    """The absolute URL of a named route."""
    return absolute(request, str(request.app.url_path_for(name, **params)))


def host(request: Request) -> str:
    """The site's host name (for iCalendar UIDs): from the base URL when set."""
    return urlsplit(base(request)).hostname or "civic"
