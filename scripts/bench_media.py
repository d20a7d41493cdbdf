"""Time to accept and process a 4 MB phone photo: `python scripts/bench_media.py [--repeat N] [--json PATH]`.

A 12-megapixel (4032 × 3024) JPEG of about 4 MB with EXIF (orientation, GPS) is made with Pillow, then
each round measures, in this process, what the server does with it on upload:
  accept  — stream a multipart body through civic.web.uploads.read_multipart (the size limit applies),
  process — check it by content, verify, decode, turn upright, strip metadata, resize to 1,600 px and
            320 px WebP (civic.media.service.prepare),
  store   — write both files by content hash under a temporary media directory.
It prints the median and the worst round. `make bench` may call `measure()` and show `summary()`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_BYTES = 4 * 1024 * 1024


def phone_photo(target: int = TARGET_BYTES, size: tuple[int, int] = (4032, 3024)) -> bytes:
    """A JPEG like a phone's: 12 MP, textured (not flat colour), EXIF with orientation and GPS, ~4 MB."""
    from PIL import Image, ImageFilter

    w, h = size
    noise = Image.effect_noise((w // 2, h // 2), 60).resize((w, h), Image.Resampling.BILINEAR)
    grad = Image.linear_gradient("L").resize((w, h))
    r = Image.blend(noise, grad, 0.5)
    g = Image.blend(noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grad.rotate(90), 0.5)
    b = noise.filter(ImageFilter.GaussianBlur(2))
    im = Image.merge("RGB", (r, g, b))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90° as phones store portrait photos
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 48.0, 10.0)}
    lo, hi, best = 40, 98, b""
    while lo <= hi:  # the quality that gives the size closest to `target` from below
        q = (lo + hi) // 2
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=q, exif=exif.tobytes())
        data = buf.getvalue()
        if len(data) <= target:
            best, lo = data, q + 1
        else:
            hi = q - 1
    return best or data


def _multipart(data: bytes, boundary: str = "benchboundary7MA4YWxk") -> tuple[bytes, str]:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nCống tắc\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"IMG_0001.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _accept(body: bytes, ctype: str):
    from starlette.requests import Request

    from civic.web.uploads import read_multipart

    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]

    async def receive():
        if chunks:
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/submit",
             "headers": [(b"content-type", ctype.encode())]}
    return asyncio.run(read_multipart(Request(scope, receive), file_fields={"photos": 5}))


def measure(repeat: int = 5) -> dict:
    """Rounds of accept + process + store of one ~4 MB phone photo; times in milliseconds."""
    tmp = tempfile.mkdtemp(prefix="civic-bench-media-")
    os.environ.setdefault("CIVIC_VAR_DIR", tmp)
    os.environ["CIVIC_MEDIA_DIR"] = str(Path(tmp) / "media")
    os.environ.setdefault("SECRET_KEY", "bench")
    from civic.config import get_settings

    get_settings.cache_clear()
    from civic.media import service, storage

    photo = phone_photo()
    body, ctype = _multipart(photo)
    rounds = []
    for _ in range(repeat + 1):  # the first round warms up imports and codecs; it is not counted
        t0 = time.perf_counter()
        _values, files = _accept(body, ctype)
        t1 = time.perf_counter()
        prepared = service.prepare(files["photos"][0], accept=("photo",), field="photos")
        t2 = time.perf_counter()
        storage.put(None, prepared.display.data, prepared.display.ext)
        storage.put(None, prepared.thumb.data, prepared.thumb.ext)
        t3 = time.perf_counter()
        for key in (storage.key_for(prepared.display.data, "webp"),
                    storage.key_for(prepared.thumb.data, "webp")):
            storage.path(key).unlink(missing_ok=True)  # the next round stores anew
        rounds.append({"accept": (t1 - t0) * 1000, "process": (t2 - t1) * 1000, "store": (t3 - t2) * 1000,
                       "total": (t3 - t0) * 1000})
    rounds = rounds[1:]
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    return {"photo_bytes": len(photo), "photo_px": [4032, 3024], "rounds": len(rounds),
            "median_ms": {k: round(v, 1) for k, v in med.items()},
            "max_total_ms": round(max(r["total"] for r in rounds), 1),
            "display_px": [prepared.display.width, prepared.display.height],
            "display_bytes": len(prepared.display.data), "thumb_bytes": len(prepared.thumb.data)}


def summary(result: dict) -> str:
    m = result["median_ms"]
    return (f"photo upload: a {result['photo_bytes'] / 1048576:.1f} MB "
            f"{result['photo_px'][0]}×{result['photo_px'][1]}"
            f" phone photo is accepted and processed in {m['total']:.0f} ms (median of {result['rounds']}; "
            f"worst {result['max_total_ms']:.0f} ms): accept {m['accept']:.0f} ms, check+resize "
            f"{m['process']:.0f} ms, store {m['store']:.0f} ms → "
            f"{result['display_px'][0]}×{result['display_px'][1]}"
            f" WebP {result['display_bytes'] // 1024} KB + thumbnail {result['thumb_bytes'] // 1024} KB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    result = measure(args.repeat)
    print(summary(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
