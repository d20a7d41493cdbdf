"""The set-up code: derived, shown and compared (pure functions)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

CODE_CHARS = 12  # base32: 60 bits, far beyond what the throttle lets anyone guess
FAILURES_PER_ADDRESS = 10  # wrong codes per client address in one throttle window
FAILURES_IN_ALL = 100  # wrong codes from everywhere together in one window


def derive(secret_key: str, nonce: str) -> str:
    """The code for this nonce under this secret: 12 letters and digits (no 0, 1, 8, 9: base32)."""
    digest = hmac.new(secret_key.encode(), f"civic-setup:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:CODE_CHARS]


def shown(code: str) -> str:
    """The code as printed: three groups of four ('ABCD-EFGH-JKLM')."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def matches(expected: str, typed: str) -> bool:
    """Whether what was typed is the code, whatever its case, spaces and dashes."""
    cleaned = re.sub(r"[\s\-]", "", typed or "").upper()[:64]
    return hmac.compare_digest(cleaned.encode(), expected.encode())
