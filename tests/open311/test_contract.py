"""Every Open311 route in both formats: the spec's element names, array shapes, content types, datetimes
with offsets, public fields only, and what a POST does to the village head's queue and the audit chain."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from civic import clock
from civic.audit.models import AuditEvent
from civic.db import unit_of_work
from civic.items.models import Item
from civic.items.schemas import SubmitForm
from tests.builders import count, login, make_item, setup_item
from tests.open311.conftest import parse, post

W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
                  "media_url"]
FORMATS = ("json", "xml")


def _items(site, n=1, **over):
    return [setup_item(site.commune, site.village, site.drainage, **over) for _ in range(n)]


# --- discovery and services ---------------------------------------------------------------------------------

def test_discovery_in_both_formats(client, site):
    body = client.get("/open311/v2/discovery.json").json()
    assert body["endpoints"][0]["url"].endswith("/open311/v2")
    assert body["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert W3C.match(body["changeset"])
    root = parse(client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats").findall("format")] == ["text/xml",
                                                                                           "application/json"]


def test_services_list_categories_with_metadata_where_they_have_attributes(client, site):
    answer = client.get("/open311/v2/services.json")
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    services = answer.json()
    assert isinstance(services, list)
    by_code = {s["service_code"]: s for s in services}
    assert by_code[site.drainage.code] == {
        "service_code": site.drainage.code, "service_name": "Thoát nước",
        "description": "Thoát nước / Drainage", "metadata": True, "type": "realtime", "keywords": "",
        "group": ""}
    assert by_code[site.lighting.code]["metadata"] is False
    root = parse(client.get("/open311/v2/services.xml"))
    assert root.tag == "services" and [c.tag for c in root] == ["service", "service"]
    first = root.find("service")
    assert [c.tag for c in first] == ["service_code", "service_name", "description", "metadata", "type",
                                      "keywords", "group"]
    assert root.find(f"service[service_code='{site.drainage.code}']/metadata").text == "true"
    assert client.get("/open311/v2/services.json?locale=en").json()[0]["service_name"] == "Drainage"


@pytest.mark.parametrize("path", ["services", "service"])
def test_service_definition_in_both_formats_and_both_paths(client, site, path):
    body = client.get(f"/open311/v2/{path}/{site.drainage.code}.json").json()
    assert body["service_code"] == site.drainage.code
    problem = body["attributes"][0]
    assert problem == {"variable": True, "code": "problem", "datatype": "singlevaluelist", "required": True,
                       "datatype_description": "", "order": 1, "description": "Vấn đề là gì?",
                       "values": [{"key": "blocked", "name": "Tắc nghẽn"},
                                  {"key": "broken", "name": "Hư hỏng"}]}
    assert [a["code"] for a in body["attributes"]] == ["problem", "hazards", "length_m"]
    root = parse(client.get(f"/open311/v2/{path}/{site.drainage.code}.xml"))
    assert root.tag == "service_definition"
    values = root.findall("attributes/attribute[code='problem']/values/value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [("blocked", "Tắc nghẽn"),
                                                                         ("broken", "Hư hỏng")]
    en = client.get(f"/open311/v2/{path}/{site.drainage.code}.json", headers={"Accept-Language": "en-US,en"})
    assert en.json()["attributes"][0]["description"] == "What is the problem?"
    assert client.get(f"/open311/v2/{path}/{site.lighting.code}.json").json()["attributes"] == []


# --- reading requests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_list_has_the_spec_fields_and_no_personal_data(client, site, fmt):
    item = setup_item(site.commune, site.village, site.drainage, contact_name="Nguyễn Văn Bí Mật",
                      contact_phone="0987654321", show_name="")
    answer = client.get(f"/open311/v2/requests.{fmt}")
    assert answer.status_code == 200
    assert "0987654321" not in answer.text and "Bí Mật" not in answer.text
    body = parse(answer)
    if fmt == "json":
        assert isinstance(body, list) and len(body) == 1
        request = body[0]
        assert list(request) == REQUEST_FIELDS
    else:
        assert body.tag == "service_requests" and [c.tag for c in body] == ["request"]
        assert [c.tag for c in body[0]] == REQUEST_FIELDS
        request = {c.tag: c.text for c in body[0]}
    assert request["service_request_id"] == item.code
    assert request["status"] == "open"
    assert request["status_notes"] == "Chờ tiếp nhận"
    assert request["service_code"] == site.drainage.code
    # Not triaged yet: public by its title and village only (CIVIC_UNTRIAGED_PUBLIC_DETAIL, default "title").
    assert request["description"] in ("", None) and "Nước tràn" not in answer.text
    assert request["address_id"] == site.village.slug
    assert W3C.match(request["requested_datetime"]) and W3C.match(request["updated_datetime"])


def test_one_request_is_an_array_of_one_in_json_and_a_request_in_xml(client, site):
    item = _items(site)[0]
    body = client.get(f"/open311/v2/requests/{item.code}.json").json()
    assert isinstance(body, list) and len(body) == 1 and body[0]["service_request_id"] == item.code
    root = parse(client.get(f"/open311/v2/requests/{item.code.lower()}.xml"))
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == item.code


def test_status_notes_in_vietnamese_by_default_and_english_on_request(client, site):
    item = setup_item(site.commune, site.village, site.drainage, stage="rejected")
    vi = client.get(f"/open311/v2/requests/{item.code}.json").json()[0]
    assert vi["status"] == "closed"
    assert vi["status_notes"] == "Đã kết thúc — Không tiếp nhận: Ngoài khả năng của thôn."
    en = client.get(f"/open311/v2/requests/{item.code}.json?locale=en").json()[0]
    assert en["status_notes"] == "Closed — Not taken up: Ngoài khả năng của thôn."
    header = client.get(f"/open311/v2/requests/{item.code}.xml", headers={"Accept-Language": "en;q=0.9, fr"})
    assert parse(header).findtext("request/status_notes").startswith("Closed")
    known = setup_item(site.commune, site.village, site.drainage, stage="know")
    assert client.get(f"/open311/v2/requests/{known.code}.json").json()[0]["status_notes"] == "Dân biết"
    assert client.get(f"/open311/v2/requests/{known.code}.json?locale=en").json()[0]["status_notes"] ==\
        "People know (Dân biết)"


def test_filters_ids_codes_status_and_dates(client, site):
    clock.freeze(datetime(2026, 1, 15, 2, 0, tzinfo=UTC))
    old = _items(site)[0]
    clock.freeze(datetime(2026, 5, 1, 2, 0, tzinfo=UTC))
    a = _items(site)[0]
    b = setup_item(site.commune, site.village, site.lighting, stage="rejected")
    ids = lambda r: [x["service_request_id"] for x in r.json()]  # noqa: E731
    assert ids(client.get("/open311/v2/requests.json")) == [b.code, a.code]  # the last 90 days, newest first
    assert ids(client.get(f"/open311/v2/requests.json?service_request_id={old.code},{a.code}"
                          "&status=closed")) == [a.code, old.code]
    assert ids(client.get(f"/open311/v2/requests.json?service_code={site.lighting.code}")) == [b.code]
    assert ids(client.get(f"/open311/v2/requests.json?service_code={site.lighting.code},{site.drainage.code}"
                          )) == [b.code, a.code]
    assert ids(client.get("/open311/v2/requests.json?status=open")) == [a.code]
    assert ids(client.get("/open311/v2/requests.json?status=closed")) == [b.code]
    assert ids(client.get("/open311/v2/requests.json?status=open,closed")) == [b.code, a.code]
    assert ids(client.get("/open311/v2/requests.json?start_date=2026-01-10T00:00:00%2B07:00"
                          "&end_date=2026-01-20T00:00:00Z")) == [old.code]
    assert ids(client.get("/open311/v2/requests.json?start_date=2026-01-10")) == [old.code]  # + 90 days
    assert ids(client.get("/open311/v2/requests.json?end_date=2026-04-01T00:00:00Z")) == [old.code]
    assert ids(client.get("/open311/v2/requests.json?jurisdiction_id=&status=")) == [b.code, a.code]
    assert ids(client.get(f"/open311/v2/requests.json?jurisdiction_id={site.commune.code}"))\
        == [b.code, a.code]


def test_at_most_1000_a_page_and_pages_continue(client, site):
    with unit_of_work(write=True) as db:
        for n in range(1003):
            db.add(Item(commune_id=site.commune.id, code=f"NS-2026-{n + 1:04d}", year=2026, seq=n + 1,
                        kind="concern", category_id=site.drainage.id, village_id=site.village.id,
                        title="Cống tắc", description="Cống bị tắc", stage="submitted",
                        created_at=clock.now() - timedelta(minutes=n), updated_at=clock.now(),
                        stage_changed_at=clock.now()))
    first = client.get("/open311/v2/requests.json").json()
    assert len(first) == 1000 and first[0]["service_request_id"] == "NS-2026-0001"
    second = client.get("/open311/v2/requests.json?page=2").json()
    assert [r["service_request_id"] for r in second] == ["NS-2026-1001", "NS-2026-1002", "NS-2026-1003"]
    small = client.get("/open311/v2/requests.xml?page=3&page_size=2")
    assert [r.findtext("service_request_id") for r in parse(small)] == ["NS-2026-0005", "NS-2026-0006"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_extensions_add_stage_outcome_and_the_public_timeline(client, site, fmt):
    item = setup_item(site.commune, site.village, site.drainage, stage="rejected")
    answer = client.get(f"/open311/v2/requests/{item.code}.{fmt}?extensions=true")
    if fmt == "json":
        ext = answer.json()[0]["extended_attributes"]
        assert ext["stage"] == "closed" and ext["outcome"] == "rejected" and ext["progress"] is None
        assert [n["type"] for n in ext["notes"]] == ["submitted", "reject"]
        assert ext["notes"][1]["description"] == "Ngoài khả năng của thôn."
        assert all(W3C.match(n["datetime"]) for n in ext["notes"])
    else:
        ext = parse(answer).find("request/extended_attributes")
        assert ext.findtext("outcome") == "rejected"
        assert [n.findtext("type") for n in ext.findall("notes/note")] == ["submitted", "reject"]
    plain = client.get(f"/open311/v2/requests/{item.code}.json").json()[0]
    assert "extended_attributes" not in plain


def test_extensions_on_a_list_read_the_timelines_in_a_fixed_number_of_queries(client, site):
    from sqlalchemy import event

    from civic.db import get_engine

    _items(site, 3)
    statements = []

    def count_it(*args):
        statements.append(args[2])

    def run():
        statements.clear()
        event.listen(get_engine(), "before_cursor_execute", count_it)
        try:
            assert client.get("/open311/v2/requests.json?extensions=true").status_code == 200
        finally:
            event.remove(get_engine(), "before_cursor_execute", count_it)
        return len(statements)

    few = run()
    _items(site, 6)
    assert run() == few


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_updates_list_public_changes_with_fms_statuses(client, site, fmt):
    clock.freeze(datetime(2026, 5, 1, 2, 0, tzinfo=UTC))
    item = setup_item(site.commune, site.village, site.drainage, stage="redirected")
    clock.freeze(datetime(2026, 5, 3, 2, 0, tzinfo=UTC))
    answer = client.get(f"/open311/v2/servicerequestupdates.{fmt}?start_date=2026-04-30T00:00:00Z"
                        f"&end_date=2026-05-02T00:00:00Z")
    if fmt == "json":
        updates = answer.json()
    else:
        root = parse(answer)
        assert root.tag == "service_request_updates" and {c.tag for c in root} == {"request_update"}
        updates = [{c.tag: c.text or "" for c in u} for u in root]
    assert [u["service_request_id"] for u in updates] == [item.code, item.code]
    assert [u["status"] for u in updates] == ["OPEN", "NOT_COUNCILS_RESPONSIBILITY"]
    assert "Tranh chấp đất đai." in updates[1]["description"]
    assert all(W3C.match(u["updated_datetime"]) for u in updates)
    assert list(updates[0]) == ["update_id", "service_request_id", "status", "updated_datetime",
                                "description", "media_url"]
    later = client.get("/open311/v2/servicerequestupdates.json?start_date=2026-05-02T00:00:00Z").json()
    assert later == []


# --- creating requests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_an_item_in_the_triage_queue_and_the_audit_chain(client, site, fmt):
    answer = post(client, site, fmt, phone="0912 345 678", first_name="Lê", last_name="Thị Riêng",
                  email="rieng@example.vn",
                  **{"attribute[hazards][]": ["deep", "dark"], "attribute[length_m]": "12"})
    assert answer.status_code == 200, answer.text
    if fmt == "json":
        created = answer.json()
        assert isinstance(created, list) and list(created[0]) == ["service_request_id", "service_notice",
                                                                  "account_id"]
        code = created[0]["service_request_id"]
    else:
        root = parse(answer)
        assert root.tag == "service_requests" and root.find("request/token") is None
        code = root.findtext("request/service_request_id")
    with unit_of_work() as db:
        item = db.execute(select(Item).where(Item.code == code)).scalar_one()
        assert (item.channel, item.stage, item.village_id) == ("api", "submitted", site.village.id)
        assert (item.contact_phone, item.contact_name) == ("0912345678", "Lê Thị Riêng")
        assert item.title == "Cống trước nhà văn hoá bị tắc, nước tràn lên đường."
        assert item.lat == pytest.approx(21.3021)
        import json

        assert json.loads(item.attributes) == {"problem": "blocked", "hazards": ["deep", "dark"],
                                               "length_m": 12}
        events = db.execute(select(AuditEvent).where(AuditEvent.item_id == item.id)).scalars().all()
        assert [(e.action, json.loads(e.payload)["channel"]) for e in events] == [("submitted", "api")]
        # Which partner filed it is part of the record, and the status page says so.
        payload = json.loads(events[0].payload)
        assert (payload["api_key_id"], payload["partner"]) == (site.api_key_id, "Cổng tỉnh")
    assert "Cổng tỉnh" in client.get(f"/items/{code}").text
    # It waits in the village head's triage queue, and nothing private leaks back out.
    login(client, site.users["village_head"])
    assert code in client.get("/triage").text
    public = client.get(f"/open311/v2/requests/{code}.json?extensions=true").text
    assert "0912345678" not in public and "Riêng" not in public and "rieng@" not in public


def test_post_picks_the_village_from_address_id_or_the_address(client, site):
    by_id = post(client, site, address_id=site.other.slug, address_string=None, lat=None, long=None)
    by_name = post(client, site, address_string="Cạnh đình thôn Tân Tiến", lat=None, long=None)
    with unit_of_work() as db:
        for answer in (by_id, by_name):
            code = answer.json()[0]["service_request_id"]
            assert db.execute(select(Item.village_id).where(Item.code == code)).scalar_one() == site.other.id


def test_post_without_description_or_contact_is_still_taken(client, site):
    answer = post(client, site, description=None, service_code=site.lighting.code,
                  **{"attribute[problem]": None})
    assert answer.status_code == 200, answer.text
    code = answer.json()[0]["service_request_id"]
    with unit_of_work() as db:  # shown once the village head accepts it (not triaged: title and village only)
        description = db.execute(select(Item.description).where(Item.code == code)).scalar_one()
    assert description == "Chiếu sáng — Ngõ 3, thôn Hưng Đạo"


def test_api_key_in_the_query_string_and_empty_jurisdiction_as_old_clients_send_it(client, site):
    data = {"service_code": site.drainage.code, "address_string": "Xóm Trên", "attribute[problem]": "broken",
            "description": "Nắp cống bị vỡ, rất nguy hiểm."}
    answer = client.post(f"/open311/v2/requests.xml?jurisdiction_id=&api_key={site.api_key}", data=data)
    assert answer.status_code == 200, answer.text


def test_a_repeated_token_returns_the_same_item_and_creates_nothing(client, site):
    first = post(client, site, token="offline-42").json()[0]["service_request_id"]
    with unit_of_work() as db:
        before = (count(db, Item), count(db, AuditEvent))
    again = post(client, site, token="offline-42", description="Gửi lại lần hai, cùng một phản ánh.")
    assert again.json()[0]["service_request_id"] == first
    with unit_of_work() as db:
        assert (count(db, Item), count(db, AuditEvent)) == before
    # Another partner's same token is another request: tokens are kept apart per API key.
    other = post(client, site, token="offline-42", api_key=site.other_key).json()[0]["service_request_id"]
    assert other != first


@pytest.mark.parametrize("fmt", FORMATS)
def test_token_lookup(client, site, fmt):
    code = post(client, site, token="abc-1").json()[0]["service_request_id"]
    answer = client.get(f"/open311/v2/tokens/abc-1.{fmt}?api_key={site.api_key}")
    if fmt == "json":
        assert answer.json() == [{"service_request_id": code, "token": "abc-1"}]
    else:
        root = parse(answer)
        assert root.tag == "service_requests"
        assert (root.findtext("request/service_request_id"),
                root.findtext("request/token")) == (code, "abc-1")
    assert client.get(f"/open311/v2/tokens/abc-1.{fmt}").status_code == 403
    assert client.get(f"/open311/v2/tokens/abc-1.json?api_key={site.other_key}").status_code == 404


def test_web_form_still_needs_a_phone_without_an_account(client, site):
    from civic.accounts.service import Viewer
    from civic.errors import Invalid
    from civic.items import service as items
    from tests.builders import item_data

    def form(phone: str) -> SubmitForm:
        return SubmitForm.parse(item_data(site.village, site.drainage, contact_phone=phone))

    with unit_of_work(write=True) as db:
        with pytest.raises(Invalid) as exc:
            items.submit(db, site.commune, form(""), Viewer())
        assert "contact_phone" in exc.value.errors
        made = items.submit(db, site.commune, form(""), Viewer(), channel="api", require_contact=False)
        assert made.item.contact_phone == ""
        with pytest.raises(Invalid):
            items.submit(db, site.commune, form("12"), Viewer(), channel="api", require_contact=False)


def test_docs_list_the_routes_with_their_shapes(client, site):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/open311/v2/discovery.{fmt}", "/open311/v2/services.{fmt}",
                 "/open311/v2/services/{service_code}.{fmt}", "/open311/v2/service/{service_code}.{fmt}",
                 "/open311/v2/requests.{fmt}", "/open311/v2/requests/{service_request_id}.{fmt}",
                 "/open311/v2/tokens/{token}.{fmt}", "/open311/v2/servicerequestupdates.{fmt}"):
        assert path in paths, path
    listing = paths["/open311/v2/requests.{fmt}"]["get"]["responses"]["200"]["content"]
    assert listing["application/json"]["schema"]["type"] == "array"
    assert "text/xml" in listing
    assert "422" not in paths["/open311/v2/requests.{fmt}"]["post"]["responses"]
    form = paths["/open311/v2/requests.{fmt}"]["post"]["requestBody"]["content"]
    assert "service_code" in form["application/x-www-form-urlencoded"]["schema"]["properties"]
    assert client.get("/docs").status_code == 200


def test_web_pages_keep_their_own_error_pages(client, site):
    page = client.get("/items/NS-1999-9999")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


def test_make_item_builder_is_unchanged_for_others(db):
    from tests.builders import make_category, make_commune, make_village

    commune = make_commune(db)
    item = make_item(db, commune, make_village(db, commune), make_category(db, commune))
    assert item.channel == "web"
