"""Where an item is: the position rules (Vietnam only, never 0, 0), the submission form's location block
over HTTP (a refused position changes nothing; the form works with plain fields), and the public map
(/map and its GeoJSON: only accepted items' public fields, the list's filters)."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from civic.db import unit_of_work
from civic.errors import Invalid
from civic.items import rules
from civic.items.models import Item
from civic.items.schemas import SubmitForm
from tests.builders import move, setup_item, setup_world, submit_form, viewer
from tests.open311 import conftest as open311
from tests.open311.conftest import error_descriptions, new_request

NHAO_SON = ("21.3021", "105.2104")  # a commune of Phú Thọ
site = open311.site  # the Open311 tests' commune with an API key (a fixture)


def items_stored() -> int:
    with unit_of_work() as db:
        return db.execute(select(func.count()).select_from(Item)).scalar_one()


# --- rules ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("lat", "lng"), [
    (21.3021, 105.2104),   # Nhạo Sơn, Phú Thọ
    (23.363, 105.318),     # Lũng Cú, the northernmost point
    (8.60, 104.72),        # Mũi Cà Mau
    (22.40, 102.15),       # A Pa Chải, the westernmost point
    (12.65, 109.45),       # Mũi Đôi, the easternmost point of the mainland
    (10.22, 103.96),       # Phú Quốc
    (16.53, 111.61),       # Hoàng Sa
    (8.65, 111.92),        # Trường Sa
])
def test_positions_in_vietnam_are_accepted(lat, lng):
    assert rules.in_vietnam(lat, lng)
    assert rules.location_problem(lat, lng) is None


@pytest.mark.parametrize(("lat", "lng"), [
    (48.8566, 2.3522),     # Paris: a phone abroad
    (105.21, 21.30),       # latitude and longitude swapped (not even a latitude)
    (-21.30, 105.21),      # the wrong hemisphere
    (21.30, -105.21),
    (35.68, 139.69),       # Tokyo
    (1.35, 103.82),        # Singapore
    (30.0, 105.0),         # China, north of Lũng Cú
])
def test_positions_outside_vietnam_are_refused(lat, lng):
    assert not rules.in_vietnam(lat, lng)
    assert rules.location_problem(lat, lng) == rules.OUTSIDE_VIETNAM


def test_zero_zero_is_no_position_and_none_is_fine():
    assert rules.location_problem(0.0, 0.0) == rules.NO_POSITION
    assert rules.location_problem(None, None) is None


def test_the_map_shows_accepted_items_only():
    assert not rules.on_public_map("submitted", None)
    assert rules.on_public_map("know", None) and rules.on_public_map("do", None)
    assert rules.on_public_map("closed", "done") and rules.on_public_map("closed", "not_done")
    for outcome in ("rejected", "duplicate", "redirected", "withdrawn"):
        assert not rules.on_public_map("closed", outcome)


# --- the form over HTTP --------------------------------------------------------------------------------

def test_the_form_has_the_location_block_with_plain_fields(client):
    setup_world()
    page = client.get("/submit")
    assert page.status_code == 200
    html = page.text
    assert 'name="lat"' in html and 'name="lng"' in html and 'name="village_id"' in html
    assert "data-location" in html and "map-pick.js" in html
    # The buttons need JavaScript: hidden until the script shows them; the map library is not on the page.
    assert re.search(r'<div class="row map-tools" data-tools hidden>', html)
    assert "Dùng vị trí của tôi" in html and "Dùng vị trí trong ảnh" in html
    assert "leaflet.js" not in re.sub(r'data-leaflet-js="[^"]*"', "", html)
    assert "<script src=\"/static/vendor" not in html
    english = client.get("/submit?lang=en").text
    assert "Use my location" in english and "Use the position in the photo" in english


def test_a_position_in_vietnam_is_kept(client):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat, lat="21,3021", lng="105.2104")
    answer = client.post("/submit", data=data, follow_redirects=False)
    assert answer.status_code == 303
    with unit_of_work() as db:
        item = db.execute(select(Item)).scalar_one()
        assert (item.lat, item.lng) == (21.3021, 105.2104)


@pytest.mark.parametrize(("lat", "lng", "message"), [
    ("48.8566", "2.3522", "ngoài Việt Nam"),
    ("105.2104", "21.3021", "Vị trí không hợp lệ"),  # swapped: not a latitude, refused by the form
    ("0", "0", "0, 0"),
    ("-21.3", "105.2", "ngoài Việt Nam"),
])
def test_a_position_outside_vietnam_is_refused_and_nothing_changes(client, lat, lng, message):
    _commune, a, _b, cat, _users = setup_world()
    data = submit_form(client, a, cat, title="Cống bị tắc ở xóm Trên", lat=lat, lng=lng)
    answer = client.post("/submit", data=data)
    assert answer.status_code == 422
    assert items_stored() == 0
    assert message in answer.text
    # The form comes back with what was typed, the message next to the fields, and the village choice.
    assert 'aria-invalid="true"' in answer.text and f'value="{lat}"' in answer.text
    assert "Cống bị tắc ở xóm Trên" in answer.text and 'name="village_id"' in answer.text
    english = client.post("/submit?lang=en", data=data)
    assert english.status_code == 422 and items_stored() == 0


def test_the_outside_message_is_in_english_too(client):
    _commune, a, _b, cat, _users = setup_world()
    client.get("/lang/en")
    data = submit_form(client, a, cat, lat="48.8566", lng="2.3522")
    answer = client.post("/submit", data=data)
    assert answer.status_code == 422 and "outside Vietnam" in answer.text


def test_every_channel_is_checked_by_the_same_rule():
    form = SubmitForm.parse({"kind": "concern", "village_id": "1", "category_id": "1", "title": "Cống bị tắc",
                             "description": "Nước tràn lên đường.", "lat": "48.85", "lng": "2.35"})
    with pytest.raises(Invalid) as refused:
        rules.check_submission(form, village_ids={1}, category_ids={1}, needs_phone=False, needs_name=False)
    assert refused.value.errors == {"lat": rules.OUTSIDE_VIETNAM}


@pytest.mark.parametrize(("lat", "lng", "words"), [("48.85", "2.35", "outside Vietnam"), ("0", "0", "0, 0")])
def test_the_open311_api_refuses_a_position_outside_vietnam_too(client, site, lat, lng, words):
    answer = client.post("/open311/v2/requests.json?locale=en", data=new_request(site, lat=lat, long=lng))
    assert answer.status_code == 400, answer.text
    assert any(words in d for d in error_descriptions(answer)), error_descriptions(answer)
    assert items_stored() == 0
    good = client.post("/open311/v2/requests.json?locale=en",
                       data=new_request(site, lat="21.30", long="105.21"))
    assert good.status_code == 200, good.text
    assert items_stored() == 1


# --- the map -------------------------------------------------------------------------------------------

def _mapped_world():
    commune, a, b, cat, users = setup_world()
    shown = setup_item(commune, a, cat, stage="know", title="Đèn đường ngõ ba không sáng",
                       lat=NHAO_SON[0], lng=NHAO_SON[1], contact_name="Bà Tư Riêng")
    new = setup_item(commune, a, cat, title="Mới gửi, chưa tiếp nhận", lat="21.31", lng="105.21")
    rejected = setup_item(commune, a, cat, stage="rejected", title="Tranh chấp đất với hàng xóm",
                          lat="21.32", lng="105.22")
    nowhere = setup_item(commune, b, cat, stage="know", title="Không có vị trí")
    other = setup_item(commune, b, cat, stage="know", title="Ổ gà ở thôn B", kind="recommendation",
                       lat="21.29", lng="105.20")
    return {"shown": shown, "new": new, "rejected": rejected, "nowhere": nowhere, "other": other,
            "a": a, "b": b, "users": users, "commune": commune}


def features(client, query: str = "") -> dict[str, dict]:
    answer = client.get("/map/items.geojson" + query)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    data = json.loads(answer.text)
    assert data["type"] == "FeatureCollection"
    return {f["properties"]["code"]: f for f in data["features"]}


def test_the_geojson_has_accepted_items_with_a_position_and_public_fields_only(client):
    w = _mapped_world()
    found = features(client)
    assert set(found) == {w["shown"].code, w["other"].code}
    f = found[w["shown"].code]
    assert f["geometry"] == {"type": "Point", "coordinates": [105.2104, 21.3021]}
    assert set(f["properties"]) == {"code", "title", "kind", "stage", "stage_label", "village", "url"}
    assert f["properties"]["url"] == f"/items/{w['shown'].code}"
    text = client.get("/map/items.geojson").text
    for private in ("Bà Tư Riêng", "0912345678", "Nước tràn", "Tranh chấp", "Mới gửi"):
        assert private not in text


def test_the_geojson_follows_the_list_filters(client):
    w = _mapped_world()
    assert set(features(client, f"?village={w['b'].id}")) == {w["other"].code}
    assert set(features(client, "?kind=recommendation")) == {w["other"].code}
    assert set(features(client, "?q=den duong")) == {w["shown"].code}
    assert set(features(client, "?stage=submitted")) == set()
    # Values nothing could have are ignored, as on the list: never an error.
    assert set(features(client, "?village=abc&stage=nope&q=" + "x" * 1000)) == set()
    assert set(features(client, "?village=abc&stage=nope")) == {w["shown"].code, w["other"].code}


def test_a_new_item_appears_on_the_map_once_accepted(client):
    w = _mapped_world()
    assert w["new"].code not in features(client)
    with unit_of_work(write=True) as db:
        head = viewer(db, w["users"]["village_head"])
        move(db, db.get(Item, w["new"].id), "accept", head)
    assert w["new"].code in features(client)


def test_the_map_page_works_without_javascript_and_links_to_the_list(client):
    w = _mapped_world()
    page = client.get(f"/map?village={w['a'].id}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Ý kiến trên bản đồ</h1>" in html
    assert "cần JavaScript" in html
    assert f'href="/items?village={w["a"].id}"' in html
    assert f'data-geojson="/map/items.geojson?village={w["a"].id}"' in html
    assert "1 ý kiến có vị trí" in html
    assert "map-view.js" in html and "/static/vendor/leaflet-1.9.4/leaflet.js" in html
    assert "Tranh chấp" not in html and "Mới gửi" not in html
    english = client.get("/map?lang=en").text
    assert "Items on the map" in english and "2 items with a position" in english


def test_the_list_links_to_its_map_with_the_same_filters(client):
    w = _mapped_world()
    html = client.get(f"/items?village={w['a'].id}&kind=concern").text
    assert f'href="/map?village={w["a"].id}&amp;kind=concern"' in html


def test_the_tile_server_is_allowed_as_an_image_source(client):
    setup_world()
    csp = client.get("/map").headers["content-security-policy"]
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert "script-src 'self';" in csp


def _opening(client) -> tuple[str, str, str]:
    html = client.get("/submit").text
    found = re.search(r'data-lat="([^"]+)" data-lng="([^"]+)" data-zoom="([^"]+)"', html)
    assert found, "the form has no map block"
    return found.group(1), found.group(2), found.group(3)


def test_the_map_opens_where_the_communes_items_are_and_follows_new_ones_within_five_minutes(client):
    from datetime import timedelta

    from civic import clock

    commune, a, b, cat, users = setup_world()
    assert _opening(client) == ("16.0", "106.0", "5")  # nothing positioned yet: all of Vietnam
    setup_item(commune, a, cat, stage="know", lat=NHAO_SON[0], lng=NHAO_SON[1])
    setup_item(commune, b, cat, stage="know", lat="21.29", lng="105.20")
    new = setup_item(commune, a, cat, lat="21.31", lng="105.21")  # not on the public map before triage
    assert _opening(client) == ("16.0", "106.0", "5")  # kept by the process for five minutes
    clock.advance(timedelta(minutes=6))
    lat, lng, zoom = _opening(client)
    assert zoom == "14"
    assert float(lat) == pytest.approx((21.3021 + 21.29) / 2)
    assert float(lng) == pytest.approx((105.2104 + 105.20) / 2)
    with unit_of_work(write=True) as db:
        move(db, db.get(Item, new.id), "accept", viewer(db, users["village_head"]))
    clock.advance(timedelta(minutes=4))
    assert _opening(client) == (lat, lng, zoom)
    clock.advance(timedelta(minutes=2))
    lat3, lng3, _zoom = _opening(client)
    assert float(lat3) == pytest.approx((21.3021 + 21.29 + 21.31) / 3)
    assert float(lng3) == pytest.approx((105.2104 + 105.20 + 105.21) / 3)
