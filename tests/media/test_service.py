"""civic.media.service against a real database and real files made with Pillow and pypdf in the test."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import event

from civic.audit.models import AuditEvent
from civic.config import get_settings
from civic.db import get_engine, unit_of_work
from civic.errors import Invalid, TooLarge
from civic.media import processing, rules, storage
from civic.media import service as media
from civic.media.models import Attachment
from civic.media.schemas import HideForm, Upload
from tests.builders import (
    audit_events,
    count,
    make_attachment,
    make_item,
    media_files,
    pdf_bytes,
    photo_bytes,
    viewer,
    world,
)


def stored(key: str) -> Image.Image:
    return Image.open(io.BytesIO(storage.path(key).read_bytes()))


def assert_no_metadata(key: str) -> None:
    raw = storage.path(key).read_bytes()
    im = Image.open(io.BytesIO(raw))
    assert im.format == "WEBP"
    assert not im.getexif(), "EXIF left in the stored file"
    assert "exif" not in im.info and "icc_profile" not in im.info and "xmp" not in im.info
    for chunk in (b"EXIF", b"XMP ", b"ICCP", b"PhoneMaker", b"Phone 15"):
        assert chunk not in raw, chunk


def upload(data: bytes, name: str = "IMG_0001.jpg") -> Upload:
    return Upload(name, "image/jpeg", data)


def test_a_phone_photo_is_stripped_turned_upright_and_stored_in_two_sizes(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    # 4000 x 3000 as stored, orientation 6 ("turn 90° clockwise"): upright it is 3000 wide, 4000 high.
    data = photo_bytes((4000, 3000), orientation=6, gps=True)
    assert b"PhoneMaker" in data and Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    att = media.attach(db, item=item, upload=media.prepare(upload(data)), purpose="evidence",
                       actor_id=users["resident"].id)

    assert (att.kind, att.content_type, att.private) == ("photo", "image/webp", False)
    assert (att.width, att.height) == (1200, 1600)
    assert (att.thumb_width, att.thumb_height) == (240, 320)
    display, thumb = stored(att.display_key), stored(att.thumb_key)
    assert display.size == (1200, 1600) and thumb.size == (240, 320)
    assert_no_metadata(att.display_key)
    assert_no_metadata(att.thumb_key)
    # The green block was top-left as stored; turned 90° clockwise it is at the top right.
    rgb = display.convert("RGB")
    top_right, top_left = rgb.getpixel((1200 - 40, 40)), rgb.getpixel((40, 40))
    assert top_right[1] > 150 and top_right[0] < 80, top_right
    assert top_left[0] > 130 and top_left[1] < 90, top_left
    assert att.source_bytes == len(data) and att.byte_size == storage.path(att.display_key).stat().st_size
    assert not att.original_key  # the original is not kept unless configured


@pytest.mark.parametrize("fmt,save", [("PNG", {}), ("WEBP", {"quality": 90}), ("HEIF", {"quality": 80})])
def test_png_webp_and_iphone_heic_are_accepted(db, fmt, save):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat)
    data = photo_bytes((2000, 1500), fmt, gps=True, **save)
    att = make_attachment(db, item, data, filename=f"photo.{fmt.lower()}")
    assert (att.width, att.height) == (1600, 1200)
    assert_no_metadata(att.display_key)


def test_a_transparent_png_keeps_its_transparency_and_a_small_photo_is_not_enlarged(db):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat)
    att = make_attachment(db, item, photo_bytes((300, 200), "PNG", color=(0, 0, 255, 0)))
    im = stored(att.display_key)
    assert im.size == (300, 200) and im.mode == "RGBA" and im.getpixel((299, 199))[3] == 0


BAD_FILES = {
    "a renamed executable": (b"MZ\x90\x00" + b"\x00" * 200, "photo.jpg", rules.NOT_ALLOWED),
    "an SVG": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg",
               rules.NOT_ALLOWED),
    "HTML": (b"<!doctype html><html><script>alert(1)</script></html>", "photo.jpg", rules.NOT_ALLOWED),
    "a GIF": (None, "anim.gif", rules.NOT_ALLOWED),
    "a truncated JPEG": (None, "cut.jpg", rules.DAMAGED),
    "a corrupt PNG": (None, "bad.png", rules.DAMAGED),
    "a decompression bomb": (None, "bomb.png", rules.TOO_MANY_PIXELS),
    "an animated WebP": (None, "anim.webp", rules.ANIMATED),
    "an animated PNG": (None, "anim.png", rules.ANIMATED),
    "a PDF with JavaScript": (None, "minutes.pdf", rules.PDF_ACTIVE),
    "a PDF that runs an action on opening": (None, "minutes.pdf", rules.PDF_ACTIVE),
    "a PDF with a password": (None, "minutes.pdf", rules.PDF_ENCRYPTED),
    "a broken PDF": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nendobj\n%%EOF", "x.pdf", rules.PDF_DAMAGED),
    "an empty file": (b"", "empty.jpg", rules.EMPTY),
}


def bad_file(name: str) -> bytes:
    data, _fn, _msg = BAD_FILES[name]
    if data is not None:
        return data
    if name == "a GIF":
        frames = [Image.new("P", (50, 50), i) for i in range(3)]
        buf = io.BytesIO()
        frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
        return buf.getvalue()
    if name == "a truncated JPEG":
        full = photo_bytes((1600, 1200), quality=95)
        return full[: len(full) * 2 // 3]
    if name == "a corrupt PNG":
        full = bytearray(photo_bytes((400, 300), "PNG"))
        full[200:260] = b"\x00" * 60
        return bytes(full)
    if name == "a decompression bomb":
        # 12,000 x 12,000 = 144 megapixels of one colour: a file of about 50 KB.
        buf = io.BytesIO()
        Image.new("1", (12_000, 12_000)).save(buf, "PNG", optimize=True)
        assert len(buf.getvalue()) < 200_000
        return buf.getvalue()
    if name in ("an animated WebP", "an animated PNG"):
        frames = [Image.new("RGB", (64, 64), (i * 80, 0, 0)) for i in range(3)]
        buf = io.BytesIO()
        frames[0].save(buf, "WEBP" if "WebP" in name else "PNG", save_all=True, append_images=frames[1:])
        return buf.getvalue()
    if name == "a PDF with JavaScript":
        return pdf_bytes(javascript="app.launchURL('http://example.invalid')")
    if name == "a PDF that runs an action on opening":
        return pdf_bytes(open_action="js")
    if name == "a PDF with a password":
        return pdf_bytes(password="secret")
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_refused_with_a_clear_message_and_leave_nothing_behind(name):
    data = bad_file(name)
    _d, filename, message = BAD_FILES[name]
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        item = make_item(db, commune, a, cat)
        item_id = item.id
    before_files = media_files()
    before_events = len(audit_events_fresh())
    with pytest.raises(Invalid) as exc:
        with unit_of_work(write=True) as db:
            item = db.get(type(item), item_id)
            make_attachment(db, item, data, filename=filename, field="photos")
    assert exc.value.message == message
    assert exc.value.errors == {"photos": message}
    assert exc.value.params.get("name", filename) == filename
    assert media_files() == before_files
    with unit_of_work() as db:
        assert count(db, Attachment) == 0
    assert len(audit_events_fresh()) == before_events


def audit_events_fresh():
    with unit_of_work() as db:
        return audit_events(db)


def test_the_pixel_limit_is_checked_before_decoding(monkeypatch):
    from PIL import ImageFile

    data = bad_file("a decompression bomb")
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(1))
    with pytest.raises(Invalid) as exc:
        processing.prepare(Upload("bomb.png", "image/png", data))
    assert exc.value.message == rules.TOO_MANY_PIXELS and not decoded


def test_a_file_over_the_limit_is_too_large(monkeypatch):
    monkeypatch.setattr(get_settings(), "upload_max_bytes", 10_000)
    data = photo_bytes((1200, 900), quality=95)
    assert len(data) > 10_000
    with pytest.raises(TooLarge) as exc:
        media.prepare(upload(data))
    assert exc.value.status == 413


def test_a_pdf_is_stored_as_sent_with_its_size_and_page_count(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage="know")
    data = pdf_bytes(pages=3)
    att = make_attachment(db, item, data, filename="Biên bản họp thôn", purpose="minutes",
                          actor=users["village_head"])
    assert (att.kind, att.content_type, att.pages, att.filename) == ("document", "application/pdf", 3,
                                                                      "Biên bản họp thôn.pdf")
    assert storage.path(att.display_key).read_bytes() == data and att.byte_size == len(data)
    assert not att.thumb_key


def test_a_pdf_that_opens_at_a_page_is_fine(db):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat)
    att = make_attachment(db, item, pdf_bytes(pages=1, open_action="dest"), filename="a.pdf")
    assert att.pages == 1


def test_scripts_hidden_from_a_byte_scan_are_found_in_the_object_tree(monkeypatch):
    """The raw scan is only a first net: the walk over the parsed objects catches what it misses."""
    monkeypatch.setattr(processing, "_RAW", {})
    for data in (pdf_bytes(javascript="app.alert(1)"), pdf_bytes(open_action="js")):
        with pytest.raises(Invalid) as exc:
            processing.prepare(Upload("a.pdf", "application/pdf", data))
        assert exc.value.message == rules.PDF_ACTIVE


def test_hex_escaped_names_do_not_slip_through():
    data = pdf_bytes(javascript="app.alert(1)").replace(b"/JavaScript", b"/J#61vaScript")
    with pytest.raises(Invalid) as exc:
        processing.prepare(Upload("a.pdf", "application/pdf", data))
    assert exc.value.message == rules.PDF_ACTIVE


def test_only_photos_when_only_photos_are_asked_for(db):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat)
    with pytest.raises(Invalid) as exc:
        make_attachment(db, item, pdf_bytes(), filename="a.pdf", accept=("photo",), field="photos")
    assert exc.value.message == rules.NOT_A_PHOTO


def test_attaching_records_one_audit_event_without_personal_data(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat, stage="know")
    before = len(audit_events(db))
    att = make_attachment(db, item, filename="Nguyễn Văn A - 0912345678.jpg", actor=users["village_head"],
                          purpose="progress", owner_kind="progress_update", owner_id=7)
    events = audit_events(db)
    assert len(events) == before + 1
    e = events[-1]
    assert (e.action, e.item_id, e.actor_id) == ("attached", item.id, users["village_head"].id)
    payload = json.loads(e.payload)
    assert payload == {"attachment_id": att.id, "kind": "photo", "purpose": "progress", "private": False,
                       "owner_kind": "progress_update", "owner_id": 7}
    assert "Nguyễn" not in e.payload and "0912345678" not in e.payload


def test_consent_scans_are_always_private(db):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat, stage="do")
    att = make_attachment(db, item, pdf_bytes(1), filename="consent.pdf", purpose="consent")
    assert att.private is True


def test_the_same_photo_is_stored_once(db):
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat)
    data = photo_bytes((800, 600), color=(17, 99, 201))  # a photo no other test stores
    before = media_files()
    one, two = make_attachment(db, item, data), make_attachment(db, item, data)
    assert one.id != two.id and one.display_key == two.display_key
    assert len(media_files() - before) == 2  # display and thumbnail, once


def test_files_of_a_failed_transaction_are_removed():
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        item_id = make_item(db, commune, a, cat).id
    before = media_files()
    with pytest.raises(RuntimeError):
        with unit_of_work(write=True) as db:
            from civic.items.models import Item

            att = make_attachment(db, db.get(Item, item_id), photo_bytes((900, 700), color=(1, 2, 3)))
            assert storage.path(att.display_key).exists()
            raise RuntimeError("something later in the request failed")
    assert media_files() == before


def test_a_failed_commit_removes_the_files_too(monkeypatch):
    with unit_of_work(write=True) as db:
        commune, a, _b, cat, _users = world(db)
        item_id = make_item(db, commune, a, cat).id
    before = media_files()
    from sqlmodel import Session

    real_commit = Session.commit

    def failing_commit(self):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Session, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        with unit_of_work(write=True) as db:
            from civic.items.models import Item

            make_attachment(db, db.get(Item, item_id), photo_bytes((900, 700), color=(3, 2, 1)))
    monkeypatch.setattr(Session, "commit", real_commit)
    assert media_files() == before


def test_keep_originals_keeps_the_uploaded_file(db, monkeypatch):
    monkeypatch.setattr(get_settings(), "keep_originals", True)
    commune, a, _b, cat, _users = world(db)
    item = make_item(db, commune, a, cat)
    data = photo_bytes((900, 700), color=(9, 9, 9))
    att = make_attachment(db, item, data)
    assert att.original_key.endswith(".jpg") and storage.path(att.original_key).read_bytes() == data


def test_list_for_loads_a_page_of_items_in_one_query(db):
    commune, a, _b, cat, _users = world(db)
    items = [make_item(db, commune, a, cat, title=f"Phản ánh số {n}") for n in range(3)]
    for it in items:
        make_attachment(db, it, photo_bytes((400, 300)))
        make_attachment(db, it, pdf_bytes(1), filename="bb.pdf", purpose="minutes", owner_kind="meeting",
                        owner_id=it.id)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(get_engine(), "before_cursor_execute", listener)
    try:
        rows = media.list_for(db, items)
        meeting_rows = media.list_for(db, items[1], owner_kind="meeting", owner_id=items[1].id)
    finally:
        event.remove(get_engine(), "before_cursor_execute", listener)
    assert len(statements) == 2
    assert len(rows) == 6 and [r.item_id for r in rows] == sorted(r.item_id for r in rows)
    assert [(r.owner_kind, r.owner_id) for r in meeting_rows] == [("meeting", items[1].id)]
    grouped = media.by_owner(rows)
    assert len(grouped[("", None)]) == 3
    assert media.list_for(db, []) == []


def test_hiding_a_photo_records_the_public_reason(db):
    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    att = make_attachment(db, item)
    sec = viewer(db, users["village_head"]).facts()
    media.hide(db, att, sec, HideForm.parse({"reason": "  Thấy rõ   mặt người đi đường "}))
    assert att.hidden and att.hidden_reason == "Thấy rõ mặt người đi đường"
    assert att.hidden_by_id == users["village_head"].id
    e = audit_events(db)[-1]
    assert e.action == "attachment_hidden" and e.actor_role == "village_head"
    assert json.loads(e.payload) == {"attachment_id": att.id, "kind": "photo",
                                     "reason": "Thấy rõ mặt người đi đường"}
    # Now only officials can fetch it.
    from civic.errors import NotFound

    with pytest.raises(NotFound):
        media.fetchable(db, att.id, viewer(db, None).facts())
    assert media.fetchable(db, att.id, viewer(db, users["supervisor"]).facts()).id == att.id


def test_another_village_head_cannot_hide_and_nothing_changes(db):
    from civic.errors import Forbidden

    commune, a, _b, cat, users = world(db)
    item = make_item(db, commune, a, cat)
    att = make_attachment(db, item)
    n = count(db, AuditEvent)
    with pytest.raises(Forbidden):
        media.hide(db, att, viewer(db, users["other_head"]).facts(),
                   HideForm.parse({"reason": "Có mặt người"}))
    assert not att.hidden and count(db, AuditEvent) == n
