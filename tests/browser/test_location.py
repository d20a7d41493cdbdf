"""A resident gives the place of an item on a 390 px phone: with JavaScript, "Dùng vị trí của tôi" (the
browser's geolocation, granted or refused), a pin on a small map, and the GPS position inside a photo (only
when asked); without JavaScript, the plain latitude and longitude fields. Then the list's map view, with
and without JavaScript. Tiles come from a tiny local tile server (CIVIC_MAP_TILES): nothing is fetched
from the internet. Axe finds nothing on each new page state; the page weights are printed."""

from __future__ import annotations

import gzip
import io
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from civic.db import unit_of_work
from civic.items.models import Item
from tests.browser.conftest import PHONE_390, _context, _free_port, _page, running_server
from tests.browser.test_accessibility import violations_report
from tests.browser.test_journeys import build, fill_item_form, fits_the_screen
from tests.builders import make_item, move, viewer, world

pytestmark = [pytest.mark.browser, pytest.mark.pages]

_axe = Axe()
NHAO_SON = {"latitude": 21.3021, "longitude": 105.2104}
PARIS = {"latitude": 48.8566, "longitude": 2.3522}
PHOTO_AT = (21.0, 18.0, 7.56), (105.0, 12.0, 37.44)  # 21.302100 N, 105.210400 E
VENDOR = "/static/vendor/"
PIN_IMAGE = re.compile(r"/static/vendor/leaflet-[\d.]+/images/marker-icon(-2x)?\.png$")


def _tile() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 230, 200)).save(buf, "PNG")
    return buf.getvalue()


class TileServer:
    """Any GET answers a 256 x 256 PNG; the paths asked are kept."""

    def __init__(self) -> None:
        png, asked = _tile(), []
        self.asked: list[str] = asked

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(png)))
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(png)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def tiles():
    server = TileServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def live_server(tiles):
    """This module's own live server, whose map tiles come from the local tile server."""
    port = _free_port()
    var = Path(os.environ["CIVIC_VAR_DIR"])
    with running_server(port, var / f"uvicorn-location-{port}.log",
                        CIVIC_MAP_TILES=tiles.url + "/{z}/{x}/{y}.png",
                        CIVIC_MAP_ATTRIBUTION="© OpenStreetMap contributors") as server:
        yield server


@pytest.fixture
def open_phone(browser, live_server):
    """open_phone(js=True, **context options): a 390 px phone that records what it downloads."""
    opened = []

    def make(js: bool = True, **options):
        ctx = _context(browser, live_server, java_script_enabled=js, **PHONE_390, **options)
        page = _page(ctx)
        page.console_errors = []
        # A refused form answers 422, which Chromium logs as a failed resource: that one is expected.
        page.on("console", lambda m: page.console_errors.append(m.text)
                if m.type == "error" and "status of 422" not in m.text else None)
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        page.downloads = []
        page.on("requestfinished", lambda r: page.downloads.append(r))
        opened.append((ctx, page))
        return page

    yield make
    errors = []
    for ctx, page in opened:
        errors += page.server_errors + page.console_errors
        ctx.close()
    assert not errors, errors


def no_violations(page) -> None:
    results = _axe.run(page).response
    assert not results["violations"], f"{page.url}:\n" + violations_report(results)


@pytest.fixture
def axe_without_js(browser, live_server):
    """axe_without_js(page): axe on what a phone without JavaScript shows. Axe needs JavaScript, so the
    page's HTML as that phone got it is served again at its address to a browser that runs no script of
    the page (its scripts are refused) but has its stylesheets."""

    def check(page) -> None:
        html, url = page.content(), page.url
        ctx = _context(browser, live_server, **PHONE_390)
        try:
            other = ctx.new_page()
            other.route(re.compile(r".*\.js(\?.*)?$"), lambda route: route.abort())
            other.route(re.compile(re.escape(url) + "$"),
                        lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                                    body=html))
            other.goto(url)
            assert other.locator("[data-tools]").count() == 0 or other.locator("[data-tools]").is_hidden()
            no_violations(other)
        finally:
            ctx.close()

    return check


def transferred(page, since: int = 0) -> int:
    """Bytes this page downloaded (compressed as sent, headers left out) since the `since`-th request."""
    return sum(_size(request) for request in page.downloads[since:])


def _size(request) -> int:
    """A response's body as sent: what Chromium counted, nothing for what came from the browser's cache, else
    its Content-Length, else its body (compressed again when it came compressed)."""
    counted = request.sizes()["responseBodySize"]
    if counted > 0:
        return counted
    response = request.response()
    if response is None:
        return 0
    if counted < 0 and not response.from_service_worker:
        # Taken from the browser's own cache (Chromium counts its headers only, hence below zero): nothing
        # came over the network. A page's stylesheet and scripts asked again on the next page were counted
        # again at their full length, sometimes twice, so the same page weighed 27 KB or 38 KB.
        return 0
    length = response.header_value("content-length")
    if length:
        return int(length)
    body = response.body()  # streamed without a length: as sent, compressed when the server compressed it
    return len(gzip.compress(body)) if response.header_value("content-encoding") == "gzip" else len(body)


def vendor_loaded(page, since: int = 0) -> bool:
    return any(VENDOR in r.url for r in page.downloads[since:])


def stored_item() -> Item:
    with unit_of_work() as db:
        [item] = db.execute(select(Item)).scalars().all()
        return item


def send(page) -> str:
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_url(re.compile(r"/submitted/NS-\d{4}-\d{4}"))
    return re.search(r"NS-\d{4}-\d{4}", page.url).group(0)


def photo_with_gps(lat=PHOTO_AT[0], lng=PHOTO_AT[1], ref=("N", "E")) -> bytes:
    """A JPEG as a phone's camera writes it, with the position in the EXIF GPS IFD (tags 1 to 4)."""
    im = Image.new("RGB", (1200, 900), (120, 140, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: ref[0], 2: lat, 3: ref[1], 4: lng}
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


WEIGHTS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def weights_table():
    """The page weights the tests measured, printed at the end of the module (run with -s to see them)."""
    yield
    print("\npage weights measured in Chromium (bytes as sent):\n" + "\n".join(WEIGHTS))


def report(name: str, size: int) -> None:
    WEIGHTS.append(f"{name:58} {size:7} B")
    print(f"\npage weight: {name}: {size} B")


# --- JavaScript on -------------------------------------------------------------------------------------

def test_use_my_location_puts_a_pin_on_the_map_and_sends_the_position(open_phone, tiles):
    w = build()
    page = open_phone(geolocation=NHAO_SON, permissions=["geolocation"])
    page.goto("/submit")
    page.wait_for_load_state("networkidle")
    fits_the_screen(page)
    assert not vendor_loaded(page), "the map library was loaded before the resident asked for a map"
    report("/submit (JS on, before the map)", transferred(page))
    no_violations(page)

    fill_item_form(page, w)
    page.fill("#f-contact_phone", "0912 345 678")
    before = len(page.downloads)
    page.get_by_role("button", name="Dùng vị trí của tôi").click()
    expect(page.locator("#f-lat")).to_have_value("21.3021")
    expect(page.locator("#f-lng")).to_have_value("105.2104")
    expect(page.locator("[data-status]")).to_contain_text("Đã điền vị trí của bạn")
    pin = page.locator("#location-map .leaflet-marker-icon")
    pin.wait_for(state="visible")
    page.locator("#location-map img.leaflet-tile-loaded").first.wait_for(state="visible")
    assert tiles.asked and all(re.fullmatch(r"/\d+/\d+/\d+\.png", p) for p in tiles.asked)
    assert vendor_loaded(page, before)
    page.wait_for_load_state("networkidle")
    report("  + the map library and the map, once asked for (with tiles)", transferred(page, before))
    fits_the_screen(page)
    no_violations(page)

    # A tap on the map moves the pin and the fields with it.
    box = page.locator("#location-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.3)
    expect(page.locator("#f-lat")).not_to_have_value("21.3021")
    moved = float(page.input_value("#f-lat")), float(page.input_value("#f-lng"))
    assert moved[0] > 21.3021 and moved[1] > 105.2104
    assert "Đã đặt ghim" in page.locator("[data-status]").inner_text()

    code = send(page)
    item = stored_item()
    assert item.code == code
    assert (item.lat, item.lng) == pytest.approx(moved, abs=1e-6)


def test_the_pin_shows_its_own_image_when_the_map_stylesheet_comes_late(open_phone):
    """On a slow network the map's stylesheet can arrive after its script: the pin still shows Leaflet's
    pin image from the vendored folder, and nothing is asked at an address that does not exist."""
    build()
    page = open_phone(geolocation=NHAO_SON, permissions=["geolocation"])

    def late(route):
        time.sleep(1.0)
        route.continue_()

    page.route(re.compile(r"/leaflet\.css(\?.*)?$"), late)
    page.goto("/submit")
    page.get_by_role("button", name="Dùng vị trí của tôi").click()
    pin = page.locator("#location-map .leaflet-marker-icon")
    pin.wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    assert PIN_IMAGE.search(pin.get_attribute("src"))
    assert page.evaluate("document.querySelector('#location-map .leaflet-marker-icon').naturalWidth") > 0
    # the fixture then finds no failed download (a pin image asked at the page's address answers 404)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_refused_location_says_so_in_the_page_language(open_phone, lang):
    build()
    page = open_phone()  # the browser is not allowed to give the position
    page.goto(f"/submit?lang={lang}")
    page.get_by_role("button", name="Dùng vị trí của tôi" if lang == "vi" else "Use my location").click()
    status = page.locator("[data-status]")
    expected = ("Trình duyệt không được phép cho biết vị trí" if lang == "vi"
                else "The browser was not allowed to give your location")
    expect(status).to_contain_text(expected)
    assert page.input_value("#f-lat") == "" and page.input_value("#f-lng") == ""
    no_violations(page)


def test_a_location_abroad_is_not_used(open_phone):
    build()
    page = open_phone(geolocation=PARIS, permissions=["geolocation"])
    page.goto("/submit")
    page.get_by_role("button", name="Dùng vị trí của tôi").click()
    status = page.locator("[data-status]")
    expect(status).to_contain_text("ngoài Việt Nam")
    assert page.input_value("#f-lat") == ""


def test_the_position_in_a_photo_is_offered_and_used_only_when_asked(open_phone):
    w = build()
    page = open_phone()
    page.goto("/submit")
    fill_item_form(page, w)
    page.fill("#f-contact_phone", "0912 345 678")
    use_photo = page.get_by_role("button", name="Dùng vị trí trong ảnh")
    assert use_photo.is_hidden()

    # A photo whose GPS says 0, 0 (a phone without a fix): not offered, and the resident is told.
    page.set_input_files("#f-photos", [{"name": "IMG_0001.jpg", "mimeType": "image/jpeg",
                                        "buffer": photo_with_gps((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))}])
    expect(page.locator("[data-status]")).to_contain_text("không có vị trí thật (0, 0)")
    assert use_photo.is_hidden()
    # A photo taken abroad: not offered either.
    page.set_input_files("#f-photos", [{"name": "IMG_0002.jpg", "mimeType": "image/jpeg",
                                        "buffer": photo_with_gps((48.0, 51.0, 0.0), (2.0, 21.0, 0.0))}])
    expect(page.locator("[data-status]")).to_contain_text("Vị trí trong ảnh này nằm ngoài Việt Nam")
    assert use_photo.is_hidden()

    page.set_input_files("#f-photos", [{"name": "IMG_4032.jpg", "mimeType": "image/jpeg",
                                        "buffer": photo_with_gps()}])
    use_photo.wait_for(state="visible")
    assert page.input_value("#f-lat") == "", "the photo's position was used without the resident's click"
    no_violations(page)
    use_photo.click()
    expect(page.locator("#f-lat")).to_have_value("21.3021")
    expect(page.locator("#f-lng")).to_have_value("105.2104")
    page.locator("#location-map .leaflet-marker-icon").wait_for(state="visible")
    no_violations(page)

    send(page)
    item = stored_item()
    assert (item.lat, item.lng) == (21.3021, 105.2104)
    from civic.media.models import Attachment
    with unit_of_work() as db:
        [att] = db.execute(select(Attachment)).scalars().all()
        assert att.item_id == item.id


# --- JavaScript off ------------------------------------------------------------------------------------

def test_without_javascript_the_plain_fields_work_and_a_place_abroad_is_refused(open_phone, axe_without_js):
    w = build()
    page = open_phone(js=False)
    page.goto("/submit")
    fits_the_screen(page)
    report("/submit (JS off)", transferred(page))
    assert page.get_by_role("button", name="Dùng vị trí của tôi").is_hidden()
    assert page.locator("#location-map").is_hidden()
    fill_item_form(page, w)
    page.fill("#f-contact_phone", "0912 345 678")
    page.fill("#f-lat", "48,8566")
    page.fill("#f-lng", "2.3522")
    page.click("form[action='/submit'] button[type=submit]")
    page.wait_for_load_state()
    error = page.locator("#f-lat-error")
    assert "Vị trí này nằm ngoài Việt Nam" in error.inner_text()
    assert page.locator("#form-errors a[href='#f-lat']").count() == 1
    assert page.input_value("#f-title") == "Cống bị tắc trước nhà văn hoá"
    with unit_of_work() as db:
        assert db.execute(select(Item)).first() is None
    fits_the_screen(page)
    axe_without_js(page)

    page.fill("#f-lat", "21,3021")
    page.fill("#f-lng", "105.2104")
    send(page)
    assert (stored_item().lat, stored_item().lng) == (21.3021, 105.2104)


# --- the map view of the list --------------------------------------------------------------------------

def _mapped_items() -> dict:
    with unit_of_work(write=True) as db:
        commune, a, b, cat, users = world(db)
        head = viewer(db, users["village_head"])
        codes = []
        for n in range(6):
            item = make_item(db, commune, a, cat, title=f"Đèn đường ngõ {n + 1} không sáng",
                             lat=f"21.30{n}", lng=f"105.21{n}")
            move(db, item, "accept", head)
            codes.append(item.code)
        hidden = make_item(db, commune, a, cat, title="Mới gửi, chưa tiếp nhận", lat="21.31", lng="105.22")
        return {"codes": codes, "hidden": hidden.code, "village": a.id}


def test_the_map_view_clusters_the_public_positions(open_phone, tiles):
    _mapped_items()
    page = open_phone()
    page.goto("/items")
    page.get_by_role("link", name="Xem các ý kiến này trên bản đồ").click()
    page.wait_for_url(re.compile(r"/map$"))
    page.locator("#item-map .leaflet-marker-icon").first.wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-no-js]").is_hidden()
    # Six items close together: one cluster that says 6 at the opening zoom, or their markers.
    clusters = page.locator("#item-map .marker-cluster")
    markers = page.locator("#item-map .leaflet-marker-icon:not(.marker-cluster)")
    shown = sum(int(t) for t in clusters.all_inner_texts()) + markers.count()
    assert shown == 6
    assert "Mới gửi" not in page.content()
    report("/map (JS on, with the map library, GeoJSON and tiles)", transferred(page))
    html_css_js = sum(_size(r) for r in page.downloads
                      if VENDOR not in r.url and r.resource_type in ("document", "stylesheet", "script"))
    report("/map (JS on) without the map library, GeoJSON and tiles", html_css_js)
    assert html_css_js < 30 * 1024
    fits_the_screen(page)
    no_violations(page)
    if clusters.count():
        clusters.first.click()
        markers.first.wait_for(state="visible")
    markers.first.click()
    popup = page.locator(".leaflet-popup-content a")
    popup.wait_for(state="visible")
    assert re.match(r"NS-\d{4}-\d{4} · Đèn đường ngõ \d không sáng", popup.inner_text())
    no_violations(page)


def test_the_map_view_shows_its_pins_when_the_map_stylesheet_comes_late(open_phone):
    """The list's map on a slow network: its stylesheet after its script still gives pins their image."""
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, users = world(db)
        move(db, make_item(db, commune, a, cat, title="Cống bị tắc", lat="21.302", lng="105.21"), "accept",
             viewer(db, users["village_head"]))
    page = open_phone()
    page.route(re.compile(r"/leaflet\.css(\?.*)?$"), lambda route: (time.sleep(1.0), route.continue_()))
    page.goto("/map")
    pin = page.locator("#item-map .leaflet-marker-icon")
    pin.wait_for(state="visible")
    page.wait_for_load_state("networkidle")
    assert PIN_IMAGE.search(pin.get_attribute("src"))
    # the fixture then finds no failed download


def test_without_javascript_the_map_view_says_so_and_links_to_the_list(open_phone, axe_without_js):
    w = _mapped_items()
    page = open_phone(js=False)
    page.goto(f"/map?village={w['village']}")
    report("/map (JS off)", transferred(page))
    note = page.locator("[data-no-js]")
    assert "Bản đồ cần JavaScript" in note.inner_text()
    fits_the_screen(page)
    axe_without_js(page)
    note.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/items\?village={w['village']}$"))
    assert page.locator("a.card-title").count() == 7  # the list has every item, the new one too
