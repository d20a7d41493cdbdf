"""Static files with long cache lifetimes: their URLs carry a content hash (see assets.py)."""

from __future__ import annotations

from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from civic.web.assets import STATIC_DIR


class CachedStatic(StaticFiles):
    def __init__(self) -> None:
        super().__init__(directory=str(STATIC_DIR))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_cached(message):
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, send_cached)
