"""Versioned static file names: /static/<name>?v=<content hash>, served with a long cache lifetime."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from civic.config import ROOT

STATIC_DIR = ROOT / "static"


@lru_cache(maxsize=64)
def asset_url(name: str) -> str:
    path = STATIC_DIR / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "0"
    return f"/static/{name}?v={digest}"
