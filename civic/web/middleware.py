"""Small pure-ASGI middleware: request ids, security headers, known hosts only, a cap on request bodies."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; img-src 'self' data:{images}; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


def security_headers(img_src: str = "") -> list[tuple[bytes, bytes]]:
    """The headers every response gets; `img_src` is one more origin pictures may come from (map tiles)."""
    return [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
        (b"content-security-policy", CSP.format(images=f" {img_src}" if img_src else "").encode()),
    ]


SECURITY_HEADERS = security_headers()

# Two years, subdomains too: once a browser has seen the site over HTTPS it never tries plain HTTP again
# (OWASP ASVS 4.0 V14.4.5 / 5.0 V3.4.1). Only sent when the site runs behind TLS (CIVIC_COOKIE_SECURE).
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class RequestMeta:
    """Give each request an id (logged with any error) and add security headers to every response."""

    def __init__(self, app: ASGIApp, hsts: bool = False, img_src: str = ""):
        self.app = app
        headers = security_headers(img_src)
        self.headers = [*headers, HSTS] if hsts else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(6)
        scope["civic.request_id"] = request_id
        # HEAD is GET without the body (RFC 9110 §9.3.2): uptime checkers and link previews use it.
        head = scope["method"] == "HEAD"
        if head:
            scope = dict(scope, method="GET")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            elif head and message["type"] == "http.response.body":
                message = dict(message, body=b"")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TrustedHosts:
    """Answer only requests for this site's own host names; others get a calm 400 page.

    The Host header is the client's to choose: a page built from it could carry another site's links,
    and the page cache would give that page to everyone (OWASP ASVS 4.0 V14.5, cache poisoning).
    Starlette's TrustedHostMiddleware decides; only its plain-text refusal is replaced here. The health
    checks answer any host: load balancers call a worker by its own address, and /healthz carries no link.
    """

    OPEN_PATHS = ("/healthz",)

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]):
        self.app = app
        self.check = TrustedHostMiddleware(self._accepted, allowed_hosts=allowed_hosts, www_redirect=False)

    async def _accepted(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["civic.host_ok"] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.check(scope, receive, send)
            return
        path = scope.get("path", "")
        if any(path == p or path.startswith(p + "/") for p in self.OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        refused = False

        async def send_unless_refused(message: Message) -> None:
            nonlocal refused
            if scope.get("civic.host_ok"):
                await send(message)
            else:
                refused = True  # Starlette's own "Invalid host header": replaced below

        await self.check(scope, receive, send_unless_refused)
        if refused:
            await _plain(send, 400, "Địa chỉ này không thuộc trang này. / This site does not answer to "
                                    "that host name.\n")


class BodyLimit:
    """Refuse a request body over `max_bytes` with 413 before reading it whole.

    `limit_for(path, content_type)` may name a larger cap for some requests: civic/web/uploads.py gives
    multipart uploads to the routes registered with allow_uploads() N files × upload_max_bytes plus form
    overhead; every other request keeps `max_bytes`.
    """

    def __init__(self, app: ASGIApp, max_bytes: int,
                 limit_for: Callable[[str, str], int | None] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        if self.limit_for is not None:
            ctype = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"")
            max_bytes = self.limit_for(route_path(scope), ctype.decode("latin-1")) or self.max_bytes
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    too_big = int(value) > max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send)
                    return
        received = 0
        exceeded = started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def send_unless_exceeded(message: Message) -> None:
            # A route that catches the error reading the body (a form parser turning any failure into
            # "the form could not be read") does not turn a body over the cap into another answer.
            nonlocal started
            if exceeded and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, send_unless_exceeded)
        except Exception:
            if not exceeded or started:  # BodyTooLarge or what a route made of it: 413 below
                raise
        if exceeded and not started:
            await _too_large(send)


def route_path(scope: Scope) -> str:
    """The path the routes see: without the root_path (a commune's prefix /c/NS, civic/web/communes.py)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    await _plain(send, 413, "Yêu cầu quá lớn. / The request is too large.\n")


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
