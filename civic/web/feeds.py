"""Atom feeds of public changes, per item and per village (readers and FixMyStreet users rely on them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from civic import clock
from civic.areas.models import Village
from civic.db import unit_of_work
from civic.errors import N_, NotFound
from civic.items import service as items
from civic.web.core import Web

router = APIRouter()

ATOM = "application/atom+xml; charset=utf-8"


def _atom(web: Web, *, feed_id: str, title: str, page_url: str, entries) -> Response:
    base = str(web.request.base_url).rstrip("/")
    updated = entries[0].entry.at if entries else clock.now()
    response = web.render("feeds/atom.xml", base=base, feed_id=feed_id, title=title, updated=updated,
                          self_url=str(web.request.url), page_url=base + page_url, entries=entries)
    return Response(response.body, media_type=ATOM, headers={"Cache-Control": "public, max-age=300"})


@router.get("/items/{code}/feed.atom")
def item_feed(request: Request, code: str):
    with unit_of_work() as db:
        web = Web(request, db, load_user=False)
        item = items.get_by_code(db, code)
        entries = items.public_events(db, item_id=item.id)
        return _atom(web, feed_id=f"{str(request.base_url).rstrip('/')}/items/{item.code}",
                     title=f"{item.code} · {item.title}", page_url=f"/items/{item.code}", entries=entries)


@router.get("/villages/{village_id}/feed.atom")
def village_feed(request: Request, village_id: str):
    with unit_of_work() as db:
        web = Web(request, db, load_user=False)
        village = db.get(Village, int(village_id)) if village_id.isdigit() and len(village_id) < 10 else None
        if village is None:
            raise NotFound(N_("This village does not exist."))
        entries = items.public_events(db, village_id=village.id)
        return _atom(web, feed_id=f"{str(request.base_url).rstrip('/')}/villages/{village.id}",
                     title=web._("Changes in %(name)s", name=village.name), page_url=f"/items?village={village.id}",
                     entries=entries)
