"""Several communes in one deployment, over HTTP: the picker at `/`, each commune's pages under /c/<CODE>/,
links and redirects that stay in the commune, feeds, the audit page and Open311 per commune. With one
commune nothing changes (the rest of the suite runs with one)."""

from __future__ import annotations

import re

from civic.db import unit_of_work
from civic.items.models import Item
from tests.builders import (
    PASSWORD,
    csrf_from,
    hidden_value,
    item_data,
    login,
    make_category,
    make_commune,
    make_item,
    make_user,
    make_village,
    world,
)


def three():
    """Nhạo Sơn (the test world, Phú Thọ), Tân Bình and Đông Hưng (Thái Bình), each with a village and an
    item."""
    with unit_of_work(write=True) as db:
        ns, a, _b, cat, users = world(db)
        ns.province = "Phú Thọ"
        tb = make_commune(db, "TB", "Tân Bình")
        tb.province = "Thái Bình"
        dh = make_commune(db, "DH", "Đông Hưng")
        dh.province = "Thái Bình"
        vtb = make_village(db, tb, "Phú Lợi")
        vdh = make_village(db, dh, "Đồng Tâm")
        ctb = make_category(db, tb)
        cdh = make_category(db, dh)
        item_ns = make_item(db, ns, a, cat, stage="know", title="Mương thôn Hưng Đạo bị tắc")
        item_tb = make_item(db, tb, vtb, ctb, stage="know", title="Đèn đường hỏng ở Phú Lợi")
        item_dh = make_item(db, dh, vdh, cdh, stage="know", title="Cống Đồng Tâm vỡ")
        admin_tb = make_user(db, "admin", commune=tb, name="Quản Trị Tân Bình")
        db.flush()
        return {"ns": ns, "tb": tb, "dh": dh, "a": a, "vtb": vtb, "vdh": vdh, "ctb": ctb,
                "item_ns": item_ns.code, "item_tb": item_tb.code, "item_dh": item_dh.code,
                "admin_tb": admin_tb, "users": users}


def _hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|action)="(/[^"]*)"', html)


def test_one_commune_keeps_its_home_page(client):
    with unit_of_work(write=True) as db:
        world(db)
    page = client.get("/")
    assert page.status_code == 200
    assert "Nhạo Sơn" in page.text and "Choose your commune" not in page.text
    assert 'href="/items"' in page.text and "/c/" not in page.text


def test_picker_lists_communes_by_province_and_finds_them_without_diacritics(client):
    three()
    page = client.get("/?lang=en")
    assert page.status_code == 200
    assert "Choose your commune" in page.text
    assert page.text.index("Phú Thọ") < page.text.index("Thái Bình")  # provinces in Vietnamese order
    for code in ("NS", "TB", "DH"):
        assert f'href="/c/{code}/"' in page.text
    found = client.get("/", params={"q": "dong hung", "lang": "en"})
    assert 'href="/c/DH/"' in found.text
    assert 'href="/c/TB/"' not in found.text and 'href="/c/NS/"' not in found.text
    assert "1 commune found" in found.text
    by_province = client.get("/", params={"q": "thai binh"})
    assert 'href="/c/DH/"' in by_province.text and 'href="/c/TB/"' in by_province.text
    assert 'href="/c/NS/"' not in by_province.text
    nothing = client.get("/", params={"q": "<b>zz</b>", "lang": "en"})
    assert nothing.status_code == 200
    assert "&lt;b&gt;zz&lt;/b&gt;" in nothing.text and "<b>zz" not in nothing.text
    vi = client.get("/", params={"lang": "vi"})
    assert "Chọn xã của bạn" in vi.text


def test_each_commune_has_its_pages_and_links_stay_inside(client):
    t = three()
    home = client.get("/c/TB/")
    assert home.status_code == 200
    assert "Tân Bình" in home.text and "Đèn đường hỏng" in home.text and "Cống Đồng Tâm" not in home.text
    links = [h for h in _hrefs(home.text) if not h.startswith("/static/")]
    outside = [h for h in links if not h.startswith("/c/TB/")]
    assert links and not outside, outside
    listing = client.get("/c/DH/items")
    assert "Cống Đồng Tâm" in listing.text and "Đèn đường hỏng" not in listing.text
    assert f'href="/c/DH/items/{t["item_dh"]}"' in listing.text
    assert 'action="/c/DH/items"' in listing.text
    # Without a prefix, the pages mean the first commune, as before.
    assert "Mương thôn Hưng Đạo" in client.get("/items").text
    # The commune's own address without a slash, and a code no commune has.
    bare = client.get("/c/TB", follow_redirects=False)
    assert bare.status_code == 308 and bare.headers["location"] == "/c/TB/"
    assert client.get("/c/ZZ/items").status_code == 404


def test_redirects_stay_in_the_commune(client):
    t = three()
    tracked = client.get("/c/TB/track", params={"code": t["item_tb"].lower()}, follow_redirects=False)
    assert tracked.status_code == 303
    assert tracked.headers["location"].startswith(f"/c/TB/items/{t['item_tb']}")
    needs_login = client.get("/c/TB/admin/villages", follow_redirects=False)
    assert needs_login.status_code in (302, 303)
    assert needs_login.headers["location"].startswith("/c/TB/login")


def test_a_submission_in_commune_b_goes_to_b(client):
    t = three()
    form = client.get("/c/TB/submit")
    assert form.status_code == 200 and 'action="/c/TB/submit"' in form.text
    data = item_data(t["vtb"], t["ctb"], title="Ổ gà trên đường Phú Lợi")
    data["csrf_token"] = csrf_from(form.text)
    data["client_token"] = hidden_value(form.text, "client_token")
    sent = client.post("/c/TB/submit", data=data, follow_redirects=False)
    assert sent.status_code == 303, sent.text[:400]
    assert sent.headers["location"].startswith("/c/TB/")
    with unit_of_work() as db:
        item = db.query(Item).filter(Item.title == "Ổ gà trên đường Phú Lợi").one()
        assert item.code.startswith("TB-") and item.commune_id == t["tb"].id


def test_admin_of_b_works_under_b_prefix_and_not_in_a(client):
    t = three()
    login(client, t["admin_tb"])
    mine = client.get("/c/TB/admin/villages")
    assert mine.status_code == 200 and "Phú Lợi" in mine.text
    assert 'action="/c/TB/admin/villages' in mine.text
    assert client.get("/c/NS/admin/villages").status_code == 403
    assert client.get("/admin/villages").status_code == 403  # the first commune's


def test_feeds_and_audit_are_per_commune(client):
    t = three()
    feed = client.get(f"/c/TB/villages/{t['vtb'].id}/feed.atom")
    assert feed.status_code == 200 and "/c/TB/items?village=" in feed.text
    assert client.get(f"/c/TB/villages/{t['vdh'].id}/feed.atom").status_code == 404
    assert client.get(f"/c/DH/villages/{t['vtb'].id}/meetings.ics").status_code == 404
    assert client.get(f"/c/DH/villages/{t['vdh'].id}/meetings.ics").status_code == 200
    audit_tb = client.get("/c/TB/audit")
    audit_dh = client.get("/c/DH/audit")
    assert audit_tb.status_code == 200 and "Tân Bình" in audit_tb.text and "Đông Hưng" not in audit_tb.text
    assert "Đông Hưng" in audit_dh.text
    checkpoints = client.get("/c/DH/audit/checkpoints.json")
    assert checkpoints.json()["commune"] == "DH"


def test_open311_jurisdiction_per_commune(client):
    t = three()
    listed = client.get("/open311/v2/requests.json", params={"jurisdiction_id": "tb"})
    assert listed.status_code == 200
    codes = {r["service_request_id"] for r in listed.json()}
    assert t["item_tb"] in codes and t["item_dh"] not in codes and t["item_ns"] not in codes
    under_prefix = client.get("/c/DH/open311/v2/requests.json")
    codes = {r["service_request_id"] for r in under_prefix.json()}
    assert t["item_dh"] in codes and t["item_tb"] not in codes
    assert client.get("/open311/v2/requests.json", params={"jurisdiction_id": "ZZ"}).status_code == 404


def test_page_cache_keeps_communes_apart(client):
    three()
    first = client.get("/c/TB/items")
    second = client.get("/c/DH/items")
    again = client.get("/c/TB/items")
    assert "Đèn đường hỏng" in first.text and "Đèn đường hỏng" in again.text
    assert "Đèn đường hỏng" not in second.text


def test_staff_of_another_commune_who_log_in_on_the_home_page_land_in_their_commune(client):
    t = three()

    def landing(user, next_path=None) -> str:
        client.cookies.clear()
        page = "/login" + (f"?next={next_path}" if next_path else "")
        data = {"csrf_token": csrf_from(client.get(page).text), "phone": user.phone, "password": PASSWORD}
        if next_path:
            data["next"] = next_path
        answer = client.post("/login", data=data, follow_redirects=False)
        assert answer.status_code == 303, answer.text[:300]
        return answer.headers["location"]

    assert landing(t["admin_tb"]) == "/c/TB/"  # Tân Bình's admin, at the site's /login
    assert landing(t["admin_tb"], "/items") == "/items"  # a page asked for is kept
    assert landing(t["users"]["village_head"]) == "/"  # the first commune's staff keep today's addresses


def test_each_commune_site_is_named_from_the_commune_its_page_read_once(client):
    from sqlalchemy import event

    from civic.db import get_engine

    world_ = three()
    seen: list[str] = []
    listener = lambda _c, _cur, statement, *_a: seen.append(statement)  # noqa: E731
    event.listen(get_engine(), "before_cursor_execute", listener)
    try:
        pages = {path: client.get(path) for path in ("/c/TB/items", f"/c/DH/items/{world_['item_dh']}")}
        seen_first = list(seen)
    finally:
        event.remove(get_engine(), "before_cursor_execute", listener)
    assert 'class="brand" href="/c/TB/">Góp ý xã Tân Bình</a>' in pages["/c/TB/items"].text
    status = pages[f"/c/DH/items/{world_['item_dh']}"].text
    assert re.search(r"<title>[^<]*Góp ý xã Đông Hưng</title>", status)
    reads = [s for s in seen_first if re.search(r"\bFROM commune\b", s)]
    assert len(reads) == 2, reads  # one a page: the commune, whose name is the site's too
