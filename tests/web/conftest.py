"""Fixtures of the web tests."""

from __future__ import annotations

import pytest

from civic.web import pagecache


@pytest.fixture
def kept_pages(monkeypatch) -> list[tuple]:
    """The page cache on; the keys of the pages rendered and kept from now on, in order."""
    monkeypatch.setattr(pagecache.cache, "enabled", True)
    renders: list[tuple] = []
    real_put = pagecache.cache.put

    def put(key, version, response):
        renders.append(key)
        real_put(key, version, response)

    monkeypatch.setattr(pagecache.cache, "put", put)
    return renders
