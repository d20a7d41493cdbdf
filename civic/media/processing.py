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
import warnings

import pillow_heif
from PIL import Image, ImageCms, ImageFile, ImageOps

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


def _prepare_photo(data: bytes, fmt: str, name: str, field: str, keep_original: bool) -> Prepared:
    damaged = Invalid(rules.DAMAGED, field=field, name=name)
    try:
        with _open(data, fmt) as probe:  # reads the header only
            rules.check_pixels(probe.width, probe.height, name, field)
            rules.check_frames(getattr(probe, "n_frames", 1), name, field)
            if getattr(probe, "is_animated", False):
                rules.check_frames(2, name, field)
            probe.verify()
        im = _open(data, fmt)
        if fmt == "JPEG" and max(im.size) > 2 * rules.DISPLAY_PX:
            # Decode at 1/2, 1/4 or 1/8 scale when that still leaves the longest side ≥ the display size.
            scale = rules.DISPLAY_PX / max(im.size)
            im.draft("RGB", (max(1, round(im.width * scale)), max(1, round(im.height * scale))))
        im.load()  # a truncated or corrupt file fails here
        icc = im.info.get("icc_profile")
        im = ImageOps.exif_transpose(im)
        im = _to_srgb(im, icc)
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Invalid(rules.TOO_MANY_PIXELS, field=field, name=name,
                      mp=rules.MAX_PIXELS // 1_000_000) from None
    except Exception:  # any decoder error: OSError, SyntaxError, ValueError, struct errors, MemoryError
        raise damaged from None

    display_im = _resized(im, rules.DISPLAY_PX)
    display = _encode(display_im, DISPLAY_QUALITY)
    thumb = _encode(_resized(display_im, rules.THUMB_PX), THUMB_QUALITY)
    original = None
    if keep_original:
        ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}[fmt]
        ctype = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}[fmt]
        original = Variant(data, ctype, ext, *im.size)
    return Prepared(rules.PHOTO, name, len(data), display, thumb, original)


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
