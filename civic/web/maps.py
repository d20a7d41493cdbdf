"""The map: the public map view of the item list (/map, with the list's filters), the public positions
as GeoJSON (/map/items.geojson), and the settings the submission form's location block needs.

The map library (static/vendor/leaflet-*) is loaded only by pages that show a map: /map itself, and the
submission form once the resident asks for the map or their location (static/map-pick.js). Without
JavaScript or tiles, the form keeps its plain latitude and longitude fields and this page links to the list.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from civic.db import row_id
from civic.items import positions, rules
from civic.items import service as items
from civic.items.schemas import SEARCH_MAX, ItemListQuery
from civic.web import communes
from civic.web.assets import asset_url
from civic.web.core import _current, env
from civic.web.deps import reading
from civic.web.views import lookups
from civic.workflow.stages import KINDS, STAGE_LABELS, STRIP, Stage

router = APIRouter()

LEAFLET = "vendor/leaflet-1.9.4/"
CLUSTER = "vendor/leaflet.markercluster-1.5.3/"
# The middle of Vietnam, and a zoom that shows the whole country on a phone: where a map opens when the
# commune has no position yet.
VIETNAM_CENTRE = (16.0, 106.0)
COUNTRY_ZOOM, COMMUNE_ZOOM = 5, 14
MAP_STAGES = (*STRIP, Stage.CLOSED)


def map_setup() -> dict[str, Any]:
    """What a page that may show a map gives its script: the library's files, the tiles and their
    attribution (settings), and Vietnam's boxes (the same rule the server checks positions with)."""
    web = _current.get()
    settings = web.request.app.state.settings
    lat, lng, zoom = _opening(web.session, communes.current(web.request, web.session))
    return {
        "lat": lat, "lng": lng, "zoom": zoom,
        "leaflet_js": asset_url(LEAFLET + "leaflet.js"), "leaflet_css": asset_url(LEAFLET + "leaflet.css"),
        "cluster_js": asset_url(CLUSTER + "leaflet.markercluster.js"),
        "cluster_css": asset_url(CLUSTER + "MarkerCluster.css"),
        "cluster_theme_css": asset_url(CLUSTER + "MarkerCluster.Default.css"),
        "map_css": asset_url("map.css"),
        "tiles": settings.map_tiles, "attribution": settings.map_attribution,
        "attribution_url": settings.map_attribution_url,
        "bounds": json.dumps(rules.VIETNAM_BOXES), "outside": rules.OUTSIDE_VIETNAM,
    }


env.globals.update(map_setup=map_setup)


def _opening(db, commune) -> tuple[float, float, int]:
    """Where a map of this commune opens: the middle of its public positions, else all of Vietnam."""
    centre = positions.centre(db, row_id(commune))
    return (*centre, COMMUNE_ZOOM) if centre else (*VIETNAM_CENTRE, COUNTRY_ZOOM)


def _filters(query: ItemListQuery, look) -> items.ListFilters:
    return items.ListFilters(
        village_id=query.village if query.village in look.villages else None,
        stage=query.stage, outcome=query.outcome, kind=query.kind,
        category_id=query.category if query.category in look.categories else None, q=query.q)


@router.get("/map", response_class=HTMLResponse, name="item_map")
def item_map(request: Request):
    query = ItemListQuery.read(request.query_params)
    with reading(request) as web:
        db = web.session
        commune = communes.current(web.request, db)
        look = lookups(db, row_id(commune))
        f = _filters(query, look)
        found = positions.public_positions(db, row_id(commune), f)
        return web.render("public/item_map.html", commune=commune, look=look, f=f, found=found,
                          stages=MAP_STAGES, kinds=KINDS, search_max=SEARCH_MAX)


@router.get("/map/items.geojson", name="item_positions")
def item_positions(request: Request):
    """The public positions of the items the list's filters match, as a GeoJSON FeatureCollection."""
    query = ItemListQuery.read(request.query_params)
    with reading(request) as web:
        db = web.session
        commune = communes.current(web.request, db)
        look = lookups(db, row_id(commune))
        found = positions.public_positions(db, row_id(commune), _filters(query, look))
        root = request.scope.get("root_path", "")
        features = [{
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lng, p.lat]},
            "properties": {"code": p.code, "title": p.title, "kind": p.kind, "stage": p.stage,
                           "stage_label": web.gettext(STAGE_LABELS[p.stage]),
                           "village": look.village_name(p.village_id),
                           "url": root + request.app.url_path_for("item_status", code=p.code)},
        } for p in found.rows]
        return JSONResponse({"type": "FeatureCollection", "features": features, "truncated": found.truncated},
                            media_type="application/geo+json",
                            headers={"Cache-Control": "no-cache", "Content-Language": web.locale})
