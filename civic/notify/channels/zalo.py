"""Zalo Notification Service (ZNS): a template message sent by the commune's Official Account.

- `POST {api}/message/template`, header `access_token`, body `{"phone": "84…", "template_id",
  "template_data": {…}, "tracking_id"}`; answer `{"error": 0, "data": {"msg_id": …}}`, or a negative error.
- The access token lasts about a day: it is refreshed with `POST {oauth}/v4/oa/access_token`, header
  `secret_key`, form `app_id`, `refresh_token`, `grant_type=refresh_token`; the answer brings a new access
  token *and a new refresh token* (the old one stops working). The new one is written at once to a file
  in the data folder (`<var_dir>/zalo-refresh-token.json`, readable by its owner only) with a digest of
  the token configured in the settings, so a restarted worker goes on with the newest token, and a token
  an admin configures afresh replaces the stored one.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    token_file: Path | None = None  # where the newest refresh token is kept (None: in memory only)
    _access_token: str = ""
    _expires: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _configured: str = ""

    def __post_init__(self) -> None:
        self._configured = _digest(self.refresh_token)
        stored = self._stored()
        if stored:
            self.refresh_token = stored

    @classmethod
    def from_settings(cls, s: Settings) -> ZaloZnsChannel:
        return cls(app_id=s.zalo_app_id, secret_key=s.zalo_secret_key, refresh_token=s.zalo_refresh_token,
                   template_id=s.zalo_template_id, api_url=s.zalo_api_url.rstrip("/"),
                   oauth_url=s.zalo_oauth_url.rstrip("/"), timeout=s.notify_timeout_seconds,
                   token_file=Path(s.var_dir) / "zalo-refresh-token.json")

    def _stored(self) -> str:
        """The newest refresh token kept for the configured one, if any."""
        if self.token_file is None:
            return ""
        try:
            data = json.loads(self.token_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        if not isinstance(data, dict) or data.get("configured") != self._configured:
            return ""  # an admin configured a new token since: that one counts
        token = data.get("refresh_token")
        return token if isinstance(token, str) else ""

    def _keep(self, token: str) -> None:
        if self.token_file is None:
            return
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.token_file.with_name(self.token_file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"configured": self._configured, "refresh_token": token}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.token_file)

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
                if data.get("refresh_token") and data["refresh_token"] != self.refresh_token:
                    self.refresh_token = data["refresh_token"]
                    self._keep(self.refresh_token)
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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
