"""Local servers the channel tests talk to: a real SMTP server (aiosmtpd, STARTTLS and AUTH) and small HTTP
servers implementing each provider's documented request and answer."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class Mailbox:
    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered 550


class SmtpServer:
    """aiosmtpd with STARTTLS required before AUTH, and AUTH required before mail."""

    def __init__(self, folder: Path, user: str = "civic", password: str = "s3cret") -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.box = Mailbox()
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        box = self.box

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            if ok:
                box.logins.append((user, mechanism))
            return AuthResult(success=ok)

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in box.refuse:
                    return "550 5.1.1 No such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes, policy

                box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 Message accepted"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, authenticator=authenticator, auth_required=True,
                                     auth_require_tls=True)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, dict[str, str], Any]


class HttpStub:
    """A small HTTP server: `answer(seen) -> (status, headers, json body)` decides each answer."""

    def __init__(self, answer: Callable[[Seen], Reply]) -> None:
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length))
                stub.seen.append(seen)
                status, headers, body = answer(seen)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpStub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def basic_auth(seen: Seen) -> tuple[str, str] | None:
    value = seen.headers.get("authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


def android_gateway(user: str = "sms", password: str = "gw-pass", *, fail: Callable[[Seen], Reply | None]
                    = lambda seen: None) -> HttpStub:
    """SMS Gateway for Android's local server: POST /message, basic auth, {id, message, phoneNumbers} →
    202 {id, state: "Pending", recipients: [...]}; 401 without the right credentials; 400 on a bad body."""

    def answer(seen: Seen) -> Reply:
        if seen.path != "/message":
            return 404, {}, {"message": "not found"}
        if basic_auth(seen) != (user, password):
            return 401, {}, {"message": "Unauthorized"}
        special = fail(seen)
        if special is not None:
            return special
        body = seen.json()
        numbers = body.get("phoneNumbers")
        if not isinstance(body.get("message"), str) or not isinstance(numbers, list) or not numbers:
            return 400, {}, {"message": "message and phoneNumbers are required"}
        if any(not str(n).startswith("+") or not str(n)[1:].isdigit() for n in numbers):
            return 400, {}, {"message": "invalid phone number"}
        return 202, {}, {"id": body.get("id") or "generated", "state": "Pending",
                         "recipients": [{"phoneNumber": n, "state": "Pending"} for n in numbers]}

    return HttpStub(answer)
