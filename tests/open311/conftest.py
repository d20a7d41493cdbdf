"""Open311 test set-up: a commune whose categories have service definitions, an API key, helpers to read
both formats, and a live uvicorn server on a free loopback port for the real clients."""

from __future__ import annotations

import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from civic.accounts import service as accounts
from civic.areas.models import Commune, Village
from civic.db import unit_of_work
from civic.items.models import Category
from tests.builders import make_category, world

ATTRIBUTES = [
    {"code": "problem", "datatype": "singlevaluelist", "required": True, "order": 1,
     "description": "Vấn đề là gì?", "description_en": "What is the problem?",
     "values": [{"key": "blocked", "name": "Tắc nghẽn", "name_en": "Blocked"},
                {"key": "broken", "name": "Hư hỏng", "name_en": "Broken"}]},
    {"code": "hazards", "datatype": "multivaluelist", "required": False, "order": 2,
     "description": "Nguy hiểm", "values": [{"key": "deep", "name": "Sâu"}, {"key": "dark", "name": "Tối"}]},
    {"code": "length_m", "datatype": "number", "required": False, "order": 3, "description": "Dài (m)"},
]


@dataclass
class Site:
    commune: Commune
    village: Village  # Hưng Đạo
    other: Village  # Tân Tiến
    drainage: Category  # with attributes
    lighting: Category  # without
    users: dict
    api_key: str
    api_key_id: int
    other_key: str
    other_key_id: int


@pytest.fixture
def site() -> Site:
    with unit_of_work(write=True) as db:
        commune, a, b, drainage, users = world(db)
        drainage.attributes = json.dumps(ATTRIBUTES, ensure_ascii=False)
        lighting = make_category(db, commune, code="lighting", vi="Chiếu sáng", en="Street lighting")
        key, secret = accounts.create_api_key(db, commune_id=commune.id, name="Cổng tỉnh")
        other, other_secret = accounts.create_api_key(db, commune_id=commune.id, name="Báo chí")
        db.flush()
    return Site(commune, a, b, drainage, lighting, users, secret, key.id, other_secret, other.id)


def new_request(site: Site, **over) -> dict:
    data = {"api_key": site.api_key, "service_code": site.drainage.code, "lat": "21.3021", "long": "105.2104",
            "address_string": "Ngõ 3, thôn Hưng Đạo",
            "description": "Cống trước nhà văn hoá bị tắc, nước tràn lên đường.",
            "attribute[problem]": "blocked"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def post(client, site: Site, fmt: str = "json", **over):
    return client.post(f"/open311/v2/requests.{fmt}", data=new_request(site, **over))


def parse(response):
    """The body as plain data: JSON as is; XML as (root tag, element tree)."""
    if response.headers["content-type"].startswith("application/json"):
        return response.json()
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def error_descriptions(response) -> list[str]:
    body = parse(response)
    if isinstance(body, list):
        assert all(set(e) == {"code", "description"} and e["code"] == response.status_code
                   for e in body), body
        return [e["description"] for e in body]
    assert body.tag == "errors", body.tag
    assert all(e.tag == "error" for e in body)
    assert all(e.findtext("code") == str(response.status_code) for e in body)
    return [e.findtext("description") for e in body]


# --- a live server for the real clients -------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server():
    """uvicorn serving the app on a free loopback port, in a thread of the test process (same database)."""
    import uvicorn

    from civic.main import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
