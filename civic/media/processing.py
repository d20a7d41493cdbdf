"""Check an upload by its content and turn it into the files that are stored. No database, no web.

Photos: the format is sniffed from the first bytes and only that decoder is allowed; the header's pixel
count is checked before anything is decoded (decompression bombs); the file is verified, then opened
again and decoded whole (truncated files fail here); animations are refused; the photo is turned upright
by its EXIF orientation, converted to sRGB, and written as WebP in two sizes with no metadata at all
(no EXIF, no GPS, no ICC, no XMP). Documents: PDF only, readable, not encrypted, without JavaScript or
automatic actions; stored as sent.
"""

from __future__ import annotations

import io
import re
import threading
import warnings

import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

from civic.config import get_settings
from civic.errors import Invalid
from civic.media import rules
from civic.media.schemas import Prepared, Upload, Variant

pillow_heif.register_heif_opener()
# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that: make both an error for every decoder.
Image.MAX_IMAGE_PIXELS = rules.MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)
ImageFile.LOAD_TRUNCATED_IMAGES = False

_PIL_FORMATS = {"JPEG": ["JPEG"], "PNG": ["PNG"], "WEBP": ["WEBP"], "HEIF": ["HEIF"]}
WEBP = "image/webp"
DISPLAY_QUALITY = 82
THUMB_QUALITY = 75
_SRGB = ImageCms.createProfile("sRGB")


def prepare(upload: Upload, *, accept: tuple[str, ...] = rules.KINDS, field: str = "file",
            max_bytes: int = 10 * 1024 * 1024, keep_original: bool = False) -> Prepared:
    """Check and process one upload; Invalid or TooLarge with a message naming the file when it is refused."""
    name = rules.clean_filename(upload.filename)
    rules.check_size(len(upload.data), max_bytes, name, field)
    fmt = rules.sniff(upload.data)
    kind = rules.check_kind(fmt, accept, name, field)
    if kind == rules.PHOTO:
        assert fmt is not None  # check_kind refuses content of no known format
        return _prepare_photo(upload.data, fmt, name, field, keep_original)
    return _prepare_pdf(upload.data, name, field)


# --- photos -----------------------------------------------------------------------------------------

def _open(data: bytes, fmt: str) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=_PIL_FORMATS[fmt])


# PNG colour types (IHDR) and their bands: grey, RGB, palette, grey + alpha, RGBA.
_PNG_BANDS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Modes the resizer takes as they are, without a full-size copy first (RGBA and LA are premultiplied
# into a copy; a palette or 1-bit image is converted to RGB first, or it would be resized nearest-neighbour).
_RESIZE_AS_IS = ("RGB", "L", "CMYK")


def _bands_bits(im: Image.Image, data: bytes, fmt: str) -> tuple[int, int]:
    """Bands and bits a band of the decoded pixels, from the header alone."""
    if fmt == "PNG" and data[12:16] == b"IHDR":
        return _PNG_BANDS.get(data[25], 4), max(data[24], 8)
    if fmt == "JPEG":
        return int(getattr(im, "layers", len(im.getbands()))), int(getattr(im, "bits", 8))
    return len(im.getbands()), 16 if im.mode.startswith("I;16") else 8


def _decode_cost(im: Image.Image, data: bytes, fmt: str) -> int:
    """The memory decoding and shrinking `im` takes at most: its pixels as decoded, plus the one full-size
    working copy some modes need (see _RESIZE_AS_IS). A JPEG is counted at its draft() scale."""
    bands, bits = _bands_bits(im, data, fmt)
    cost = rules.decode_bytes(im.width, im.height, bands, bits)
    if im.mode not in _RESIZE_AS_IS:
        cost += rules.decode_bytes(im.width, im.height, 4, 8)
    return cost


_slots_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _decode_slot() -> threading.BoundedSemaphore:
    """The process-wide gate for decoding: at most settings.decode_workers photos in memory at once, so
    many large uploads at once wait their turn instead of each taking its share of memory."""
    workers = max(1, get_settings().decode_workers)
    with _slots_lock:
        return _slots.setdefault(workers, threading.BoundedSemaphore(workers))


def _prepare_photo(data: bytes, fmt: str, name: str, field: str, keep_original: bool) -> Prepared:
    damaged = Invalid(rules.DAMAGED, field=field, name=name)
    try:
        # Image.open reads the header only: every limit is checked before a pixel buffer is allocated.
        with _open(data, fmt) as probe:
            size = probe.size
            rules.check_pixels(probe.width, probe.height, name, field)
            rules.check_frames(getattr(probe, "n_frames", 1), name, field)
            if getattr(probe, "is_animated", False):
                rules.check_frames(2, name, field)
            probe.verify()
        im = _open(data, fmt)
        if fmt == "JPEG" and max(im.size) > 2 * rules.DISPLAY_PX:
            # Decode at 1/2, 1/4 or 1/8 scale when that still leaves the longest side ≥ the display size:
            # a 48 MP photo then takes 12 MB instead of 192 MB.
            scale = rules.DISPLAY_PX / max(im.size)
            im.draft("RGB", (max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        rules.check_decoded(_decode_cost(im, data, fmt), name, field)
        with _decode_slot():
            display_im = _decode_and_shrink(im)
            display = _encode(display_im, DISPLAY_QUALITY)
            thumb = _encode(_resized(display_im, rules.THUMB_PX), THUMB_QUALITY)
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (Image.MAX_IMAGE_PIXELS), should a decoder reach it first.
        raise Invalid(rules.TOO_MANY_PIXELS, field=field, name=name,
                      mp=rules.MAX_PIXELS // 1_000_000) from None
    except Exception:  # any decoder error: OSError, SyntaxError, ValueError, struct errors, MemoryError
        raise damaged from None

    original = None
    if keep_original:
        ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}[fmt]
        ctype = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}[fmt]
        original = Variant(data, ctype, ext, *size)
    return Prepared(rules.PHOTO, name, len(data), display, thumb, original)


def _decode_and_shrink(im: Image.Image) -> Image.Image:
    """Decode, shrink to the display size in place (no full-size copy for RGB, L and CMYK), then turn
    upright and convert to sRGB on the small image."""
    im.load()  # a truncated or corrupt file fails here
    icc = im.info.get("icc_profile")
    if im.mode not in _RESIZE_AS_IS + ("RGBA", "LA"):
        has_alpha = im.mode == "PA" or (im.mode == "P" and "transparency" in im.info)
        im = im.convert("RGBA" if has_alpha else "RGB")
    im.thumbnail((rules.DISPLAY_PX, rules.DISPLAY_PX), Image.Resampling.LANCZOS, reducing_gap=3.0)
    im = ImageOps.exif_transpose(im)
    return _to_srgb(im, icc)


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    target = "RGBA" if has_alpha else "RGB"
    if icc and im.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(im, src, _SRGB,
                                                  outputMode=target if im.mode != "CMYK" else "RGB")
            if converted is not None:
                im = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unusable profile: keep the pixels as they are
    if im.mode != target:
        im = im.convert(target)
    return im


def _resized(im: Image.Image, longest: int) -> Image.Image:
    out = im.copy()
    out.thumbnail((longest, longest), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return out


def _encode(im: Image.Image, quality: int) -> Variant:
    buf = io.BytesIO()
    # Only pixels are written: no exif=, icc_profile= or xmp= is passed, and no info is carried over.
    im.info = {}
    im.save(buf, "WEBP", quality=quality, method=3)
    return Variant(buf.getvalue(), WEBP, "webp", im.width, im.height)


# --- documents --------------------------------------------------------------------------------------

# Names that make a PDF act by itself; as raw bytes, with #xx escapes in names decoded first.
_ACTIVE_NAMES = {"/JavaScript", "/JS", "/AA", "/Launch"}
_RAW_ACTIVE = re.compile(rb"/(JavaScript|JS|AA|Launch)(?![A-Za-z0-9])")
_HEX_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]*#[0-9A-Fa-f]{2}[^\s/<>\[\]()%{}]*")


def _decode_name(match: re.Match) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), match.group(0))


def _prepare_pdf(data: bytes, name: str, field: str) -> Prepared:
    import logging

    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    raw = _HEX_NAME.sub(_decode_name, data)
    if _RAW_ACTIVE.search(raw):
        raise Invalid(rules.PDF_ACTIVE, field=field, name=name)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Invalid(rules.PDF_ENCRYPTED, field=field, name=name)
        pages = len(reader.pages)
        if pages == 0:
            raise Invalid(rules.PDF_DAMAGED, field=field, name=name)
        if pages > rules.MAX_PDF_PAGES:
            raise Invalid(rules.PDF_PAGES, field=field, name=name, pages=rules.MAX_PDF_PAGES)

        # Walk every object reachable from the trailer (including those inside compressed object streams).
        seen: set[tuple[int, int]] = set()
        stack: list = [reader.trailer]
        visited = 0
        while stack:
            obj = stack.pop()
            if isinstance(obj, IndirectObject):
                key = (obj.idnum, obj.generation)
                if key in seen:
                    continue
                seen.add(key)
                obj = obj.get_object()
            visited += 1
            if visited > rules.MAX_PDF_OBJECTS:
                raise Invalid(rules.PDF_DAMAGED, field=field, name=name)
            if isinstance(obj, DictionaryObject):
                for k, v in obj.items():
                    if k in _ACTIVE_NAMES:
                        raise Invalid(rules.PDF_ACTIVE, field=field, name=name)
                    if k == "/S" and isinstance(v, NameObject) and v in ("/JavaScript", "/Launch"):
                        raise Invalid(rules.PDF_ACTIVE, field=field, name=name)
                    if k == "/OpenAction":
                        target = v.get_object() if isinstance(v, IndirectObject) else v
                        # A destination (an array: open at page 1, fit width) is harmless; an action is not.
                        if isinstance(target, DictionaryObject):
                            raise Invalid(rules.PDF_ACTIVE, field=field, name=name)
                    if k in ("/Parent", "/P"):  # back-links: reached from the other side anyway
                        continue
                    stack.append(v)
            elif isinstance(obj, ArrayObject):
                stack.extend(obj)
    except Invalid:
        raise
    except Exception:  # pypdf raises many kinds on a broken or hostile file
        raise Invalid(rules.PDF_DAMAGED, field=field, name=name) from None
    filename = name if name.lower().endswith(".pdf") else f"{name}.pdf"
    return Prepared(rules.DOCUMENT, filename, len(data), Variant(data, "application/pdf", "pdf"), pages=pages)
