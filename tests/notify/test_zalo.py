"""Zalo ZNS against a local server implementing the published contract: the OA access token obtained (and
renewed) with the refresh token, the template message with its data and tracking id."""

from __future__ import annotations

import urllib.parse

import pytest

from civic.notify.channels import Message, Permanent, Temporary
from civic.notify.channels.zalo import ZaloZnsChannel
from tests.notify.servers import HttpStub


class Zalo:
    """/v4/oa/access_token (form: app_id, refresh_token, grant_type; header secret_key) and
    /message/template (header access_token; JSON phone, template_id, template_data, tracking_id)."""

    def __init__(self, error_for: dict[str, int] | None = None) -> None:
        self.tokens = 0
        self.refresh = "refresh-1"
        self.valid: set[str] = set()
        self.error_for = error_for or {}
        self.stub = HttpStub(self.answer)

    def answer(self, seen):
        if seen.path == "/v4/oa/access_token":
            form = dict(urllib.parse.parse_qsl(seen.body.decode()))
            if seen.headers.get("secret_key") != "app-secret" or form.get("app_id") != "123" \
                    or form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh:
                return 200, {}, {"error": -14014, "message": "Invalid refresh token"}
            self.tokens += 1
            token, self.refresh = f"access-{self.tokens}", f"refresh-{self.tokens + 1}"
            self.valid = {token}
            return 200, {}, {"access_token": token, "refresh_token": self.refresh, "expires_in": "90000"}
        if seen.path == "/message/template":
            if seen.headers.get("access_token") not in self.valid:
                return 200, {}, {"error": -124, "message": "Access token is invalid"}
            body = seen.json()
            if body.get("template_id") != "tpl-1" or not body.get("tracking_id"):
                return 200, {}, {"error": -1123, "message": "bad request"}
            error = self.error_for.get(body["phone"], 0)
            if error:
                return 200, {}, {"error": error, "message": "refused"}
            return 200, {}, {"error": 0, "message": "Success",
                             "data": {"msg_id": "m1", "sent_time": "1", "quota": {"remainingQuota": "99"}}}
        return 404, {}, {}


def channel(url: str) -> ZaloZnsChannel:
    return ZaloZnsChannel("123", "app-secret", "refresh-1", "tpl-1", api_url=url, oauth_url=url)


def message(phone="0912000111") -> Message:
    return Message("zalo", phone, "NS-2026-0001", "NS-2026-0001: Dân biết", "t" * 40)


def test_a_template_message_with_token_refresh_and_tracking_id():
    zalo = Zalo()
    with zalo.stub:
        ch = channel(zalo.stub.url)
        ch.send(message())
        ch.send(message())
        sent = [s.json() for s in zalo.stub.seen if s.path == "/message/template"]
        assert sent[0] == {"phone": "84912000111", "template_id": "tpl-1",
                           "template_data": {"content": "NS-2026-0001: Dân biết"}, "tracking_id": "t" * 40}
        assert zalo.tokens == 1  # the token is kept between messages
        zalo.valid = set()  # Zalo ended the token: the channel renews it with the newest refresh token
        ch.send(message())
        assert zalo.tokens == 2 and ch.refresh_token == "refresh-3"


def test_zalo_refusals():
    zalo = Zalo({"84912000222": -108})
    with zalo.stub:
        with pytest.raises(Permanent):
            channel(zalo.stub.url).send(message("0912000222"))
    bad = Zalo()
    with bad.stub:
        url = bad.stub.url
        wrong = ZaloZnsChannel("123", "wrong", "refresh-1", "tpl-1", api_url=url, oauth_url=url)
        with pytest.raises(Temporary):  # the admin fixes the settings; the message waits
            wrong.send(message())


def test_a_restarted_worker_goes_on_with_the_newest_refresh_token(tmp_path):
    zalo = Zalo()
    kept = tmp_path / "zalo-refresh-token.json"
    with zalo.stub:
        first = ZaloZnsChannel("123", "app-secret", "refresh-1", "tpl-1", api_url=zalo.stub.url,
                               oauth_url=zalo.stub.url, token_file=kept)
        first.send(message())
        assert zalo.refresh == "refresh-2" and kept.stat().st_mode & 0o777 == 0o600
        # A new process, configured with the first token (which Zalo no longer takes), reads the newest.
        again = ZaloZnsChannel("123", "app-secret", "refresh-1", "tpl-1", api_url=zalo.stub.url,
                               oauth_url=zalo.stub.url, token_file=kept)
        again.send(message("0912000222"))
        assert zalo.tokens == 2 and zalo.refresh == "refresh-3"
        # An admin who configures a new token replaces the stored one.
        zalo.refresh = "fresh-from-admin"
        renewed = ZaloZnsChannel("123", "app-secret", "fresh-from-admin", "tpl-1", api_url=zalo.stub.url,
                                 oauth_url=zalo.stub.url, token_file=kept)
        renewed.send(message("0912000333"))
        assert zalo.tokens == 3
