"""Bad input answers the spec's error array with 400, 403 or 404 — never 422 or 500 — and stores nothing."""

from __future__ import annotations

import pytest

from civic.accounts import service as accounts
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import count, setup_item
from tests.open311.conftest import error_descriptions, new_request

FORMATS = ("json", "xml")


def _stored() -> tuple[int, int]:
    with unit_of_work() as db:
        return count(db, Item), count(db, AuditEvent)


# (what, form overrides, status, words the description must contain)
BAD_POSTS = [
    ("no api_key", {"api_key": None}, 403, "api_key"),
    ("empty api_key", {"api_key": ""}, 403, "api_key"),
    ("wrong api_key", {"api_key": "civic_not-a-key"}, 403, "api_key"),
    ("unknown service", {"service_code": "no-such-service"}, 404, "no-such-service"),
    ("no service", {"service_code": None}, 400, "service_code"),
    ("no location", {"lat": None, "long": None, "address_string": None}, 400, "location"),
    ("lat without long", {"long": None, "address_string": None}, 400, "lat"),
    ("lat out of range", {"lat": "91"}, 400, "lat"),
    ("long out of range", {"long": "-181"}, 400, "lat"),
    ("lat not a number", {"lat": "north"}, 400, "lat"),
    ("description too long", {"description": "Cống tắc. " + "x" * 4000}, 400, "4,000"),
    ("value outside the list", {"attribute[problem]": "exploded"}, 400, "attribute[problem]"),
    ("required attribute missing", {"attribute[problem]": None}, 400, "attribute[problem]"),
    ("unknown attribute", {"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ("number attribute not a number", {"attribute[length_m]": "ten"}, 400, "attribute[length_m]"),
    ("unknown address_id", {"address_id": "no-such-village"}, 400, "address_id"),
    ("bad phone", {"phone": "12345"}, 400, "phone"),
    ("unknown jurisdiction", {"jurisdiction_id": "ZZ"}, 404, "jurisdiction_id"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("what,over,status,words", BAD_POSTS, ids=[b[0] for b in BAD_POSTS])
def test_bad_posts_answer_the_error_array_and_store_nothing(client, site, fmt, what, over, status, words):
    before = _stored()
    answer = client.post(f"/open311/v2/requests.{fmt}?locale=en", data=new_request(site, **over))
    assert answer.status_code == status, answer.text
    assert any(words in d for d in error_descriptions(answer)), error_descriptions(answer)
    assert _stored() == before


def test_several_errors_come_together(client, site):
    answer = client.post("/open311/v2/requests.json?locale=en", data=new_request(
        site, lat="95", description="y" * 4001, **{"attribute[problem]": "exploded"}))
    assert answer.status_code == 400
    descriptions = " | ".join(error_descriptions(answer))
    assert "attribute[problem]" in descriptions and "lat:" in descriptions and "description:" in descriptions


def test_a_revoked_key_is_refused(client, site):
    with unit_of_work(write=True) as db:
        accounts.revoke_api_key(db, site.api_key_id)
    before = _stored()
    answer = client.post("/open311/v2/requests.xml", data=new_request(site))
    assert answer.status_code == 403
    assert _stored() == before


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_utf8_bytes_in_the_body_or_the_query(client, site, fmt):
    before = _stored()
    body = (f"api_key={site.api_key}&service_code={site.drainage.code}&address_string=Th%F4n"
            "&attribute[problem]=blocked")
    answer = client.post(f"/open311/v2/requests.{fmt}", content=body.encode(),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400
    raw = body.replace("Th%F4n", "Th\xf4n").encode("latin-1")
    assert client.post(f"/open311/v2/requests.{fmt}", content=raw,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 400
    assert _stored() == before
    for path in ("requests", "services", "servicerequestupdates"):
        answer = client.get(f"/open311/v2/{path}.{fmt}?start_date=%C3%28")
        assert answer.status_code == 400, path
        assert error_descriptions(answer)


@pytest.mark.parametrize("fmt", FORMATS)
def test_nul_characters_are_bad_input_not_a_crash(client, site, fmt):
    """PostgreSQL refuses NUL in text; found by the fuzz run as a 500 in jurisdiction_id."""
    before = _stored()
    for path in ("requests", "services", "servicerequestupdates"):
        answer = client.get(f"/open311/v2/{path}.{fmt}?jurisdiction_id=NS%00x")
        assert answer.status_code == 400, path
    body = f"api_key={site.api_key}&service_code={site.drainage.code}&address_string=a%00b&lat=21&long=105"
    answer = client.post(f"/open311/v2/requests.{fmt}", content=body.encode(),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400
    assert _stored() == before


def test_a_json_body_is_refused_with_400(client, site):
    answer = client.post("/open311/v2/requests.json", json=new_request(site))
    assert answer.status_code == 400


# (path and query, status, words)
BAD_GETS = [
    ("requests.json?start_date=yesterday", 400, "start_date"),
    ("requests.json?end_date=2026-13-45T00:00:00Z", 400, "end_date"),
    ("requests.json?start_date=2026-05-01T00:00:00Z&end_date=2026-04-01T00:00:00Z", 400, "start_date"),
    ("requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", 400, "90 days"),
    ("servicerequestupdates.json?start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", 400,
     "90 days"),
    ("servicerequestupdates.json?start_date=soon", 400, "start_date"),
    ("requests.json?start_date=0001-01-01", 400, "start_date"),  # out of range once in UTC (was a 500)
    ("requests.json?end_date=9999-12-31T23:59:59-05:00", 400, "end_date"),
    ("servicerequestupdates.json?start_date=9999-12-31", 400, "start_date"),
    ("requests.json?status=pending", 400, "status"),
    ("requests.json?page=0", 400, "page"),
    ("requests.json?page_size=1001", 400, "page_size"),
    ("requests.json?page_size=-5", 400, "page_size"),
    ("requests.json?jurisdiction_id=XX", 404, "jurisdiction_id"),
    ("requests/NS-2026-9999.json", 404, "NS-2026-9999"),
    ("requests/not-a-code.json", 404, "not-a-code"),
    ("services/no-such-service.json", 404, "no-such-service"),
    ("service/no-such-service.json", 404, "no-such-service"),
    ("tokens/never-sent.json", 403, "api_key"),
    ("tokens/never-sent.json?api_key=civic_wrong", 403, "api_key"),
    ("requests.yaml", 400, "format"),
    ("services.html", 400, "format"),
    ("services/x.csv", 400, "format"),
    ("discovery.txt", 400, "format"),
    ("requests", 404, ""),
    ("nothing.json", 404, ""),
]


@pytest.mark.parametrize("as_xml", [False, True])
@pytest.mark.parametrize("path,status,words", BAD_GETS, ids=[b[0] for b in BAD_GETS])
def test_bad_reads_answer_the_error_array(client, site, path, status, words, as_xml):
    setup_item(site.commune, site.village, site.drainage)
    if as_xml:
        path = path.replace(".json", ".xml")
    answer = client.get(f"/open311/v2/{path}{'&' if '?' in path else '?'}locale=en")
    assert answer.status_code == status, answer.text
    descriptions = error_descriptions(answer)
    assert descriptions and any(words in d for d in descriptions), descriptions
    expected = "application/json" if path.split("?")[0].endswith(".json") else "text/xml"
    assert answer.headers["content-type"].startswith(expected)


def test_wrong_method_and_other_versions_answer_the_error_array(client, site):
    answer = client.delete("/open311/v2/requests.json")
    assert answer.status_code == 405 and error_descriptions(answer)
    assert answer.headers["allow"] == "GET, POST"
    answer = client.put("/open311/v2/services.xml")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"
    answer = client.options("/open311/v2/requests.xml")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET, POST" and error_descriptions(answer)
    answer = client.get("/open311/v3/services.json")
    assert answer.status_code == 404 and error_descriptions(answer)


def test_errors_are_in_vietnamese_by_default(client, site):
    answer = client.get("/open311/v2/nothing.json")
    assert error_descriptions(answer) == ["Không tìm thấy"]
