"""The Host header cannot steer the site's links; HSTS behind TLS; /docs loads nothing from elsewhere;
/healthz tells the database and the media storage apart."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from civic.config import get_settings
from civic.main import create_app
from tests.builders import setup_item, setup_world

BASE = "https://nhaoson.example.vn"


@pytest.fixture
def make_client(monkeypatch):
    """A client of an app built with these CIVIC_* settings (the environment, as an operator sets it)."""
    clients = []

    def make(base_url: str = "http://testserver", **env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        client = TestClient(create_app(), base_url=base_url, raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    get_settings.cache_clear()


def _item():
    _c, a, _b, cat, _u = setup_world()
    return setup_item(_c, a, cat)


def _item_with_meeting():
    """An item in Dân bàn with a village meeting on the calendar."""
    from datetime import timedelta

    from civic import clock
    from civic.db import unit_of_work
    from civic.deliberation import service as deliberation
    from civic.deliberation.schemas import ScheduleMeetingForm
    from tests.builders import make_discuss_item, viewer, world

    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        item = make_discuss_item(db, commune, a, cat, users["village_head"])
        start = (clock.now() + timedelta(days=6)).astimezone(clock.LOCAL_TZ)
        deliberation.schedule_meeting(db, item, viewer(db, users["village_head"]), ScheduleMeetingForm.parse({
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "place": "Nhà văn hoá",
            "agenda": "Bàn làm mương"}))
        return item


def _og_url(html: str) -> str:
    match = re.search(r'<meta property="og:url" content="([^"]*)">', html)
    assert match, "no og:url"
    return match.group(1)


def test_with_a_base_url_an_unknown_host_is_refused_and_every_link_names_the_base_url(make_client):
    item = _item_with_meeting()
    client = make_client(BASE, CIVIC_BASE_URL=BASE, CIVIC_ALLOWED_HOSTS="nhaoson.example.vn,10.0.0.5")

    evil = client.get(f"/items/{item.code}", headers={"Host": "evil.example"})
    assert evil.status_code == 400
    assert "evil.example" not in evil.text and "This site does not answer" in evil.text
    assert evil.headers["x-content-type-options"] == "nosniff"  # still a response of this site

    page = client.get(f"/items/{item.code}")
    assert page.status_code == 200
    assert _og_url(page.text) == f"{BASE}/items/{item.code}"

    # Another allowed host (an internal address) still gets the public links, never its own.
    inside = {"Host": "10.0.0.5"}
    pages = {
        "status": client.get(f"/items/{item.code}", headers=inside),
        "feed": client.get(f"/items/{item.code}/feed.atom", headers=inside),
        "village feed": client.get(f"/villages/{item.village_id}/feed.atom", headers=inside),
        "calendar": client.get(f"/villages/{item.village_id}/meetings.ics", headers=inside),
        "notice": client.get(f"/items/{item.code}/notice", headers=inside),
        "open311": client.get("/open311/v2/discovery.json", headers=inside),
    }
    for name, answer in pages.items():
        assert answer.status_code == 200, name
        assert "10.0.0.5" not in answer.text and "evil.example" not in answer.text, name
        assert BASE in answer.text, name
    assert _og_url(pages["status"].text) == f"{BASE}/items/{item.code}"
    assert f'<link rel="alternate" type="text/html" href="{BASE}/items/{item.code}"/>' in pages["feed"].text
    assert f"URL:{BASE}/items/{item.code}" in pages["calendar"].text
    assert "@nhaoson.example.vn" in pages["calendar"].text  # the events' UIDs
    assert f"{BASE}/items/{item.code}" in pages["notice"].text  # the printed address under the QR code
    assert f'"url":"{BASE}/open311/v2"' in pages["open311"].text.replace(" ", "")


def test_the_allowed_hosts_default_to_the_base_urls_host(make_client):
    item = _item()
    client = make_client(BASE, CIVIC_BASE_URL=BASE)
    assert client.get(f"/items/{item.code}").status_code == 200
    assert client.get(f"/items/{item.code}", headers={"Host": "testserver"}).status_code == 400
    # A load balancer checks a worker by its own address: the health checks answer any host.
    for path in ("/healthz", "/healthz/db", "/healthz/media"):
        assert client.get(path, headers={"Host": "10.1.2.3:8000"}).status_code == 200, path
    assert client.get("/healthzz", headers={"Host": "10.1.2.3:8000"}).status_code == 400


def test_without_a_base_url_a_forged_host_does_not_reach_the_next_visitor(client):
    item = _item()
    forged = client.get(f"/items/{item.code}", headers={"Host": "evil.example"})
    assert forged.status_code == 200  # development: any host is answered, with its own links
    assert _og_url(forged.text) == f"http://evil.example/items/{item.code}"

    page = client.get(f"/items/{item.code}")
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert _og_url(page.text) == f"http://testserver/items/{item.code}"
    assert "evil.example" not in client.get(f"/items/{item.code}/feed.atom").text
    assert "evil.example" not in client.get(f"/items/{item.code}/notice").text


# --- HSTS ---------------------------------------------------------------------------------------------

def test_hsts_is_sent_on_every_response_behind_tls(make_client):
    client = make_client("https://testserver", CIVIC_COOKIE_SECURE="true")
    for path in ("/", "/healthz", "/static/civic.css", "/no-such-page", "/openapi.json"):
        answer = client.get(path)
        assert answer.headers.get("strict-transport-security") == "max-age=63072000; includeSubDomains", path


def test_no_hsts_without_tls(client):
    for path in ("/", "/healthz", "/no-such-page"):
        assert "strict-transport-security" not in client.get(path).headers


# --- /docs ----------------------------------------------------------------------------------------------

def test_docs_loads_nothing_from_another_origin_and_every_script_is_served_here(client):
    page = client.get("/docs")
    assert page.status_code == 200
    # No script or stylesheet from elsewhere, and no inline script (the CSP forbids both).
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', page.text)
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", page.text)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page.text)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert styles
    for src in scripts + styles:
        assert src.startswith("/"), src
        assert client.get(src).status_code == 200, src
    # It still leads to the API: the schema and the operations.
    assert 'href="/openapi.json"' in page.text
    assert "/open311/v2/requests.{fmt}" in page.text
    assert client.get("/openapi.json").status_code == 200


# --- /healthz -----------------------------------------------------------------------------------------

def test_healthz_reports_the_database_and_the_media_storage(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.text == "database: ok\nmedia: ok\n"
    assert answer.headers["cache-control"] == "no-store"
    assert client.get("/healthz/db").text == "database: ok\n"
    assert client.get("/healthz/media").text == "media: ok\n"


def test_healthz_is_503_when_the_media_folder_cannot_be_written(client, tmp_path, monkeypatch):
    blocked = tmp_path / "media"
    blocked.write_text("a file where the media folder should be")  # the OS refuses to write under it
    monkeypatch.setattr(get_settings(), "media_dir", blocked)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.text == "database: ok\nmedia: unavailable\n"
    assert client.get("/healthz/media").status_code == 503
    assert client.get("/healthz/db").status_code == 200  # a balancer can tell which part failed
    assert list(tmp_path.iterdir()) == [blocked]  # no probe file left behind


def test_healthz_is_503_when_the_database_does_not_answer(client, monkeypatch):
    from sqlalchemy import create_engine

    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False,
                         connect_args={"connect_timeout": 1})
    monkeypatch.setattr("civic.web.public.get_engine", lambda: dead)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.text == "database: unavailable\nmedia: ok\n"
    assert client.get("/healthz/db").status_code == 503
    assert client.get("/healthz/media").status_code == 200


@pytest.mark.parametrize("value", ["nhaoson.example.vn", "ftp://nhaoson.example.vn", "https://", "https://x/?a=1"])
def test_a_base_url_that_is_not_an_http_address_stops_the_start(monkeypatch, value):
    from pydantic import ValidationError

    from civic.config import Settings

    monkeypatch.setenv("CIVIC_BASE_URL", value)
    with pytest.raises(ValidationError, match="CIVIC_BASE_URL"):
        Settings()
