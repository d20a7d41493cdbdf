"""What every channel shares: the message handed to it and the two ways it can fail."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # httpx (with click, rich and pygments behind it) loads when a channel first sends
    import httpx


@dataclass(frozen=True)
class Message:
    channel: str
    address: str  # a phone (0 + 9 digits), an e-mail address, or a push subscription (JSON)
    subject: str
    body: str
    idempotency_key: str
    link: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # template data (Zalo ZNS)


class Temporary(Exception):
    """Try again later (time-out, 5xx, 429); `retry_after` seconds when the provider said so."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.retry_after = retry_after


class Permanent(Exception):
    """The provider refused this message for good (invalid number, unknown address): no retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


def international(phone: str) -> str:
    """0912345678 → +84912345678."""
    return "+84" + phone[1:] if phone.startswith("0") else phone


def http_failure(answer: httpx.Response, what: str) -> Exception:
    """Temporary for 429, 5xx and refused credentials (the site's settings can be fixed); Permanent for
    any other 4xx (this message cannot be sent)."""
    retry_after = answer.headers.get("Retry-After")
    seconds = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
    reason = f"{what}: HTTP {answer.status_code} {answer.text[:160]}"
    if answer.status_code == 429 or answer.status_code >= 500 or answer.status_code in (401, 403, 408):
        return Temporary(reason, seconds)
    return Permanent(reason)


_clients: dict[float, httpx.Client] = {}
_clients_lock = threading.Lock()


def client(timeout: float) -> httpx.Client:
    """One pooled HTTP client per time-out for the whole process (thread-safe; making one costs ~80 ms of
    TLS set-up, more than sending a message)."""
    with _clients_lock:
        found = _clients.get(timeout)
        if found is None:
            import httpx

            found = _clients[timeout] = httpx.Client(timeout=timeout,
                                                     limits=httpx.Limits(max_connections=32,
                                                                         max_keepalive_connections=32))
        return found


def post_json(client: httpx.Client, url: str, what: str, **kwargs: Any) -> httpx.Response:
    import httpx

    try:
        answer = client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        raise Temporary(f"{what}: timed out ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise Temporary(f"{what}: {type(exc).__name__}: {exc}") from exc
    if answer.status_code >= 300:
        raise http_failure(answer, what)
    return answer
