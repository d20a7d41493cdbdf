"""The two Open311 clients from the package index against a live uvicorn server on a loopback port:
`georeport` 0.3.1 (JSON and XML) and `open311` 1.1 (through the Python 3 shim in shims.py)."""

from __future__ import annotations

import urllib.error
from datetime import timedelta

import pytest
from georeport import GeoReport
from sqlalchemy import select

from civic import clock
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import setup_item
from tests.open311.shims import load_open311


@pytest.fixture
def items(site):
    a = setup_item(site.commune, site.village, site.drainage)
    b = setup_item(site.commune, site.village, site.lighting, stage="rejected")
    return a, b


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_services_definitions_and_requests(live_server, site, items, fmt):
    a, b = items
    client = GeoReport(f"{live_server}/open311/v2", output_format=fmt)
    services = client.get_service_list()
    assert {s["service_code"] for s in services} == {site.drainage.code, site.lighting.code}
    assert {s["service_name"] for s in services} == {"Thoát nước", "Chiếu sáng"}
    definition = client.get_service_definition(site.drainage.code)
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [x["code"] for x in attributes] == ["problem", "hazards", "length_m"]

    def codes(requests):
        requests = requests if isinstance(requests, list) else [requests]
        return [r["service_request_id"] for r in requests]

    assert codes(client.get_service_requests()) == [b.code, a.code]
    assert codes(client.get_service_requests(service_request_id=f"{a.code},{b.code}")) == [b.code, a.code]
    assert codes(client.get_service_requests(service_code=site.lighting.code)) == [b.code]
    assert codes(client.get_service_requests(status="open")) == [a.code]
    assert codes(client.get_service_requests(status="closed")) == [b.code]
    start = (clock.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert codes(client.get_service_requests(start_date=start, end_date=end)) == [b.code, a.code]
    one = client.get_service_request(b.code)
    assert one["service_request_id"] == b.code and one["status"] == "closed"
    assert one["status_notes"].startswith("Đã kết thúc")


def test_georeport_with_a_jurisdiction(live_server, site, items):
    client = GeoReport(f"{live_server}/open311/v2", jurisdiction=site.commune.code)
    assert len(client.get_service_requests()) == 2
    wrong = GeoReport(f"{live_server}/open311/v2", jurisdiction="ZZ")
    with pytest.raises(Exception) as exc:
        wrong.get_service_list()
    assert "404" in str(exc.value)


def test_open311_client_lists_defines_posts_and_looks_up(live_server, site, items):
    Open311 = load_open311()
    a, b = items
    client = Open311(endpoint=f"{live_server}/open311/v2", format="xml", api_key=site.api_key)
    services = client.service_list()
    assert {s["service_code"] for s in services} == {site.drainage.code, site.lighting.code}
    definition = client.service_definition(site.drainage.code)["service_definition"]
    values = definition["attributes"]["attribute"][0]["values"]["value"]
    assert [v["key"] for v in values] == ["blocked", "broken"]

    answer = client.post_service_request(**{
        "service_code": site.drainage.code, "lat": "21.30", "long": "105.21", "token": "outbox-7",
        "description": "Cống trước nhà văn hoá bị tắc, nước tràn lên đường.", "attribute[problem]": "broken"})
    code = answer["service_requests"]["request"]["service_request_id"]
    with unit_of_work() as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        assert (item.channel, item.stage) == ("api", "submitted")
        assert '"problem": "broken"' in item.attributes
    with pytest.raises(urllib.error.HTTPError) as exc:  # a token is looked up with the key that sent it
        client.request_id_from_token("outbox-7")
    assert exc.value.code == 403 and b"<errors><error><code>403</code>" in exc.value.read()
    client.required_params = {"api_key": site.api_key}  # the client's own way to add a parameter to reads
    assert client.request_id_from_token("outbox-7")["service_request_id"] == code
    client.required_params = None

    listed = client.service_requests(status="open")
    listed = listed if isinstance(listed, list) else [listed]
    assert [r["service_request_id"] for r in listed] == [code, a.code]
    one = client.get_service_request(code)["service_requests"]["request"]
    assert one["service_request_id"] == code and one["service_code"] == site.drainage.code

    json_client = Open311(endpoint=f"{live_server}/open311/v2", format="json", api_key=site.api_key)
    assert json_client.service_definition(site.lighting.code) == {"service_code": site.lighting.code,
                                                                  "attributes": []}
    assert json_client.get_service_request(b.code)[0]["status"] == "closed"


def test_open311_client_gets_403_with_a_wrong_key(live_server, site):
    Open311 = load_open311()
    client = Open311(endpoint=f"{live_server}/open311/v2", format="xml", api_key="civic_wrong")
    with pytest.raises(urllib.error.HTTPError) as exc:
        client.post_service_request(service_code=site.drainage.code, address_string="Xóm Trên",
                                    **{"attribute[problem]": "blocked"})
    assert exc.value.code == 403
    assert b"<errors><error><code>403</code>" in exc.value.read()
