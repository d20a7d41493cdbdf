"""Pure media rules: formats by content, names, limits, and who sees or hides what (a matrix)."""

from __future__ import annotations

import pytest

from civic.errors import Conflict, Forbidden, Invalid, TooLarge
from civic.media import rules
from civic.media.schemas import HideForm
from civic.workflow.rules import ActorFacts

COMMUNE, VILLAGE, OTHER_VILLAGE = 1, 10, 11

ACTORS = {
    "anonymous": ActorFacts(),
    "resident": ActorFacts(user_id=5),
    "author": ActorFacts(user_id=6, is_author=True),
    "village_head": ActorFacts(user_id=7, head_villages=frozenset({VILLAGE})),
    "other_head": ActorFacts(user_id=8, head_villages=frozenset({OTHER_VILLAGE})),
    "supervisor": ActorFacts(user_id=9, supervisor_communes=frozenset({COMMUNE})),
    "other_commune_supervisor": ActorFacts(user_id=10, supervisor_communes=frozenset({2})),
    "admin": ActorFacts(user_id=11, admin_communes=frozenset({COMMUNE})),
}
OFFICIALS = {"village_head", "supervisor", "admin"}


@pytest.mark.parametrize("head,fmt", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WEBP"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", "HEIF"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00", "HEIF"),
    (b"%PDF-1.7\n", "PDF"),
    (b"MZ\x90\x00\x03\x00\x00\x00", None),  # a Windows executable, whatever its name
    (b"<svg xmlns='http://www.w3.org/2000/svg'>", None),
    (b"<!doctype html><script>", None),
    (b"GIF89a\x01\x00", None),
    (b"\x00\x00\x00\x18ftypavif\x00\x00", None),
    (b"", None),
])
def test_formats_are_known_by_their_first_bytes(head, fmt):
    assert rules.sniff(head + b"\x00" * 40 if head else b"") == fmt


def test_a_photo_field_refuses_a_pdf_and_a_document_field_takes_both():
    assert rules.check_kind("PDF", rules.KINDS, "a.pdf", "file") == rules.DOCUMENT
    assert rules.check_kind("JPEG", rules.KINDS, "a.jpg", "file") == rules.PHOTO
    with pytest.raises(Invalid) as exc:
        rules.check_kind("PDF", (rules.PHOTO,), "bien-ban.pdf", "photos")
    assert exc.value.message == rules.NOT_A_PHOTO and exc.value.errors == {"photos": rules.NOT_A_PHOTO}
    assert exc.value.params["name"] == "bien-ban.pdf"
    with pytest.raises(Invalid):
        rules.check_kind(None, rules.KINDS, "virus.jpg", "file")


def test_sizes_pixels_frames_and_counts():
    with pytest.raises(TooLarge) as exc:
        rules.check_size(10 * 1024 * 1024 + 1, 10 * 1024 * 1024, "a.jpg", "photos")
    assert exc.value.status == 413 and exc.value.params["mb"] == "10"
    rules.check_size(10 * 1024 * 1024, 10 * 1024 * 1024, "a.jpg", "photos")
    with pytest.raises(Invalid):
        rules.check_size(0, 100, "a.jpg", "photos")
    rules.check_pixels(8064, 6048, "48mp.jpg", "photos")  # a 48 MP phone photo is fine
    with pytest.raises(Invalid):
        rules.check_pixels(20_000, 20_000, "bomb.png", "photos")
    with pytest.raises(Invalid):
        rules.check_frames(2, "anim.webp", "photos")
    with pytest.raises(Invalid) as exc:
        rules.check_count(6, 5, "photos")
    assert exc.value.params == {"count": 5}


@pytest.mark.parametrize("raw,clean", [
    ("IMG_0001.JPG", "IMG_0001.JPG"),
    ("C:\\Users\\an\\Ảnh của tôi.jpg", "Ảnh của tôi.jpg"),
    ("../../etc/passwd", "passwd"),
    ("a\x00b\nc.pdf", "abc.pdf"),
    ("", "file"),
    ("   ", "file"),
    ("x" * 300 + ".pdf", "x" * 96 + ".pdf"),
])
def test_file_names_are_cleaned_for_showing(raw, clean):
    assert rules.clean_filename(raw) == clean


def test_consent_scans_are_private_whatever_the_caller_says():
    assert rules.is_private("consent", False) is True
    assert rules.is_private("evidence", False) is False
    assert rules.is_private("minutes", True) is True


@pytest.mark.parametrize("actor", sorted(ACTORS))
@pytest.mark.parametrize("private,hidden", [(False, False), (True, False), (False, True)])
def test_who_sees_what(actor, private, hidden):
    facts = ACTORS[actor]
    state = rules.view_state(private=private, hidden=hidden, commune_id=COMMUNE, village_id=VILLAGE,
                             actor=facts)
    fetch = rules.may_fetch(private=private, hidden=hidden, commune_id=COMMUNE, village_id=VILLAGE,
                            actor=facts)
    if not private and not hidden:
        assert state == rules.SHOW and fetch
    elif actor in OFFICIALS:
        assert state == rules.SHOW and fetch
    elif private:
        assert state == rules.NONE and not fetch  # not even a trace: its existence does not leak
    else:
        assert state == rules.HIDDEN and not fetch  # "hidden: reason", and the file is gone


@pytest.mark.parametrize("actor", sorted(ACTORS))
def test_who_may_hide_a_public_photo(actor):
    facts = ACTORS[actor]
    kw = dict(private=False, hidden=False, commune_id=COMMUNE, village_id=VILLAGE, actor=facts)
    assert rules.may_hide(**kw) == (actor in OFFICIALS)
    if actor in OFFICIALS:
        rules.check_hide(**kw)
        assert HideForm.parse({"reason": "  Có   mặt người  "}).reason == "Có mặt người"
    else:
        with pytest.raises(Forbidden):
            rules.check_hide(**kw)


def test_hiding_needs_a_reason_and_a_public_visible_file():
    facts = ACTORS["village_head"]
    kw = dict(commune_id=COMMUNE, village_id=VILLAGE, actor=facts)
    with pytest.raises(Invalid) as exc:
        HideForm.parse({"reason": " "})
    assert "reason" in exc.value.errors
    with pytest.raises(Invalid):
        HideForm.parse({"reason": "x" * 501})
    with pytest.raises(Conflict):
        rules.check_hide(private=False, hidden=True, **kw)
    with pytest.raises(Conflict):
        rules.check_hide(private=True, hidden=False, **kw)
    assert not rules.may_hide(private=True, hidden=False, **kw)


def test_decoded_size_counts_bands_and_bits_so_a_48_mp_photo_passes_and_a_bomb_does_not():
    # Pillow keeps 2 or 3 bands of 8 bits in 4 bytes; 16 bits a band take 2 bytes each.
    assert [rules.pixel_bytes(b, bits) for b, bits in ((1, 1), (1, 8), (1, 16), (2, 8), (3, 8), (4, 8),
                                                        (3, 16), (4, 16))] == [1, 1, 2, 4, 4, 4, 6, 8]
    assert rules.decode_bytes(8000, 8000, 4, 16) == 512_000_000
    assert rules.decode_bytes(100, 100, 3, 8, frames=3) == 120_000
    # The largest phone photos: 48 MP HEIC (8064 x 6048) and 50 MP (8160 x 6120), 8 bits, RGB.
    for width, height in ((8064, 6048), (8160, 6120), (8000, 6000)):
        rules.check_decoded(rules.decode_bytes(width, height, 3, 8), "IMG_0001.heic", "photos")
    # 64 MP (under the pixel limit) of 16-bit RGBA, and of 8-bit RGBA: half a gigabyte and 256 MB.
    for bands, bits in ((4, 16), (4, 8)):
        with pytest.raises(Invalid) as exc:
            rules.check_decoded(rules.decode_bytes(8000, 8000, bands, bits), "bomb.png", "photos")
        assert exc.value.status == 422 and exc.value.message == rules.TOO_MUCH_MEMORY
        assert exc.value.errors == {"photos": rules.TOO_MUCH_MEMORY}
        assert exc.value.params == {"name": "bomb.png", "mb": 210}
    assert 8000 * 8000 <= rules.MAX_PIXELS  # the pixel count alone lets these through
