"""Check an upload by its content and turn it into the files that are stored. No database, no web.

Photos: the format is sniffed from the first bytes and only that decoder is allowed; from the header
alone, before anything is decoded, the pixel count and the memory decoding would take are checked
(decompression bombs); the file is verified, then decoded (a JPEG at a reduced scale) in one of a few
process-wide slots (truncated files fail here); animations are refused; the photo is shrunk, turned upright
by its EXIF orientation, converted to sRGB, and written as WebP in two sizes with no metadata at all
(no EXIF, no GPS, no ICC, no XMP). Documents: PDF only, readable, not encrypted, without scripts,
automatic or dangerous actions, XFA forms, rich media or embedded files, wherever they hide (compressed
object streams, inherited through /Parent); stored as sent.
"""

from __future__ import annotations

import io
import re
import threading
import time
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
            # A multi-picture JPEG (MPO, as some phones write) holds the photo first and previews or depth
            # maps after it: only the first is decoded. Any other format with several frames is an animation.
            if probe.format != "MPO":
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
            display_im = _decode_and_shrink(_heif_shrunk(data, im.info) if fmt == "HEIF" else im)
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


def _heif_shrunk(data: bytes, info: dict) -> Image.Image:
    """A HEIF photo decoded and reduced by a whole factor (box averaging), strip by strip.

    libheif has no reduced-scale decoding: it decodes the whole photo into a buffer of its own, which
    Pillow would then copy whole at 4 bytes a pixel (a 48 MP photo: 146 MB and then 195 MB more). Here the
    buffer is read strip by strip instead, so that copy is never made. `info` (EXIF, with the orientation
    libheif has already applied reset, and the ICC profile) is what Pillow's HEIF plugin read from the
    header."""
    heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True, remove_stride=False)
    frame = heif[heif.primary_index]
    if frame.mode not in ("RGB", "RGBA"):
        raise ValueError(f"unexpected HEIF mode {frame.mode}")
    width, height = frame.size
    buf, stride = frame.data, frame.stride
    # The reduced size stays at least twice the display size: the final resize (Lanczos) does the rest.
    factor = max(1, max(width, height) // (2 * rules.DISPLAY_PX))
    out = Image.new(frame.mode, (-(-width // factor), -(-height // factor)))
    rows = max(1, (8 * 1024 * 1024 // stride) // factor) * factor
    for top in range(0, height, rows):
        n = min(rows, height - top)
        strip = Image.frombuffer(frame.mode, (width, n), buf[top * stride:(top + n) * stride], "raw",
                                 frame.mode, stride, 1)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    del buf, frame, heif
    out.info = dict(info)
    return out


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

# What makes a PDF act by itself or carry something other than pages (OWASP ASVS 4.0 12.2.1 / 5.0 V5.2:
# a file must be what it claims to be): scripts, automatic actions (/AA, and /OpenAction unless it is a
# plain destination), launching programs, sending or importing form data, rich media, XFA forms (XML
# forms with their own scripts) and embedded files (an HTML page or a program inside the PDF).
_ACTIVE_KEYS = {"/JavaScript", "/JS", "/AA", "/Launch", "/RichMedia", "/RichMediaContent",
                "/RichMediaSettings"}
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute", "/Rendition",
                   "/Sound", "/Movie", "/GoToE"}
_EMBEDDED_KEYS = {"/EmbeddedFiles", "/EmbeddedFile", "/EF"}
_ACTIVE_SUBTYPES = {"/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}  # annotations that play media
# The same names as raw bytes (a first net; #xx escapes in names are decoded first). The walk over the
# parsed objects below is what counts: it also sees inside compressed object streams.
_RAW = {
    rules.PDF_ACTIVE: re.compile(rb"/(JavaScript|JS|AA|Launch|SubmitForm|ImportData|RichMedia[A-Za-z]*)"
                                 rb"(?![A-Za-z0-9])"),
    rules.PDF_FORM: re.compile(rb"/XFA(?![A-Za-z0-9])"),
    rules.PDF_EMBEDDED: re.compile(rb"/(EmbeddedFiles?|FileAttachment)(?![A-Za-z0-9])"),
}
_HEX_NAME = re.compile(rb"/[^\s/<>\[\]()%{}]*#[0-9A-Fa-f]{2}[^\s/<>\[\]()%{}]*")
_SCRIPT_URI = re.compile(r"^\s*(javascript|vbscript|data|file):", re.IGNORECASE)


def _decode_name(match: re.Match) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), match.group(0))


def _prepare_pdf(data: bytes, name: str, field: str) -> Prepared:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    raw = _HEX_NAME.sub(_decode_name, data)
    for message, pattern in _RAW.items():
        if pattern.search(raw):
            raise Invalid(message, field=field, name=name)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Invalid(rules.PDF_ENCRYPTED, field=field, name=name)
        pages = len(reader.pages)
        if pages == 0:
            raise Invalid(rules.PDF_DAMAGED, field=field, name=name)
        if pages > rules.MAX_PDF_PAGES:
            raise Invalid(rules.PDF_PAGES, field=field, name=name, pages=rules.MAX_PDF_PAGES)
        problem = _pdf_problem(reader)
    except Invalid:
        raise
    except Exception:  # pypdf raises many kinds on a broken or hostile file
        raise Invalid(rules.PDF_DAMAGED, field=field, name=name) from None
    if problem:
        raise Invalid(problem, field=field, name=name)
    filename = name if name.lower().endswith(".pdf") else f"{name}.pdf"
    return Prepared(rules.DOCUMENT, filename, len(data), Variant(data, "application/pdf", "pdf"), pages=pages)


def _pdf_problem(reader) -> str | None:
    """The message for the first active or embedded content found, or None.

    Every object is visited: those reachable from the trailer, following every key (a page's /Parent may
    lead to a page tree node of its own with /AA, inherited by the page), and every object the
    cross-reference tables list, including those packed in compressed object streams. The walk stops
    after rules.MAX_PDF_OBJECTS objects or rules.MAX_PDF_SECONDS seconds: too complex to check.
    """
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, TextStringObject

    deadline = time.monotonic() + rules.MAX_PDF_SECONDS
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    for generation, numbers in reader.xref.items():
        stack.extend(IndirectObject(n, generation, reader) for n in numbers)
    stack.extend(IndirectObject(n, 0, reader) for n in reader.xref_objStm)
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
        if visited > rules.MAX_PDF_OBJECTS or (visited % 256 == 0 and time.monotonic() > deadline):
            return rules.PDF_COMPLEX
        if isinstance(obj, DictionaryObject):  # a StreamObject is one too: its dictionary is checked
            for k, v in obj.items():
                target = v.get_object() if isinstance(v, IndirectObject) else v
                if k in _ACTIVE_KEYS:
                    return rules.PDF_ACTIVE
                if k == "/XFA":
                    return rules.PDF_FORM
                if k in _EMBEDDED_KEYS:
                    return rules.PDF_EMBEDDED
                if k == "/S" and isinstance(target, NameObject) and target in _ACTIVE_ACTIONS:
                    return rules.PDF_ACTIVE
                if k == "/Subtype" and isinstance(target, NameObject) and target in _ACTIVE_SUBTYPES:
                    return rules.PDF_ACTIVE
                if k == "/Subtype" and target == "/FileAttachment":
                    return rules.PDF_EMBEDDED
                if k == "/URI" and isinstance(target, (TextStringObject, str, bytes)):
                    text = target.decode("latin-1") if isinstance(target, bytes) else str(target)
                    if _SCRIPT_URI.match(text):
                        return rules.PDF_ACTIVE
                if k == "/OpenAction" and isinstance(target, DictionaryObject):
                    # A destination (an array: open at page 1, fit width) is harmless; an action is not.
                    return rules.PDF_ACTIVE
                stack.append(v)
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return None
