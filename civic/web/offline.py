"""Working without signal: the web app manifest, the service worker and the offline page.

The service worker (static/sw.js) keeps the pages a visitor opened that are marked savable here, and shows
them without signal as saved copies with their date; the outbox (static/offline.js) keeps a submission made
without signal on the phone and sends it with its client token when the signal returns. Nothing here is
needed without JavaScript.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from civic.config import ROOT, get_settings
from civic.web import i18n
from civic.web.assets import STATIC_DIR, asset_url
from civic.web.core import Web

router = APIRouter()

# What the worker stores when it installs: the files every page needs and the offline page.
PRECACHE_ASSETS = ("civic.css", "outbox.js", "offline.js", "photo-shrink.js", "asks.js", "favicon.svg",
                   "icon-192.png")


@lru_cache(maxsize=1)
def version() -> str:
    """Changes whenever a static file or a template changes, or CIVIC_RELEASE does: a deploy that changes
    what phones keep makes them install the new worker and drop the old files."""
    digest = hashlib.sha256(get_settings().release.encode())
    for folder in (STATIC_DIR, ROOT / "templates"):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def worker_source() -> bytes:
    precache = [asset_url(name) for name in PRECACHE_ASSETS] + ["/offline"]
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    source = (source.replace("__CIVIC_VERSION__", version())
              .replace("__CIVIC_PRECACHE__", json.dumps(precache))
              .replace("__CIVIC_OUTBOX__", asset_url("outbox.js")))
    return source.encode()


@router.get("/sw.js", include_in_schema=False)
def service_worker():
    # Never cached by the browser: a deploy must reach phones on their next visit.
    return Response(worker_source(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


@router.get("/manifest.webmanifest", include_in_schema=False)
def manifest(request: Request):
    web = Web(request, load_user=False)
    _ = web._
    body = {
        "name": i18n.site_name(request),
        "short_name": i18n.SITE_NAME_FALLBACK,
        "description": _("Residents raise concerns and proposals; "
                         "the village decides and does them in public."),
        "lang": web.locale,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5d3b",
        "icons": [
            {"src": asset_url("icon-192.png"), "sizes": "192x192", "type": "image/png",
             "purpose": "any maskable"},
            {"src": asset_url("icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any maskable"},
            {"src": asset_url("favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json",
                    headers={"Cache-Control": "public, max-age=86400", "Vary": "Cookie"})


@router.get("/offline", response_class=HTMLResponse, include_in_schema=False)
def offline_page(request: Request):
    """What a phone without signal shows for a page it never saved (the worker keeps this page)."""
    web = Web(request, load_user=False)
    return web.render("public/offline.html")
