"""Web Push: VAPID-signed, RFC 8291-encrypted, pushed to a local receiver that decrypts the payload with the
subscription's keys and checks the VAPID signature, as a browser's push service and the browser would."""

from __future__ import annotations

import base64
import json
import os

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from civic.notify.channels import Message, Permanent
from civic.notify.channels.webpush import WebPushChannel
from tests.notify.servers import HttpStub


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def vapid(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "vapid.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path), key.public_key()


class Browser:
    """The subscription a browser hands the site: an endpoint and its keys (p256dh, auth)."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        self.subscription = {"endpoint": endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


def check_vapid(header: str, public_key) -> dict:
    """`vapid t=<JWT>, k=<public key>`: the JWT is ES256-signed by the site's key."""
    parts = dict(p.strip().split("=", 1) for p in header[len("vapid "):].split(","))
    head, claims, signature = parts["t"].split(".")
    raw = unb64(signature)
    der = utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert unb64(parts["k"]) == public_key.public_bytes(serialization.Encoding.X962,
                                                        serialization.PublicFormat.UncompressedPoint)
    return json.loads(unb64(claims))


def test_a_push_is_encrypted_for_the_subscription_and_signed_by_the_site(vapid):
    pem, public = vapid
    with HttpStub(lambda seen: (201, {}, {})) as receiver:
        browser = Browser(receiver.url + "/push/abc")
        channel = WebPushChannel(pem, "mailto:admin@nhaoson.example.vn")
        channel.send(Message("push", json.dumps(browser.subscription), "NS-2026-0001: Dân biết",
                             "Việc NS-2026-0001 chuyển sang Dân biết.", "k" * 40,
                             link="https://nhaoson.example.vn/items/NS-2026-0001"))
        [seen] = receiver.seen
        assert seen.path == "/push/abc" and seen.headers["content-encoding"] == "aes128gcm"
        assert int(seen.headers["ttl"]) > 0
        assert browser.decrypt(seen.body) == {"title": "NS-2026-0001: Dân biết",
                                              "body": "Việc NS-2026-0001 chuyển sang Dân biết.",
                                              "url": "https://nhaoson.example.vn/items/NS-2026-0001"}
        claims = check_vapid(seen.headers["authorization"], public)
        assert claims["aud"] == receiver.url and claims["sub"] == "mailto:admin@nhaoson.example.vn"


def test_an_ended_subscription_is_permanent(vapid):
    pem, _ = vapid
    with HttpStub(lambda seen: (410, {}, {"error": "gone"})) as receiver:
        browser = Browser(receiver.url + "/push/gone")
        with pytest.raises(Permanent):
            WebPushChannel(pem, "mailto:a@b.vn").send(Message("push", json.dumps(browser.subscription), "s",
                                                              "b", "k" * 40))
