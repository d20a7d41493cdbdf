"""Pure media decisions: which content types are allowed, limits, names, who may see or hide what.

Plain arguments in, a decision or a CivicError out; no session, no request, no file system.
"""

from __future__ import annotations

import re
import unicodedata

from civic.core.facts import ActorFacts
from civic.errors import N_, Conflict, Forbidden, Invalid, TooLarge

# Longest side of the two stored sizes of a photo, in pixels.
DISPLAY_PX = 1600
THUMB_PX = 320
# A phone photo is at most about 50 megapixels (48 MP sensors); more in a small file is a decompression bomb.
MAX_PIXELS = 64_000_000
# The memory a photo may take once decoded, in bytes (width × height × bytes a pixel, as decode_bytes()
# counts them). A small file can hold a huge image (a decompression bomb, OWASP ASVS 5.0 V5.2.3 / 4.0
# 12.1.3): the pixel count alone lets 64 MP of 16-bit RGBA through, half a gigabyte. 200 MiB is what the
# largest phone photos need: 50 MP (8160 × 6120) held as 4 bytes a pixel is 199.8 MB, 48 MP HEIC
# (8064 × 6048) 195 MB; a JPEG is counted at the scale it is decoded at (1/2 to 1/8, see processing.py).
MAX_DECODED_BYTES = 200 * 1024 * 1024
MAX_PDF_PAGES = 500
# A hostile PDF may hold millions of objects or make the parser crawl: the check stops there
# (OWASP ASVS 4.0 12.1.3).
MAX_PDF_OBJECTS = 200_000
MAX_PDF_SECONDS = 10.0

PHOTO = "photo"
DOCUMENT = "document"
KINDS = (PHOTO, DOCUMENT)

# What an attachment is for. Consent scans are never public (docs/architecture.md, privacy), whatever
# the caller asks.
PRIVATE_PURPOSES = frozenset({"consent"})
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_OWNER_KIND = re.compile(r"^[a-z0-9_]{0,32}$")

# Image formats by their first bytes (never by name or claimed type).
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

# Messages (msgids). %(name)s is the file's name as the user chose it.
NOT_ALLOWED = N_("“%(name)s” is not a photo (JPEG, PNG, WebP or HEIC) or a PDF document.")
NOT_A_PHOTO = N_("“%(name)s” is not a photo. Please choose a JPEG, PNG, WebP or HEIC photo.")
DAMAGED = N_("“%(name)s” is damaged or incomplete. Please take or choose the photo again.")
TOO_MANY_PIXELS = N_("“%(name)s” has too many pixels (more than %(mp)s megapixels).")
TOO_MUCH_MEMORY = N_("“%(name)s” is too large an image to open (it would take more than %(mb)s MB of "
                     "memory). Please send a smaller photo, as a phone takes it.")
ANIMATED = N_("“%(name)s” is an animation. Please choose a single photo.")
PDF_DAMAGED = N_("“%(name)s” is not a readable PDF document.")
PDF_ACTIVE = N_("“%(name)s” contains scripts or automatic actions, which are not allowed. "
                "Please print it to a new PDF or scan the paper copy.")
PDF_EMBEDDED = N_("“%(name)s” contains attached files, which are not allowed. "
                  "Please print it to a new PDF or scan the paper copy.")
PDF_FORM = N_("“%(name)s” is an interactive (XFA) form, which is not allowed. "
              "Please print it to a new PDF or scan the paper copy.")
PDF_COMPLEX = N_("“%(name)s” is too complex to check. Please print it to a new PDF or scan the paper copy.")
PDF_ENCRYPTED = N_("“%(name)s” is protected by a password. Please upload a copy without a password.")
PDF_PAGES = N_("“%(name)s” has too many pages (at most %(pages)s).")
EMPTY = N_("“%(name)s” is empty.")
TOO_LARGE = N_("“%(name)s” is too large: at most %(mb)s MB per file.")
TOO_MANY = N_("You can add at most %(count)s files here.")


def sniff(data: bytes) -> str | None:
    """The format of `data` from its first bytes: JPEG, PNG, WEBP, HEIF, PDF, or None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    if head.startswith(b"%PDF-"):
        return "PDF"
    return None


def kind_of(fmt: str | None) -> str | None:
    if fmt in ("JPEG", "PNG", "WEBP", "HEIF"):
        return PHOTO
    if fmt == "PDF":
        return DOCUMENT
    return None


def check_kind(fmt: str | None, accept: tuple[str, ...], name: str, field: str) -> str:
    """The kind of the upload, or Invalid when its content is none of the accepted kinds."""
    kind = kind_of(fmt)
    if kind is None or kind not in accept:
        message = NOT_A_PHOTO if accept == (PHOTO,) else NOT_ALLOWED
        raise Invalid(message, field=field, name=name)
    return kind


def check_size(size: int, max_bytes: int, name: str, field: str) -> None:
    if size == 0:
        raise Invalid(EMPTY, field=field, name=name)
    if size > max_bytes:
        raise TooLarge(TOO_LARGE, field=field, name=name, mb=mb(max_bytes))


def check_pixels(width: int, height: int, name: str, field: str, max_pixels: int = MAX_PIXELS) -> None:
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise Invalid(TOO_MANY_PIXELS, field=field, name=name, mp=max_pixels // 1_000_000)


def pixel_bytes(bands: int, bits: int) -> int:
    """Bytes one decoded pixel takes: bands × bytes a band; 2 or 3 bands of 8 bits take 4 bytes, as the
    decoder (Pillow) keeps them in one 32-bit word."""
    per_band = -(-max(bits, 1) // 8)
    if per_band == 1 and bands in (2, 3):
        return 4
    return max(bands, 1) * per_band


def decode_bytes(width: int, height: int, bands: int, bits: int, frames: int = 1) -> int:
    """The memory the decoded pixels of an image take: width × height × pixel_bytes(), for each frame."""
    return max(width, 0) * max(height, 0) * pixel_bytes(bands, bits) * max(frames, 1)


def check_decoded(nbytes: int, name: str, field: str, max_bytes: int = MAX_DECODED_BYTES) -> None:
    """Refuse an image whose decoding would take more than `max_bytes` of memory (decompression bombs)."""
    if nbytes > max_bytes:
        raise Invalid(TOO_MUCH_MEMORY, field=field, name=name, mb=round(max_bytes / 1_000_000))


def check_frames(frames: int, name: str, field: str) -> None:
    if frames != 1:
        raise Invalid(ANIMATED, field=field, name=name)


def check_count(count: int, max_count: int, field: str) -> None:
    if count > max_count:
        raise Invalid(TOO_MANY, field=field, count=max_count)


def mb(max_bytes: int) -> str:
    value = max_bytes / (1024 * 1024)
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def clean_filename(raw: str) -> str:
    """A file name safe to show: no path, no control characters, at most 100 characters."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 100:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 100 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 8 else name[:100]
    return name or "file"


def check_purpose(purpose: str) -> str:
    if not _PURPOSE.match(purpose or ""):
        raise ValueError(f"bad attachment purpose {purpose!r}")
    return purpose


def check_owner(owner_kind: str, owner_id: int | None) -> None:
    if not _OWNER_KIND.match(owner_kind or "") or (bool(owner_kind) != (owner_id is not None)):
        raise ValueError(f"bad attachment owner {owner_kind!r} {owner_id!r}")


def is_private(purpose: str, private: bool) -> bool:
    return private or purpose in PRIVATE_PURPOSES


# --- who may see and hide -------------------------------------------------------------------------

def is_official(commune_id: int, village_id: int, actor: ActorFacts) -> bool:
    """The item's village head, or a supervisor or admin of its commune."""
    return (village_id in actor.head_villages or commune_id in actor.supervisor_communes
            or commune_id in actor.admin_communes)


SHOW = "show"
HIDDEN = "hidden"  # a notice "hidden: reason" instead of the photo
NONE = "none"  # not even a trace


def view_state(*, private: bool, hidden: bool, commune_id: int, village_id: int, actor: ActorFacts) -> str:
    """How an attachment appears to this viewer: shown, as a 'hidden' notice, or not at all."""
    official = is_official(commune_id, village_id, actor)
    if private:
        return SHOW if official else NONE
    if hidden:
        return SHOW if official else HIDDEN
    return SHOW


def may_fetch(*, private: bool, hidden: bool, commune_id: int, village_id: int, actor: ActorFacts) -> bool:
    """Whether the viewer may download the file; everyone else gets a 404, so its existence does not leak."""
    return view_state(private=private, hidden=hidden, commune_id=commune_id, village_id=village_id,
                      actor=actor) == SHOW


def may_hide(*, private: bool, hidden: bool, commune_id: int, village_id: int, actor: ActorFacts) -> bool:
    return (not private and not hidden and
            (village_id in actor.head_villages or commune_id in actor.supervisor_communes
             or commune_id in actor.admin_communes))


REASON_MIN, REASON_MAX = 3, 500


def check_hide(*, private: bool, hidden: bool, commune_id: int, village_id: int, actor: ActorFacts) -> None:
    """Why this file cannot be hidden by this actor, if it cannot (the reason is checked by HideForm)."""
    if not is_official(commune_id, village_id, actor):
        raise Forbidden(N_("You are not allowed to do this for this item."))
    if private or hidden:
        raise Conflict(N_("This file is already hidden from the public."))
