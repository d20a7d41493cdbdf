"""The parts of working offline a server answers for: the manifest, the service worker and its version,
the offline page, and which pages a phone may keep."""

import json
import re

from civic.config import get_settings
from civic.db import unit_of_work
from civic.web import offline
from tests.builders import login, make_item, world


def test_the_manifest_names_the_app_in_the_visitors_language_with_installable_icons(client):
    body = client.get("/manifest.webmanifest")
    assert body.status_code == 200
    assert body.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(body.text)
    assert manifest["lang"] == "vi" and manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert manifest["name"] == "Góp ý" and manifest["short_name"] == "Góp ý"  # no commune yet: the site name
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200, icon
    client.get("/lang/en")
    assert json.loads(client.get("/manifest.webmanifest").text)["lang"] == "en"
    assert 'rel="manifest" href="/manifest.webmanifest"' in client.get("/").text


def test_the_service_worker_is_never_cached_and_precaches_what_exists(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert "__CIVIC_" not in response.text
    version = offline.version()
    assert f'var VERSION = "{version}"' in response.text
    precache = json.loads(response.text.split("var PRECACHE = ", 1)[1].split(";", 1)[0])
    assert "/offline" in precache
    for url in precache:
        assert client.get(url).status_code == 200, url
    imported = re.search(r'importScripts\("([^"]+)"\)', response.text).group(1)
    assert imported in precache and client.get(imported).status_code == 200


def test_a_new_release_gives_a_new_worker_version(monkeypatch):
    first = offline.version()
    offline.version.cache_clear()
    monkeypatch.setattr(get_settings(), "release", "next-deploy")
    try:
        assert offline.version() != first
    finally:
        monkeypatch.undo()
        offline.version.cache_clear()
    assert offline.version() == first


def test_the_offline_page_says_so_in_both_languages(client):
    page = client.get("/offline")
    assert page.status_code == 200 and "Không có sóng" in page.text
    client.get("/lang/en")
    assert "No signal" in client.get("/offline").text


def test_only_public_pages_and_the_form_may_be_kept_and_never_a_staff_members(client):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        code = make_item(db, commune, a, cat, stage="know", contact_phone="0912345678").code
        village_head = users["village_head"]
    for path in ("/", "/items", f"/items/{code}", "/submit"):
        assert ' data-saved="' in client.get(path).text, path
    for path in ("/login", "/audit", "/offline"):
        assert ' data-saved="' not in client.get(path).text, path
    login(client, village_head)
    page = client.get(f"/items/{code}")
    assert "0912345678" in page.text  # the village head sees the contact …
    assert ' data-saved="' not in page.text  # … so the phone must not keep the page
    assert ' data-saved="' not in client.get("/submit").text


def test_logging_in_or_out_tells_the_phone_to_forget_the_pages_it_kept(client):
    with unit_of_work(write=True) as db:
        _commune, _a, _b, _cat, users = world(db)
        resident = users["resident"]
    assert "data-forget-saved" not in client.get("/").text
    login(client, resident)
    assert "data-forget-saved" in client.get("/").text  # the first page after logging in …
    assert "data-forget-saved" not in client.get("/").text  # … only
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    after = client.post("/logout", data={"csrf_token": token})  # followed to the home page
    assert after.status_code == 200 and "data-forget-saved" in after.text
