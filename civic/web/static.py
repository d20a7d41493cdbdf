"""Static files with long cache lifetimes: their URLs carry a content hash (see assets.py).

Only a URL whose `?v=` is the hash of the file being served is cached for a year as immutable; any other
URL of a static file (no version, or a stale one from a page rendered before a deploy) must be revalidated
(ETag), so a phone never keeps an old stylesheet or script for a year under a name that now means another.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from civic.web.assets import STATIC_DIR, asset_url

FOREVER = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
# Longest name a file system keeps (NAME_MAX) and a path no file of static/ comes near.
NAME_MAX = 255
PATH_MAX = 1024


class CachedStatic(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=str(STATIC_DIR))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self.get_path(scope)
        if not could_be_a_file(name):
            # Only a path that could name a file of static/ reaches the file system: a name past what a
            # file system accepts (ENAMETOOLONG), a NUL or a hidden name is a page that does not exist.
            raise HTTPException(status_code=404)
        cache_control = FOREVER if _current_version_asked(name, scope) else REVALIDATE

        async def send_cached(message):
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                headers.append((b"cache-control", cache_control))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_cached)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """Any error of the file system looking a name up (too long, a loop, not a directory) means there
        is no such file; Starlette itself lets some of them through as a 500."""
        try:
            return super().lookup_path(path)
        except (OSError, ValueError):
            return "", None


def could_be_a_file(name: str) -> bool:
    """Could `name` (the path under /static/) name a file of static/? Not empty, no NUL, no part hidden
    or past NAME_MAX bytes, the whole within PATH_MAX bytes."""
    if not name or "\x00" in name or len(name.encode("utf-8", "surrogatepass")) > PATH_MAX:
        return False
    parts = name.split("/")
    return all(p and not p.startswith(".") and len(p.encode("utf-8", "surrogatepass")) <= NAME_MAX
               for p in parts)


def _current_version_asked(name: str, scope: Scope) -> bool:
    """Is this a request for a file of static/ under the URL that asset_url() gives it now?"""
    if not name or "/" in name or name.startswith("."):
        return False
    try:
        if not (STATIC_DIR / name).is_file():
            return False
    except (OSError, ValueError):
        return False
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
    return asset_url(name) == f"/static/{name}?v={asked}"
