"""The deployment's Ed25519 key that signs audit checkpoints.

The private key lives in CIVIC_AUDIT_KEY_FILE, by default <var_dir>/audit-ed25519.pem (created on first use,
readable by the owner only);
the public key is published on /audit and in the checkpoint export so anyone can check a signature.
Signing uses the maintained `cryptography` library (OWASP ASVS v4 6.2.1/6.2.2: proven primitives, no
hand-written cryptography).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from civic.config import get_settings

KEY_FILE = "audit-ed25519.pem"
ALGORITHM = "Ed25519"


def _key_path() -> Path:
    settings = get_settings()
    return settings.audit_key_file or settings.var_dir / KEY_FILE


def _load_or_create() -> Ed25519PrivateKey:
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:  # O_EXCL: two processes taking their first checkpoint at once keep one key
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} does not hold an Ed25519 private key")
    return key


@dataclass(frozen=True)
class PublicKey:
    raw: bytes

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @classmethod
    def from_b64(cls, text: str) -> PublicKey | None:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        return cls(raw) if len(raw) == 32 else None


def _public(key: Ed25519PrivateKey) -> PublicKey:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(raw)


def public_key() -> PublicKey:
    """The deployment's public key (the key pair is created on first use)."""
    return _public(_load_or_create())


def public_key_if_any() -> PublicKey | None:
    """The public key when the deployment has taken a checkpoint already; pages never create the key."""
    return public_key() if _key_path().exists() else None


def sign(message: bytes) -> str:
    return base64.b64encode(_load_or_create().sign(message)).decode("ascii")


def verify(key: PublicKey, message: bytes, signature: str) -> bool:
    """True when `signature` (base64) is the key's Ed25519 signature of `message`; never raises."""
    try:
        raw = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(key.raw).verify(raw, message)
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
