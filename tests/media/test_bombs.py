"""Decompression bombs: an image whose decoding would take too much memory is refused from its header, a
real large phone photo still passes, both within a bounded amount of memory, and decodes wait in a
process-wide pool."""

from __future__ import annotations

import html
import io
import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from civic.config import get_settings
from civic.db import unit_of_work
from civic.errors import Invalid
from civic.items.models import Item
from civic.media import processing, rules
from civic.media.models import Attachment
from civic.media.schemas import Upload
from tests.builders import count, media_files, photo_bytes, setup_world, submit_form

PEAK_LIMIT_MB = 300


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 8000, height: int = 8000) -> bytes:
    """A valid PNG of width x height 16-bit RGBA, all zero: about 0.5 GB of pixels in about 0.5 MB.

    The zlib stream is built from one block of rows compressed once: after a full flush deflate starts
    afresh, so every further block compresses to the same bytes; the checksum is computed for the whole."""
    row = b"\x00" * (1 + width * 8)  # filter byte, then 4 bands of 2 bytes a pixel
    rows_a_block = 100
    assert height % rows_a_block == 0
    block = row * rows_a_block
    z = zlib.compressobj(9)
    first = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    again = z.compress(block) + z.flush(zlib.Z_FULL_FLUSH)
    end = z.flush()[:-4]
    adler = 1
    for _ in range(height // rows_a_block):
        adler = zlib.adler32(block, adler)
    stream = first + again * (height // rows_a_block - 1) + end + struct.pack(">I", adler)
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def large_jpeg(size: tuple[int, int] = (8000, 6000)) -> bytes:
    """A 48 MP photo as a phone writes it (smooth gradients, so the file stays small)."""
    g = Image.linear_gradient("L").resize(size)
    im = Image.merge("RGB", (g, g.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                             g.transpose(Image.Transpose.FLIP_TOP_BOTTOM)))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_the_bomb_is_what_it_claims_to_be():
    data = png_bomb(800, 600)
    im = Image.open(io.BytesIO(data))
    assert (im.size, im.mode) == ((800, 600), "RGBA")
    im.load()  # decodes: the zlib stream and its checksum are valid
    assert im.getextrema() == ((0, 0),) * 4
    assert len(png_bomb()) < 600_000


# Run in a fresh process, as the server would: the peak is for the whole process, so the figure includes
# Python and every module civic loads. It is the high-water mark of the process's own memory (VmHWM);
# ru_maxrss would carry over the test runner's own peak through fork and exec.
PREPARE = """
import json, resource, sys
from civic.errors import CivicError
from civic.media import service
from civic.media.schemas import Upload

path, name = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
try:
    prepared = service.prepare(Upload(name, "application/octet-stream", data), accept=("photo",),
                               field="photos")
    out = {"status": 200, "size": [prepared.display.width, prepared.display.height]}
except CivicError as exc:
    out = {"status": exc.status, "message": exc.message}
try:
    with open("/proc/self/status") as status:
        hwm = [line.split()[1] for line in status if line.startswith("VmHWM:")][0]
    out["peak_mb"] = int(hwm) / 1024
except OSError:
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def prepare_in_a_process(tmp_path: Path, data: bytes, name: str) -> dict:
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", PREPARE, str(path), name], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_bomb_is_refused_and_a_48_mp_photo_accepted_each_in_under_300_mb(tmp_path):
    bomb = prepare_in_a_process(tmp_path, png_bomb(), "bomb.png")
    assert bomb["status"] == 422 and bomb["message"] == rules.TOO_MUCH_MEMORY, bomb
    assert bomb["peak_mb"] < PEAK_LIMIT_MB, bomb

    photo = prepare_in_a_process(tmp_path, large_jpeg(), "IMG_0001.jpg")
    assert photo["status"] == 200 and photo["size"] == [1600, 1200], photo
    assert photo["peak_mb"] < PEAK_LIMIT_MB, photo


def test_a_bomb_sent_with_the_form_is_refused_with_422_in_vietnamese_and_nothing_is_kept(client):
    _c, a, _b, cat, _u = setup_world()
    data = submit_form(client, a, cat, title="Ổ gà trên đường liên thôn")
    before = media_files()  # other tests' files stay in the shared media folder
    answer = client.post("/submit", data=data, files=[("photos", ("bom.png", png_bomb(), "image/png"))])
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert 'id="f-photos-error"' in answer.text
    assert "“bom.png” là ảnh quá lớn để mở" in text and "Ổ gà trên đường liên thôn" in text
    with unit_of_work() as db:
        assert count(db, Item) == 0 and count(db, Attachment) == 0
    assert media_files() == before


def test_the_bomb_is_refused_before_any_pixel_is_decoded(monkeypatch):
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self.size))
    with pytest.raises(Invalid) as exc:
        processing.prepare(Upload("bomb.png", "image/png", png_bomb()))
    assert exc.value.message == rules.TOO_MUCH_MEMORY and not decoded


def test_pillows_own_pixel_guard_is_a_clean_422_not_a_500(client, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # 900 x 600 is more than twice that
    _c, a, _b, cat, _u = setup_world()
    data = submit_form(client, a, cat)
    photo = ("photos", ("anh.jpg", photo_bytes((900, 600)), "image/jpeg"))
    answer = client.post("/submit", data=data, files=[photo])
    assert answer.status_code == 422 and 'id="f-photos-error"' in answer.text
    assert "“anh.jpg” có độ phân giải quá lớn" in html.unescape(answer.text)


def test_at_most_decode_workers_photos_are_decoded_at_once(monkeypatch):
    monkeypatch.setattr(get_settings(), "decode_workers", 2)
    real_load = ImageFile.ImageFile.load
    lock = threading.Lock()
    active, most = [0], [0]

    def slow_load(self):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            time.sleep(0.5)
            return real_load(self)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", slow_load)
    data = [photo_bytes((1200, 900), color=(n * 40, 9, 9)) for n in range(4)]
    results: list = []
    threads = [threading.Thread(target=lambda d=d: results.append(
        processing.prepare(Upload("a.jpg", "image/jpeg", d)))) for d in data]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4 and all(r.display.width == 1200 for r in results)
    assert most[0] == 2


def test_a_multi_picture_jpeg_from_a_phone_is_its_first_picture_not_an_animation():
    first = Image.new("RGB", (4000, 3000), (200, 20, 20))
    depth_map = Image.new("RGB", (4000, 3000), (0, 0, 0))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[depth_map])
    prepared = processing.prepare(Upload("IMG_0002.jpg", "image/jpeg", buf.getvalue()))
    shown = Image.open(io.BytesIO(prepared.display.data))
    assert shown.size == (1600, 1200) and shown.getpixel((800, 600))[0] > 150


def test_a_heic_photo_is_shrunk_from_the_decoders_buffer_without_a_full_size_copy(monkeypatch):
    """libheif cannot decode at a reduced scale; Pillow must not copy its full-size buffer as well."""
    data = photo_bytes((3400, 2000), "HEIF", orientation=6, quality=60)
    monkeypatch.setattr(rules, "DISPLAY_PX", 800)  # a photo 4 times the display size, as a 48 MP one is
    made: list[tuple[int, int]] = []

    def spy(real):
        def allocate(mode, size, *args):
            made.append(tuple(size))
            return real(mode, size, *args)
        return allocate

    # Every pixel buffer Pillow allocates comes from core.new() or core.fill().
    for name in ("new", "fill"):
        monkeypatch.setattr(Image.core, name, spy(getattr(Image.core, name)))
    prepared = processing.prepare(Upload("IMG_0003.HEIC", "image/heic", data))
    assert (prepared.display.width, prepared.display.height) == (471, 800)  # turned upright
    assert made and max(w * h for w, h in made) < 3400 * 2000 // 2, made
