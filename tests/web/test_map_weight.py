"""The map's weight: the form and the map page stay under 30 KB without the map library, which no page
links to (the scripts load it on demand), and the library itself is measured."""

from __future__ import annotations

import gzip
import re

from tests.builders import setup_item, setup_world
from tests.web.test_page_weight import BUDGET, weigh

LIBRARY = ["/static/vendor/leaflet-1.9.4/leaflet.js", "/static/vendor/leaflet-1.9.4/leaflet.css",
           "/static/vendor/leaflet.markercluster-1.5.3/leaflet.markercluster.js",
           "/static/vendor/leaflet.markercluster-1.5.3/MarkerCluster.css",
           "/static/vendor/leaflet.markercluster-1.5.3/MarkerCluster.Default.css"]
LINKED = re.compile(r'<(?:script|link)[^>]+(?:src|href)="[^"]*/static/vendor/')


def test_no_page_links_the_map_library_and_the_map_pages_stay_under_the_budget(client):
    commune, a, _b, cat, _users = setup_world()
    item = setup_item(commune, a, cat, stage="know", lat="21.3021", lng="105.2104")
    table = []
    pages = (("home", "/"), ("item list", "/items"), ("status", f"/items/{item.code}"),
             ("submit form", "/submit"), ("map", "/map"), ("map, filtered", f"/map?village={a.id}"))
    for name, path in pages:
        html = client.get(path).text
        assert not LINKED.search(html), f"{path} links the map library instead of loading it on demand"
        sizes, problems = weigh(client, path)
        assert not problems, problems
        assert sizes["total"] < BUDGET, f"{path} weighs {sizes['total']} B"
        table.append(f"{name:14} {sizes['total']:6} B "
                     f"(html {sizes['html']}, css {sizes['css']}, js {sizes['js']})")
    library = 0
    for url in LIBRARY:
        r = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, url
        library += r.num_bytes_downloaded
        assert r.num_bytes_downloaded < len(gzip.compress(r.content)) * 1.1  # sent compressed
    assert library < 70 * 1024, f"the map library weighs {library} B compressed"
    print("\nmap page weights (compressed, as sent):\n" + "\n".join(table)
          + f"\nmap library on demand (Leaflet + markercluster, JS + CSS): {library} B")
