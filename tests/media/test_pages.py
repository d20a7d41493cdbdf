"""Photos through the pages: submitted with an item, shown on its status page, served with the right
headers, private ones unreachable, bad files refused with the form kept, hiding with a reason."""

from __future__ import annotations

import html
import re

from PIL import Image

from civic.audit.models import AuditEvent
from civic.config import get_settings
from civic.db import unit_of_work
from civic.items.models import Item
from civic.media import storage
from civic.media.models import Attachment
from tests.builders import (
    browser,
    count,
    csrf_from,
    login,
    make_attachment,
    media_files,
    pdf_bytes,
    photo_bytes,
    setup_item,
    setup_world,
    submit_form,
)

IMG_RE = re.compile(r'<img src="(/media/\d+/thumb-[0-9a-f]{16}\.webp)" '
                    r'width="(\d+)" height="(\d+)" loading="lazy"')
LINK_RE = re.compile(r'<a href="(/media/\d+/display-[0-9a-f]{16}\.webp)">')


def jpeg(name="IMG_0001.jpg", size=(3000, 2000), **kw):
    return ("photos", (name, photo_bytes(size, gps=True, **kw), "image/jpeg"))


def state():
    with unit_of_work() as db:
        return {"items": count(db, Item), "attachments": count(db, Attachment),
                "events": count(db, AuditEvent), "files": media_files()}


def attachments():
    with unit_of_work() as db:
        return list(db.query(Attachment).order_by(Attachment.id))


def test_a_resident_sends_photos_with_the_form_and_they_show_on_the_status_page(client):
    _c, a, _b, cat, _u = setup_world()
    page = client.get("/submit")
    assert 'enctype="multipart/form-data"' in page.text
    assert re.search(r'<input id="f-photos" name="photos" type="file" accept="image/jpeg,[^"]*" multiple',
                     page.text)
    assert '<label for="f-photos">' in page.text
    data = submit_form(client, a, cat)
    answer = client.post("/submit", data=data,
                         files=[jpeg("a.jpg", orientation=6), jpeg("b.jpg", color=(9, 90, 9))],
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:2000]
    rows = attachments()
    assert len(rows) == 2 and {(r.purpose, r.kind, r.private) for r in rows} == {("evidence", "photo", False)}
    assert (rows[0].width, rows[0].height) == (1067, 1600)  # turned upright
    code = answer.headers["location"].rsplit("/", 1)[-1]

    status = client.get(f"/items/{code}")
    thumbs = IMG_RE.findall(status.text)
    assert len(thumbs) == 2
    assert thumbs[0][1:] == ("213", "320")
    assert len(LINK_RE.findall(status.text)) == 2
    assert "Ảnh" in status.text or "Photo" in status.text
    assert "đã thêm ảnh" in status.text  # the timeline tells that a photo was added

    # The thumbnail and the display size are served as WebP with a year-long cache.
    thumb = client.get(thumbs[0][0])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/webp"
    assert thumb.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    display = client.get(LINK_RE.findall(status.text)[0])
    im = Image.open(__import__("io").BytesIO(display.content))
    assert im.size == (1067, 1600) and not im.getexif()
    # A URL naming another content, or a variant that does not exist, is a 404.
    assert client.get(thumbs[0][0].replace("thumb-", "display-")).status_code == 404
    assert client.get(re.sub(r"-[0-9a-f]{16}", "-0000000000000000", thumbs[0][0])).status_code == 404
    assert client.get("/media/99999/thumb-0000000000000000.webp").status_code == 404


def test_a_bad_photo_keeps_everything_typed_and_stores_nothing(client):
    _c, a, _b, cat, _u = setup_world()
    before = state()
    data = submit_form(client, a, cat, title="Đèn đường hỏng ở ngõ 3", description="Tối om, rất nguy hiểm.",
                       contact_name="Chị Hoa", address="Ngõ 3")
    fake = ("photos", ("anh-cong.jpg", b"MZ\x90\x00 this is really a program" * 20, "image/jpeg"))
    answer = client.post("/submit", data=data, files=[jpeg("ok.jpg"), fake])
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert "anh-cong.jpg" in text
    assert 'id="f-photos-error"' in answer.text and 'aria-invalid="true"' in answer.text
    for value in ("Đèn đường hỏng ở ngõ 3", "Tối om, rất nguy hiểm.", "Chị Hoa", "Ngõ 3"):
        assert value in text
    assert state() == before  # no item, no attachment, no event, no file


def test_a_damaged_photo_with_other_mistakes_shows_all_the_errors(client):
    _c, a, _b, cat, _u = setup_world()
    before = state()
    data = submit_form(client, a, cat, title="")
    full = photo_bytes((1600, 1200), quality=95)
    answer = client.post("/submit", data=data,
                         files=[("photos", ("cut.jpg", full[: len(full) // 2], "image/jpeg"))])
    assert answer.status_code == 422
    assert 'id="f-title-error"' in answer.text and 'id="f-photos-error"' in answer.text
    assert "cut.jpg" in html.unescape(answer.text)
    assert state() == before


def test_good_photos_with_a_mistake_elsewhere_are_not_stored_and_the_form_says_so(client):
    _c, a, _b, cat, _u = setup_world()
    before = state()
    data = submit_form(client, a, cat, description="")
    answer = client.post("/submit", data=data, files=[jpeg()])
    assert answer.status_code == 422
    assert 'id="f-description-error"' in answer.text and 'id="f-photos-error"' in answer.text
    assert state() == before


def test_a_file_over_the_limit_is_refused_with_413_and_the_form_kept(client, monkeypatch):
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 200_000)
    _c, a, _b, cat, _u = setup_world()
    before = state()
    data = submit_form(client, a, cat, title="Rác thải bên bờ sông")
    big = photo_bytes((2500, 2500), quality=100) + b"\0" * 300_000
    answer = client.post("/submit", data=data, files=[("photos", ("to.jpg", big, "image/jpeg"))])
    assert answer.status_code == 413
    assert "Rác thải bên bờ sông" in html.unescape(answer.text) and 'id="f-photos-error"' in answer.text
    assert state() == before


def test_more_than_five_photos_are_refused(client):
    _c, a, _b, cat, _u = setup_world()
    before = state()
    data = submit_form(client, a, cat)
    answer = client.post("/submit", data=data, files=[jpeg(f"{n}.jpg", size=(200, 150)) for n in range(6)])
    assert answer.status_code == 422 and 'id="f-photos-error"' in answer.text
    assert state() == before


def test_the_form_sent_twice_with_photos_makes_one_item_with_its_photos_once(client):
    _c, a, _b, cat, _u = setup_world()
    data = submit_form(client, a, cat)
    files = [jpeg("a.jpg"), jpeg("b.jpg", color=(1, 1, 200))]
    first = client.post("/submit", data=data, files=files, follow_redirects=False)
    again = client.post("/submit", data=data, files=files, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    s = state()
    assert (s["items"], s["attachments"]) == (1, 2)


def test_an_empty_file_input_and_a_plain_form_still_work(client):
    _c, a, _b, cat, _u = setup_world()
    data = submit_form(client, a, cat)
    answer = client.post("/submit", data=data, files=[("photos", ("", b"", "application/octet-stream"))],
                         follow_redirects=False)
    assert answer.status_code == 303
    data = submit_form(client, a, cat)
    assert client.post("/submit", data=data, follow_redirects=False).status_code == 303  # url-encoded
    assert state()["attachments"] == 0


def test_the_village_head_files_on_behalf_of_a_resident_with_a_photo(client):
    _c, a, _b, cat, users = setup_world()
    login(client, users["village_head"])
    page = client.get("/triage/new")
    assert page.status_code == 200 and 'name="photos"' in page.text
    data = {"csrf_token": csrf_from(page.text), "kind": "concern", "village_id": str(a.id),
            "category_id": str(cat.id), "title": "Ổ gà đường liên thôn",
            "description": "Ổ gà rất sâu, xe máy dễ ngã.", "contact_name": "Ông Ba"}
    answer = client.post("/triage/new", data=data,
                         files=[("photos", ("o-ga.jpg", photo_bytes(), "image/jpeg"))],
                         follow_redirects=False)
    assert answer.status_code == 303
    assert state()["attachments"] == 1
    code = answer.headers["location"].rsplit("/", 1)[-1]
    assert "/media/" in client.get(f"/triage/{code}").text  # the village head sees the photo while triaging


def test_body_limits_uploads_get_room_other_routes_keep_1_mb(client):
    setup_world()
    # A 2 MB url-encoded body anywhere, or to /submit, is refused before it is read.
    assert client.post("/login", content=b"a=" + b"x" * 2_000_000,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 413
    assert client.post("/submit", content=b"a=" + b"x" * 2_000_000,
                       headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 413
    # A multipart body of 2 MB to /login is refused; to /submit it is read (and then refused for its content).
    body = b"--b\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n" + b"x" * 2_000_000 + b"\r\n--b--\r\n"
    ctype = {"content-type": "multipart/form-data; boundary=b"}
    assert client.post("/login", content=body, headers=ctype).status_code == 413
    assert client.post("/submit", content=body, headers=ctype).status_code == 422
    # Beyond 5 files' worth plus form overhead even an upload route stops.
    limit = 5 * get_settings().upload_max_bytes + 256 * 1024
    assert client.post("/submit", content=b"x" * 10, headers={**ctype, "content-length": str(limit + 1)}
                       ).status_code == 413


def private_world():
    commune, a, b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat, stage="know").id)
        scan = make_attachment(db, item, pdf_bytes(1), filename="giay-dong-y.pdf", purpose="consent")
        photo = make_attachment(db, item, photo_bytes((800, 600)), purpose="progress")
        secret_photo = make_attachment(db, item, photo_bytes((800, 600), color=(5, 5, 5)), private=True)
    return item, users, {"scan": scan, "photo": photo, "secret_photo": secret_photo}


def urls(att: Attachment) -> list[str]:
    from civic.web.media import file_url

    return [file_url(att, v) for v in ("display", "thumb") if file_url(att, v)]


def test_private_files_are_served_only_to_the_items_officials(app):
    item, users, atts = private_world()
    who = {"anonymous": None, "resident": users["resident"], "other_head": users["other_head"],
           "village_head": users["village_head"], "supervisor": users["supervisor"], "admin": users["admin"]}
    for name, user in who.items():
        with browser(app) as c:
            if user is not None:
                login(c, user)
            official = name in ("village_head", "supervisor", "admin")
            for key in ("scan", "secret_photo"):
                for url in urls(atts[key]):
                    r = c.get(url)
                    assert r.status_code == (200 if official else 404), (name, key, url, r.status_code)
                    if official:
                        assert r.headers["cache-control"].startswith("private")
            for url in urls(atts["photo"]):
                assert c.get(url).status_code == 200
            page = c.get(f"/items/{item.code}").text
            assert ("giay-dong-y.pdf" in page) == official, name
            assert (f"/media/{atts['secret_photo'].id}/" in page) == official, name
    with browser(app) as c:
        login(c, users["village_head"])
        pdf = c.get(urls(atts["scan"])[0])
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
        assert "giay-dong-y.pdf" in pdf.headers["content-disposition"]


def test_a_document_shows_as_a_link_with_size_and_pages(client):
    commune, a, _b, cat, _u = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat, stage="know").id)
        make_attachment(db, item, pdf_bytes(3), filename="Biên bản họp thôn.pdf", purpose="minutes")
    page = client.get(f"/items/{item.code}?lang=en").text
    assert re.search(r'<a href="/media/\d+/display-[0-9a-f]{16}\.pdf" download>'
                     r"Download Biên bản họp thôn\.pdf</a>", page)
    assert re.search(r"\(PDF, [\d.,]+ KB, 3 pages\)", page)
    # In Vietnamese the link says it saves the file ("Tải về"), not that it shows it ("Xem").
    assert "download>Tải về Biên bản họp thôn.pdf</a>" in client.get(f"/items/{item.code}?lang=vi").text


def test_a_document_is_always_saved_never_opened_in_the_site_and_photos_still_show(client):
    """A PDF opened in the browser's viewer runs its scripts and forms in the site's origin; any file a
    browser might render as a page is sandboxed."""
    commune, a, _b, cat, _u = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat, stage="know").id)
        doc = make_attachment(db, item, pdf_bytes(1), filename="Biên bản họp thôn “số 2”.pdf",
                              purpose="minutes")
        photo = make_attachment(db, item, photo_bytes((900, 600)))
    from civic.web.media import file_url

    r = client.get(file_url(doc))
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    # RFC 6266: an ASCII name for old clients (no quotes left in it), and the real one in UTF-8.
    assert r.headers["content-disposition"] == (
        'attachment; filename="Bien ban hop thon so 2.pdf"; filename*=UTF-8'
        "''Bi%C3%AAn%20b%E1%BA%A3n%20h%E1%BB%8Dp%20th%C3%B4n%20%E2%80%9Cs%E1%BB%91%202%E2%80%9D.pdf")
    assert "sandbox" in r.headers["content-security-policy"].split("; ")
    assert r.headers["x-content-type-options"] == "nosniff"
    for url in urls(photo):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
        assert "content-disposition" not in r.headers  # shown inline, in the page and on its own
        assert "sandbox" in r.headers["content-security-policy"].split("; ")
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_village_head_hides_a_public_photo_with_a_reason(app):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600)))
    public_urls = urls(att)
    with browser(app) as anon:
        assert all(anon.get(u).status_code == 200 for u in public_urls)
        assert "Hide this photo" not in anon.get(f"/items/{item.code}?lang=en").text
    with browser(app) as c:
        login(c, users["village_head"])
        page = c.get(f"/items/{item.code}").text
        assert f'action="/media/{att.id}/hide"' in page
        token = csrf_from(page)
        # Without a reason: the page again with the error next to the field, nothing hidden.
        answer = c.post(f"/media/{att.id}/hide",
                        data={"csrf_token": token, "reason": " ", "back": f"/items/{item.code}"})
        assert answer.status_code == 422 and f'id="hide-{att.id}-error"' in answer.text
        assert not attachments()[0].hidden
        answer = c.post(f"/media/{att.id}/hide",
                        data={"csrf_token": token, "reason": "Thấy rõ biển số xe máy",
                              "back": f"/items/{item.code}"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/items/{item.code}"
        # The village head still sees it, marked hidden.
        assert c.get(public_urls[0]).status_code == 200
    with browser(app) as anon:
        page = anon.get(f"/items/{item.code}").text
        assert "Thấy rõ biển số xe máy" in page
        assert f"/media/{att.id}/" not in page
        assert all(anon.get(u).status_code == 404 for u in public_urls)
    # Hiding again is refused; another village's village head cannot even find it.
    with browser(app) as c:
        login(c, users["supervisor"])
        token = csrf_from(c.get(f"/items/{item.code}").text)
        assert c.post(f"/media/{att.id}/hide",
                      data={"csrf_token": token, "reason": "lần nữa"}).status_code == 409
    with browser(app) as c:
        login(c, users["other_head"])
        token = csrf_from(c.get("/submit").text)
        assert c.post(f"/media/{att.id}/hide", data={"csrf_token": token, "reason": "không phải thôn tôi"}
                      ).status_code == 404


def test_another_village_head_cannot_hide_a_public_photo(app):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600)))
    with browser(app) as c:
        login(c, users["other_head"])
        page = c.get(f"/items/{item.code}").text
        assert f'action="/media/{att.id}/hide"' not in page
        answer = c.post(f"/media/{att.id}/hide", data={"csrf_token": csrf_from(page), "reason": "không được"})
        assert answer.status_code == 403
    assert not attachments()[0].hidden


def test_hiding_needs_the_forms_csrf_token(app):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600)))
    with browser(app) as c:
        login(c, users["village_head"])
        assert c.post(f"/media/{att.id}/hide", data={"reason": "có mặt người"}).status_code == 403
    assert not attachments()[0].hidden


def test_stored_files_are_named_by_their_content(client):
    _c, a, _b, cat, _u = setup_world()
    data = submit_form(client, a, cat)
    client.post("/submit", data=data, files=[jpeg()], follow_redirects=False)
    att = attachments()[0]
    import hashlib

    for key in (att.display_key, att.thumb_key):
        assert hashlib.sha256(storage.path(key).read_bytes()).hexdigest() == storage.digest_of(key)
        assert storage.path(key).is_relative_to(storage.root())


def test_a_kept_original_still_has_its_gps_so_only_officials_get_it(app, monkeypatch):
    monkeypatch.setattr(get_settings(), "keep_originals", True)
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600), gps=True))
    from civic.web.media import file_url

    url = file_url(att, "original")
    assert url.endswith(".jpg")
    with browser(app) as anon:
        assert anon.get(url).status_code == 404
        assert anon.get(file_url(att, "display")).status_code == 200
        assert url not in anon.get(f"/items/{item.code}").text
    with browser(app) as c:
        login(c, users["supervisor"])
        r = c.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.headers["cache-control"].startswith("private")


def test_files_carry_a_policy_that_lets_the_browser_show_them(client):
    commune, a, _b, cat, _u = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600)))
    from civic.web.media import file_url

    r = client.get(file_url(att, "display"))
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert "script-src" not in r.headers["content-security-policy"]


def test_photos_answer_head_and_ranges_and_are_not_gzipped_again(client):
    commune, a, _b, cat, _u = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600)))
    from civic.web.media import file_url

    url = file_url(att, "display")
    head = client.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == att.byte_size
    full = client.get(url, headers={"accept-encoding": "gzip"})
    assert full.headers.get("content-encoding", "identity") == "identity"\
        and len(full.content) == att.byte_size
    part = client.get(url, headers={"range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == full.content[:10]


ODD_IDS = ("99999999999999999999", "9223372036854775808", "¹", "٣", "１", "0", "-1", "1.5", "1e3", "0x1",
           "%00", "%C2%B9", "a")
ODD_NAMES = ("display-x.webp", "display", "thumb-", "-", "original-0000000000000000.jpg", "x" * 300,
             "%00.webp", "display-%E2%80%8B.webp", "display-0000000000000000.webp%00",
             "..%2F..%2Fetc%2Fpasswd", "%C3%A9")


def test_odd_media_addresses_answer_404_never_500(client):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        att = make_attachment(db, item, photo_bytes((900, 600)))
    for odd in ODD_IDS:
        for name in ("display-x.webp", "thumb-0000000000000000.webp"):
            for method in (client.get, client.head):
                assert method(f"/media/{odd}/{name}").status_code == 404, (odd, name)
    for name in ODD_NAMES:
        assert client.get(f"/media/{att.id}/{name}").status_code == 404, name
    login(client, users["village_head"])
    token = csrf_from(client.get(f"/items/{item.code}").text)
    for odd in ODD_IDS:
        r = client.post(f"/media/{odd}/hide", data={"csrf_token": token, "reason": "Có mặt người"})
        assert r.status_code == 404, (odd, r.status_code)
    r = client.post("/media/99999/hide", data={"csrf_token": token, "reason": "Có mặt người"})
    assert r.status_code == 404
    assert not attachments()[0].hidden


def test_hiding_goes_back_only_to_a_page_of_this_site(app):
    commune, a, _b, cat, users = setup_world()
    with unit_of_work(write=True) as db:
        item = db.get(Item, setup_item(commune, a, cat).id)
        atts = [make_attachment(db, item, photo_bytes((900, 600), color=(n, 9, 9))) for n in range(5)]
    with browser(app) as c:
        login(c, users["village_head"])
        token = csrf_from(c.get(f"/items/{item.code}").text)
        for att, back in zip(atts, ("//evil.example/x", "https://evil.example/", "/\\evil", "/x" * 200,
                                    ["/a", "/items"]), strict=True):
            r = c.post(f"/media/{att.id}/hide", follow_redirects=False,
                       data={"csrf_token": token, "reason": "Có mặt người", "back": back})
            assert r.status_code == 303
            assert r.headers["location"] in (f"/items/{item.code}", "/items"), (back, r.headers["location"])
        # Odd reasons: too long, control characters only, repeated; the page again, never a 500.
        with unit_of_work(write=True) as db:
            fresh = make_attachment(db, db.get(Item, item.id), photo_bytes((900, 600), color=(1, 200, 1)))
        for reason in ("x" * 501, "\x00\x01\x02", ["", " "]):
            r = c.post(f"/media/{fresh.id}/hide", data={"csrf_token": token, "reason": reason})
            assert r.status_code == 422 and f'id="hide-{fresh.id}-error"' in r.text, reason


# --- the media folder cannot be written -------------------------------------------------------------
# A file stands where the media folder should be: creating the folders under it fails as the OS would
# (NotADirectoryError), for root too, like a read-only or full disk.

def _unwritable_media(tmp_path, monkeypatch):
    blocked = tmp_path / "media"
    blocked.write_bytes(b"not a folder")
    monkeypatch.setattr(get_settings(), "media_dir", blocked)
    return blocked


def test_a_submission_with_a_photo_when_storage_fails_keeps_the_text_and_records_nothing(client, tmp_path,
                                                                                          monkeypatch):
    _c, a, _b, cat, _u = setup_world()
    data = submit_form(client, a, cat, title="Đèn đường hỏng ở ngõ 3", description="Tối om, rất nguy hiểm.",
                       contact_name="Chị Hoa", address="Ngõ 3")
    _unwritable_media(tmp_path, monkeypatch)
    before = state()
    answer = client.post("/submit", data=data, files=[jpeg("den.jpg")], follow_redirects=False)
    assert answer.status_code == 503
    text = html.unescape(answer.text)
    assert "Không lưu được ảnh hoặc tài liệu lúc này" in text
    assert 'role="alert"' in answer.text
    for value in ("Đèn đường hỏng ở ngõ 3", "Tối om, rất nguy hiểm.", "Chị Hoa", "Ngõ 3", "0912345678"):
        assert value in text
    assert 'id="f-photos-error"' in answer.text  # only the photo must be chosen again
    assert state() == before  # no item without its photo, no event
    assert list(tmp_path.iterdir()) == [tmp_path / "media"]

    # Once the storage is back, the same form goes through (the page kept its tokens).
    monkeypatch.setattr(get_settings(), "media_dir", tmp_path / "media-ok")
    again = client.post("/submit", data=data, files=[jpeg("den.jpg")], follow_redirects=False)
    assert again.status_code == 303
    assert state()["items"] == before["items"] + 1 and state()["attachments"] == 1


def test_a_staff_form_with_a_file_when_storage_fails_is_shown_again_with_503(client, tmp_path, monkeypatch):
    _c, a, _b, cat, users = setup_world()
    login(client, users["village_head"])
    page = client.get("/triage/new")
    data = {"csrf_token": csrf_from(page.text), "kind": "concern", "village_id": str(a.id),
            "category_id": str(cat.id), "title": "Ổ gà đường liên thôn",
            "description": "Ổ gà rất sâu, xe máy dễ ngã.", "contact_name": "Ông Ba"}
    _unwritable_media(tmp_path, monkeypatch)
    before = state()
    answer = client.post("/triage/new", data=data,
                         files=[("photos", ("o-ga.jpg", photo_bytes(), "image/jpeg"))],
                         follow_redirects=False)
    assert answer.status_code == 503
    text = html.unescape(answer.text)
    assert "Không lưu được ảnh hoặc tài liệu lúc này" in text
    for value in ("Ổ gà đường liên thôn", "Ổ gà rất sâu, xe máy dễ ngã.", "Ông Ba"):
        assert value in text
    assert state() == before
