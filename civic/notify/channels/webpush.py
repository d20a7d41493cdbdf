"""Web Push (RFC 8030) with VAPID (RFC 8292) and an encrypted payload (RFC 8291, aes128gcm), by pywebpush.
The site's service worker shows the notification."""

from __future__ import annotations

import json
from dataclasses import dataclass

from civic.config import Settings
from civic.notify.channels.base import Message, Permanent, Temporary


@dataclass
class WebPushChannel:
    private_key: str  # the VAPID private key: a PEM file's path or its base64url raw form
    subject: str  # mailto: or https: address the push services may contact
    timeout: float = 10.0
    ttl: int = 24 * 3600
    name: str = "push"

    @classmethod
    def from_settings(cls, s: Settings) -> WebPushChannel:
        return cls(private_key=s.vapid_private_key, subject=s.vapid_subject or "mailto:admin@localhost",
                   timeout=s.notify_timeout_seconds)

    def send(self, message: Message) -> None:
        from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]

        try:
            subscription = json.loads(message.address)
        except ValueError as exc:
            raise Permanent("Web Push: the subscription is not JSON") from exc
        payload = json.dumps({"title": message.subject, "body": message.body, "url": message.link},
                             ensure_ascii=False)
        try:
            webpush(subscription, payload, vapid_private_key=self.private_key,
                    vapid_claims={"sub": self.subject}, ttl=self.ttl, timeout=self.timeout,
                    headers={"Topic": message.idempotency_key[:32]})
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                raise Permanent(f"Web Push: the subscription has ended (HTTP {status})") from exc
            retry = exc.response.headers.get("Retry-After") if exc.response is not None else None
            raise Temporary(f"Web Push: HTTP {status}",
                            float(retry) if retry and retry.isdigit() else None) from exc
        except Exception as exc:  # requests' time-outs and connection errors
            raise Temporary(f"Web Push: {type(exc).__name__}") from exc
