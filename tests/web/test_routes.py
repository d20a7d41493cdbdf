"""Named routes: templates build every link and form action with url_for(name, …), so each name must be
unique and the fast path table must give what Starlette's own url_path_for gives."""

from __future__ import annotations

import re
from collections import Counter

from civic.main import create_app
from civic.web.core import _route_paths, path_for


def _named(app):
    return _route_paths(app.routes)


def test_every_route_name_is_unique():
    app = create_app()

    def walk(routes):
        for route in routes:
            inner = getattr(route, "original_router", None)
            yield from walk(inner.routes) if inner is not None else [route]

    names = Counter(r.name for r in walk(app.routes) if getattr(r, "path_format", None))
    assert [name for name, n in names.items() if n > 1] == []


def test_the_path_table_agrees_with_starlette_for_every_named_route():
    app = create_app()
    for name, fmt in _named(app).items():
        params = {p: "NS-2026-0042" if p == "code" else "7" for p in re.findall(r"\{(\w+)\}", fmt)}
        assert path_for(app, name, **params) == app.url_path_for(name, **params), name


def test_a_value_is_quoted_into_its_segment():
    app = create_app()
    assert path_for(app, "item_status", code="a/b c") == "/items/a%2Fb%20c"
