"""Zalo Notification Service (ZNS): a template message sent by the commune's Official Account.

- `POST {api}/message/template`, header `access_token`, body `{"phone": "84…", "template_id",
  "template_data": {…}, "tracking_id"}`; answer `{"error": 0, "data": {"msg_id": …}}`, or a negative error.
- The access token lasts about a day: it is refreshed with `POST {oauth}/v4/oa/access_token`, header
  `secret_key`, form `app_id`, `refresh_token`, `grant_type=refresh_token`; the answer brings a new access
  token *and a new refresh token* (the old one stops working), kept in memory by the worker.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from civic.config import Settings
from civic.notify.channels.base import Message, Permanent, Temporary, client, post_json

# ZNS errors about this message or this phone (not a Zalo user, template data wrong, blocked): no retry.
PERMANENT_ERRORS = {-108, -118, -131, -132, -133, -137, -139, -141}
TOKEN_ERRORS = {-124, -216}  # the access token is invalid or has expired


@dataclass
class ZaloZnsChannel:
    app_id: str
    secret_key: str
    refresh_token: str
    template_id: str
    api_url: str = "https://business.openapi.zalo.me"
    oauth_url: str = "https://oauth.zaloapp.com"
    timeout: float = 10.0
    name: str = "zalo"
    _access_token: str = ""
    _expires: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, s: Settings) -> ZaloZnsChannel:
        return cls(app_id=s.zalo_app_id, secret_key=s.zalo_secret_key, refresh_token=s.zalo_refresh_token,
                   template_id=s.zalo_template_id, api_url=s.zalo_api_url.rstrip("/"),
                   oauth_url=s.zalo_oauth_url.rstrip("/"), timeout=s.notify_timeout_seconds)

    def _token(self, *, renew: bool = False) -> str:
        with self._lock:
            if renew or not self._access_token or time.monotonic() >= self._expires:
                answer = post_json(client(self.timeout), f"{self.oauth_url}/v4/oa/access_token",
                                   "Zalo token", headers={"secret_key": self.secret_key},
                                   data={"app_id": self.app_id, "refresh_token": self.refresh_token,
                                         "grant_type": "refresh_token"})
                data = answer.json()
                if not data.get("access_token"):
                    raise Temporary(f"Zalo token refused: {str(data)[:160]}")
                self._access_token = data["access_token"]
                self.refresh_token = data.get("refresh_token") or self.refresh_token
                self._expires = time.monotonic() + max(60, int(data.get("expires_in", 3600)) - 60)
            return self._access_token

    def send(self, message: Message) -> None:
        phone = "84" + message.address[1:] if message.address.startswith("0") else message.address
        body = {"phone": phone, "template_id": self.template_id,
                "template_data": message.data or {"content": message.body[:400]},
                "tracking_id": message.idempotency_key}
        for renew in (False, True):
            token = self._token(renew=renew)
            answer = post_json(client(self.timeout), f"{self.api_url}/message/template", "Zalo ZNS",
                               headers={"access_token": token}, json=body)
            try:
                error = int(answer.json().get("error", -1))
            except (ValueError, TypeError) as exc:
                raise Temporary("Zalo ZNS: the answer is not JSON") from exc
            if error == 0:
                return
            if error in TOKEN_ERRORS and not renew:
                continue
            if error in PERMANENT_ERRORS:
                raise Permanent(f"Zalo ZNS refused the message (error {error})")
            raise Temporary(f"Zalo ZNS error {error}")
