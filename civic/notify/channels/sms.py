"""SMS, two ways.

- `AndroidGatewayChannel`: the open-source "SMS Gateway for Android" app (its local server on the village
  head's own phone, or its cloud relay): `POST {url}/message` with basic auth and
  `{"id", "message", "phoneNumbers"}`; the app answers 202 with the message's state. The `id` is our
  idempotency key: the app keeps one message per id.
- `BrandnameChannel`: a commercial brandname SMS HTTP API of the common Vietnamese shape (eSMS-style):
  `POST {url}` with `{"ApiKey", "SecretKey", "Phone", "Content", "Brandname", "SmsType", "RequestId"}`,
  answered `{"CodeResult": "100", "SMSID": …}` on success and another CodeResult otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from civic.config import Settings
from civic.notify.channels.base import Message, Permanent, Temporary, client, international, post_json


@dataclass
class AndroidGatewayChannel:
    url: str
    username: str
    password: str
    timeout: float = 10.0
    name: str = "sms"

    @classmethod
    def from_settings(cls, s: Settings) -> AndroidGatewayChannel:
        return cls(url=s.sms_gateway_url.rstrip("/"), username=s.sms_gateway_username,
                   password=s.sms_gateway_password, timeout=s.notify_timeout_seconds)

    def send(self, message: Message) -> None:
        body = {"id": message.idempotency_key, "message": message.body,
                "phoneNumbers": [international(message.address)]}
        answer = post_json(client(self.timeout), f"{self.url}/message", "SMS gateway", json=body,
                           auth=(self.username, self.password))
        try:
            state = str(answer.json().get("state", ""))
        except ValueError:
            state = ""
        if state.lower() == "failed":
            raise Permanent("SMS gateway: the phone could not send the message")


# CodeResult values that say the message itself cannot go (a wrong number, a blocked or unknown receiver);
# the others (balance, brandname not yet approved, busy) are problems of the account that an admin fixes.
BRANDNAME_PERMANENT = {"104", "118", "119", "124", "146"}


@dataclass
class BrandnameChannel:
    url: str
    api_key: str
    secret_key: str
    brandname: str
    sms_type: str = "2"  # customer care
    timeout: float = 10.0
    name: str = "sms"

    @classmethod
    def from_settings(cls, s: Settings) -> BrandnameChannel:
        return cls(url=s.sms_brandname_url, api_key=s.sms_brandname_api_key,
                   secret_key=s.sms_brandname_secret, brandname=s.sms_brandname,
                   timeout=s.notify_timeout_seconds)

    def send(self, message: Message) -> None:
        body = {"ApiKey": self.api_key, "SecretKey": self.secret_key, "Phone": message.address,
                "Content": message.body, "Brandname": self.brandname, "SmsType": self.sms_type,
                "RequestId": message.idempotency_key}
        answer = post_json(client(self.timeout), self.url, "SMS brandname", json=body)
        try:
            code = str(answer.json().get("CodeResult", ""))
        except ValueError as exc:
            raise Temporary("SMS brandname: the answer is not JSON") from exc
        if code == "100":
            return
        if code in BRANDNAME_PERMANENT:
            raise Permanent(f"SMS brandname refused the message (CodeResult {code})")
        raise Temporary(f"SMS brandname: CodeResult {code}")
