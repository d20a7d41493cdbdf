"""Static files: the versioned names pages link to are cached for a year and sent compressed; any other name
of the same file (no version, a stale one) must be revalidated, so a phone never keeps an old file a year."""

import re


def test_linked_static_files_are_cached_for_a_year_and_compressed(client):
    page = client.get("/").text
    linked = re.findall(r'(?:href|src)="(/static/[^"]+\?v=[0-9a-f]+)"', page)
    assert any(".css?" in url for url in linked), page[:500]
    for url in linked:
        r = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
        if url.split("?")[0].endswith((".css", ".js")):
            assert r.headers.get("content-encoding") == "gzip", url


def test_a_static_file_under_an_unversioned_or_stale_name_is_revalidated(client):
    css = re.search(r'href="(/static/civic\.css\?v=[0-9a-f]+)"', client.get("/").text).group(1)
    for url in ("/static/civic.css", "/static/civic.css?v=0123456789", "/static/civic.css?x=" + css[-10:]):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "no-cache", url
        assert r.headers.get("etag"), url
        again = client.get(url, headers={"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304, url
    assert client.get("/static/no-such-file.css?v=0").status_code == 404
    assert client.get("/static/../civic/config.py").status_code == 404
