"""Static files with long cache lifetimes: their URLs carry a content hash (see assets.py).

Only a URL whose `?v=` is the hash of the file being served is cached for a year as immutable; any other
URL of a static file (no version, or a stale one from a page rendered before a deploy) must be revalidated
(ETag), so a phone never keeps an old stylesheet or script for a year under a name that now means another.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from civic.web.assets import STATIC_DIR, asset_url

FOREVER = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


class CachedStatic(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=str(STATIC_DIR))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache_control = FOREVER if _current_version_asked(self.get_path(scope), scope) else REVALIDATE

        async def send_cached(message):
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                headers.append((b"cache-control", cache_control))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_cached)


def _current_version_asked(name: str, scope: Scope) -> bool:
    """Is this a request for a file of static/ under the URL that asset_url() gives it now?"""
    if not name or "/" in name or name.startswith(".") or not (STATIC_DIR / name).is_file():
        return False
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
    return asset_url(name) == f"/static/{name}?v={asked}"
